"""`agentrt repl` driven through a pseudo-terminal (pexpect): /tools, a confirmation prompt
answered y (the booking happens) and n (it does not), Ctrl-C stopping a run but not the REPL,
/trace, /export, history, /quit and EOF."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import REPO, booking_steps, flight_bookings, write_steps

pexpect = pytest.importorskip("pexpect")

PROMPT = "agentrt> "


def _spawn(tmp_path: Path, model: str) -> pexpect.spawn:
    env = {**os.environ, "AGENTRT_HOME": str(tmp_path / "home"), "NO_COLOR": "1",
           "PYTHONUNBUFFERED": "1", "TERM": "dumb"}
    child = pexpect.spawn(sys.executable, ["-m", "agentrt", "repl", "--model", model,
                                           "--state", str(tmp_path / "state")],
                          cwd=str(REPO), env=env, encoding="utf-8", timeout=60,
                          dimensions=(50, 200))
    child.expect_exact(PROMPT)
    return child


def test_repl_confirms_side_effects(tmp_path: Path, day: str) -> None:
    steps = [*booking_steps(day, answer="Booked."),             # run 1: answered y
             *booking_steps(day)[:2], {"answer": "Not booked."},  # run 2: answered n
             {"sleep": 60, "answer": "too late"}]                 # run 3: Ctrl-C
    child = _spawn(tmp_path, write_steps(tmp_path / "steps.json", steps))
    try:
        child.sendline("/tools")
        child.expect_exact("! create_flight_booking")
        child.expect_exact(PROMPT)

        child.sendline("Book the cheapest LIS-MAD flight for Ana Silva (ana.silva@example.com)")
        child.expect_exact("send it? [y/N]")
        shown = child.before
        assert "POST http://127.0.0.1:" in shown and "/bookings" in shown
        assert '"contact_email": "ana.silva@example.com"' in shown
        assert "agentrt-demo-key" not in shown  # the credential is never shown
        child.sendline("y")
        child.expect(r"booking: ([A-Z0-9]{6})  \[create_flight_booking, committed\]")
        ref = child.match.group(1)
        child.expect_exact(PROMPT)
        assert flight_bookings(tmp_path / "state") == [(ref, "confirmed")]

        child.sendline("Book it again for Ana Silva (ana.silva@example.com)")
        child.expect_exact("send it? [y/N]")
        child.sendline("n")
        child.expect_exact("declined: not sent")
        child.expect_exact("answer: Not booked.")
        child.expect_exact(PROMPT)
        assert flight_bookings(tmp_path / "state") == [(ref, "confirmed")]

        child.sendline("this one is slow")
        child.expect_exact("search (dfs): this one is slow")
        child.sendintr()
        child.expect_exact("stopped.")
        child.expect_exact(PROMPT)

        child.sendline("/trace")
        child.expect_exact("#0 request")
        child.expect_exact("create_flight_booking(")
        child.expect_exact("denied")
        child.expect_exact(PROMPT)

        runs = tmp_path / "runs.jsonl"
        child.sendline(f"/export {runs}")
        child.expect_exact(f"wrote 2 run(s) to {runs}")
        child.expect_exact(PROMPT)
        child.sendline("/quit")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    lines = runs.read_text().splitlines()
    assert [json.loads(line)["answer"] for line in lines] == ["Booked.", "Not booked."]
    history = (tmp_path / "home" / "repl_history").read_text()
    assert "Book it again" in history and "/tools" in history
    assert "y" not in history.splitlines() and "n" not in history.splitlines()


def test_repl_eof_quits_and_unknown_command(tmp_path: Path) -> None:
    child = _spawn(tmp_path, write_steps(tmp_path / "steps.json", []))
    try:
        child.sendline("/frobnicate")
        child.expect_exact("unknown command /frobnicate")
        child.expect_exact(PROMPT)
        child.sendintr()  # Ctrl-C at the prompt does not leave
        child.expect_exact(PROMPT)
        child.sendeof()
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
