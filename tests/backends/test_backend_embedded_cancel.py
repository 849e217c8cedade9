"""A cancelled propose (a run's wall-time budget) must not let a second thread into llama.cpp."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import pytest

from agentrt.backends.embedded import EmbeddedBackend


class SlowLlama:
    """Stands in for llama_cpp.Llama: slow, and records overlapping calls."""

    def __init__(self) -> None:
        self.inside = 0
        self.overlaps = 0
        self.calls = 0
        self.guard = threading.Lock()

    def create_chat_completion(self, **_: Any) -> dict[str, Any]:
        with self.guard:
            self.inside += 1
            self.calls += 1
            if self.inside > 1:
                self.overlaps += 1
        time.sleep(0.3)
        with self.guard:
            self.inside -= 1
        step = {"thought": "t", "name": "finish",
                "arguments": {"return_type": "give_answer", "final_answer": "ok"}}
        return {"choices": [{"message": {"content": json.dumps(step)}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 5, "completion_tokens": 5}}


async def test_cancelled_generation_keeps_the_model_exclusive() -> None:
    pytest.importorskip("llama_cpp")
    fake = SlowLlama()
    backend = EmbeddedBackend(llama=fake)
    messages = [{"role": "user", "content": "hi"}]
    first = asyncio.ensure_future(backend.propose(messages, tools=[], n=1))
    await asyncio.sleep(0.1)
    first.cancel()  # the thread inside llama.cpp keeps running
    with pytest.raises(asyncio.CancelledError):
        await first
    (cand,) = await backend.propose(messages, tools=[], n=1)
    assert cand.kind == "answer" and cand.answer == "ok"
    assert fake.calls == 2 and fake.overlaps == 0
