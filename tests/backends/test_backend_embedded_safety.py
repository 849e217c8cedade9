"""The embedded backend never dies on a CPU feature the machine advertises but cannot execute.

Runs on every machine: the load parameters are asserted against a faked /proc/cpuinfo, and
the probe child is replaced by small programs that die by a signal, fail, or hang.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from agentrt.backends import embedded, llama_runtime
from agentrt.backends.embedded import EmbeddedBackend
from agentrt.backends.llama_runtime import (
    LlamaCrashError,
    LoadParams,
    choose_load_params,
    cpu_flags,
    create_llama,
    ensure_runnable,
    run_probe,
)
from agentrt.errors import BackendError, ConfigError

AMX_CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: fpu sse2 avx avx2 avx512f avx512bw amx_bf16 amx_tile amx_int8
processor\t: 1
flags\t\t: fpu sse2 avx avx2 avx512f avx512bw amx_bf16 amx_tile amx_int8
"""
PLAIN_CPUINFO = "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma\n"

#: the child's program header: no core file for the deliberate crashes
_NO_CORE = "import resource; resource.setrlimit(resource.RLIMIT_CORE, (0, 0)); "


def _child(code: str) -> list[str]:
    return [sys.executable, "-c", _NO_CORE + code]


SIGILL_CHILD = _child("import os, signal; os.kill(os.getpid(), signal.SIGILL)")
#: dies only when llama.cpp's extra buffer types (AMX) would be used, as on the VM in issue 10
AMX_CHILD = _child("import json, os, signal, sys; cfg = json.loads(sys.argv[-1]); "
                   "cfg['use_extra_bufts'] is False or os.kill(os.getpid(), signal.SIGILL); "
                   "print('{\"ok\": true}')")


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AGENTRT_CACHE_DIR", str(tmp_path / "cache"))
    for name in ("AGENTRT_PROBE", "AGENTRT_EXTRA_BUFTS", "AGENTRT_THREADS"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def model(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.gguf"
    path.write_bytes(b"GGUF" + bytes(64))
    return path


def _counting(command: list[str], counter: Path) -> list[str]:
    """``command``'s program, preceded by a line appended to ``counter`` (one per run)."""
    code = command[-1]
    return [*command[:-1], f"open({str(counter)!r}, 'a').write('x'); " + code]


# -- the load parameters ----------------------------------------------------------------------
def test_cpu_flags_from_a_cpuinfo_reader() -> None:
    assert {"amx_tile", "avx2"} <= cpu_flags(lambda: AMX_CPUINFO)
    assert cpu_flags(lambda: "") == frozenset()


def test_amx_advertised_on_x86_keeps_weights_out_of_extra_buffers() -> None:
    params = choose_load_params(cpu_flags(lambda: AMX_CPUINFO), machine="x86_64", env={})
    assert params.use_extra_bufts is False and not params.forced
    assert "AMX" in params.reason
    # no AMX, or not x86: llama.cpp's default (repacked weights stay available)
    assert choose_load_params(cpu_flags(lambda: PLAIN_CPUINFO), machine="x86_64",
                              env={}).use_extra_bufts is None
    assert choose_load_params(frozenset({"amx_tile"}), machine="aarch64",
                              env={}).use_extra_bufts is None


def test_extra_bufts_forced_by_environment() -> None:
    amx = cpu_flags(lambda: AMX_CPUINFO)
    forced = choose_load_params(amx, machine="x86_64", env={"AGENTRT_EXTRA_BUFTS": "1"})
    assert forced.use_extra_bufts is True and forced.forced
    off = choose_load_params(frozenset(), machine="x86_64", env={"AGENTRT_EXTRA_BUFTS": "0"})
    assert off.use_extra_bufts is False and off.forced
    with pytest.raises(ConfigError, match="AGENTRT_EXTRA_BUFTS"):
        choose_load_params(amx, machine="x86_64", env={"AGENTRT_EXTRA_BUFTS": "maybe"})


class _Params:
    use_extra_bufts = True


def _fake_llama_cpp(created: list[dict[str, Any]]) -> Any:
    """A stand-in for the ``llama_cpp`` package whose ``Llama`` records the model params it
    built from ``llama_cpp.llama_cpp.llama_model_default_params()`` (as 0.3.36 does)."""
    low = types.SimpleNamespace(llama_model_default_params=_Params)
    module = types.SimpleNamespace(llama_cpp=low)

    class Llama:
        def __init__(self, model_path: str, **kw: Any) -> None:
            params = low.llama_model_default_params()
            created.append({"model_path": model_path, "use_extra_bufts": params.use_extra_bufts,
                            **kw})

    module.Llama = Llama
    module.LlamaGrammar = types.SimpleNamespace(from_string=lambda text, verbose: text)
    module.llama_grammar = types.SimpleNamespace(JSON_GBNF="root ::= object")
    return module


def test_create_llama_sets_the_model_param_and_restores_the_default() -> None:
    created: list[dict[str, Any]] = []
    fake = _fake_llama_cpp(created)
    create_llama(fake, "m.gguf", use_extra_bufts=False, n_ctx=64)
    create_llama(fake, "m.gguf", use_extra_bufts=None)
    assert [c["use_extra_bufts"] for c in created] == [False, True]
    assert created[0]["n_ctx"] == 64
    assert fake.llama_cpp.llama_model_default_params is _Params  # put back


async def test_backend_loads_with_amx_safe_params(monkeypatch: pytest.MonkeyPatch,
                                                  model: Path) -> None:
    created: list[dict[str, Any]] = []
    monkeypatch.setattr(embedded, "_import_llama_cpp", lambda: _fake_llama_cpp(created))
    monkeypatch.setattr(llama_runtime, "_read_cpuinfo", lambda: AMX_CPUINFO)
    monkeypatch.setattr(llama_runtime.platform, "machine", lambda: "x86_64")
    ok = _child("print('{\"ok\": true}')")
    backend = EmbeddedBackend(model, probe_command=ok, lazy_grammar=False, n_threads=1)
    await backend.load()
    assert [c["use_extra_bufts"] for c in created] == [False]
    assert backend.load_params is not None and backend.load_params.use_extra_bufts is False
    assert created[0]["n_threads"] == created[0]["n_threads_batch"] == 1


# -- the probe ----------------------------------------------------------------------------------
def test_a_child_killed_by_sigill_is_a_verdict_not_a_crash(model: Path) -> None:
    verdict = run_probe(model, {"use_extra_bufts": None, "kwargs": {}}, command=SIGILL_CHILD)
    assert not verdict.ok
    assert verdict.signal == "SIGILL" and verdict.returncode == -signal.SIGILL


def test_probe_death_raises_a_typed_error_naming_the_signal(model: Path, tmp_path: Path) -> None:
    counter = tmp_path / "runs"
    command = _counting(SIGILL_CHILD, counter)
    params = LoadParams(use_extra_bufts=None, reason="test")
    with pytest.raises(LlamaCrashError) as info:
        ensure_runnable(model, {"n_batch": 512}, params, command=command)
    err = info.value
    assert isinstance(err, BackendError)
    assert err.signal == "SIGILL" and err.returncode == -signal.SIGILL
    assert "SIGILL" in str(err) and "\n" not in str(err)
    assert "cannot execute" in str(err)  # the one-line explanation
    # the default settings died, then the fallback without extra buffers died too
    assert counter.read_text() == "xx"
    # the verdicts are cached: the same settings fail again without a new child
    with pytest.raises(LlamaCrashError):
        ensure_runnable(model, {"n_batch": 512}, params, command=command)
    assert counter.read_text() == "xx"
    assert os.getpid() > 0  # still here


def test_probe_falls_back_to_plain_buffers_when_amx_dies(model: Path, tmp_path: Path) -> None:
    counter = tmp_path / "runs"
    command = _counting(AMX_CHILD, counter)
    chosen = ensure_runnable(model, {}, LoadParams(use_extra_bufts=None, reason="default"),
                             command=command)
    assert chosen.use_extra_bufts is False and "fallback" in chosen.reason
    assert counter.read_text() == "xx"
    again = ensure_runnable(model, {}, LoadParams(use_extra_bufts=None, reason="default"),
                            command=command)
    assert again.use_extra_bufts is False and counter.read_text() == "xx"  # cached
    # the verdict is beside the model, keyed by model, build, CPU and settings
    cache = json.loads(model.with_name(model.name + ".probe.json").read_text())
    assert sorted(v["ok"] for v in cache.values()) == [False, True]


def test_forced_settings_get_no_fallback(model: Path) -> None:
    forced = LoadParams(use_extra_bufts=True, reason="AGENTRT_EXTRA_BUFTS", forced=True)
    with pytest.raises(LlamaCrashError, match="SIGILL"):
        ensure_runnable(model, {}, forced, command=AMX_CHILD)


def test_a_changed_cpu_probes_again(model: Path, tmp_path: Path) -> None:
    counter = tmp_path / "runs"
    ok = _counting(_child("print('{}')"), counter)
    params = LoadParams(use_extra_bufts=False, reason="t")
    ensure_runnable(model, {}, params, command=ok, flags=frozenset({"avx2"}))
    ensure_runnable(model, {}, params, command=ok, flags=frozenset({"avx2"}))
    ensure_runnable(model, {}, params, command=ok, flags=frozenset({"avx2", "amx_tile"}))
    assert counter.read_text() == "xx"


def test_probe_modes(model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    counter = tmp_path / "runs"
    ok = _counting(_child("print('{}')"), counter)
    params = LoadParams(use_extra_bufts=False, reason="t")
    monkeypatch.setenv("AGENTRT_PROBE", "off")
    assert ensure_runnable(model, {}, params, command=SIGILL_CHILD) is params  # trusted
    monkeypatch.setenv("AGENTRT_PROBE", "auto")
    ensure_runnable(model, {}, params, command=ok)
    ensure_runnable(model, {}, params, command=ok)
    monkeypatch.setenv("AGENTRT_PROBE", "force")
    ensure_runnable(model, {}, params, command=ok)
    assert counter.read_text() == "xx"
    monkeypatch.setenv("AGENTRT_PROBE", "sometimes")
    with pytest.raises(ConfigError, match="AGENTRT_PROBE"):
        ensure_runnable(model, {}, params, command=ok)


def test_an_ordinary_failure_is_a_backend_error(model: Path) -> None:
    failing = _child("import sys; sys.exit('llama.cpp: failed to load model')")
    with pytest.raises(BackendError, match="failed to load model") as info:
        ensure_runnable(model, {}, LoadParams(use_extra_bufts=False, reason="t"),
                        command=failing)
    assert not isinstance(info.value, LlamaCrashError)


def test_a_hanging_probe_is_not_held_against_the_settings(model: Path, tmp_path: Path) -> None:
    counter = tmp_path / "runs"
    slow = _counting(_child("import time; time.sleep(30)"), counter)
    params = LoadParams(use_extra_bufts=False, reason="t")
    assert ensure_runnable(model, {}, params, command=slow, timeout=0.5) is params
    assert ensure_runnable(model, {}, params, command=slow, timeout=0.5) is params
    assert counter.read_text() == "xx"  # not cached


def test_read_only_model_directory_caches_in_the_cache_dir(model: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    beside = model.with_name(model.name + ".probe.json")
    beside.mkdir()  # cannot be written as a file
    counter = tmp_path / "runs"
    ok = _counting(_child("print('{}')"), counter)
    params = LoadParams(use_extra_bufts=False, reason="t")
    ensure_runnable(model, {}, params, command=ok)
    ensure_runnable(model, {}, params, command=ok)
    assert counter.read_text() == "x"
    assert (tmp_path / "cache" / "probe.json").is_file()


async def test_backend_load_raises_instead_of_dying(monkeypatch: pytest.MonkeyPatch,
                                                    model: Path) -> None:
    created: list[dict[str, Any]] = []
    monkeypatch.setattr(embedded, "_import_llama_cpp", lambda: _fake_llama_cpp(created))
    backend = EmbeddedBackend(model, probe_command=SIGILL_CHILD)
    with pytest.raises(LlamaCrashError) as info:
        await backend.load()
    assert info.value.signal == "SIGILL"
    assert created == []  # the model never ran in this process
    with pytest.raises(LlamaCrashError):  # and a step says the same, from the cache
        await backend.propose([{"role": "user", "content": "hi"}], tools=[])


@pytest.mark.model
def test_the_real_probe_passes_with_the_chosen_params(tmp_path: Path) -> None:
    """On this machine, with the installed llama.cpp: the chosen parameters survive the probe."""
    pytest.importorskip("llama_cpp")
    from agentrt.backends.model_files import resolve_model_path

    path = resolve_model_path()
    params = choose_load_params()
    verdict = run_probe(path, llama_runtime._probe_settings({}, params.use_extra_bufts))
    assert verdict.ok, verdict
    assert json.loads(verdict.detail)["tokens"] > 16
