"""The REPL in a real terminal with colour (pexpect, TERM=xterm, NO_COLOR empty): the search is
drawn as a live rich tree, paused for the confirmation and drawn again, and the answer comes
in a panel; the booking is made."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from tests.cli.conftest import booking_steps, flight_bookings, write_steps
from tests.cli.test_cli_repl_prompt import _spawn

pexpect = pytest.importorskip("pexpect")

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def test_live_tree_confirmation_and_answer_panel(tmp_path: Path, day: str) -> None:
    child = _spawn(tmp_path, write_steps(tmp_path / "steps.json",
                                         booking_steps(day, answer="Booked it.")), NO_COLOR="")
    log = io.StringIO()
    try:
        child.logfile_read = log
        child.send("Book LIS-MAD for Ana Silva, ana.silva@example.com\r")
        child.expect_exact("send it? [y/N]")
        raw_before = log.getvalue()
        before = ANSI.sub("", raw_before)
        child.sendline("y")
        child.expect_exact("answer (solved)")
        child.expect_exact("Booked it.")
        child.expect_exact("agentrt>")
        after = log.getvalue()[len(raw_before):]
        child.send("/quit\r")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    # before the question: the tree so far (the search under the request)
    assert "search (dfs): Book LIS-MAD for Ana" in before
    assert re.search(r"└── → search_flight_offers\(.*ok 200", before), before
    plain = ANSI.sub("", after)
    # after it: the tree again, the booking under the search, the answer under the booking
    rows = plain.splitlines()
    booking = next(r for r in rows if "→ create_flight_booking(" in r and "ok 201" in r)
    answer = next(r for r in rows if "✓ answer: Booked it." in r)
    assert booking.index("→") < answer.index("✓")
    assert re.search(r"│ Booked it\. +│", plain), plain  # the panel, not the plain line
    assert "answer: Booked it." not in plain.replace("✓ answer: Booked it.", "")
    assert {c for c in re.findall(r"\x1b\[([0-9;]*)m", after) if c not in ("", "0")}
    assert [s for _, s in flight_bookings(tmp_path / "state")] == ["confirmed"]


def test_ctrl_c_stops_a_live_run_and_the_repl_stays(tmp_path: Path, day: str) -> None:
    steps = [booking_steps(day)[0], {"sleep": 60, "answer": "too late"}]
    child = _spawn(tmp_path, write_steps(tmp_path / "steps.json", steps), NO_COLOR="")
    log = io.StringIO()
    try:
        child.logfile_read = log
        child.send("Find LIS-MAD offers\r")
        child.expect(r"search_flight_offers\(.*ok.*200")  # drawn live, then the model sleeps
        child.sendintr()
        child.expect_exact("stopped.")
        child.expect_exact("agentrt>")
        child.send("/quit\r")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    plain = ANSI.sub("", log.getvalue()).replace("\r", "")
    tail = plain[plain.rindex("search_flight_offers("):]
    # the tree's last frame, then "stopped." on a line of its own (not drawn over)
    assert re.search(r"ok 200\s*\nstopped\.\n", tail), tail
    assert "too late" not in plain
