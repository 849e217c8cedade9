"""Interfaces: ``agentrt tools SPEC…`` — the tools one or more specs (and ``--mcp`` servers)
yield, each with its side-effect class and the mark that decided it; and ``--check``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from agentrt.errors import ConfigError, SpecError

__all__ = ["DESCRIPTION", "add_arguments", "run"]

DESCRIPTION = ("List the tools that OpenAPI documents (and MCP servers) yield, with each one's "
               "side-effect class and where it came from: x-agentrt-side-effect, "
               "x-openai-isConsequential, the HTTP method, or MCP annotations.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("specs", nargs="*", metavar="SPEC", help="path or URL of an OpenAPI document")
    p.add_argument("--mcp", action="append", default=[], metavar="COMMAND_OR_URL",
                   help="an MCP server: a command line (stdio) or an http(s) URL (streamable "
                        "HTTP); repeat for several")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--check", action="store_true",
                   help="validate strictly and report problems; exit 1 when there are any")
    p.add_argument("--base-url", action="append", default=[],
                   help="base URL per spec, in order")


def run(args: argparse.Namespace) -> int:
    from agentrt.toolset import Toolset

    if args.check:
        return _check(args.specs, args.json)
    if not args.specs and not args.mcp:
        raise ConfigError("name at least one SPEC or --mcp server")
    if len(args.base_url) > len(args.specs):
        raise ConfigError(f"{len(args.base_url)} --base-url for {len(args.specs)} specs")
    urls = list(args.base_url) + [None] * (len(args.specs) - len(args.base_url))
    parts = [Toolset.from_specs(list(zip(args.specs, urls, strict=True)))] if args.specs else []
    parts += [Toolset.from_mcp(target) for target in args.mcp]
    ts = Toolset.merge(*parts)
    if args.json:
        out = [{"name": t.name, "description": t.description, "kind": t.kind,
                "method": t.method, "path": t.path, "side_effect": t.side_effect,
                "side_effect_source": t.side_effect_source,
                "base_url": t.service.base_url if t.kind == "openapi" else t.service.source,
                "parameters": t.parameters} for t in ts.tools]
        print(json.dumps(out, indent=2))
        return 0
    width = max((len(t.name) for t in ts.tools), default=4)
    for t in ts.tools:
        mark = {"safe": " ", "idempotent": "~", "unsafe": "!"}[t.side_effect]
        args_list = ", ".join(
            f"{n}{'*' if n in t.parameters.get('required', []) else ''}"
            for n in t.parameters.get("properties", {}))
        where = f"{t.method:<6} {t.path}"
        print(f"{mark} {t.name:<{width}}  {where:<32} {t.side_effect} ({t.side_effect_source})")
        print(f"  {'':<{width}}  {t.description[:100]}")
        if args_list:
            print(f"  {'':<{width}}  args: {args_list}")
    print(f"{len(ts)} tools ( ! unsafe, ~ idempotent, * required )")
    return 0


def _check(specs: list[str], as_json: bool) -> int:
    from agentrt.openapi import load_spec

    report: list[dict[str, Any]] = []
    for src in specs:
        entry: dict[str, Any] = {"spec": src, "problems": []}
        try:
            lenient = load_spec(src)
            entry["operations"] = len(lenient.operations)
            entry["problems"] = [{"pointer": w.pointer, "reason": w.reason}
                                 for w in lenient.warnings]
        except SpecError as exc:
            entry["problems"] = [{"pointer": exc.pointer, "reason": exc.reason}]
        report.append(entry)
    bad = sum(len(e["problems"]) for e in report)
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        for e in report:
            status = "ok" if not e["problems"] else f"{len(e['problems'])} problem(s)"
            print(f"{e['spec']}: {status}")
            for p in e["problems"]:
                print(f"  {p['pointer'] or '(document)'}: {p['reason']}", file=sys.stdout)
    return 1 if bad else 0
