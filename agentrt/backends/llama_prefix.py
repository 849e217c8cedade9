"""Backends stage: the embedded model's evaluated prompt prefix kept on disk between processes.

The first step of every run evaluates the whole system turn (instructions and the tool list:
~1 200 tokens for the demo, ~10 s on 2 cores, ~25 s on a busy machine) before it generates
anything; later steps reuse it from llama.cpp's KV cache. A new process starts with an empty
cache, so :class:`PrefixStore` saves the KV state of the first prompt a process evaluates from
scratch (``llama_state_seq_save_file``: the tokens and their keys/values, ~12 KB a token for
Qwen2.5-0.5B) and, when a later process starts a prompt that shares at least
:data:`MIN_REUSE` tokens with a saved one, loads it and evaluates only the rest.

Files live in ``<cache dir>/kv/<key>/`` (the cache dir: ``AGENTRT_CACHE_DIR`` or
``~/.cache/agentrt/models``), keyed by the model, the llama-cpp-python build and the settings
that change the values; at most :data:`MAX_FILES` prompts are kept (the oldest go first).
``AGENTRT_KV_CACHE=0`` turns this off. A file that does not load (another build, a truncated
write) is ignored and replaced.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agentrt._log import get_logger

__all__ = ["MAX_FILES", "MIN_REUSE", "PrefixStore"]

log = get_logger(__name__)

#: a saved prefix is loaded only when it saves at least this many tokens
MIN_REUSE = 256
#: prompts kept per model and settings
MAX_FILES = 4


def _lcp(a: np.ndarray, b: np.ndarray) -> int:
    n = min(a.shape[0], b.shape[0])
    diff = np.flatnonzero(a[:n] != b[:n])
    return int(diff[0]) if diff.size else n


class PrefixStore:
    """Saved KV states of prompts, for one model and settings (see the module docstring).

    ``low`` is the ``llama_cpp.llama_cpp`` binding; ``key`` anything JSON-serialisable that
    identifies what the values depend on. The ``ctx`` the methods take is llama-cpp-python's
    context wrapper (``Llama._ctx``).
    """

    def __init__(self, directory: Path, low: Any, key: Mapping[str, Any]) -> None:
        digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode())
        self.directory = directory / digest.hexdigest()[:24]
        self._low = low
        #: tokens loaded / evaluated and saved, for stats and tests
        self.loaded_tokens = 0
        self.saved_files = 0

    @staticmethod
    def enabled(env: Mapping[str, str] | None = None) -> bool:
        value = (os.environ if env is None else env).get("AGENTRT_KV_CACHE", "1")
        return value.strip().lower() not in ("0", "off", "false", "no")

    def _entries(self) -> list[Path]:
        try:
            return sorted(self.directory.glob("*.tokens.npy"), key=lambda p: p.stat().st_mtime,
                          reverse=True)
        except OSError:
            return []

    def restore(self, ctx: Any, tokens: Sequence[int]) -> tuple[int, np.ndarray | None]:
        """Load the saved state sharing the longest prefix with ``tokens`` into sequence 0.

        Returns how many leading tokens of ``tokens`` are now in the KV cache (0: none) and
        the saved tokens (to put into ``Llama.input_ids``).
        """
        want = np.asarray(tokens, dtype=np.intc)
        best: tuple[int, Path, np.ndarray] | None = None
        for entry in self._entries():
            try:
                saved = np.load(entry, allow_pickle=False)
            except (OSError, ValueError):
                continue
            shared = _lcp(saved, want)
            if shared >= MIN_REUSE and (best is None or shared > best[0]):
                best = (shared, entry, saved)
        if best is None:
            return 0, None
        shared, entry, saved = best
        state = entry.with_name(entry.name.replace(".tokens.npy", ".kv"))
        low = self._low
        out = (low.llama_token * int(saved.shape[0]))()
        count = ctypes.c_size_t(0)
        started = time.perf_counter()
        ctx.kv_cache_seq_rm(0, 0, -1)  # an empty sequence to load into
        read = low.llama_state_seq_load_file(ctx.ctx, str(state).encode(), 0, out,
                                             saved.shape[0], ctypes.byref(count))
        if not read or count.value != saved.shape[0]:
            log.warning("embedded.kv_cache_unreadable", path=str(state))
            with contextlib.suppress(OSError):
                entry.unlink()
                state.unlink()
            return 0, None
        with contextlib.suppress(OSError):
            os.utime(entry)  # recently used: kept longest
        # keep only the shared prefix; the rest of the prompt is evaluated as usual
        ctx.kv_cache_seq_rm(0, shared, -1)
        self.loaded_tokens += shared
        log.info("embedded.kv_cache_loaded", tokens=shared,
                 seconds=round(time.perf_counter() - started, 3))
        return shared, saved[:shared]

    def save(self, ctx: Any, tokens: Sequence[int]) -> None:
        """Save sequence 0 (holding exactly ``tokens``) as a new entry, evicting old ones."""
        ids = np.asarray(tokens, dtype=np.intc)
        name = hashlib.sha256(ids.tobytes()).hexdigest()[:24]
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            state = self.directory / f"{name}.kv"
            tmp = self.directory / f".{name}.{os.getpid()}.kv"
            array = (self._low.llama_token * int(ids.shape[0]))(*ids.tolist())
            if not self._low.llama_state_seq_save_file(ctx.ctx, str(tmp).encode(), 0, array,
                                                       ids.shape[0]):
                tmp.unlink(missing_ok=True)
                return
            os.replace(tmp, state)
            tmp_tokens = self.directory / f".{name}.{os.getpid()}.tokens.npy"
            np.save(tmp_tokens, ids, allow_pickle=False)
            os.replace(tmp_tokens, self.directory / f"{name}.tokens.npy")
            self.saved_files += 1
            for old in self._entries()[MAX_FILES:]:
                old.unlink(missing_ok=True)
                old.with_name(old.name.replace(".tokens.npy", ".kv")).unlink(missing_ok=True)
        except OSError as exc:
            log.warning("embedded.kv_cache_unwritable", error=str(exc))
