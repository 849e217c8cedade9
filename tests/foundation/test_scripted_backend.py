"""The shipped scripted backend: it records what it was asked (unless told not to, for a
long-lived benchmark backend) and fails loudly when its steps run out."""

from __future__ import annotations

import pytest

from agentrt.backends.base import Candidate
from agentrt.errors import BackendError
from agentrt.testing import ScriptedBackend

ANSWER = Candidate(kind="answer", answer="done", raw="done")
ASK = [{"role": "user", "content": "hi"}]


async def test_requests_are_recorded_and_running_out_is_an_error() -> None:
    backend = ScriptedBackend([ANSWER])
    assert await backend.propose(ASK, tools=[]) == [ANSWER]
    assert [r.messages for r in backend.requests] == [ASK] and backend.remaining == 0
    with pytest.raises(BackendError, match="ran out of steps at request 2"):
        await backend.propose(ASK, tools=[])


async def test_record_false_keeps_nothing() -> None:
    backend = ScriptedBackend(lambda messages, tools, n: ANSWER, record=False)
    for _ in range(3):
        assert await backend.propose(ASK, tools=[]) == [ANSWER]
    assert backend.requests == []
