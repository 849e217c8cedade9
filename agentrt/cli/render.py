"""Interfaces: the search shown to a person — live, event by event (steps, rejected candidates
and why, calls and their outcomes, back-ups, the answer), the finished tree, and the result.

Used by ``agentrt demo``, ``agentrt run`` and the REPL (which, on a terminal with colour,
draws the same texts as a live rich tree and the answer in a panel:
:mod:`agentrt.cli.render_rich`, whose names are importable from here too). What each event
shows, and where, comes from one place, :class:`~agentrt.cli.render_text.Describer`; this
module writes its lines as indented text.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any, TextIO

from agentrt.cli.render_rich import (
    RichLiveRenderer,
    answer_panel,
    calls_table,
    fancy,
    rich_console,
    rich_tree,
    tools_table,
)
from agentrt.cli.render_text import Describer, Line, Tone, format_call, marks_for, node_text
from agentrt.protocol import SearchEvent
from agentrt.search.result import RunResult
from agentrt.search.tree import Node

__all__ = ["LiveRenderer", "RichLiveRenderer", "answer_panel", "bookings", "calls_table",
           "fancy", "format_call", "live_renderer", "render_result", "render_tree",
           "rich_console", "rich_tree", "tools_table"]

#: the ANSI colour of each tone (none for plain text)
ANSI: dict[Tone, str] = {Tone.PLAIN: "", Tone.TITLE: "1", Tone.DIM: "2", Tone.WARN: "33",
                         Tone.OK: "32", Tone.ERROR: "31", Tone.EFFECT: "35", Tone.ANSWER: "1;32"}


class _Paint:
    """Colour on ``stream`` when ``color`` says so (None: on a terminal without NO_COLOR)."""

    def __init__(self, stream: TextIO, color: bool | None) -> None:
        if color is None:
            color = stream.isatty() and not os.environ.get("NO_COLOR")
        self.color = color

    def __call__(self, text: str, tone: Tone) -> str:
        code = ANSI[tone]
        return f"\033[{code}m{text}\033[0m" if self.color and code else text


class LiveRenderer:
    """A ``SearchEvent`` callback that prints one line per step as the search grows.

    ``verbose`` also shows every model request (how many candidates came back).
    """

    def __init__(self, stream: TextIO | None = None, *, color: bool | None = None,
                 verbose: bool = False, width: int = 110) -> None:
        self.out = stream or sys.stdout
        self.paint = _Paint(self.out, color)
        self.describe = Describer(marks_for(self.out), verbose=verbose, width=width)

    def __call__(self, event: SearchEvent) -> None:
        for line in self.describe(event):
            self.out.write(self.text(line) + "\n")
            self.out.flush()

    def text(self, line: Line) -> str:
        """``line`` as written: indented by its depth (the heading not at all), coloured."""
        indent = "" if line.under is None else "  " * max(line.depth, 0) + "  "
        return (indent + self.paint(line.text, line.tone)
                + self.paint(line.tail, line.tail_tone))


def live_renderer(stream: TextIO, console: Any = None, *,
                  verbose: bool = False) -> LiveRenderer | RichLiveRenderer:
    """The live view for a run on ``stream``: the rich tree when ``console`` is `fancy`, else
    the plain line-per-event `LiveRenderer` (byte for byte what `agentrt run` prints)."""
    if fancy(console):
        return RichLiveRenderer(console, verbose=verbose)
    return LiveRenderer(stream, verbose=verbose)


# -- after the run ------------------------------------------------------------------------------
def render_tree(tree: Node, stream: TextIO | None = None) -> str:
    """The finished search tree (``RunResult.tree``) as indented text."""
    m = marks_for(stream or sys.stdout)
    lines: list[str] = []

    def walk(node: Node, prefix: str, last: bool, root: bool) -> None:
        head = "" if root else prefix + (m.last if last else m.tee)
        lines.append(head + node_text(node, m))
        below = "" if root else prefix + ("   " if last else m.pipe)
        for i, child in enumerate(node.children):
            walk(child, below, i == len(node.children) - 1, False)

    walk(tree, "", True, True)
    return "\n".join(lines)


def bookings(result: RunResult) -> list[tuple[str, str, str]]:
    """``(tool, reference, state)`` for each side effect of the run."""
    out = []
    for fx in result.side_effects:
        body = fx.body if isinstance(fx.body, Mapping) else {}
        ref = next((str(body[k]) for k in ("booking_id", "reference", "id") if body.get(k)), "?")
        state = fx.state + (" (abandoned branch)" if fx.backed_up_past else "")
        out.append((fx.tool, ref, state))
    return out


def render_result(result: RunResult, stream: TextIO | None = None, *,
                  seconds: float | None = None, console: Any = None) -> None:
    """The end of a run: status, answer, booking references, the counters.

    With a ``console`` that is a terminal with colour allowed (`fancy`) the answer is a rich
    panel; otherwise the plain ``answer:`` line."""
    out = stream or sys.stdout
    paint = _Paint(out, None)
    out.write("\n" + paint(f"status: {result.status}", Tone.TITLE)
              + (f" ({result.reason})" if result.reason and not result.solved else "") + "\n")
    if fancy(console):
        out.flush()
        console.print(answer_panel(result))
    else:
        out.write(f"answer: {result.answer if result.answer is not None else '(none)'}\n")
    for tool, ref, state in bookings(result):
        out.write(f"booking: {ref}  [{tool}, {state}]\n")
    st = result.stats
    took = f", {seconds:.1f}s" if seconds is not None else ""
    out.write(paint(
        f"{st.get('model_calls', 0)} model requests, {st.get('candidates', 0)} candidates, "
        f"{sum(int(v) for k, v in st.items() if k.startswith('rejected_'))} rejected before "
        f"sending, {st.get('executed', len(result.calls))} calls made{took}", Tone.DIM) + "\n")
    out.flush()
