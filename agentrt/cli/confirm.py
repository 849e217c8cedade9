"""Interfaces: asking a person before a side effect — the exact request (method, URL, body;
never a secret) and a y/n question, for ``agentrt run --policy confirm`` and the REPL."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, TextIO

from agentrt.trace import scrub

__all__ = ["describe_request", "terminal_confirm"]


def describe_request(request: Any) -> str:
    """The request as shown before the question (secrets scrubbed once more)."""
    lines = [f"{request.method} {scrub(request.url)}",
             f"  ({request.tool}, {request.side_effect})"]
    if request.body is not None:
        body = json.dumps(scrub(request.body), ensure_ascii=False, indent=2, default=str)
        lines += ["  body: " + body.replace("\n", "\n        ")]
    return "\n".join(lines)


def terminal_confirm(*, stream: TextIO | None = None,
                     read: Callable[[str], str] | None = None) -> Callable[[Any], bool]:
    """A confirmation callback that prints the request on ``stream`` and reads y/n with
    ``read`` (default: a line from stdin, the prompt on ``stream``). Anything but y/yes, or end of input, is a no."""
    out = stream or sys.stderr

    def read_line(prompt: str) -> str:
        out.write(prompt)
        out.flush()
        line = sys.stdin.readline()
        if not line:
            raise EOFError
        return line

    reader = read or read_line

    def confirm(request: Any) -> bool:
        out.write("\n? the agent wants to make a change:\n" + describe_request(request) + "\n")
        out.flush()
        try:
            answer = reader("send it? [y/N] ")
        except EOFError:
            answer = ""
        ok = answer.strip().lower() in ("y", "yes")
        out.write("  confirmed\n" if ok else "  declined: not sent\n")
        out.flush()
        return ok

    return confirm
