"""`agentrt eval` through main(argv) with a scripted model on three demo tasks: the table on
stdout, progress on stderr, the JSON report."""

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


def test_eval_scripted_three_tasks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tasks = _tasks(tmp_path, ["lookup-airport-lis", "lookup-airport-cdg", "lookup-airport-hnd"])
    steps = [
        {"call": "get_airport", "arguments": {"code": "LIS"}},
        {"answer": "It is {{-1.body.name}}."},
        {"call": "get_airport", "arguments": {"code": "CDG"}},
        {"answer": "It is {{-1.body.name}}."},
        {"call": "get_airport", "arguments": {"code": "XXX"}},  # 404: pruned
        {"answer": "I do not know."},
    ]
    model = write_steps(tmp_path / "steps.json", steps)
    report = tmp_path / "report.json"
    code = main(["eval", "--model", model, "--mode", "dfs", "--tasks", str(tasks),
                 "--json", str(report)])
    assert code == 0
    captured = capsys.readouterr()
    table = captured.out.splitlines()
    assert table[0].split()[:3] == ["mode", "tasks", "passed"]
    assert table[1].split()[:3] == ["dfs", "3", "2"]
    assert "[dfs 1/3] lookup-airport-lis: pass" in captured.err
    assert "[dfs 3/3] lookup-airport-hnd: FAIL" in captured.err
    data = json.loads(report.read_text())
    assert data["summary"]["passed"] == 2 and data["summary"]["tasks"] == 3
    assert [r["passed"] for r in data["results"]] == [True, True, False]


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
