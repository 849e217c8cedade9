"""Interfaces: the search shown to a person — live, event by event (steps, rejected candidates
and why, calls and their outcomes, back-ups, the answer), the finished tree, and the result.

Used by ``agentrt demo``, ``agentrt run`` and the REPL (which, on a terminal with colour,
draws the same texts as a live rich tree, `RichLiveRenderer`, and the answer in a panel). The search's events carry node ids;
the depth of each line is reconstructed from their order (a call belongs to the node expanded
or backed up to last) unless the event says its ``parent``. Events are dispatched on their
typed kind (:class:`~agentrt.protocol.EventKind`): every kind has a handler or is listed as
shown by none, and a test keeps that complete.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TextIO

from agentrt.protocol import EventKind, SearchEvent
from agentrt.search.result import RunResult
from agentrt.search.tree import Node
from agentrt.trace import scrub

__all__ = ["LiveRenderer", "RichLiveRenderer", "answer_panel", "calls_table", "fancy",
           "format_call", "live_renderer", "render_result", "render_tree", "rich_console",
           "rich_tree", "tools_table"]


def _utf8(stream: TextIO) -> bool:
    return "utf" in (getattr(stream, "encoding", "") or "").lower()


def _short(value: Any, limit: int) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False,
                                                           default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_call(tool: str | None, arguments: Any, limit: int = 110) -> str:
    """``name(a=1, b="x")``, shortened to about ``limit`` characters."""
    if isinstance(arguments, Mapping):
        parts = [f"{k}={_short(v, 60)}" for k, v in scrub(dict(arguments)).items()]
        inner = ", ".join(parts)
    else:
        inner = _short(scrub(arguments), 60) if arguments not in (None, "") else ""
    return f"{tool or '?'}({_short(inner, max(limit - len(tool or '?'), 20))})"


class _Style:
    def __init__(self, stream: TextIO, color: bool | None) -> None:
        if color is None:
            color = stream.isatty() and not os.environ.get("NO_COLOR")
        self.color = color
        u = _utf8(stream)
        self.call, self.bad, self.back, self.ok, self.fx = (
            ("→", "✗", "↩", "✓", "$") if u else ("->", "x", "<-", "OK", "$"))
        self.tee, self.last, self.pipe = ("├─ ", "└─ ", "│  ") if u else ("|- ", "`- ", "|  ")

    def paint(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.color else text


class LiveRenderer:
    """A ``SearchEvent`` callback that prints one line per step as the search grows.

    ``verbose`` also shows every model request (how many candidates came back).
    """

    def __init__(self, stream: TextIO | None = None, *, color: bool | None = None,
                 verbose: bool = False, width: int = 110) -> None:
        self.out = stream or sys.stdout
        self.style = _Style(self.out, color)
        self.verbose = verbose
        self.width = width
        self.depth: dict[int, int] = {0: 0}
        self.current = 0
        self.pending: list[SearchEvent] = []
        self.effects: dict[int, SearchEvent] = {}

    def _line(self, depth: int, text: str) -> None:
        self.out.write("  " * max(depth, 0) + "  " + text + "\n")
        self.out.flush()

    def _parent(self, event: SearchEvent) -> int:
        parent = event.data.get("parent")
        return int(parent) if isinstance(parent, int) else self.current

    def __call__(self, event: SearchEvent) -> None:
        if event.kind in self.IGNORED:
            return
        self.HANDLERS[event.kind](self, event)

    # -- one method per event kind ------------------------------------------------------------
    def _on_run_started(self, event: SearchEvent) -> None:
        self.depth, self.current, self.pending = {0: 0}, 0, []
        s = self.style
        self.out.write(s.paint(f"search ({event.data.get('mode', 'dfs')}): ", "1")
                       + _short(str(event.data.get("query", "")), 4 * self.width) + "\n")
        self.out.flush()

    def _on_candidate_rejected(self, event: SearchEvent) -> None:
        self.pending.append(event)  # shown under its parent when ``expanded`` names it

    def _on_expanded(self, event: SearchEvent) -> None:
        self.current = event.node
        d = self.depth.get(event.node, 0)
        if self.verbose:
            self._line(d, self.style.paint(
                f"· model: {event.data.get('candidates', '?')} candidate(s), "
                f"{event.data.get('accepted', '?')} accepted", "2"))
        s = self.style
        groups: dict[str, int] = {}  # identical rejections in one batch: one line, ×N
        for rej in self.pending:
            self.depth[rej.node] = d + 1
            why = "; ".join(str(v) for v in rej.data.get("violations") or []) or "rejected"
            status = str(rej.data.get("status", "rejected")).replace("rejected_", "")
            what = rej.data.get("tool") or "step"
            text = f"{s.bad} {what} rejected ({status}): {_short(why, self.width)}"
            groups[text] = groups.get(text, 0) + 1
        for text, count in groups.items():
            self._line(d, s.paint(text + (f"  ×{count}" if count > 1 else ""), "33"))
        self.pending = []

    def _on_call_executed(self, event: SearchEvent) -> None:
        parent = self._parent(event)
        d = self.depth.get(parent, 0)
        self.depth[event.node] = d + 1
        s = self.style
        outcome = str(event.data.get("outcome", ""))
        code = event.data.get("status_code")
        tail = f"{outcome} {code}" if code else outcome
        if outcome != "ok" and event.data.get("message"):
            tail += f": {_short(str(event.data['message']), 80)}"
        call = format_call(event.data.get("tool"), event.data.get("arguments"), self.width)
        self._line(d, f"{s.call} {call}  " + s.paint(tail, "32" if outcome == "ok" else "31"))
        effect = self.effects.pop(event.node, None)
        if effect is not None:
            self._line(d + 1, s.paint(f"{s.fx} {effect.data.get('state')}: the change is made "
                                      f"({effect.data.get('tool')})", "35"))

    def _on_side_effect(self, event: SearchEvent) -> None:
        self.effects[event.node] = event  # shown under its call (the event comes first)

    def _on_backtracked(self, event: SearchEvent) -> None:
        self.current = event.node
        s = self.style
        self._line(self.depth.get(event.node, 0),
                   s.paint(f"{s.back} back up: {event.data.get('why', '')}", "2"))

    def _on_compensated(self, event: SearchEvent) -> None:
        s = self.style
        self._line(self.depth.get(event.node, 0),
                   s.paint(f"{s.back} undone with {event.data.get('tool')}: "
                           f"{event.data.get('outcome')}", "35"))

    def _on_answer_rejected(self, event: SearchEvent) -> None:
        s = self.style
        self._line(self.depth.get(self.current, 0),
                   s.paint(f"{s.bad} answer refused: {event.data.get('reason', '')}", "33"))

    def _on_answer(self, event: SearchEvent) -> None:
        s = self.style
        self._line(self.depth.get(self.current, 0),
                   s.paint(f"{s.ok} answer: {_short(str(event.data.get('answer', '')), 200)}",
                           "1;32"))

    def _on_budget_exhausted(self, event: SearchEvent) -> None:
        self._line(0, self.style.paint(f"! budget exhausted: {event.data.get('limit')}", "31"))

    #: the handler of each event kind
    HANDLERS: ClassVar[dict[EventKind, Callable[[LiveRenderer, SearchEvent], None]]] = {
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
def _node_text(node: Node, s: _Style) -> str:
    nid = f"#{node.id}"
    if node.kind == "root":
        return f"{nid} request"
    if node.kind == "answer":
        mark = s.bad if node.status.startswith("rejected") else s.ok
        text = f"{nid} {mark} answer: {_short(node.answer or '', 90)}"
        return text + (f"  (refused: {node.reason})" if node.reason else "")
    if node.kind == "give_up":
        return f"{nid} give up and restart"
    if node.kind == "unparseable":
        return f"{nid} {s.bad} unreadable reply: {_short(node.raw, 60)}"
    call = format_call(node.tool, node.arguments, 80)
    if node.status.startswith("rejected"):
        why = "; ".join(v.message for v in node.violations) or node.reason
        return f"{nid} {s.bad} {call} {node.status.replace('rejected_', 'rejected ')}: " \
               f"{_short(why, 90)}"
    obs = node.observation
    outcome = node.outcome or ("not run" if obs is None else "")
    code = obs.status_code if obs is not None else None
    return f"{nid} {call} {outcome}{f' {code}' if code else ''}" + \
        (f" [{node.result}]" if node.result and node.result != "ok" else "")


def render_tree(tree: Node, stream: TextIO | None = None) -> str:
    """The finished search tree (``RunResult.tree``) as indented text."""
    out = stream or sys.stdout
    s = _Style(out, False)
    lines: list[str] = []

    def walk(node: Node, prefix: str, last: bool, root: bool) -> None:
        head = "" if root else prefix + (s.last if last else s.tee)
        lines.append(head + _node_text(node, s))
        below = "" if root else prefix + ("   " if last else s.pipe)
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
    s = _Style(out, None)
    out.write("\n" + s.paint(f"status: {result.status}", "1")
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
    out.write(s.paint(
        f"{st.get('model_calls', 0)} model requests, {st.get('candidates', 0)} candidates, "
        f"{sum(int(v) for k, v in st.items() if k.startswith('rejected_'))} rejected before "
        f"sending, {st.get('executed', len(result.calls))} calls made{took}", "2") + "\n")
    out.flush()


# -- rich (the REPL) ----------------------------------------------------------------------------
def rich_console(stream: TextIO | None = None) -> Any:
    """A `rich.console.Console` on ``stream``: colour only on a terminal and without
    ``NO_COLOR``; None when rich is not installed (callers then print plain text)."""
    try:
        from rich.console import Console
    except ImportError:
        return None
    out = stream or sys.stdout
    plain = not out.isatty() or bool(os.environ.get("NO_COLOR"))  # an empty NO_COLOR: colour
    return Console(file=out, no_color=plain, color_system=None if plain else "auto",
                   highlight=False, emoji=False, markup=False, soft_wrap=False)


def fancy(console: Any) -> bool:
    """Whether ``console`` is a rich console on a terminal with colour allowed (the live tree
    and the answer panel; everything else gets the plain line-per-event text)."""
    return (console is not None and bool(console.is_terminal) and not console.no_color
            and not os.environ.get("NO_COLOR") and not console.is_dumb_terminal)


def answer_panel(result: RunResult) -> Any:
    """The run's answer as a `rich.panel.Panel`, titled with the status."""
    from rich.panel import Panel
    from rich.text import Text

    answer = result.answer if result.answer is not None else "(none)"
    ok = result.status == "solved"
    return Panel(Text(answer, style="bold" if ok else ""), title=Text(f"answer ({result.status})"),
                 title_align="left", border_style="green" if ok else "yellow", expand=False)


