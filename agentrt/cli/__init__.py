"""Interfaces: the ``agentrt`` command. ``main(argv) -> int``; every subcommand is a module.

    agentrt [-v] [--log-json] [--version] demo | run | repl | tools | serve-demo | eval | export
                                          | synth | finetune | mcp

``-v`` and ``--log-json`` are accepted before and after the subcommand. Only the chosen
subcommand's module is imported and its options built (the others are listed by name), so
``agentrt --help`` loads neither httpx nor jsonschema nor a backend. Errors end as one clear
line plus a hint (exit 2); ``-v`` shows the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass

from agentrt import __version__
from agentrt.errors import AgentRTError, BackendError, ConfigError, SpecError

__all__ = ["COMMANDS", "build_parser", "console_main", "main", "parse_args"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Command:
    """A subcommand: the module that builds its options (``add_arguments(p)``, ``DESCRIPTION``)
    and runs it (``run(args) -> int``), and its line in ``agentrt --help``."""

    module: str
    summary: str


COMMANDS: dict[str, Command] = {
    "demo": Command(module="agentrt.cli.demo",
                    summary="book a flight and a hotel with the demo services"),
    "run": Command(module="agentrt.cli.run", summary="run one request against OpenAPI services"),
    "repl": Command(module="agentrt.cli.repl", summary="an interactive session"),
    "tools": Command(module="agentrt.cli.tools_cmd", summary="list the tools a spec yields"),
    "serve-demo": Command(module="agentrt.cli.serve",
                          summary="serve the demo flight and hotel APIs"),
    "eval": Command(module="agentrt.cli.eval_cmd",
                    summary="evaluate search modes on the demo task set"),
    "export": Command(module="agentrt.cli.export", summary="fine-tuning data from saved runs"),
    "synth": Command(module="agentrt.cli.synth",
                     summary="verified training trajectories: tasks + a teacher"),
    "finetune": Command(module="agentrt.cli.finetune",
                        summary="LoRA fine-tuning on synth records → PEFT + GGUF adapters"),
    "mcp": Command(module="agentrt.cli.mcp_cmd",
                   summary="Model Context Protocol: serve specs as MCP tools"),
}


class HelpFormatter(argparse.HelpFormatter):
    """Wraps prose paragraphs; keeps text with line breaks (tables, examples) as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text:
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def _hint(exc: BaseException) -> str:
    if isinstance(exc, SpecError):
        if not exc.pointer:
            return "check the path or URL, and that it is an OpenAPI 3.x or Swagger 2.0 document"
        return "check the document at that pointer; `agentrt tools --check SPEC` lists problems"
    if isinstance(exc, BackendError):
        return "is the model server running and the model name right? try `--model embedded`"
    if isinstance(exc, ConfigError):
        return "see `agentrt --help`"
    return "run again with -v for the traceback"


def _global_options(p: argparse.ArgumentParser, *, sub: bool) -> None:
    # On a subcommand the defaults are SUPPRESS: an option not given after the subcommand must
    # not overwrite the value given before it.
    p.add_argument("-v", "--verbose", action="store_true",
                   default=argparse.SUPPRESS if sub else False, help="debug logs and tracebacks")
    p.add_argument("--log-json", action="store_true", default=argparse.SUPPRESS if sub else None,
                   help="logs as JSON lines on stderr (default: JSON unless stderr is a "
                        "terminal)")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser. With ``only`` (a subcommand name) just that subcommand is built;
    the others are listed by name and summary, their modules not imported."""
    parser = argparse.ArgumentParser(
        prog="agentrt", description="A tool-using agent runtime for local models.",
        formatter_class=HelpFormatter)
    parser.add_argument("--version", action="version", version=f"agentrt {__version__}")
    _global_options(parser, sub=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, command in COMMANDS.items():
        if only is not None and name != only:
            sub.add_parser(name, help=command.summary)
            continue
        module = importlib.import_module(command.module)
        p = sub.add_parser(name, help=command.summary, description=module.DESCRIPTION,
                           formatter_class=HelpFormatter)
        module.add_arguments(p)
        _global_options(p, sub=True)
        p.set_defaults(handler=module.run)
    return parser


def _command(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` names: the first word that is not an option (the global
    options take no value), if it is one."""
    for word in argv:
        if word == "--":
            return None
        if not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """``argv`` parsed (argparse exits with status 2 on a usage error, 0 after ``--help``)."""
    return build_parser(only=_command(argv) or "").parse_args(list(argv))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 1 a failed run or check, 2 an error)."""
    words = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parse_args(words)
    except SystemExit as exc:  # --help, --version, a usage error: argparse has said it
        return exc.code if isinstance(exc.code, int) else 2
    if not getattr(args, "handler", None):
        build_parser(only="").print_help()
        return 2
    from agentrt.logsetup import configure_logging

    configure_logging(level="debug" if args.verbose else "warning",
                      json=getattr(args, "log_json", None) or None)
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except AgentRTError as exc:
        if args.verbose:
            traceback.print_exc()
        print(f"agentrt: error: {exc}", file=sys.stderr)
        print(f"  hint: {_hint(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug of ours: still one line unless -v
        if args.verbose:
            traceback.print_exc()
        print(f"agentrt: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        print("  hint: run again with -v for the traceback", file=sys.stderr)
        return 2


def console_main() -> None:
    sys.exit(main())
