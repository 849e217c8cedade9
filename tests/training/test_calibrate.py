"""The first-move calibration: a bias on the ``<tool_call>`` logit fitted to records' gaps."""

from __future__ import annotations

import pytest

from agentrt.training.calibrate import fit_call_bias


def test_the_bias_separates_calls_from_answers() -> None:
    # an adapter that learnt when to call, through a dead output row: calls ≈ -5, answers ≈ -15
    gaps = [(-4.5, True), (-6.8, True), (-5.2, True), (-14.3, False), (-15.8, False),
            (-12.8, False)]
    fitted = fit_call_bias(gaps)
    assert 6.8 < fitted.call_bias < 12.8
    assert (fitted.accuracy_without, fitted.accuracy_with) == (0.5, 1.0)
    assert (fitted.records, fitted.calls) == (6, 3)


def test_overlap_keeps_the_best_split_and_never_a_negative_bias() -> None:
    gaps = [(-4.0, True), (-5.0, False), (-6.0, True), (-15.0, False)]
    fitted = fit_call_bias(gaps)
    assert fitted.accuracy_with == 0.75 and fitted.call_bias > 0
    # a model that already calls when it should needs no push, and never a pull
    assert fit_call_bias([(2.0, True), (-3.0, False)]).call_bias == 0.0
    assert fit_call_bias([(-1.0, False), (-2.0, False)]).call_bias == 0.0
    with pytest.raises(ValueError):
        fit_call_bias([])
