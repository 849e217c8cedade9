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


def test_rich_renderer_handles_every_kind() -> None:
    assert set(RichLiveRenderer.HANDLERS) == set(LiveRenderer.HANDLERS)
