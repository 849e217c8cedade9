"""The REPL's prompt_toolkit line (agentrt.cli.lineedit) and rich output: completion of
/commands, tool names and /export paths, the one-entry-a-line history, Ctrl-C/Ctrl-D — in a
real terminal (pexpect, TERM=xterm) — plus the calls table and tree, colour off with NO_COLOR."""

from __future__ import annotations

import io
import os
import re
import sys
from pathlib import Path

import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from agentrt.cli.lineedit import COMMANDS, line_reader, plain_history, repl_completer
from agentrt.cli.session import HELP
from tests.cli.conftest import REPO, booking_steps, write_steps

pexpect = pytest.importorskip("pexpect")

TOOLS = ["search_flight_offers", "search_hotels", "create_flight_booking", "get_hotel"]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _complete(text: str) -> list[str]:
    completer = repl_completer(lambda: TOOLS)
    doc = Document(text, len(text))
    return [c.text for c in completer.get_completions(doc, CompleteEvent(completion_requested=True))]


def test_every_command_of_the_help_is_completed() -> None:
    in_help = set(re.findall(r"^\s+(/[a-z]+)", HELP, flags=re.M))
    assert in_help == set(COMMANDS)


@pytest.mark.parametrize(("text", "expected"), [
    ("/", list(COMMANDS)),
    ("/t", ["/tools", "/trace"]),
    ("/EX", ["/export"]),
    ("/tools ", []),
    ("search_", ["search_flight_offers", "search_hotels"]),
    ("book with create_fl", ["create_flight_booking"]),
    ("s", []),  # one letter is not yet a tool name
    ("search_hotels", []),  # already whole
    ("/export --f", ["--finetune"]),
])
def test_completions(text: str, expected: list[str]) -> None:
    assert _complete(text) == expected


def test_export_completes_paths(tmp_path: Path) -> None:
    (tmp_path / "runs.jsonl").write_text("")
    (tmp_path / "other.txt").write_text("")
    got = _complete(f"/export {tmp_path}/ru")
    assert got == ["ns.jsonl"]


def test_plain_history_reads_and_writes_one_entry_a_line(tmp_path: Path) -> None:
    path = tmp_path / "h" / "repl_history"
    history = plain_history(path)
    history.store_string("/tools")
    history.store_string("Book it")
    history.store_string("two\nlines")  # never stored: the file holds one entry a line
    assert path.read_text() == "/tools\nBook it\n"
    assert list(plain_history(path).load_history_strings()) == ["Book it", "/tools"]


def test_not_a_terminal_reads_with_input(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("hello\n"))
    with line_reader(tmp_path / "h", lambda: TOOLS) as read:
        assert read is input  # piped input: plain input(), no prompt_toolkit


def _spawn(tmp_path: Path, model: str, **env: str) -> pexpect.spawn:
    full = {**os.environ, "AGENTRT_HOME": str(tmp_path / "home"), "PYTHONUNBUFFERED": "1",
            "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1", "NO_COLOR": "1", **env}
    child = pexpect.spawn(sys.executable, ["-m", "agentrt", "repl", "--model", model,
                                           "--state", str(tmp_path / "state")],
                          cwd=str(REPO), env=full, encoding="utf-8", timeout=60,
                          dimensions=(50, 200))
    child.expect_exact("agentrt>")
    return child


def test_terminal_completion_history_and_keys(tmp_path: Path, day: str) -> None:
    history = tmp_path / "home" / "repl_history"
    history.parent.mkdir(parents=True)
    history.write_text("an old request\n")  # a readline-era history keeps working
    child = _spawn(tmp_path, write_steps(tmp_path / "steps.json",
                                         booking_steps(day, answer="Booked.")))
    try:
        child.send("/to\t\r")  # Tab completes /tools
        child.expect_exact("! create_flight_booking")
        child.expect_exact("unsafe (method POST)")  # the class and where it came from
        child.expect_exact("agentrt>")
        child.send("\x1b[A")  # Up: the last entry comes back
        child.expect_exact("/tools")
        child.send("\x03")  # Ctrl-C at the prompt clears the line, the REPL stays
        child.expect_exact("Ctrl-C stops a running request")
        child.expect_exact("agentrt>")
        child.send("Book LIS-MAD with cancel_fl\t for Ana Silva, ana.silva@example.com\r")  # tool names complete too
        child.expect_exact("send it? [y/N]")
        child.sendline("y")
        child.expect_exact("calls (2)")  # the rich table of the run's calls
        child.expect_exact("create_flight_booking(")
        child.expect_exact("answer: Booked.")
        child.expect_exact("agentrt>")
        child.send("/trace\r")
        child.expect_exact("#0 request")
        child.expect_exact("agentrt>")
        child.send("\x04")  # Ctrl-D on an empty line leaves
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    lines = history.read_text().splitlines()
    assert lines[0] == "an old request" and "/tools" in lines
    assert "Book LIS-MAD with cancel_flight_booking for Ana Silva, ana.silva@example.com" in lines
    assert "y" not in lines  # the confirmation answer is not a history entry


@pytest.mark.parametrize("no_color", ["1", ""])
def test_no_color_keeps_ansi_colours_out(tmp_path: Path, no_color: str) -> None:
    child = _spawn(tmp_path, write_steps(tmp_path / "steps.json", []), NO_COLOR=no_color)
    try:
        child.send("/tools\r")
        child.expect_exact("create_flight_booking")  # with colour its mark is painted
        child.expect_exact("tools ( ! unsafe")
        out = child.before or ""
        child.send("/quit\r")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    colours = {c for c in re.findall(r"\x1b\[([0-9;]*)m", out) if c not in ("", "0")}
    if no_color:
        assert not colours, colours  # resets only: no colour codes
    else:
        assert colours, "a terminal without NO_COLOR gets colours"
