"""Interfaces: the texts a search is shown with — one line per search event (`Describer`) and one
per node of a finished tree (`node_text`) — that the plain renderer (`agentrt.cli.render`) and
the rich one (`agentrt.cli.render_rich`) both draw, each in its own way.

A `Line` says what to show (text, tone) and where it hangs: under which node (``under``; the
run is 0, the heading of the run None), how deep that is (``depth``, what the plain text
indents by), and which node the line stands for (``opens``: later lines may hang under it).
The depth is reconstructed from the order of the events (a call belongs to the node expanded
or backed up to last) unless the event names its ``parent``. Events are dispatched on their
typed kind (:class:`~agentrt.protocol.EventKind`): every kind has a handler or is listed as
shown by none, and a test keeps that complete.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import IO, Any, ClassVar

from agentrt.protocol import EventKind, SearchEvent
from agentrt.search.tree import Node
from agentrt.trace import scrub

__all__ = ["ASCII", "UNICODE", "Describer", "Line", "Marks", "Tone", "format_call", "marks_for",
           "node_text", "short"]


class Tone(str, Enum):
    """What a piece of text means, which each renderer turns into its own colour."""

    PLAIN = "plain"
    TITLE = "title"
    DIM = "dim"
    WARN = "warn"
    OK = "ok"
    ERROR = "error"
    EFFECT = "effect"
    ANSWER = "answer"


@dataclass(frozen=True, slots=True, kw_only=True)
class Marks:
    """The signs in front of lines and the tree's guides (Unicode, or ASCII for other streams)."""

    call: str = "→"
    bad: str = "✗"
    back: str = "↩"
    ok: str = "✓"
    fx: str = "$"
    tee: str = "├─ "
    last: str = "└─ "
    pipe: str = "│  "


UNICODE = Marks()
ASCII = Marks(call="->", bad="x", back="<-", ok="OK", fx="$", tee="|- ", last="`- ", pipe="|  ")


def marks_for(stream: IO[str]) -> Marks:
    """`UNICODE` on a stream that says it is UTF-8, else `ASCII`."""
    utf8 = "utf" in (getattr(stream, "encoding", "") or "").lower()
    return UNICODE if utf8 else ASCII


def short(value: Any, limit: int) -> str:
    """``value`` as text (JSON unless a string), cut to ``limit`` characters with ``…``."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False,
                                                           default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_call(tool: str | None, arguments: Any, limit: int = 110) -> str:
    """``name(a=1, b="x")``, shortened to about ``limit`` characters."""
    if isinstance(arguments, Mapping):
        parts = [f"{k}={short(v, 60)}" for k, v in scrub(dict(arguments)).items()]
        inner = ", ".join(parts)
    else:
        inner = short(scrub(arguments), 60) if arguments not in (None, "") else ""
    return f"{tool or '?'}({short(inner, max(limit - len(tool or '?'), 20))})"


@dataclass(frozen=True, slots=True, kw_only=True)
class Line:
    """One line of the live view: ``text`` in ``tone``, then ``tail`` in ``tail_tone``."""

    text: str
    tone: Tone = Tone.PLAIN
    tail: str = ""
    tail_tone: Tone = Tone.PLAIN
    #: the node the line hangs under (0: the run); None: the heading of the run
    under: int | None = 0
    #: how deep ``under`` is (0: right below the heading)
    depth: int = 0
    #: the node this line stands for, under which later lines hang
    opens: int | None = None

    @property
    def full(self) -> str:
        """The line's whole text, without colour."""
        return self.text + self.tail


Handler = Callable[["Describer", SearchEvent], tuple[Line, ...]]


