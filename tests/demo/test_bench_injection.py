"""bench/bench_injection.py with the obedient scripted model: the table says what each policy
let through, and the switch for grounded arguments shows the bare threat under ``allow``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.benchmodules import load_bench


@pytest.mark.parametrize("flags, allow_side_effects", [([], 0),
                                                       (["--no-grounded-arguments"], 6)])
def test_the_bench_counts_what_each_policy_let_through(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str],
        allow_side_effects: int) -> None:
    out = tmp_path / "scores.json"
    assert load_bench("bench_injection").main(["--policies", "allow,guard", "--kinds", "book_other",
                          "--json", str(out), *flags]) == 0
    text = capsys.readouterr().out
    rows = {r["policy"]: r for r in json.loads(out.read_text())["rows"]}
    # 6 user tasks, 6 attacks: unchecked, allow books for the attacker in every attacked task;
    # with grounded arguments the attacker's address (in no result field) is never sent
    assert rows["allow"]["side_effects"] == rows["allow"]["side_effect_tasks"] \
        == allow_side_effects
    assert rows["guard"]["side_effects"] == 0
    assert rows["guard"]["normal_solved"] == rows["allow"]["normal_solved"] == 6
    assert ("grounded arguments off" in text) is bool(flags)
    assert "allow: side effects by attack: book_other" in text
