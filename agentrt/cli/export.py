"""Interfaces: ``agentrt export RUNS.jsonl --finetune OUT.jsonl [--negatives OUT2.jsonl]`` —
fine-tuning data from saved runs (``agentrt run --save`` or the REPL's ``/export``)."""

from __future__ import annotations

import argparse
import sys

from agentrt.errors import ConfigError

__all__ = ["DESCRIPTION", "add_arguments", "run"]

DESCRIPTION = ("Turn saved runs (JSONL, one RunResult per line) into fine-tuning data: each "
               "solved run's path as an OpenAI chat transcript with tool calls; optionally "
               "every rejected candidate with its context and the step chosen instead.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="+", metavar="RUNS.jsonl", help="saved runs")
    p.add_argument("--finetune", required=True, metavar="OUT.jsonl",
                   help="write the solved paths here")
    p.add_argument("--negatives", metavar="OUT2.jsonl",
                   help="write the rejected candidates here")


def run(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from agentrt.trace import export_finetune, read_jsonl

    results = []
    for path in args.runs:
        try:
            results.extend(read_jsonl(path))
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from exc
        except (ValidationError, ValueError) as exc:
            first = str(exc).splitlines()[0]
            raise ConfigError(f"{path} is not a runs file (one RunResult JSON per line): "
                              f"{first}") from exc
    counts = export_finetune(results, args.finetune, negatives=args.negatives)
    solved = sum(1 for r in results if r.solved)
    print(f"{len(results)} run(s), {solved} solved: {counts['positives']} transcript(s) → "
          f"{args.finetune}" + (f", {counts.get('negatives', 0)} rejected candidate(s) → "
                                f"{args.negatives}" if args.negatives else ""),
          file=sys.stderr)
    return 0
