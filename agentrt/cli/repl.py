"""Interfaces: ``agentrt repl`` — an interactive session with line editing, a history file and
completion (prompt_toolkit: /commands, tool names, /export paths; `agentrt.cli.lineedit`);
without ``--spec`` it starts the demo flight and hotel services and talks to them."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from agentrt.cli.common import install_pool, load_model, parse_credentials
from agentrt.cli.run import add_run_options, build_toolset

if TYPE_CHECKING:
    from agentrt.cli.session import Session

__all__ = ["DESCRIPTION", "add_arguments", "run"]

DESCRIPTION = ("Talk to the agent; it asks before any side effect. Without --spec: the demo "
               "flight and hotel services.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_run_options(p, spec_required=False)
    p.add_argument("--policy", default="confirm",
                   choices=("allow", "deny", "confirm", "guard"),
                   help="side effects: confirm (ask, the default), allow, deny, or guard (let "
                        "through the calls whose recipients, names, amounts come from your "
                        "request and whose ids from results looked up for it; ask about the "
                        "others)")
    p.add_argument("--state", default=None, metavar="DIR",
                   help="demo services' state directory (without --spec)")


@contextlib.contextmanager
def _world(args: argparse.Namespace) -> Iterator[tuple[Any, Any, str]]:
    """(toolset, credentials, instructions): the given specs, or the demo services."""
    if args.spec:
        yield (build_toolset(args), parse_credentials(args.credential, args.credential_env),
               args.instructions)
        return
    import agentrt_demo  # the demo package sits above the library: only demo commands load it

    with agentrt_demo.running_services(args.state) as services:
        print(f"demo services: flights {services.flights_url}  hotels {services.hotels_url}",
              file=sys.stderr)
        toolset = agentrt_demo.demo_toolset(services.flights_url, services.hotels_url)
        today = agentrt_demo.demo_today().isoformat()
        yield (toolset, agentrt_demo.demo_credentials(toolset, services.api_key),
               f"Today is {today}. {args.instructions}".strip())


def _demonstrations(args: argparse.Namespace) -> str | None:
    """The store for worked examples: ``--demonstrations``, else for the demo world the
    demonstrations shipped with the demo."""
    from agentrt.cli.run import demonstrations_arg

    default = None
    if not args.spec:
        from agentrt_demo.teacher import DEMONSTRATIONS_FILE

        default = str(DEMONSTRATIONS_FILE)
    return demonstrations_arg(args.demonstrations, default)


def run(args: argparse.Namespace) -> int:
    from agentrt.agent import Agent
    from agentrt.cli.lineedit import line_reader
    from agentrt.cli.session import Session, history_path
    from agentrt.search import Budget

    loop = asyncio.new_event_loop()
    install_pool(loop)
    try:
        backend = loop.run_until_complete(load_model(args.model))
    except BaseException:
        loop.close()
        raise
    budget = Budget(max_seconds=args.max_seconds) if args.max_seconds else None
    demonstrations = _demonstrations(args)
    with _world(args) as (toolset, credentials, instructions):
        def make_agent(policy: Any) -> Any:
            return Agent(backend, toolset, search=args.search, policy=policy, budget=budget,
                         credentials=credentials, instructions=instructions,
                         demonstrations=demonstrations)

        session = Session(make_agent, toolset, policy=args.policy, loop=loop,
                          verbose=args.verbose, remember=args.remember)
        try:
            with line_reader(history_path(), lambda: toolset.names) as read:
                session.write(f"agentrt repl: {len(toolset.tools)} tools, model {backend.name}, "
                              f"side effects: {args.policy}. /help for commands.")
                _loop(session, read)
        finally:
            session.close()
    return 0


def _loop(session: Session, read: Callable[[str], str] = input) -> None:
    while True:
        try:
            line = read("agentrt> ")
        except EOFError:
            session.write("")
            return
        except KeyboardInterrupt:
            session.write("\n(Ctrl-C stops a running request; /quit or Ctrl-D leaves)")
            continue
        line = line.strip()
        if not line:
            continue
        if line.startswith("/"):
            if not session.command(line):
                return
            continue
        session.ask(line)
