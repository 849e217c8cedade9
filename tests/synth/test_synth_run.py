"""`agentrt synth` end to end: the demo teacher through the real Agent (DFS, validation,
executor) against the demo services over real sockets; only checker-verified runs are kept; each
per-step record holds exactly the messages the backend received for that step."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentrt.cli import main
from agentrt.prompts import SYSTEM_PROMPT, SYSTEM_PROMPT_TEXT
from agentrt.synth.run import RequestSuite, asynthesize
from agentrt.testing import ScriptedBackend, answer, call
from agentrt.trace import StepRecord, read_jsonl, replay_requests, request_messages, step_records
from agentrt_demo import demo_credentials, demo_toolset, running_services
from agentrt_demo.generate import generate_tasks
from agentrt_demo.suite import DemoSuite
from agentrt_demo.tasks import TASKS_FILE
from agentrt_demo.teacher import DemoTeacher

from .conftest import TODAY, Recorder


async def _synth(tmp_path: Path, tasks, teacher, **options):
    recorder = Recorder(teacher)
    summary = await asynthesize(tasks, suite=DemoSuite(today=TODAY), teacher=recorder,
                                out=tmp_path / "steps.jsonl", runs_out=tmp_path / "runs.jsonl",
                                seed=11, **options)
    records = [StepRecord.model_validate_json(line) for line in
               (tmp_path / "steps.jsonl").read_text().splitlines()]
    return summary, records, read_jsonl(tmp_path / "runs.jsonl"), recorder


async def test_every_category_is_solved_and_records_equal_the_prompts(tmp_path: Path) -> None:
    tasks = generate_tasks(10, seed=11, today=TODAY)          # one task per category
    teacher = DemoTeacher(tasks, recovery=1.0, seed=11, tool_call_format="json")
    summary, records, runs, recorder = await _synth(tmp_path, tasks, teacher)
    assert summary.tried == 10 and summary.kept == 10, summary.text()
    assert {row["kept"] for row in summary.by_category.values()} == {1}
    assert len(runs) == 10 and summary.records == len(records)
    # one transcript: every model request of every run, rebuilt from the tree, is what the
    # backend received — rejected proposals, failures and notes included
    for run in runs:
        seen = recorder.seen[run.query]
        replayed = replay_requests(run)
        assert [r.number for r in replayed] == list(range(1, len(seen) + 1))
        for r in replayed:
            assert request_messages(run, r) == seen[r.number - 1][0], (run.query, r.number)
    for record in records:
        seen = recorder.seen[record.provenance["query"]][record.request - 1]
        assert record.messages == seen[0] and record.tools == seen[1]
        assert record.messages[0]["content"].startswith(SYSTEM_PROMPT)
        assert record.provenance["teacher"] == "demo-teacher"
        assert record.provenance["seed"] == 11 and record.provenance["category"]
    # recovery: a wrong first proposal, rejected or failed, then the repair after the notes
    repairs = [r for r in records if r.repair]
    assert summary.kept_with_recovery >= 8 and repairs
    notes = [r.messages[-1]["content"] for r in repairs]
    assert any("was not sent" in n for n in notes)
    kinds = {c.meta.get("mistake") for replies in recorder.replies.values() for c in replies}
    assert {"unknown_tool", "bad_argument"} <= kinds
    # the wrong proposals never became a training target
    targets = [json.dumps(r.reply) for r in records]
    assert not any(name in t for t in targets for name in ("book_flight\"", "find_hotels\"",
                                                           "search_flights\""))
    answers = [r for r in records if r.kind == "answer"]
    assert len(answers) == 10 and all(
        r.reply["tool_calls"][0]["function"]["name"] == "finish" for r in answers)


async def test_native_format_declines_and_questions(tmp_path: Path) -> None:
    tasks = [t for t in generate_tasks(20, seed=12, today=TODAY)
             if t.category in ("unsatisfiable", "ambiguous", "lookup")]
    teacher = DemoTeacher(tasks, recovery=0.0, tool_call_format="native")
    summary, records, _runs, _rec = await _synth(tmp_path, tasks, teacher)
    assert summary.kept == len(tasks) == 6
    assert summary.tool_call_format == "native" and summary.kept_with_recovery <= 2
    finals = {r.provenance["category"]: r for r in records if r.kind == "answer"}
    for record in finals.values():
        assert record.tool_call_format == "native"
        assert set(record.reply) == {"role", "content"}          # plain text, no finish
        assert record.messages[0]["content"].startswith(SYSTEM_PROMPT_TEXT)
    assert "?" in finals["ambiguous"].reply["content"]
    assert finals["ambiguous"].step == 0                       # asked before any call
    decline = finals["unsatisfiable"]
    assert decline.step >= 1 or decline.repair                 # looked it up first


async def test_a_run_the_checker_refuses_is_not_kept(tmp_path: Path) -> None:
    """A teacher that books the wrong (most expensive) offer: solved, but not kept (the
    runtime's own refusal of a change on an item its list beats — ground_superlatives — is
    switched off: the checker is what is tested)."""
    [task] = [t for t in generate_tasks(2, seed=1, today=TODAY)
              if t.category == "book_cheapest"]
    spec = task.expect["flight_bookings"][0]

    def worst(messages, _tools, _n):
        tools = [m for m in messages if m["role"] == "tool"]
        if not tools:
            return call("search_flight_offers", origin=spec["origin"],
                        destination=spec["destination"], departure_date=spec["date"],
                        sort="price", limit=50)
        if len(tools) == 1:
            ids = [w.split("=")[1] for w in tools[0]["content"].split() if
                   w.startswith("offer_id=")]
            assert len(ids) >= 2, "the premise: a dearer offer than the right one"
            return call("create_flight_booking", offer_id=ids[-1],
                        passengers=spec["passengers"], contact_email=spec["email"])
        return answer("Booked it.")

    summary, records, runs, _rec = await _synth(
        tmp_path, [task], ScriptedBackend(worst),
        agent_options={"ground_superlatives": False})
    assert summary.kept == 0 and records == [] and runs == []
    [(reason, count)] = summary.rejected_reasons.items()
    assert "right offer" in reason and count == 1


async def test_plain_requests_keep_only_grounded_answers(tmp_path: Path) -> None:
    """No checker (your own APIs): solved runs are kept when the answer is grounded."""
    with running_services(tmp_path / "state", today=TODAY) as svc:
        toolset = demo_toolset(svc.flights_url, svc.hotels_url)

        def steps(messages, _tools, _n):
            request = messages[1]["content"]
            if "LIS" in request:
                if not any(m["role"] == "tool" for m in messages):
                    return call("get_airport", code="LIS")
                return answer("LIS is Humberto Delgado Airport.")
            return answer("The cheapest fare is 42.50 EUR on TP1234.")   # never looked up

        (tmp_path / "requests.txt").write_text("Name the airport LIS.\nCheapest fare OPO-MAD?\n")
        suite = RequestSuite(toolset, demo_credentials(toolset))
        summary = await asynthesize(suite.load_tasks(tmp_path / "requests.txt"), suite=suite,
                                    teacher=ScriptedBackend(steps), out=tmp_path / "s.jsonl")
    assert summary.tried == 2 and summary.kept == 1
    kept = [StepRecord.model_validate_json(x) for x in
            (tmp_path / "s.jsonl").read_text().splitlines()]
    assert [r.kind for r in kept] == ["call", "answer"]
    assert kept[0].provenance["task_id"] == "req-1"


def test_cli_synth_writes_records_summary_and_demonstrations(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]
                                                            ) -> None:
    monkeypatch.setenv("AGENTRT_DEMO_TODAY", TODAY.isoformat())
    out, demos = tmp_path / "steps.jsonl", tmp_path / "demos.jsonl"
    assert main(["synth", "--generate", "10", "--seed", "4", "--out", str(out),
                 "--demonstrations", str(demos), "--format", "native"]) == 0
    summary = json.loads(Path(f"{out}.summary.json").read_text())
    assert summary["tried"] == 10 and summary["kept"] == 10
    assert summary["records"] == len(out.read_text().splitlines())
    assert {"by_category", "recovery_share", "rejected_reasons", "seconds"} <= set(summary)
    assert "10/10 runs kept" in capsys.readouterr().out
    assert 8 <= len(demos.read_text().splitlines()) <= 10     # the runs that made calls


def test_cli_synth_refuses_the_evaluation_tasks(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["synth", "--tasks", str(TASKS_FILE), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "refused 52 task(s)" in err and "no tasks to run" in err


def test_step_records_of_a_run_that_is_not_solved_are_empty() -> None:
    from agentrt.search import RunResult

    assert step_records(RunResult(query="q", status="gave_up")) == []


def test_cli_synth_mix_weighs_the_generator_and_refuses_nonsense(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AGENTRT_DEMO_TODAY", TODAY.isoformat())
    out = tmp_path / "steps.jsonl"
    assert main(["synth", "--generate", "4", "--mix", "cancel=3,lookup=1,book_cheapest=0,"
                 "book_earliest=0,book_nonstop=0,hotel=0,flight_and_hotel=0,"
                 "multi_passenger=0,unsatisfiable=0,ambiguous=0", "--out", str(out)]) == 0
    summary = json.loads(Path(f"{out}.summary.json").read_text())
    assert {c: v["tried"] for c, v in summary["by_category"].items()} == \
        {"lookup": 1, "cancel": 3}
    for mix, why in (("lookup=x", "not CATEGORY=WEIGHT"), ("nope=2", "unknown category")):
        assert main(["synth", "--generate", "4", "--mix", mix, "--out", str(out)]) == 2
        assert why in capsys.readouterr().err
    assert main(["synth", "--tasks", str(TASKS_FILE), "--mix", "lookup=2",
                 "--out", str(out)]) == 2
    assert "give --generate N" in capsys.readouterr().err