class Describer:
    """Turns a run's search events, in order, into the lines both live renderers show.

    It keeps what the order of events implies: the node expanded or backed up to last, the
    depth of every node shown, the rejected candidates of a batch (shown, identical ones folded
    into one ``×N`` line, when ``expanded`` names their parent) and a side effect (shown under
    its call, whose event comes after it). ``verbose`` also shows every model request.
    """

    def __init__(self, marks: Marks, *, verbose: bool = False, width: int = 110) -> None:
        self.marks = marks
        self.verbose = verbose
        self.width = width
        self.depth: dict[int, int] = {0: 0}
        self.current = 0
        self.pending: list[SearchEvent] = []
        self.effects: dict[int, SearchEvent] = {}

    def __call__(self, event: SearchEvent) -> tuple[Line, ...]:
        """The lines ``event`` adds (none for a kind held back or shown by none)."""
        if event.kind in self.IGNORED:
            return ()
        return self.HANDLERS[event.kind](self, event)

    def _here(self, node: int, text: str, tone: Tone) -> Line:
        return Line(text=text, tone=tone, under=node, depth=self.depth.get(node, 0))

    # -- one method per event kind ------------------------------------------------------------
    def _on_run_started(self, event: SearchEvent) -> tuple[Line, ...]:
        self.depth, self.current, self.pending = {0: 0}, 0, []
        return (Line(text=f"search ({event.data.get('mode', 'dfs')}): ", tone=Tone.TITLE,
                     tail=short(str(event.data.get("query", "")), 4 * self.width), under=None),)

    def _on_candidate_rejected(self, event: SearchEvent) -> tuple[Line, ...]:
        self.pending.append(event)  # shown under its parent when ``expanded`` names it
        return ()

    def _on_expanded(self, event: SearchEvent) -> tuple[Line, ...]:
        self.current = event.node
        d = self.depth.get(event.node, 0)
        lines = []
        if self.verbose:
            lines.append(self._here(event.node, f"· model: {event.data.get('candidates', '?')} "
                                    f"candidate(s), {event.data.get('accepted', '?')} accepted",
                                    Tone.DIM))
        groups: dict[str, int] = {}  # identical rejections in one batch: one line, ×N
        for rej in self.pending:
            self.depth[rej.node] = d + 1
            why = "; ".join(str(v) for v in rej.data.get("violations") or []) or "rejected"
            status = str(rej.data.get("status", "rejected")).replace("rejected_", "")
            what = rej.data.get("tool") or "step"
            text = f"{self.marks.bad} {what} rejected ({status}): {short(why, self.width)}"
            groups[text] = groups.get(text, 0) + 1
        for text, count in groups.items():
            lines.append(Line(text=text + (f"  ×{count}" if count > 1 else ""),
                              tone=Tone.WARN, under=event.node, depth=d))
        self.pending = []
        return tuple(lines)

    def _on_call_executed(self, event: SearchEvent) -> tuple[Line, ...]:
        given = event.data.get("parent")
        parent = int(given) if isinstance(given, int) else self.current
        d = self.depth.get(parent, 0)
        self.depth[event.node] = d + 1
        outcome = str(event.data.get("outcome", ""))
        code = event.data.get("status_code")
        tail = f"{outcome} {code}" if code else outcome
        if outcome != "ok" and event.data.get("message"):
            tail += f": {short(str(event.data['message']), 80)}"
        call = format_call(event.data.get("tool"), event.data.get("arguments"), self.width)
        lines = [Line(text=f"{self.marks.call} {call}  ", tail=tail,
                      tail_tone=Tone.OK if outcome == "ok" else Tone.ERROR,
                      under=parent, depth=d, opens=event.node)]
        effect = self.effects.pop(event.node, None)
        if effect is not None:
            lines.append(self._here(event.node, f"{self.marks.fx} {effect.data.get('state')}: "
                                    f"the change is made ({effect.data.get('tool')})",
                                    Tone.EFFECT))
        return tuple(lines)

    def _on_side_effect(self, event: SearchEvent) -> tuple[Line, ...]:
        self.effects[event.node] = event  # shown under its call (the event comes first)
        return ()

    def _on_backtracked(self, event: SearchEvent) -> tuple[Line, ...]:
        self.current = event.node
        return (self._here(event.node, f"{self.marks.back} back up: {event.data.get('why', '')}",
                           Tone.DIM),)

    def _on_compensated(self, event: SearchEvent) -> tuple[Line, ...]:
        return (self._here(event.node, f"{self.marks.back} undone with "
                           f"{event.data.get('tool')}: {event.data.get('outcome')}",
                           Tone.EFFECT),)

    def _on_answer_rejected(self, event: SearchEvent) -> tuple[Line, ...]:
        return (self._here(self.current, f"{self.marks.bad} answer refused: "
                           f"{event.data.get('reason', '')}", Tone.WARN),)

    def _on_answer(self, event: SearchEvent) -> tuple[Line, ...]:
        return (self._here(self.current, f"{self.marks.ok} answer: "
                           f"{short(str(event.data.get('answer', '')), 200)}", Tone.ANSWER),)

    def _on_budget_exhausted(self, event: SearchEvent) -> tuple[Line, ...]:
        return (Line(text=f"! budget exhausted: {event.data.get('limit')}", tone=Tone.ERROR),)

    #: the handler of each event kind
    HANDLERS: ClassVar[dict[EventKind, Handler]] = {
        EventKind.RUN_STARTED: _on_run_started,
        EventKind.CANDIDATE_REJECTED: _on_candidate_rejected,
        EventKind.EXPANDED: _on_expanded,
        EventKind.CALL_EXECUTED: _on_call_executed,
        EventKind.SIDE_EFFECT: _on_side_effect,
        EventKind.BACKTRACKED: _on_backtracked,
        EventKind.COMPENSATED: _on_compensated,
        EventKind.ANSWER_REJECTED: _on_answer_rejected,
        EventKind.ANSWER: _on_answer,
        EventKind.BUDGET_EXHAUSTED: _on_budget_exhausted,
    }
    #: kinds with no line of their own (the end of a run is shown by ``render_result``)
    IGNORED: ClassVar[frozenset[EventKind]] = frozenset({EventKind.RUN_FINISHED})


# -- after the run ------------------------------------------------------------------------------
def node_text(node: Node, marks: Marks) -> str:
    """The text of one node of a finished search tree (``#id`` and what became of it)."""
    nid = f"#{node.id}"
    if node.kind == "root":
        return f"{nid} request"
    if node.kind == "answer":
        mark = marks.bad if node.status.startswith("rejected") else marks.ok
        text = f"{nid} {mark} answer: {short(node.answer or '', 90)}"
        return text + (f"  (refused: {node.reason})" if node.reason else "")
    if node.kind == "give_up":
        return f"{nid} give up and restart"
    if node.kind == "unparseable":
        return f"{nid} {marks.bad} unreadable reply: {short(node.raw, 60)}"
    call = format_call(node.tool, node.arguments, 80)
    if node.status.startswith("rejected"):
        why = "; ".join(v.message for v in node.violations) or node.reason
        return f"{nid} {marks.bad} {call} {node.status.replace('rejected_', 'rejected ')}: " \
               f"{short(why, 90)}"
    obs = node.observation
    outcome = node.outcome or ("not run" if obs is None else "")
    code = obs.status_code if obs is not None else None
    return f"{nid} {call} {outcome}{f' {code}' if code else ''}" + \
        (f" [{node.result}]" if node.result and node.result != "ok" else "")
