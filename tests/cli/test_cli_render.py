"""The live rendering: depth from the order of events, identical rejections folded, the side
effect shown under its call, secrets scrubbed from arguments."""

from __future__ import annotations

import io

import pytest

from agentrt.cli.render import ANSI, LiveRenderer, render_tree
from agentrt.cli.render_text import Describer, Tone
from agentrt.executor.redact import DEFAULT_REDACTOR
from agentrt.protocol import EventKind
from agentrt.search import Node, SearchEvent


class _Terminal(io.StringIO):
    """A captured stream that says it is UTF-8 (the renderer falls back to ASCII otherwise)."""

    encoding = "utf-8"


def _ev(kind: EventKind | str, node: int, **data: object) -> SearchEvent:
    return SearchEvent(kind=EventKind(kind), node=node, data=data)


def test_live_rendering_layout() -> None:
    DEFAULT_REDACTOR.add("tok-0123456789")
    out = _Terminal()
    r = LiveRenderer(out, color=False)
    dup = ["this exact call was already tried"]
    for event in [
        _ev("run_started", 0, query="book it", mode="dfs"),
        _ev("candidate_rejected", 2, status="rejected_duplicate", tool="search", violations=dup),
        _ev("candidate_rejected", 3, status="rejected_duplicate", tool="search", violations=dup),
        _ev("expanded", 0, n=3, candidates=3, accepted=1),
        _ev("call_executed", 1, tool="search", arguments={"q": "x", "key": "tok-0123456789"},
            outcome="ok", status_code=200),
        _ev("expanded", 1, n=3, candidates=1, accepted=1),
        _ev("side_effect", 4, tool="book", state="committed"),
        _ev("call_executed", 4, tool="book", arguments={"id": 7}, outcome="ok",
            status_code=201),
        _ev("expanded", 4, n=3, candidates=1, accepted=1),
        _ev("answer", 5, answer="Booked ABC123"),
    ]:
        r(event)
    lines = out.getvalue().splitlines()
    assert lines[0] == "search (dfs): book it"
    assert lines[1] == "  ✗ search rejected (duplicate): this exact call was already tried  ×2"
    assert lines[2].startswith("  → search(q=x, key=") and lines[2].endswith("ok 200")
    assert "tok-0123456789" not in out.getvalue()
    assert lines[3] == "    → book(id=7)  ok 201"
    assert lines[4] == "      $ committed: the change is made (book)"
    assert lines[5] == "      ✓ answer: Booked ABC123"


def test_render_tree() -> None:
    tree = Node.model_validate({"id": 0, "kind": "root", "status": "root", "children": [
        {"id": 1, "kind": "call", "status": "rejected_invalid", "tool": "book",
         "arguments": {}, "violations": [{"kind": "missing_required",
                                          "message": "$.id is missing"}], "children": []},
        {"id": 2, "kind": "call", "status": "accepted", "tool": "search", "arguments": {},
         "outcome": "ok", "observation": {"outcome": "ok", "status_code": 200},
         "result": "solved",
         "children": [{"id": 3, "kind": "answer", "status": "accepted", "answer": "done",
                       "children": []}]}]})
    text = render_tree(tree, _Terminal())
    assert text.splitlines() == [
        "#0 request",
        "├─ #1 ✗ book() rejected invalid: $.id is missing",
        "└─ #2 search() ok 200 [solved]",
        "   └─ #3 ✓ answer: done",
    ]


def test_ascii_fallback() -> None:
    out = io.StringIO()  # no encoding: plain ASCII marks
    LiveRenderer(out, color=False)(_ev("backtracked", 0, why="call failed: denied"))
    assert out.getvalue() == "  <- back up: call failed: denied\n"


def test_every_event_kind_has_a_handler_or_is_ignored() -> None:
    handled, ignored = set(Describer.HANDLERS), set(Describer.IGNORED)
    assert handled | ignored == set(EventKind)
    assert not handled & ignored


def test_every_tone_has_a_colour() -> None:
    assert set(ANSI) == set(Tone)


def test_colour_paints_each_part_of_a_line() -> None:
    out = _Terminal()
    r = LiveRenderer(out, color=True)
    r(_ev("run_started", 0, query="q", mode="dfs"))
    r(_ev("call_executed", 1, tool="t", arguments={}, outcome="http_error", status_code=500))
    assert out.getvalue() == ("\033[1msearch (dfs): \033[0mq\n"
                              "  → t()  \033[31mhttp_error 500\033[0m\n")


def test_every_event_kind_renders_without_error() -> None:
    out = _Terminal()
    r = LiveRenderer(out, color=False, verbose=True)
    for kind in EventKind:
        r(_ev(kind, 0))
    assert out.getvalue()  # something was written, and no kind raised


def test_a_misspelt_kind_fails_loudly() -> None:
    with pytest.raises(ValueError, match="anwser"):  # a string is checked when it is built
        SearchEvent(kind="anwser", node=1, data={"answer": "x"})  # type: ignore[arg-type]


def test_budget_exhausted_names_the_limit() -> None:
    out = _Terminal()
    LiveRenderer(out, color=False)(_ev(EventKind.BUDGET_EXHAUSTED, 0, limit="max_depth"))
    assert out.getvalue() == "  ! budget exhausted: max_depth\n"
