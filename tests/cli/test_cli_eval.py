"""`agentrt eval` through main(argv) with a scripted model on demo tasks: the table on stdout,
progress on stderr, the report as JSON (``--json`` on stdout, ``--out FILE``), and the exit
status (1 when a mode passes fewer than ``--min-pass`` of the tasks, by default all)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentrt.cli import main
from tests.cli.conftest import write_steps


def _tasks(tmp_path: Path, ids: list[str]) -> Path:
    from agentrt_demo import tasks

    source = Path(tasks.__file__).with_name("tasks.jsonl")
    rows = [json.loads(line) for line in source.read_text().splitlines() if line.strip()]
    chosen = [r for r in rows if r["id"] in ids]
    assert len(chosen) == len(ids)
    out = tmp_path / "tasks.jsonl"
    out.write_text("".join(json.dumps(r) + "\n" for r in chosen))
    return out


_THREE = ["lookup-airport-lis", "lookup-airport-cdg", "lookup-airport-hnd"]
_STEPS = [
    {"call": "get_airport", "arguments": {"code": "LIS"}},
    {"answer": "It is {{-1.body.name}}."},
    {"call": "get_airport", "arguments": {"code": "CDG"}},
    {"answer": "It is {{-1.body.name}}."},
    {"call": "get_airport", "arguments": {"code": "XXX"}},  # 404: pruned
    {"answer": "I do not know."},
]


def test_eval_fails_when_a_task_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tasks = _tasks(tmp_path, _THREE)
    model = write_steps(tmp_path / "steps.json", _STEPS)
    report = tmp_path / "report.json"
    code = main(["eval", "--model", model, "--mode", "dfs", "--tasks", str(tasks),
                 "--out", str(report)])
    assert code == 1  # 2 of 3 passed, and by default every task must pass
    captured = capsys.readouterr()
    table = captured.out.splitlines()
    assert table[0].split()[:3] == ["mode", "tasks", "passed"]
    assert table[1].split()[:3] == ["dfs", "3", "2"]
    assert "[dfs 1/3] lookup-airport-lis: pass" in captured.err
    assert "[dfs 3/3] lookup-airport-hnd: FAIL" in captured.err
    assert "below --min-pass 1" in captured.err
    data = json.loads(report.read_text())
    assert data["summary"]["passed"] == 2 and data["summary"]["tasks"] == 3
    assert [r["passed"] for r in data["results"]] == [True, True, False]


def test_eval_json_on_stdout_and_min_pass(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    tasks = _tasks(tmp_path, _THREE)
    model = write_steps(tmp_path / "steps.json", _STEPS)
    assert main(["eval", "--model", model, "--tasks", str(tasks), "--json",
                 "--min-pass", "0.6"]) == 0  # 2/3 ≥ 0.6
    captured = capsys.readouterr()
    data = json.loads(captured.out)  # stdout is the report and nothing else
    assert data["summary"]["passed"] == 2
    assert "pass rate" in captured.err  # the table went to stderr


def test_eval_old_json_path_usage_is_a_clear_error(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.json"
    assert main(["eval", "--model", "scripted:none.json", "--json", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--json takes no file name" in err and f"--out {out}" in err
    assert not out.exists()
    assert main(["eval", "--min-pass", "1.5"]) == 2
    assert "between 0 and 1" in capsys.readouterr().err


def test_eval_limit_and_bad_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tasks = _tasks(tmp_path, ["lookup-airport-lis", "lookup-airport-cdg"])
    model = write_steps(tmp_path / "steps.json", [
        {"call": "get_airport", "arguments": {"code": "LIS"}},
        {"answer": "It is {{-1.body.name}}."}])
    assert main(["eval", "--model", model, "--mode", "react", "--tasks", str(tasks),
                 "--limit", "1"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[1].split()[:3] == ["react", "1", "1"]
    assert main(["eval", "--model", model, "--mode", "dfs,bfs"]) == 2
    assert "unknown mode 'bfs'" in capsys.readouterr().err


def test_eval_set_switches_a_mechanism_off(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """`--set ground_answers=false` reaches every run: an answer with an invented fact and no
    call is then accepted (and fails the checker) instead of being refused."""
    tasks = _tasks(tmp_path, ["lookup-airport-lis"])
    invented = [{"answer": "It is Lisbon Airport, code ZZZ."}]
    args = ["eval", "--model", write_steps(tmp_path / "s.json", invented), "--tasks", str(tasks),
            "--min-pass", "0", "--json"]
    assert main([*args, "--set", "ground_answers=false"]) == 0
    row = json.loads(capsys.readouterr().out)["results"][0]
    assert row["status"] == "solved" and not row["passed"]
    assert row["mechanisms"]["grounded_answers"] == 0
    # with grounding on (the default) the same answer is refused; the model's next reply wins
    steps = write_steps(tmp_path / "s2.json", [*invented, {"answer": "Sorry, I cannot tell."}])
    assert main([*args[:2], steps, *args[3:]]) == 0
    row = json.loads(capsys.readouterr().out)["results"][0]
    assert row["mechanisms"]["grounded_answers"] == 1
    assert row["answer"] == "Sorry, I cannot tell."


def test_eval_set_rejects_unknown_settings(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    tasks = _tasks(tmp_path, ["lookup-airport-lis"])
    model = write_steps(tmp_path / "s.json", [])
    assert main(["eval", "--model", model, "--tasks", str(tasks), "--set", "grounding=off"]) == 2
    assert "not an agent setting" in capsys.readouterr().err
    assert main(["eval", "--model", model, "--tasks", str(tasks), "--set", "k"]) == 2
    assert "wants KEY=VALUE" in capsys.readouterr().err


def test_eval_search_switches_a_search_mechanism_off(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """`--search memo_failures=false` reaches every mode's search: the same call proposed
    twice is then sent twice instead of being refused as a repeat; the report records the
    search as run."""
    tasks = _tasks(tmp_path, ["lookup-airport-lis"])
    twice = [{"call": "get_airport", "arguments": {"code": "LIS"}},
             {"call": "get_airport", "arguments": {"code": "LIS"}},
             {"answer": "It is {{-1.body.name}}."}]
    args = ["eval", "--model", write_steps(tmp_path / "s.json", twice), "--tasks", str(tasks),
            "--min-pass", "0", "--json", "--search", "answer_after_lookup=0"]
    assert main(args) == 0
    data = json.loads(capsys.readouterr().out)
    row = data["results"][0]
    assert [tool for tool, _ in row["calls"]] == ["get_airport"]  # the repeat was refused
    assert row["stats"]["rejected_duplicate"] == 1
    assert data["summary"]["search"]["answer_after_lookup"] == 0
    assert data["summary"]["search"]["memo_failures"] is True
    assert main([*args, "--search", "memo_failures=false"]) == 0
    data = json.loads(capsys.readouterr().out)
    row = data["results"][0]
    assert [tool for tool, _ in row["calls"]] == ["get_airport", "get_airport"]
    assert row["stats"].get("rejected_duplicate", 0) == 0
    assert data["summary"]["search"]["memo_failures"] is False
    assert data["summary"]["settings"]["policy"] == "allow"  # eval's default, not --set


def test_eval_search_rejects_unknown_or_bad_settings(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]
                                                     ) -> None:
    model = write_steps(tmp_path / "s.json", [])
    assert main(["eval", "--model", model, "--search", "mode=react"]) == 2
    assert "--search mode: not a search setting" in capsys.readouterr().err
    assert main(["eval", "--model", model, "--search", "k=0"]) == 2
    assert "--search: k:" in capsys.readouterr().err
    assert main(["eval", "--model", model, "--set", "search=react"]) == 2
    assert "--search sets the search's" in capsys.readouterr().err
