"""bench/bench_offdomain.py: generated single-call tasks over the Amadeus corpus, scored from the
first proposal of a real Agent run — driven here by scripted models whose every step is known,
so the table must show exactly what the scripts did."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentrt import Toolset
from tests.benchmodules import load_bench

REPO = Path(__file__).resolve().parents[2]


bench = load_bench("bench_offdomain")


def _loadable(corpus: list[Path]) -> list[str]:
    out = []
    for path in corpus:
        try:
            Toolset.from_spec(path)
        except Exception:
            continue
        out.append(path.name)
    return out


def test_tasks_are_deterministic_and_state_the_values(corpus: list[Path]) -> None:
    folder = corpus[0].parent
    suites = bench.generate(folder, specs=3, seed=7)
    again = bench.generate(folder, specs=3, seed=7)
    other = bench.generate(folder, specs=3, seed=8)
    dump = [[t.to_dict() for t in s.tasks] for s in suites]
    assert dump == [[t.to_dict() for t in s.tasks] for s in again]
    assert dump != [[t.to_dict() for t in s.tasks] for s in other]
    # the first usable documents in sorted order (every corpus document loads today)
    names = _loadable(corpus)
    assert [s.spec for s in suites] == [n.split("_swagger")[0] for n in names[:3]]
    for suite in suites:
        kinds = [t.kind for t in suite.tasks]
        assert kinds == ["relevant"] * 3 + ["irrelevant"], suite.spec
        for task in suite.tasks:
            if task.kind == "irrelevant":
                assert task.tool is None and task.request in bench.OFF_TOPIC
                continue
            tool = suite.toolset.get(task.tool)
            assert tool is not None
            required = set(tool.parameters.get("required") or ())
            assert set(task.required) == required and required <= set(task.arguments)
            assert suite.toolset.validate(task.tool, task.arguments) == []
            for value in task.arguments.values():  # the request states every value
                for item in value if isinstance(value, list) else [value]:
                    assert str(item) in task.request, (task.request, item)


def test_generated_values_fit_their_parameters(corpus: list[Path]) -> None:
    suites = bench.generate(corpus[0].parent, specs=100, seed=0)
    tasks = {t.tool: t for s in suites for t in s.tasks if t.kind == "relevant"}
    flights = tasks["getFlightOffers"].arguments
    assert flights["originLocationCode"] != flights["destinationLocationCode"]
    assert len(flights["originLocationCode"]) == 3 and flights["adults"] == 1
    assert flights["departureDate"] > bench.BASE_DATE.isoformat()
    trip = tasks["getTripPurposePrediction"].arguments
    assert trip["returnDate"] > trip["departureDate"]
    status = tasks["getFlightsStatus"].arguments
    assert status["carrierCode"] in bench.AIRLINES and status["flightNumber"].isdigit()
    square = tasks["getPointsOfInterestBySquare"].arguments
    assert square["north"] > square["south"] and square["east"] > square["west"]
    # an operation without required parameters still gets a concrete request
    airlines = tasks["getairlines"]
    assert airlines.required == () and airlines.arguments
    # operations that need an object body are left out, not asked for with bad values
    assert "upsellAirOffers" not in tasks and "searchFlightOffers" not in tasks


def _write(path: Path, steps: list[Any]) -> str:
    path.write_text(json.dumps(steps), encoding="utf-8")
    return f"scripted:{path}"


def test_main_scores_what_each_script_did(corpus: list[Path], tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    folder = corpus[0].parent
    argv = ["--corpus", str(folder), "--specs", "2", "--min-tools", "2", "--seed", "1"]
    suites = bench.generate(folder, specs=2, seed=1, min_tools=2)
    (a0, a1, a2, ai), (b0, b1, b2, bi) = (s.tasks for s in suites)
    assert all(len(s.toolset.tools) >= 2 for s in suites)
    assert all(t.required for t in (a0, a1, a2))  # so that an empty call is invalid

    def right(task: Any) -> dict[str, Any]:
        return {"call": task.tool, "arguments": task.arguments}

    mixed = _write(tmp_path / "mixed.json", [
        right(a0),                                   # right tool, arguments complete
        {"call": a1.tool, "arguments": {}},          # right tool, required missing: invalid
        {"call": "bookTaxi", "arguments": {}},       # hallucinated: invalid
        {"answer": "Sorry, I cannot help with that."},  # irrelevant: declined
        {"answer": "Done."},                         # a relevant request declined: a miss
        right(b1),                                   # right tool, complete
        {"unparseable": "hmm"},                      # unreadable: invalid
        right(b0),                                   # an irrelevant request answered by a call
    ])
    declines = _write(tmp_path / "declines.json", [{"answer": "No."}] * 8)
    out = tmp_path / "rows.json"
    assert bench.main([*argv, "--models", f"{mixed},{declines}", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "tasks: 8 (6 relevant, 2 irrelevant; seed 1)" in printed
    assert f"specs (2): {suites[0].spec} (" in printed
    report = json.loads(out.read_text(encoding="utf-8"))
    first, second = report["summary"]
    assert (first["tasks"], first["right_tool"], first["args_complete"],
            first["args_as_asked"], first["declined"], first["invalid"],
            first["hallucinated"]) == (8, 3, 2, 2, 1, 3, 1)
    assert (second["right_tool"], second["declined"], second["invalid"]) == (0, 2, 0)
    rows = report["rows"][mixed]
    assert [r["id"] for r in rows] == [t.id for t in (a0, a1, a2, ai, b0, b1, b2, bi)]
    assert [r["check"] for r in rows][:3] == ["accepted", "rejected_invalid",
                                             "rejected_hallucinated"]
    # the call was "denied" by the executor that sends nothing; no second model call
    assert rows[0]["status"] == "refused"
    lines = printed.splitlines()
    row_a = next(line for line in lines if line.startswith(mixed))
    row_b = next(line for line in lines if line.startswith(declines))
    for text in ("8/8", "50.0% (3/6)", "33.3% (2/6)", "50.0% (1/2)"):
        assert text in row_a, (text, row_a)
    for text in ("0.0% (0/6)", "100.0% (2/2)"):
        assert text in row_b, (text, row_b)


def test_limits_stop_the_run_and_report_what_it_has(corpus: list[Path], tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    folder = corpus[0].parent
    slow = _write(tmp_path / "slow.json", [{"sleep": 30, "answer": "late"}] * 4)
    out = tmp_path / "rows.json"
    # each task is cut at --max-seconds: no proposal, nothing scored as right
    assert bench.main(["--corpus", str(folder), "--specs", "1", "--model", slow,
                       "--max-seconds", "0.05", "--json", str(out), "--quiet"]) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    [summary] = report["summary"]
    assert summary["tasks"] == 4 and summary["right_tool"] == summary["declined"] == 0
    assert {r["status"] for r in report["rows"][slow]} == {"out_of_budget"}
    assert {r["proposal"] for r in report["rows"][slow]} == {"none"}
    capsys.readouterr()
    # past the deadline: no task starts, the table says so
    assert bench.main(["--corpus", str(folder), "--specs", "1", "--model", slow,
                       "--deadline", "0", "--quiet"]) == 0
    assert f"{slow}  0/4" in capsys.readouterr().out
