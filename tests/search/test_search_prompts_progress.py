"""After a committed side effect the prompt reminds the model that it may finish."""

from __future__ import annotations

import json
from dataclasses import dataclass

from agentrt.prompts import build_messages
from agentrt.search.steps import Step, StepRequest


@dataclass
class Obs:
    outcome: str
    side_effect: str
    status_code: int = 200

    def to_model_text(self, limit: int = 2000) -> str:
        return json.dumps({"outcome": self.outcome})


def request(obs: Obs) -> StepRequest:
    step = Step(node=1, thought="book it", tool="create_booking", arguments={"x": 1},
                observation=obs)
    return StepRequest(query="book", path=(step,), feedback=(), n=1, node=1, depth=1)


def test_note_after_a_committed_call_only() -> None:
    done = build_messages(request(Obs("ok", "unsafe")))
    assert done[-1]["role"] == "user" and "call finish" in done[-1]["content"]
    assert "create_booking call succeeded" in done[-1]["content"]
    for obs in (Obs("ok", "safe"), Obs("client_error", "unsafe")):
        assert build_messages(request(obs))[-1]["role"] == "tool"
