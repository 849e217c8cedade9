"""The REPL's rich view: the live search tree drawn from a run's events and the answer in a
panel on a terminal with colour; with NO_COLOR or without a terminal the plain line-per-event
text, byte for byte what `LiveRenderer` prints."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from agentrt.cli.render import (
    LiveRenderer,
    RichLiveRenderer,
    fancy,
    live_renderer,
    render_result,
    rich_console,
)
from agentrt.cli.render_text import Tone
from agentrt.protocol import EventKind
from agentrt.search import SearchEvent
from agentrt.search.result import RunResult, RunStatus

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class _Tty(io.StringIO):
    """A captured UTF-8 stream that says it is a terminal."""

    encoding = "utf-8"

    def isatty(self) -> bool:
        return True


class _Pipe(io.StringIO):
    encoding = "utf-8"


def _ev(kind: str, node: int, **data: object) -> SearchEvent:
    return SearchEvent(kind=EventKind(kind), node=node, data=data)


EVENTS = [
    _ev("run_started", 0, query="book it", mode="dfs"),
    _ev("candidate_rejected", 2, status="rejected_invalid", tool="book",
        violations=["$.offer_id is missing"]),
    _ev("expanded", 0, n=3, candidates=2, accepted=1),
    _ev("call_executed", 1, tool="search_flight_offers", arguments={"origin": "LIS"},
        outcome="ok", status_code=200),
    _ev("expanded", 1, n=3, candidates=1, accepted=1),
    _ev("call_executed", 3, tool="get_offer", arguments={"id": 9}, outcome="http_error",
        status_code=404, message="no such offer"),
    _ev("backtracked", 1, why="call failed: http_error"),
    _ev("side_effect", 4, tool="create_flight_booking", state="committed"),
    _ev("call_executed", 4, tool="create_flight_booking", arguments={"id": 7}, outcome="ok",
        status_code=201),
    _ev("expanded", 4, n=3, candidates=1, accepted=1),
    _ev("answer", 5, answer="Booked ABC123"),
    _ev("run_finished", 0, status="solved"),
]


def _result(answer: str | None = "Booked ABC123", status: RunStatus = "solved") -> RunResult:
    return RunResult(query="book it", status=status, answer=answer)


def _term(monkeypatch: pytest.MonkeyPatch) -> tuple[Console, io.StringIO]:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    buf = _Pipe()  # io.StringIO that says UTF-8 (✓ → rather than the ASCII marks)
    return Console(force_terminal=True, file=buf, width=100), buf


def test_live_tree_on_a_terminal_shows_the_nodes(monkeypatch: pytest.MonkeyPatch) -> None:
    console, buf = _term(monkeypatch)
    renderer = live_renderer(buf, console)
    assert isinstance(renderer, RichLiveRenderer)
    with renderer:
        for event in EVENTS:
            renderer(event)
        assert renderer.live is not None  # drawn while the run goes
    assert renderer.live is None
    raw = buf.getvalue()
    assert "\x1b[" in raw  # coloured, redrawn in place
    text = ANSI.sub("", raw)
    final = text[text.rindex("search (dfs): book it"):]  # the last frame
    assert "book rejected (invalid): $.offer_id is missing" in final
    assert "search_flight_offers(origin=LIS)  ok 200" in final
    assert "get_offer(id=9)  http_error 404: no such offer" in final
    assert "back up: call failed: http_error" in final
    assert "create_flight_booking(id=7)  ok 201" in final
    assert "committed: the change is made (create_flight_booking)" in final
    assert "answer: Booked ABC123" in final
    # the tree's shape: the booking is a child of the search, the answer of the booking
    lines = final.splitlines()
    col = {key: next(line.index(key) for line in lines if key in line)
           for key in ("search_flight_offers(", "create_flight_booking(id", "✓ answer")}
    assert col["search_flight_offers("] < col["create_flight_booking(id"] < col["✓ answer"]
    assert raw.count("search (dfs): book it") > 1  # one frame per event, not only the last


def test_pause_keeps_the_tree_and_draws_it_again(monkeypatch: pytest.MonkeyPatch) -> None:
    console, buf = _term(monkeypatch)
    renderer = RichLiveRenderer(console)
    renderer(EVENTS[0])
    renderer(EVENTS[2])
    renderer(EVENTS[3])
    renderer.pause()
    assert renderer.live is None
    buf.write("send it? [y/N] y\n")  # the dialogue, between the frames
    renderer(EVENTS[4])
    renderer(EVENTS[5])
    renderer.pause()
    after = ANSI.sub("", buf.getvalue().split("send it? [y/N] y\n", 1)[1])
    assert "search_flight_offers(origin=LIS)" in after and "get_offer(id=9)" in after


def test_answer_panel_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    console, buf = _term(monkeypatch)
    render_result(_result(), buf, console=console)
    text = ANSI.sub("", buf.getvalue())
    assert "answer: Booked" not in text  # no plain line: the panel instead
    panel = [line for line in text.splitlines() if "Booked ABC123" in line]
    assert panel and panel[0].startswith("│") and panel[0].rstrip().endswith("│")
    assert "answer (solved)" in text and "status: solved" in text


def _plain(events: list[SearchEvent], verbose: bool = False) -> str:
    out = _Pipe()
    r = LiveRenderer(out, verbose=verbose)
    for e in events:
        r(e)
    return out.getvalue()


@pytest.mark.parametrize("verbose", [False, True])
def test_no_terminal_is_byte_identical_to_the_plain_renderer(
        monkeypatch: pytest.MonkeyPatch, verbose: bool) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    out = _Pipe()
    console = rich_console(out)
    assert not fancy(console)
    renderer = live_renderer(out, console, verbose=verbose)
    assert isinstance(renderer, LiveRenderer)
    for e in EVENTS:
        renderer(e)
    assert out.getvalue() == _plain(EVENTS, verbose)
    a, b = _Pipe(), _Pipe()
    render_result(_result(), a, console=console, seconds=1.0)
    render_result(_result(), b, seconds=1.0)
    assert a.getvalue() == b.getvalue() and "answer: Booked ABC123\n" in a.getvalue()


def test_no_color_on_a_terminal_is_byte_identical(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    out = _Tty()
    console = rich_console(out)
    assert console is not None and console.is_terminal and not fancy(console)
    renderer = live_renderer(out, console)
    assert isinstance(renderer, LiveRenderer)
    for e in EVENTS:
        renderer(e)
    assert out.getvalue() == _plain(EVENTS)
    assert "\x1b" not in out.getvalue()
    a = _Tty()
    render_result(_result(None, "out_of_budget"), a, console=rich_console(a))
    assert "answer: (none)\n" in a.getvalue() and "\x1b" not in a.getvalue()
    # a forced terminal under NO_COLOR is not fancy either
    assert not fancy(Console(force_terminal=True, file=io.StringIO(), width=100))


#: every kind of event, in an order where the tree's order is the order of the events
EVERY_KIND = [
    *EVENTS[:2],
    _ev("candidate_rejected", 5, status="rejected_invalid", tool="book",
        violations=["$.offer_id is missing"]),  # the same again: one line, ×2
    *EVENTS[2:10],
    _ev("answer_rejected", 6, answer="Booked", reason="no reference"),
    _ev("compensated", 4, tool="cancel_flight_booking", outcome="ok"),
    EVENTS[10],
    _ev("budget_exhausted", 0, limit="max_model_calls"),
    EVENTS[11],
]
GUIDES = re.compile(r"^((?:[│ ]   |[├└]── )*)(.*)$")


def _plain_rows(events: list[SearchEvent], verbose: bool) -> list[tuple[int, str]]:
    """(depth, text) of each line the plain renderer writes (the heading: depth -1)."""
    rows = []
    for line in _plain(events, verbose).splitlines():
        text = line.lstrip(" ")
        rows.append(((len(line) - len(text)) // 2 - 1, text))
    return rows


def _rich_rows(events: list[SearchEvent], verbose: bool) -> list[tuple[int, str]]:
    """(depth, text) of each line of the rich tree, printed on a console without colour."""
    renderer = RichLiveRenderer(Console(file=_Pipe(), width=400), verbose=verbose)
    for e in events:
        renderer(e)
    renderer.pause()
    buf = _Pipe()
    Console(file=buf, no_color=True, color_system=None, width=400).print(renderer.tree)
    assert "\x1b" not in buf.getvalue()
    rows = []
    for line in buf.getvalue().splitlines():
        match = GUIDES.match(line.rstrip())
        assert match is not None
        rows.append((len(match[1]) // 4 - 1, match[2]))
    return rows


@pytest.mark.parametrize("verbose", [False, True])
def test_both_renderers_show_the_same_texts_at_the_same_depths(verbose: bool) -> None:
    assert {e.kind for e in EVERY_KIND} == set(EventKind)
    plain, rich = _plain_rows(EVERY_KIND, verbose), _rich_rows(EVERY_KIND, verbose)
    assert rich == plain
    assert (0, "✗ book rejected (invalid): $.offer_id is missing  ×2") in plain
    assert (2, "$ committed: the change is made (create_flight_booking)") in plain
    assert (2, "↩ undone with cancel_flight_booking: ok") in plain
    assert plain[-1] == (0, "! budget exhausted: max_model_calls")
    assert any("· model:" in text for _, text in plain) == verbose


def test_the_rich_names_are_importable_from_render() -> None:
    from agentrt.cli import render, render_rich

    for name in set(render_rich.__all__) & set(render.__all__):
        assert getattr(render, name) is getattr(render_rich, name)
    assert {"RichLiveRenderer", "answer_panel", "calls_table", "fancy", "rich_console",
            "rich_tree", "tools_table"} <= set(render.__all__)
    assert set(render_rich.STYLES) == set(Tone)
