"""Interfaces: ``agentrt run "request" --spec FILE_OR_URL …`` — one run against any OpenAPI
services, shown live (or, with ``--json``, the result with its tree as JSON on stdout;
``--out FILE`` writes the same JSON to a file).

Exit 0 when the run is solved, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from agentrt.cli.common import (
    add_json_options,
    add_model_arg,
    close_backend,
    load_model,
    parse_credentials,
    run_async,
    write_json,
)
from agentrt.errors import ConfigError

__all__ = ["DESCRIPTION", "add_arguments", "add_memory_options", "add_run_options",
           "build_policy", "remember_run", "run"]

DESCRIPTION = ("Run one request: the model proposes calls, each is checked against the spec "
               "before it is sent.")


def add_run_options(p: argparse.ArgumentParser, *, spec_required: bool) -> None:
    """Options shared by ``run`` and ``repl``: specs, base URLs, credentials, policy, search."""
    p.add_argument("--spec", "-s", action="append", default=[], required=spec_required,
                   metavar="FILE_OR_URL", help="OpenAPI document (repeat for several services)")
    p.add_argument("--base-url", action="append", default=[], metavar="URL",
                   help="base URL per --spec, in order (default: the spec's servers)")
    p.add_argument("--credential", action="append", default=[], metavar="SCHEME=VALUE",
                   help="a secret for a security scheme of the spec (visible in ps: "
                        "prefer --credential-env)")
    p.add_argument("--credential-env", action="append", default=[], metavar="SCHEME=VAR",
                   help="read the secret for SCHEME from environment variable VAR")
    p.add_argument("--search", default="dfs", choices=("dfs", "dfsdt", "react"),
                   help="search mode (default dfs)")
    p.add_argument("--max-seconds", type=float, default=None, help="wall-clock limit per run")
    p.add_argument("--instructions", default="",
                   help="extra system instructions (e.g. today's date)")
    add_memory_options(p)
    add_model_arg(p)


def add_memory_options(p: argparse.ArgumentParser, *, default_store: str = "none") -> None:
    """``--demonstrations FILE`` (worked examples from a store of solved runs) and
    ``--remember [FILE]`` (record solved runs in one: by default the user's store)."""
    p.add_argument("--demonstrations", metavar="FILE", default=None,
                   help="a store of solved runs: the one most like the request is shown to "
                        f"the model as a worked example (default: {default_store}; 'none': "
                        "no examples)")
    p.add_argument("--remember", nargs="?", const="", default=None, metavar="FILE",
                   help="record solved runs as demonstrations in FILE (default: "
                        "$AGENTRT_HOME/demonstrations.jsonl, else "
                        "~/.cache/agentrt/demonstrations.jsonl)")


def remember_run(result: Any, toolset: Any, dest: str | None, stream: Any = None) -> None:
    """With ``--remember``: append a solved run that made calls to the store ``dest`` ("":
    the user's store) and say so on ``stream``."""
    if dest is None:
        return
    from agentrt.demonstrations import record_run, user_store

    path = dest or str(user_store())
    if record_run(result, toolset.names, path):
        print(f"remembered as a demonstration → {path}", file=stream or sys.stderr)


def demonstrations_arg(value: str | None, default: str | None = None) -> str | None:
    """The store ``--demonstrations`` names (``none`` turns the default off)."""
    if value is not None and value.strip().lower() in ("none", "off", ""):
        return None
    return value if value is not None else default


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("request", help="what to do, in words")
    add_run_options(p, spec_required=True)
    p.add_argument("--policy", default="guard", choices=("allow", "deny", "confirm", "guard"),
                   help="side effects (POST/PUT/PATCH/DELETE): guard (default: let through the "
                        "calls whose recipients, names, amounts come from your request and "
                        "whose ids from results looked up for it; refuse the others with the "
                        "reason), allow, deny or confirm (ask on the terminal)")
    add_json_options(p, "the result (tree included)")
    p.add_argument("--save", metavar="RUNS.jsonl",
                   help="append the result to a JSONL file (for `agentrt export`)")


def build_policy(mode: str, stream: Any) -> Any:
    """The executor policy for ``mode``; ``confirm`` asks on the terminal."""
    from agentrt.cli.confirm import terminal_confirm
    from agentrt.executor import Policy

    if mode == "confirm":  # the answer is a line on stdin (end of input: no)
        return Policy.confirm(terminal_confirm(stream=stream))
    return Policy.from_value(mode)


def build_toolset(args: argparse.Namespace) -> Any:
    """The toolset of ``--spec``/``--base-url``."""
    from agentrt.toolset import Toolset

    if len(args.base_url) > len(args.spec):
        raise ConfigError(f"{len(args.base_url)} --base-url for {len(args.spec)} --spec")
    urls = list(args.base_url) + [None] * (len(args.spec) - len(args.base_url))
    return Toolset.from_specs(list(zip(args.spec, urls, strict=True)))


def run(args: argparse.Namespace) -> int:
    return int(run_async(_run(args)))


async def _run(args: argparse.Namespace) -> int:
    from agentrt.agent import Agent
    from agentrt.cli.render import LiveRenderer, render_result
    from agentrt.search import Budget

    toolset = build_toolset(args)
    credentials = parse_credentials(args.credential, args.credential_env)
    live = sys.stderr if args.json else sys.stdout
    budget = Budget(max_seconds=args.max_seconds) if args.max_seconds else None
    backend = await load_model(args.model, quiet=args.json and not sys.stderr.isatty())
    try:
        agent = Agent(backend, toolset, search=args.search, budget=budget,
                      policy=build_policy(args.policy, sys.stderr), credentials=credentials,
                      instructions=args.instructions,
                      demonstrations=demonstrations_arg(args.demonstrations))
        started = time.perf_counter()
        result = await agent.run(args.request,
                                 on_event=LiveRenderer(live, verbose=args.verbose))
    finally:
        await close_backend(backend)
    remember_run(result, toolset, args.remember)
    if args.save:
        from agentrt.trace import write_jsonl

        with open(args.save, "a", encoding="utf-8") as fh:
            write_jsonl([result], fh)
    if not args.json:
        render_result(result, seconds=time.perf_counter() - started)
    if args.json or args.out:
        write_json(args, result.to_json(indent=2))
    return 0 if result.solved else 1
