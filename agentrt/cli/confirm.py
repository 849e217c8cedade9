"""Interfaces: asking a person before a side effect — the exact request (method, URL, body;
never a secret) and a y/n question, for ``agentrt run --policy confirm`` and the REPL (one
dialogue, two ways to read the answer)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, TextIO

from agentrt.redaction import scrub

__all__ = ["ask_before_sending", "describe_request", "terminal_confirm"]


def describe_request(request: Any) -> str:
    """The request as shown before the question (secrets scrubbed once more)."""
    lines = [f"{request.method} {scrub(request.url)}",
             f"  ({request.tool}, {request.side_effect})"]
    if request.body is not None:
        body = json.dumps(scrub(request.body), ensure_ascii=False, indent=2, default=str)
        lines += ["  body: " + body.replace("\n", "\n        ")]
    return "\n".join(lines)


def ask_before_sending(request: Any, *, write: Callable[[str], Any],
                       read: Callable[[str], str],
                       on_interrupt: Callable[[], Any] | None = None) -> bool:
    """Show ``request`` with ``write``, ask with ``read(prompt)``; True only for y/yes.

    End of input is a no. Ctrl-C at the question is a no too when ``on_interrupt`` is given
    (it is called, e.g. to stop the run); without it the KeyboardInterrupt goes on.
    """
    write("\n? the agent wants to make a change:\n" + describe_request(request) + "\n")
    try:
        answer = read("send it? [y/N] ")
    except EOFError:
        answer = ""
    except KeyboardInterrupt:
        if on_interrupt is None:
            raise
        write("\n  declined; stopping the run\n")
        on_interrupt()
        return False
    ok = answer.strip().lower() in ("y", "yes")
    write("  confirmed\n" if ok else "  declined: not sent\n")
    return ok


def terminal_confirm(*, stream: TextIO | None = None,
                     read: Callable[[str], str] | None = None) -> Callable[[Any], bool]:
    """A confirmation callback that prints the request on ``stream`` and reads y/n with
    ``read`` (default: a line from stdin, the prompt on ``stream``)."""
    out = stream or sys.stderr

    def write(text: str) -> None:
        out.write(text)
        out.flush()

    def read_line(prompt: str) -> str:
        write(prompt)
        line = sys.stdin.readline()
        if not line:
            raise EOFError
        return line

    reader = read or read_line

    def confirm(request: Any) -> bool:
        return ask_before_sending(request, write=write, read=reader)

    return confirm
