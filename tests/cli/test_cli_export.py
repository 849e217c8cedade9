"""`agentrt export`: saved runs (from `agentrt run --save`) → fine-tuning JSONL, with the
rejected candidates as negatives; a file that is not a runs file is a one-line error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentrt.cli import main
from agentrt_demo import DEMO_API_KEY, DemoServices
from tests.cli.conftest import FLIGHTS, booking_steps, write_steps


def test_export_finetune_and_negatives(services: DemoServices, day: str, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    steps = booking_steps(day)
    # the first request also proposes a tool that does not exist: rejected before any I/O
    steps[0] = [{"call": "book_a_flight_now", "arguments": {"to": "MAD"}}, steps[0]]
    model = write_steps(tmp_path / "steps.json", steps)
    runs = tmp_path / "runs.jsonl"
    assert main(["run", "Book LIS-MAD for Ana Silva, ana.silva@example.com", "--spec", FLIGHTS, "--base-url",
                 services.flights_url, "--credential", f"ApiKeyAuth={DEMO_API_KEY}",
                 "--policy", "allow", "--model", model, "--save", str(runs)]) == 0
    assert "book_a_flight_now rejected (hallucinated)" in capsys.readouterr().out

    out, neg = tmp_path / "ft.jsonl", tmp_path / "neg.jsonl"
    assert main(["export", str(runs), "--finetune", str(out), "--negatives", str(neg)]) == 0
    assert "1 run(s), 1 solved: 1 transcript(s)" in capsys.readouterr().err
    [record] = [json.loads(line) for line in out.read_text().splitlines()]
    roles = [m["role"] for m in record["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "assistant", "tool", "assistant"]
    calls = [m["tool_calls"][0]["function"]["name"] for m in record["messages"]
             if m.get("tool_calls")]
    assert calls == ["search_flight_offers", "create_flight_booking", "finish"]
    assert {t["function"]["name"] for t in record["tools"]} >= {"create_flight_booking"}
    [negative] = [json.loads(line) for line in neg.read_text().splitlines()]
    assert negative["status"] == "rejected_hallucinated"
    assert negative["rejected"]["tool_calls"][0]["function"]["name"] == "book_a_flight_now"
    assert negative["chosen"]["tool_calls"][0]["function"]["name"] == "search_flight_offers"
    assert DEMO_API_KEY not in out.read_text() + neg.read_text() + runs.read_text()


def test_export_rejects_a_file_that_is_not_runs(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"hello": "world"}\n')
    assert main(["export", str(bad), "--finetune", str(tmp_path / "o.jsonl")]) == 2
    err = capsys.readouterr().err
    assert "is not a runs file" in err and len(err.strip().splitlines()) == 2
    assert main(["export", str(tmp_path / "missing.jsonl"), "--finetune", "x"]) == 2
    assert "cannot read" in capsys.readouterr().err
