"""Interfaces: the ``agentrt`` command. ``main(argv) -> int``; every subcommand is a module.

    agentrt demo | run | repl | tools | serve-demo | eval | export

Errors end as one clear line plus a hint (exit 2); ``-v`` shows the traceback.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence

from agentrt.errors import AgentRTError, BackendError, ConfigError, SpecError

__all__ = ["console_main", "main"]

DEFAULT_MODEL = "embedded"
MODEL_HELP = ("model: embedded (default), embedded:/path/model.gguf, "
              "openai:http://host:8000/v1#model, vllm:http://host:8000/v1#model, "
              "llamacpp:http://host:8080/v1#model, vllm-local:MODEL")


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


def build_parser() -> argparse.ArgumentParser:
    from agentrt.cli import demo, eval_cmd, export, repl, run, serve, tools_cmd

    parser = argparse.ArgumentParser(
        prog="agentrt", description="A tool-using agent runtime for local models.")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="debug logs and tracebacks")
    parser.add_argument("--log-json", action="store_true", default=None,
                        help="logs as JSON lines on stderr (default: JSON unless stderr is a "
                             "terminal)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (demo, run, repl, tools_cmd, serve, eval_cmd, export):
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 1 a failed run or check, 2 an error)."""
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    if not getattr(args, "handler", None):
        parser.print_help()
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
