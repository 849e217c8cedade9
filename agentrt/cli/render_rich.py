"""Interfaces: the REPL's rich view of a search — the live tree drawn event by event
(`RichLiveRenderer`, the same texts as the plain `agentrt.cli.render.LiveRenderer`, from the
same :class:`~agentrt.cli.render_text.Describer`), the answer in a panel, the finished tree and
the tables of calls and tools.

rich is imported inside the functions, so that the plain commands start without it.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, TextIO

from agentrt.cli.render_text import Describer, Line, Tone, format_call, marks_for, node_text
from agentrt.protocol import SearchEvent
from agentrt.search.result import RunResult
from agentrt.search.tree import Node

if TYPE_CHECKING:
    from rich.console import Console
    from rich.live import Live
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text
    from rich.tree import Tree

__all__ = ["STYLES", "RichLiveRenderer", "answer_panel", "calls_table", "fancy", "rich_console",
           "rich_text", "rich_tree", "tools_table"]

#: the rich style of each tone
STYLES: dict[Tone, str] = {Tone.PLAIN: "", Tone.TITLE: "bold", Tone.DIM: "dim",
                           Tone.WARN: "yellow", Tone.OK: "green", Tone.ERROR: "red",
                           Tone.EFFECT: "magenta", Tone.ANSWER: "bold green"}


def rich_console(stream: TextIO | None = None) -> Console | None:
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


def answer_panel(result: RunResult) -> Panel:
    """The run's answer as a `rich.panel.Panel`, titled with the status."""
    from rich.panel import Panel
    from rich.text import Text

    answer = result.answer if result.answer is not None else "(none)"
    ok = result.status == "solved"
    return Panel(Text(answer, style="bold" if ok else ""), title=Text(f"answer ({result.status})"),
                 title_align="left", border_style="green" if ok else "yellow", expand=False)


def rich_text(line: Line) -> Text:
    """``line`` as a `rich.text.Text`, each part in the style of its tone."""
    from rich.text import Text

    text = Text(line.text, style=STYLES[line.tone])
    if line.tail:
        text.append(line.tail, style=STYLES[line.tail_tone])
    return text


class RichLiveRenderer:
    """A ``SearchEvent`` callback that draws the search as a `rich.tree.Tree` in a
    `rich.live.Live` display, redrawn on every event that adds a line (the same texts as
    `LiveRenderer`).

    Use it as a context manager around the run; `pause` stops the display for a dialogue
    (the tree drawn so far stays on the screen) and the next event draws it again below.
    """

    def __init__(self, console: Console, *, verbose: bool = False, width: int = 110) -> None:
        from rich.text import Text
        from rich.tree import Tree

        self.console = console
        self.describe = Describer(marks_for(console.file), verbose=verbose, width=width)
        self.tree = Tree(Text("search"), guide_style="dim")
        self.nodes: dict[int, Tree] = {0: self.tree}
        self.live: Live | None = None

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

    def __call__(self, event: SearchEvent) -> None:
        lines = self.describe(event)
        for line in lines:
            self.add(line)
        if lines:
            self._show()

    def add(self, line: Line) -> None:
        """Put ``line`` into the tree: the heading as its label (a new run: an empty tree),
        any other under the branch of the node it hangs under."""
        if line.under is None:
            self.tree.label = rich_text(line)
            self.tree.children.clear()
            self.nodes = {0: self.tree}
            return
        branch = self.nodes.get(line.under, self.tree).add(rich_text(line))
        if line.opens is not None:
            self.nodes[line.opens] = branch


def calls_table(result: RunResult) -> Table:
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


def rich_tree(tree: Node) -> Tree:
    """The finished search tree as a `rich.tree.Tree` (the same node texts as `render_tree`)."""
    from rich.text import Text
    from rich.tree import Tree

    marks = marks_for(sys.stdout)

    def style(node: Node) -> str:
        if node.status.startswith("rejected") or node.outcome not in (None, "ok"):
            return "yellow" if node.status.startswith("rejected") else "red"
        return "bold green" if node.kind == "answer" else ""

    root = Tree(Text(node_text(tree, marks), style="bold"))

    def add(parent: Tree, node: Node) -> None:
        for child in node.children:
            add(parent.add(Text(node_text(child, marks), style=style(child))), child)

    add(root, tree)
    return root


def tools_table(toolset: Any) -> Table:
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
