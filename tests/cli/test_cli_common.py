"""CLI plumbing: model selection from the environment, and closing a backend only after a
cancelled model step has left its worker thread (llama.cpp would crash otherwise)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time

import pytest

from agentrt.cli.common import close_backend, default_model, run_async


class _SlowModel:
    """A backend whose step runs in a worker thread, like the embedded one."""

    def __init__(self) -> None:
        self.working = threading.Event()
        self.closed_during_work: bool | None = None

    def _step(self) -> None:
        self.working.set()
        time.sleep(0.5)
        self.working.clear()

    async def propose(self) -> None:
        await asyncio.to_thread(self._step)

    async def aclose(self) -> None:
        self.closed_during_work = self.working.is_set()


def test_close_backend_waits_for_a_cancelled_step() -> None:
    model = _SlowModel()

    async def scenario() -> None:
        task = asyncio.ensure_future(model.propose())
        while not model.working.is_set():
            await asyncio.sleep(0.01)
        task.cancel()  # Ctrl-C or a time budget: the thread goes on
        with contextlib.suppress(asyncio.CancelledError):
            await task
        assert model.working.is_set()
        await close_backend(model)

    run_async(scenario())
    assert model.closed_during_work is False


@pytest.mark.parametrize(("env", "expected"), [
    (None, "embedded"),
    ("vllm:http://gpu:8000/v1#qwen", "vllm:http://gpu:8000/v1#qwen"),
    ("/models/other.gguf", "embedded"),  # a path is for the embedded backend to read
])
def test_default_model_from_environment(monkeypatch: pytest.MonkeyPatch, env: str | None,
                                        expected: str) -> None:
    if env is None:
        monkeypatch.delenv("AGENTRT_MODEL", raising=False)
    else:
        monkeypatch.setenv("AGENTRT_MODEL", env)
    assert default_model() == expected
