"""The embedded model's evaluated prompt prefix, saved on disk for the next process."""

from __future__ import annotations

import ctypes
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agentrt.backends.llama_prefix import MAX_FILES, MIN_REUSE, PrefixStore


class FakeLow:
    """``llama_state_seq_save_file`` / ``_load_file`` writing the tokens only."""

    llama_token = ctypes.c_int32

    def __init__(self) -> None:
        self.loads = 0

    def llama_state_seq_save_file(self, ctx: Any, path: bytes, seq: int, tokens: Any,
                                  n: int) -> int:
        Path(path.decode()).write_bytes(np.array(tokens[:n], dtype=np.int32).tobytes())
        return 4 * n

    def llama_state_seq_load_file(self, ctx: Any, path: bytes, seq: int, out: Any, cap: int,
                                  count: Any) -> int:
        self.loads += 1
        data = np.frombuffer(Path(path.decode()).read_bytes(), dtype=np.int32)
        if data.size > cap:
            return 0
        for i, tok in enumerate(data.tolist()):
            out[i] = tok
        count._obj.value = data.size
        return data.size * 4


class FakeCtx:
    def __init__(self) -> None:
        self.ctx = "ctx"
        self.removed: list[tuple[int, int, int]] = []

    def kv_cache_seq_rm(self, seq: int, p0: int, p1: int) -> bool:
        self.removed.append((seq, p0, p1))
        return True


def _tokens(n: int, start: int = 0) -> list[int]:
    return list(range(start, start + n))


def test_saved_prompt_restores_the_shared_prefix(tmp_path: Path) -> None:
    low = FakeLow()
    store = PrefixStore(tmp_path, low, {"model": "m"})
    ctx = FakeCtx()
    system = _tokens(MIN_REUSE + 100)
    store.save(ctx, [*system, 1, 2, 3])
    # a new process, another request after the same system turn
    shared, saved = store.restore(ctx, [*system, 9, 9])
    assert shared == len(system)
    assert saved is not None and saved.tolist() == system
    assert ctx.removed[-1] == (0, len(system), -1)  # the saved request's tail is dropped
    assert store.loaded_tokens == len(system)


def test_too_little_in_common_is_not_loaded(tmp_path: Path) -> None:
    low = FakeLow()
    store = PrefixStore(tmp_path, low, {"model": "m"})
    store.save(FakeCtx(), _tokens(MIN_REUSE + 50))
    assert store.restore(FakeCtx(), [*_tokens(MIN_REUSE - 1), -5, -5]) == (0, None)
    assert low.loads == 0  # decided from the token list, the state file never read
    # another model or build: another directory
    other = PrefixStore(tmp_path, low, {"model": "other"})
    assert other.restore(FakeCtx(), _tokens(MIN_REUSE + 50)) == (0, None)


def test_the_longest_match_wins_and_old_prompts_go(tmp_path: Path) -> None:
    low = FakeLow()
    store = PrefixStore(tmp_path, low, {"model": "m"})
    base = _tokens(MIN_REUSE + 10)
    store.save(FakeCtx(), [*base, *_tokens(50, 10_000)])
    store.save(FakeCtx(), [*base, *_tokens(80, 20_000)])
    shared, _ = store.restore(FakeCtx(), [*base, *_tokens(60, 20_000), 7])
    assert shared == len(base) + 60
    for i in range(MAX_FILES + 2):
        store.save(FakeCtx(), _tokens(MIN_REUSE + 1, 100_000 * (i + 1)))
    assert len(list(store.directory.glob("*.kv"))) == MAX_FILES
    assert len(list(store.directory.glob("*.tokens.npy"))) == MAX_FILES


def test_an_unreadable_state_is_dropped(tmp_path: Path) -> None:
    low = FakeLow()
    store = PrefixStore(tmp_path, low, {"model": "m"})
    prompt = _tokens(MIN_REUSE + 10)
    store.save(FakeCtx(), prompt)
    [state] = store.directory.glob("*.kv")
    state.write_bytes(b"\0" * 4 * (len(prompt) + 5))  # not what the token list says
    assert store.restore(FakeCtx(), [*prompt, 1]) == (0, None)
    assert not list(store.directory.iterdir())


def test_the_store_can_be_turned_off() -> None:
    assert PrefixStore.enabled({})
    assert not PrefixStore.enabled({"AGENTRT_KV_CACHE": "0"})


@pytest.mark.model
async def test_a_new_backend_starts_from_the_saved_prompt(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          tools: list[dict[str, Any]],
                                                          constraint: dict[str, Any]) -> None:
    pytest.importorskip("llama_cpp")
    from agentrt.backends import EmbeddedBackend, Sampling
    from agentrt.backends.model_files import resolve_model_path

    model = resolve_model_path()
    monkeypatch.setenv("AGENTRT_CACHE_DIR", str(tmp_path))  # the KV files go here
    request = ("Find flights from Paris CDG to New York JFK on 2026-12-01. " * 30).strip()
    messages = [{"role": "system", "content": "You help travellers. " * 60},
                {"role": "user", "content": request}]
    raws, restored = [], []
    for _ in range(2):  # two backends: as two processes would
        be = EmbeddedBackend(model, n_ctx=2048, thought_max_chars=40)
        try:
            [cand] = await be.propose(messages, tools=tools, constraint=constraint,
                                      sampling=Sampling(temperature=0.0, max_tokens=48))
            raws.append(cand.raw)
            assert be._decode_stats is not None
            restored.append(be._decode_stats.restored)
        finally:
            await be.aclose()
    assert restored[0] == 0 and restored[1] > MIN_REUSE
    assert raws[0] == raws[1]
    assert list((tmp_path / "kv").rglob("*.kv"))
