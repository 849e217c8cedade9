"""The Agent picks k from the backend: batched where n is native, lazy where it is not."""

from __future__ import annotations

from agentrt import Agent, Toolset
from agentrt.backends.base import Capabilities
from agentrt.testing import ScriptedBackend

SPEC = {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {}}


def test_k_follows_the_backends_capabilities() -> None:
    ts = Toolset.from_spec(SPEC)
    native = ScriptedBackend([], capabilities=Capabilities(native_n=True))
    looped = ScriptedBackend([], capabilities=Capabilities(native_n=False))
    assert Agent(native, ts).search.k == 3
    assert Agent(looped, ts).search.k == 1
    assert Agent(looped, ts, k=4).search.k == 4
    assert Agent(looped, ts, search="dfsdt").search.k == 2
