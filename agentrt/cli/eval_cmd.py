"""Interfaces: ``agentrt eval`` — the demo task set through the agent in one or more search
modes; the comparison table on stdout (``--json``: the whole report as JSON there instead, the
table on stderr), progress on stderr, ``--out FILE`` writes the report as JSON.

Exit 0 when every mode passed at least ``--min-pass`` of the tasks (default 1.0: every task),
1 when one fell short, 2 on an error.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from agentrt.cli.common import (
    add_json_options,
    add_model_arg,
    close_backend,
    default_model,
    fraction,
    load_model,
    run_async,
    write_json,
)
from agentrt.errors import ConfigError

__all__ = ["DESCRIPTION", "add_arguments", "parse_modes", "parse_search_settings", "run"]

DESCRIPTION = ("Run the demo task set (fresh service state per task, side effects allowed) in "
               "each mode and print the comparison. Exit 1 when a mode passes fewer than "
               "--min-pass of the tasks.")
_MODES = ("dfs", "dfsdt", "react")



def add_arguments(p: argparse.ArgumentParser) -> None:
    add_model_arg(p)
    p.add_argument("--mode", action="append", default=[], metavar="MODE",
                   help="dfs, dfsdt, react; repeat or comma-separate (default: dfs)")
    p.add_argument("--tasks", metavar="FILE", help="a tasks JSONL file (default: the demo set)")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="only the first N tasks")
    p.add_argument("--k", type=int, default=None, help="candidates per node")
    p.add_argument("--max-seconds", type=float, default=None, help="wall-clock limit per task")
    p.add_argument("--min-pass", type=fraction, default=1.0, metavar="RATE",
                   help="the pass rate (0..1) every mode must reach for exit 0 (default 1.0: "
                        "every task; 0: only report)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="settings",
                   help="an agent setting for every run, e.g. ground_answers=false or "
                        "demonstrations=none (an AgentConfig field; repeat for several): "
                        "switch one mechanism off to measure it")
    p.add_argument("--search", action="append", default=[], metavar="KEY=VALUE",
                   dest="search_settings",
                   help="a search setting for every mode, e.g. answer_after_lookup=0 or "
                        "memo_failures=false (a SearchConfig field but mode; repeat for "
                        "several): switch a search mechanism off to measure it")
    p.add_argument("--traces", metavar="DIR", default=None,
                   help="write each run's whole result (its search tree) to DIR/MODE-TASK.json")
    add_json_options(p, "the report (summary and per-task results)")
    # a word left over: most likely the old `--json OUT.json`, which now is `--out OUT.json`
    p.add_argument("stray", nargs="*", help=argparse.SUPPRESS)


def parse_modes(values: list[str]) -> list[str]:
    """``["dfs,react", "dfsdt"]`` → ``["dfs", "react", "dfsdt"]`` (checked, deduplicated)."""
    modes = [m.strip().lower() for v in values for m in v.split(",") if m.strip()] or ["dfs"]
    bad = [m for m in modes if m not in _MODES]
    if bad:
        raise ConfigError(f"unknown mode {bad[0]!r}: use {', '.join(_MODES)}")
    return list(dict.fromkeys(modes))


def _check_stray(args: argparse.Namespace) -> None:
    if not args.stray:
        return
    words = " ".join(args.stray)
    if args.json:
        raise ConfigError(f"unexpected argument {words!r}: --json takes no file name any more "
                          f"(it prints the report on stdout); write a file with --out {words}")
    raise ConfigError(f"unexpected argument {words!r}")


def parse_settings(values: list[str]) -> dict[str, Any]:
    """``["ground_answers=false", "max_tools=8"]`` → ``{"ground_answers": False, ...}``:
    values are JSON where they parse (true/false/null/numbers), ``none`` is None, else text;
    the names are checked against :class:`~agentrt.agent.AgentConfig`."""
    from agentrt.agent import AgentConfig

    out = _key_values(values, "--set", set(AgentConfig.model_fields) - {"search"},
                      "an agent setting (--search sets the search's)")
    AgentConfig.load(out, source="--set")  # every problem at once, before any task runs
    return out


def parse_search_settings(values: list[str]) -> dict[str, Any]:
    """``["answer_after_lookup=0"]`` → ``{"answer_after_lookup": 0}``, checked against
    :class:`~agentrt.search.SearchConfig` (every field but ``mode``: ``--mode`` names it)."""
    from agentrt.evaluation import with_search_options
    from agentrt.search import SearchConfig

    out = _key_values(values, "--search", set(SearchConfig.model_fields) - {"mode"},
                      "a search setting")
    with_search_options(SearchConfig(), out, source="--search")  # every problem, up front
    return out


def _key_values(values: list[str], option: str, names: set[str], what: str
                ) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"{option} wants KEY=VALUE, not {item!r}")
        if key not in names:
            raise ConfigError(f"{option} {key}: not {what} (one of "
                              f"{', '.join(sorted(names))})")
        text = raw.strip()
        try:
            value: Any = None if text.lower() == "none" else json.loads(text)
        except ValueError:
            value = text
        out[key] = value
    return out


def _progress(row: dict[str, Any]) -> None:
    mark = "pass" if row["passed"] else "FAIL"
    print(f"[{row['mode']} {row['index']}/{row['of']}] {row['task_id']}: {mark} "
          f"({row['status']}, {row['seconds']:.1f}s)", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    _check_stray(args)
    modes = parse_modes(args.mode)
    args.agent_options = parse_settings(args.settings)
    args.search_options = parse_search_settings(args.search_settings)
    if args.limit is not None and args.limit < 1:
        raise ConfigError("--limit must be at least 1")
    return int(run_async(_eval(args, modes)))


async def _eval(args: argparse.Namespace, modes: list[str]) -> int:
    from agentrt.evaluation import aevaluate, passed_all
    from agentrt.search import Budget
    from agentrt_demo.suite import DemoSuite  # the demo sits above the library: loaded here
    from agentrt_demo.teacher import DEMONSTRATIONS_FILE

    suite = DemoSuite()
    task_list = list(suite.load_tasks(args.tasks))[:args.limit]
    # like `agentrt demo`: the worked examples shipped with the demo (generated tasks, never
    # these), unless --set demonstrations=none|FILE says otherwise
    from agentrt_demo.model import demo_model, uses_adapter

    model = demo_model(args.model or default_model())  # embedded: with the demo's adapter
    # the adapter learnt from prompts without worked examples; the stock model gets them
    args.agent_options.setdefault("demonstrations",
                                  None if uses_adapter(model) else str(DEMONSTRATIONS_FILE))
    backend = await load_model(model)
    budget = Budget(max_seconds=args.max_seconds) if args.max_seconds else None
    print(f"evaluating {len(task_list)} task(s) × {', '.join(modes)} with {model}",
          file=sys.stderr, flush=True)
    try:
        report = await aevaluate(backend, modes, task_list, suite=suite, progress=_progress,
                                 budget=budget, k=args.k, model=model,
                                 agent_options=args.agent_options, traces=args.traces,
                                 search_options=args.search_options)
    finally:
        await close_backend(backend)
    print(report["table"], file=sys.stderr if args.json else sys.stdout)
    if args.json or args.out:
        write_json(args, json.dumps(report, indent=2, ensure_ascii=False, default=str))
    if args.out:
        print(f"report → {args.out}", file=sys.stderr)
    if passed_all(report, args.min_pass):
        return 0
    print(f"below --min-pass {args.min_pass:g}: see the FAIL lines above", file=sys.stderr)
    return 1
