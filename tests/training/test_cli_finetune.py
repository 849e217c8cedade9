"""`agentrt finetune` without the train extra says which extra to install, in one line; `--check`
reads the data without it; a bad data line is a one-line error with its line number."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agentrt.cli import main
from tests.training.tiny_model import trajectory, write_records


def test_without_the_train_extra_the_command_names_it(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    real = importlib.util.find_spec

    def hide_torch(name: str, *args: Any, **kw: Any) -> Any:
        return None if name.split(".")[0] == "torch" else real(name, *args, **kw)

    monkeypatch.setattr(importlib.util, "find_spec", hide_torch)
    data = write_records(tmp_path / "d.jsonl")
    assert main(["finetune", str(data), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["agentrt: error: agentrt finetune needs the training extra (torch is "
                   "missing): pip install 'agentrt[train]'"]
    assert not (tmp_path / "out").exists()


def test_help_and_check_need_no_torch(tmp_path: Path) -> None:
    data = write_records(tmp_path / "d.jsonl")
    code = ("import sys; from agentrt.cli import main; main(['finetune', '--help']); "
            f"main(['finetune', {str(data)!r}, '--check']); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'peft', "
            "'transformers')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "pip install 'agentrt[train]'" in done.stdout
    assert "2 record(s): 1 call(s), 1 answer(s)" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_a_bad_line_is_a_one_line_error_with_its_number(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps(trajectory()[0]) + "\n" + '{"format": "other/2"}\n')
    assert main(["finetune", str(data), "--check"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == (f"agentrt: error: {data}:2: foreign record: format 'other/2', expected "
                      "'agentrt.step/1'")