class RichLiveRenderer:
    """A ``SearchEvent`` callback that draws the search as a `rich.tree.Tree` in a
    `rich.live.Live` display, redrawn on every event (the same texts as `LiveRenderer`).

    Use it as a context manager around the run; `pause` stops the display for a dialogue
    (the tree drawn so far stays on the screen) and the next event draws it again below.
    """

    def __init__(self, console: Any, *, verbose: bool = False, width: int = 110) -> None:
        from rich.text import Text
        from rich.tree import Tree

        self.console = console
        self.verbose = verbose
        self.width = width
        self.style = _Style(console.file, True)
        self.tree = Tree(Text("search"), guide_style="dim")
        self.nodes: dict[int, Any] = {0: self.tree}
        self.current = 0
        self.pending: list[SearchEvent] = []
        self.effects: dict[int, SearchEvent] = {}
        self.live: Any = None

    def __enter__(self) -> RichLiveRenderer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.pause()

    def _show(self) -> None:
        if self.live is None:
            from rich.live import Live

            self.live = Live(self.tree, console=self.console, auto_refresh=False,
                             redirect_stdout=False, redirect_stderr=False)
            self.live.start()
        self.live.refresh()

    def pause(self) -> None:
        """Stop the live display (what it shows stays printed)."""
        if self.live is not None:
            self.live.stop()
            self.live = None

    def _add(self, node: int, text: str, style: str = "") -> Any:
        from rich.text import Text

        return self.nodes.get(node, self.tree).add(Text(text, style=style))

    def _parent(self, event: SearchEvent) -> int:
        parent = event.data.get("parent")
        return int(parent) if isinstance(parent, int) else self.current

    def __call__(self, event: SearchEvent) -> None:
        if event.kind in LiveRenderer.IGNORED:
            return
        self.HANDLERS[event.kind](self, event)
        if event.kind not in (EventKind.CANDIDATE_REJECTED, EventKind.SIDE_EFFECT):
            self._show()

    def _on_run_started(self, event: SearchEvent) -> None:
        from rich.text import Text

        self.tree.label = Text(f"search ({event.data.get('mode', 'dfs')}): "
                               + _short(str(event.data.get("query", "")), 4 * self.width),
                               style="bold")
        self.tree.children.clear()
        self.nodes, self.current, self.pending = {0: self.tree}, 0, []

    def _on_candidate_rejected(self, event: SearchEvent) -> None:
        self.pending.append(event)

    def _on_expanded(self, event: SearchEvent) -> None:
        self.current = event.node
        s = self.style
        if self.verbose:
            self._add(event.node, f"· model: {event.data.get('candidates', '?')} candidate(s), "
                                  f"{event.data.get('accepted', '?')} accepted", "dim")
        groups: dict[str, int] = {}
        for rej in self.pending:
            why = "; ".join(str(v) for v in rej.data.get("violations") or []) or "rejected"
            status = str(rej.data.get("status", "rejected")).replace("rejected_", "")
            what = rej.data.get("tool") or "step"
            text = f"{s.bad} {what} rejected ({status}): {_short(why, self.width)}"
            groups[text] = groups.get(text, 0) + 1
        for text, count in groups.items():
            self._add(event.node, text + (f"  ×{count}" if count > 1 else ""), "yellow")
        self.pending = []

    def _on_call_executed(self, event: SearchEvent) -> None:
        from rich.text import Text

        s = self.style
        outcome = str(event.data.get("outcome", ""))
        code = event.data.get("status_code")
        tail = f"{outcome} {code}" if code else outcome
        if outcome != "ok" and event.data.get("message"):
            tail += f": {_short(str(event.data['message']), 80)}"
        call = format_call(event.data.get("tool"), event.data.get("arguments"), self.width)
        label = Text(f"{s.call} {call}  ")
        label.append(tail, style="green" if outcome == "ok" else "red")
        branch = self.nodes.get(self._parent(event), self.tree).add(label)
        self.nodes[event.node] = branch
        effect = self.effects.pop(event.node, None)
        if effect is not None:
            branch.add(Text(f"{s.fx} {effect.data.get('state')}: the change is made "
                            f"({effect.data.get('tool')})", style="magenta"))

    def _on_side_effect(self, event: SearchEvent) -> None:
        self.effects[event.node] = event

    def _on_backtracked(self, event: SearchEvent) -> None:
        self.current = event.node
        self._add(event.node, f"{self.style.back} back up: {event.data.get('why', '')}", "dim")

    def _on_compensated(self, event: SearchEvent) -> None:
        self._add(event.node, f"{self.style.back} undone with {event.data.get('tool')}: "
                              f"{event.data.get('outcome')}", "magenta")

    def _on_answer_rejected(self, event: SearchEvent) -> None:
        self._add(self.current, f"{self.style.bad} answer refused: "
                                f"{event.data.get('reason', '')}", "yellow")

    def _on_answer(self, event: SearchEvent) -> None:
        self._add(self.current, f"{self.style.ok} answer: "
                                f"{_short(str(event.data.get('answer', '')), 200)}", "bold green")

    def _on_budget_exhausted(self, event: SearchEvent) -> None:
        self._add(0, f"! budget exhausted: {event.data.get('limit')}", "red")

    #: the handler of each event kind (the same kinds as `LiveRenderer.HANDLERS`)
    HANDLERS: ClassVar[dict[EventKind, Callable[[RichLiveRenderer, SearchEvent], None]]] = {
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


def live_renderer(stream: TextIO, console: Any = None, *,
                  verbose: bool = False) -> LiveRenderer | RichLiveRenderer:
    """The live view for a run on ``stream``: the rich tree when ``console`` is `fancy`, else
    the plain line-per-event `LiveRenderer` (byte for byte what `agentrt run` prints)."""
    if fancy(console):
        return RichLiveRenderer(console, verbose=verbose)
    return LiveRenderer(stream, verbose=verbose)


def calls_table(result: RunResult) -> Any:
    """The run's executed calls as a `rich.table.Table` (tool, arguments, outcome, HTTP status,
    side effect, seconds; ``*`` marks the calls on the answer's path)."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(f"calls ({len(result.calls)})"), title_justify="left",
                  show_edge=False, pad_edge=False)
    for name in ("#", "call", "outcome", "side effect", "s"):
        table.add_column(name, no_wrap=name != "call",
                         justify="right" if name in ("#", "s") else "left")
    for c in result.calls:
        outcome = c.outcome + (f" {c.status_code}" if c.status_code else "")
        style = "green" if c.outcome == "ok" else "red"
        table.add_row(Text(f"{c.node}{'*' if c.on_path else ''}"),
                      Text(format_call(c.tool, c.arguments, 70)), Text(outcome, style=style),
                      Text(c.side_effect + (" (undo)" if c.compensation else "")),
                      Text(f"{c.elapsed:.2f}"))
    return table


def rich_tree(tree: Node) -> Any:
    """The finished search tree as a `rich.tree.Tree` (the same node texts as `render_tree`)."""
    from rich.text import Text
    from rich.tree import Tree

    s = _Style(sys.stdout, False)

    def style(node: Node) -> str:
        if node.status.startswith("rejected") or node.outcome not in (None, "ok"):
            return "yellow" if node.status.startswith("rejected") else "red"
        return "bold green" if node.kind == "answer" else ""

    root = Tree(Text(_node_text(tree, s), style="bold"))

    def add(parent: Any, node: Node) -> None:
        for child in node.children:
            add(parent.add(Text(_node_text(child, s), style=style(child))), child)

    add(root, tree)
    return root


def tools_table(toolset: Any) -> Any:
    """The tools on offer as a `rich.table.Table`: mark, name, where it goes, side-effect class
    and the mark that decided it, description."""
    from rich.table import Table
    from rich.text import Text

    marks = {"safe": " ", "idempotent": "~", "unsafe": "!"}
    table = Table(show_edge=False, pad_edge=False, box=None, collapse_padding=True)
    for name in ("", "tool", "operation", "side effect", "description"):
        table.add_column(name, no_wrap=name != "description", overflow="ellipsis",
                         min_width=26 if name == "side effect" else None)
    for t in toolset.tools:
        style = {"unsafe": "red", "idempotent": "yellow"}.get(t.side_effect, "")
        table.add_row(Text(marks.get(t.side_effect, "?"), style=style), Text(t.name),
                      Text(f"{t.method} {t.path}"),
                      Text(f"{t.side_effect} ({getattr(t, 'side_effect_source', 'method')})",
                           style=style),
                      Text(t.description[:80]))
    return table
