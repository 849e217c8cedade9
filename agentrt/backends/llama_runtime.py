"""Backends stage: making llama.cpp safe to run in-process — load parameters chosen for the CPU,
and a one-time probe in a child process so that a dying llama.cpp never kills the caller.

Why: a native build of llama.cpp uses whatever the CPU *advertises*. Some virtual machines
advertise Intel AMX (``amx_tile``/``amx_int8``/``amx_bf16`` in /proc/cpuinfo) but fault on its
instructions; llama.cpp then puts the weights in its AMX "extra" buffer type and the first
batched matmul (``tileloadd``) dies with SIGILL, taking the Python interpreter with it.

What this module does:

* :func:`choose_load_params` — where AMX is advertised on x86-64, load the model with
  ``llama_model_params.use_extra_bufts = False`` (weights stay in plain CPU buffers; this also
  skips llama.cpp's weight repacking). llama-cpp-python 0.3.36 has no ``Llama(...)`` argument
  for it, so :func:`create_llama` sets it on the params struct the constructor builds.
* :func:`ensure_runnable` — before the model is used in-process for the first time, a child
  process (``python -c`` with a tiny script) loads the same model with the same settings,
  evaluates a short batched prompt and a few single tokens. A child killed by a signal becomes
  a :class:`LlamaCrashError` (a :class:`~agentrt.errors.BackendError`) naming the signal, with
  a one-line explanation; if the child died with ``use_extra_bufts`` on, the probe is retried
  once with it off and that setting is used. The verdict is cached in
  ``<model>.probe.json`` (or ``probe.json`` in the model cache directory when the model's
  directory is read-only), keyed by the model (sha256 or size/mtime), the llama-cpp-python
  version and its shared library, the CPU flags and the settings. It costs about 1–3 s once.

Environment:

* ``AGENTRT_PROBE`` — ``auto`` (default: probe once, then use the cached verdict), ``force``
  (probe again, ignoring the cache), ``off`` (never probe: trust the settings).
* ``AGENTRT_EXTRA_BUFTS`` — ``1`` / ``0`` force llama.cpp's extra buffer types (AMX, repacked
  weights) on or off; default: off where AMX is advertised, llama.cpp's default elsewhere.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import signal as signal_module
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from agentrt._log import get_logger
from agentrt.backends.model_files import cache_dir, model_identity
from agentrt.errors import BackendError, ConfigError

__all__ = [
    "AMX_FLAGS",
    "LlamaCrashError",
    "LoadParams",
    "ProbeVerdict",
    "advertises_amx",
    "choose_load_params",
    "cpu_flags",
    "create_llama",
    "ensure_runnable",
    "llama_cpp_build",
    "probe_key",
    "run_probe",
]

log = get_logger(__name__)

#: CPU flags (as /proc/cpuinfo spells them) of Intel AMX, which llama.cpp uses when present
AMX_FLAGS = frozenset({"amx_tile", "amx_int8", "amx_bf16", "amx_fp16", "amx_complex"})

_X86 = frozenset({"x86_64", "amd64", "x86", "i686", "i386"})
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})

#: what each signal usually means when llama.cpp dies with it
_SIGNAL_HINTS = {
    "SIGILL": "an instruction this CPU advertises but cannot execute (often AMX or AVX-512 "
              "in a virtual machine)",
    "SIGSEGV": "a memory fault inside llama.cpp",
    "SIGBUS": "a memory fault inside llama.cpp (a truncated or unreadable model file?)",
    "SIGABRT": "an assertion inside llama.cpp (GGML_ASSERT)",
    "SIGFPE": "an arithmetic fault inside llama.cpp",
    "SIGKILL": "the system killed it (out of memory?)",
}


class LlamaCrashError(BackendError):
    """llama.cpp killed the process that ran it (in a probe child, so the caller lives on).

    ``signal`` is the signal's name (``"SIGILL"``), ``returncode`` the child's exit status,
    ``settings`` the load settings it ran with.
    """

    def __init__(self, message: str, *, signal: str, returncode: int,
                 settings: Mapping[str, Any], backend: str = "embedded") -> None:
        self.signal = signal
        self.returncode = returncode
        self.settings = dict(settings)
        super().__init__(message, backend=backend)


# -- the CPU and the load parameters ---------------------------------------------------------
def _read_cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return ""


def cpu_flags(read: Callable[[], str] | None = None) -> frozenset[str]:
    """The flags of the first CPU in /proc/cpuinfo (empty where there is no such file);
    ``read`` returns the file's text (tests inject one)."""
    for line in (read or _read_cpuinfo)().splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


def advertises_amx(flags: frozenset[str]) -> bool:
    """True when the CPU says it has Intel AMX."""
    return bool(flags & AMX_FLAGS)


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadParams:
    """How the model is loaded: ``use_extra_bufts`` None keeps llama.cpp's default (on)."""

    use_extra_bufts: bool | None
    #: why, in a few words (logged, and shown in errors)
    reason: str
    #: True when the user forced it (AGENTRT_EXTRA_BUFTS): no automatic fallback then
    forced: bool = False


def _env_flag(env: Mapping[str, str], name: str) -> bool | None:
    value = env.get(name, "").strip().lower()
    if not value or value == "auto":
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name} must be 1, 0 or auto, got {value!r}")


def choose_load_params(flags: frozenset[str] | None = None, *, machine: str | None = None,
                       env: Mapping[str, str] | None = None) -> LoadParams:
    """The load parameters for this machine (see the module docstring)."""
    env = os.environ if env is None else env
    forced = _env_flag(env, "AGENTRT_EXTRA_BUFTS")
    if forced is not None:
        return LoadParams(use_extra_bufts=forced, reason="AGENTRT_EXTRA_BUFTS", forced=True)
    flags = cpu_flags() if flags is None else flags
    machine = (machine or platform.machine()).lower()
    if machine in _X86 and advertises_amx(flags):
        return LoadParams(use_extra_bufts=False,
                          reason="the CPU advertises AMX, which some VMs cannot execute")
    return LoadParams(use_extra_bufts=None, reason="llama.cpp default")


_PATCH_LOCK = threading.Lock()


def create_llama(llama_cpp: Any, model_path: str, *, use_extra_bufts: bool | None,
                 **kwargs: Any) -> Any:
    """``llama_cpp.Llama(model_path, **kwargs)`` with ``use_extra_bufts`` set on its model
    params (llama-cpp-python 0.3.36 builds them from ``llama_model_default_params()`` inside
    the constructor and has no argument for this field)."""
    if use_extra_bufts is None:
        return llama_cpp.Llama(model_path=model_path, **kwargs)
    low = llama_cpp.llama_cpp
    original = low.llama_model_default_params

    def params() -> Any:
        p = original()
        if not hasattr(p, "use_extra_bufts"):
            raise ConfigError("this llama-cpp-python has no use_extra_bufts model parameter; "
                              "unset AGENTRT_EXTRA_BUFTS or install the pinned version")
        p.use_extra_bufts = use_extra_bufts
        return p

    with _PATCH_LOCK:
        low.llama_model_default_params = params
        try:
            return llama_cpp.Llama(model_path=model_path, **kwargs)
        finally:
            low.llama_model_default_params = original


# -- the probe ---------------------------------------------------------------------------------
#: the child's program: load the model as the parent will, run a batched prompt and a few
#: single-token steps (the two kinds of matmul kernels), print one JSON line
_PROBE_SCRIPT = r"""
import json, sys, time
cfg = json.loads(sys.argv[1])
import llama_cpp
low = llama_cpp.llama_cpp
original = low.llama_model_default_params
def params():
    p = original()
    if cfg["use_extra_bufts"] is not None:
        p.use_extra_bufts = cfg["use_extra_bufts"]
    return p
low.llama_model_default_params = params
t0 = time.perf_counter()
llm = llama_cpp.Llama(model_path=cfg["model"], verbose=False, **cfg["kwargs"])
t1 = time.perf_counter()
tokens = llm.tokenize(("The quick brown fox jumps over the lazy dog. " * 6).encode())[:48]
llm.eval(tokens)
t2 = time.perf_counter()
for tok in tokens[:4]:
    llm.eval([tok])
t3 = time.perf_counter()
print(json.dumps({"ok": True, "load_s": t1 - t0, "prompt_s": t2 - t1, "tokens": len(tokens),
                  "step_s": (t3 - t2) / 4}), flush=True)
"""

#: settings that can change which kernels llama.cpp runs (everything else is irrelevant)
#: (the thread count is not among them: the probe runs on one thread, the kernels are the same)
_PROBED_KWARGS = ("n_batch", "n_ubatch", "flash_attn", "type_k", "type_v", "n_gpu_layers",
                  "use_mmap")

PROBE_TIMEOUT_S = 180.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ProbeVerdict:
    """What the probe child did: ``ok``, or the signal (name) or exit status it died with."""

    ok: bool
    returncode: int
    signal: str | None = None
    detail: str = ""
    seconds: float = 0.0
    use_extra_bufts: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def llama_cpp_build() -> dict[str, Any]:
    """The installed llama-cpp-python: version and its shared libraries (a rebuild with other
    flags keeps the version but changes the libraries)."""
    try:
        import llama_cpp
    except ImportError:
        return {}
    lib_dir = Path(llama_cpp.__file__).parent / "lib"
    libs = {}
    if lib_dir.is_dir():
        for lib in sorted(lib_dir.iterdir()):
            if lib.is_file():
                st = lib.stat()
                libs[lib.name] = [st.st_size, st.st_mtime_ns]
    return {"version": getattr(llama_cpp, "__version__", "?"), "libs": libs}


def probe_key(model_path: Path, settings: Mapping[str, Any], *,
              flags: frozenset[str] | None = None, build: Mapping[str, Any] | None = None
              ) -> str:
    """The cache key of a verdict: model, llama-cpp-python build, CPU, settings."""
    material = {
        "model": model_identity(model_path),
        "llama_cpp": dict(build) if build is not None else llama_cpp_build(),
        "cpu": hashlib.sha256(" ".join(sorted(flags if flags is not None else cpu_flags()))
                              .encode()).hexdigest()[:16],
        "machine": platform.machine(),
        "settings": {k: settings[k] for k in sorted(settings)},
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()


def _probe_settings(kwargs: Mapping[str, Any], use_extra_bufts: bool | None) -> dict[str, Any]:
    picked = {k: kwargs[k] for k in _PROBED_KWARGS if k in kwargs}
    picked.update(n_ctx=256, n_threads=1, n_threads_batch=1)
    return {"use_extra_bufts": use_extra_bufts, "kwargs": picked}


def _signal_name(returncode: int) -> str | None:
    if returncode >= 0:
        return None
    try:
        return signal_module.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def run_probe(model_path: Path, settings: Mapping[str, Any], *,
              command: Sequence[str] | None = None, timeout: float = PROBE_TIMEOUT_S
              ) -> ProbeVerdict:
    """Run the probe child once. ``command`` replaces the child's program (tests use it);
    the settings JSON is appended as its last argument."""
    payload = json.dumps({"model": str(model_path), **settings})
    argv = [*(command or (sys.executable, "-c", _PROBE_SCRIPT)), payload]
    started = time.perf_counter()
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              check=False, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return ProbeVerdict(ok=False, returncode=0, detail=f"no answer in {timeout:.0f} s",
                            seconds=time.perf_counter() - started,
                            use_extra_bufts=settings.get("use_extra_bufts"))
    except OSError as exc:
        raise BackendError(f"cannot start the llama.cpp probe ({argv[0]}): {exc}",
                           backend="embedded") from exc
    seconds = time.perf_counter() - started
    tail = (proc.stderr or proc.stdout or "").strip().splitlines()
    detail = tail[-1][:300] if tail else ""
    ok = proc.returncode == 0
    if ok:
        lines = (proc.stdout or "").strip().splitlines()
        detail = lines[-1][:300] if lines else ""
    return ProbeVerdict(ok=ok, returncode=proc.returncode, signal=_signal_name(proc.returncode),
                        detail=detail, seconds=seconds,
                        use_extra_bufts=settings.get("use_extra_bufts"))


def _cache_paths(model_path: Path) -> list[Path]:
    return [model_path.with_name(model_path.name + ".probe.json"), cache_dir() / "probe.json"]


def _read_cache(model_path: Path, key: str) -> ProbeVerdict | None:
    for path in _cache_paths(model_path):
        try:
            entry = json.loads(path.read_text()).get(key)
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(entry, dict):
            try:
                return ProbeVerdict(**entry)
            except TypeError:
                return None
    return None


def _write_cache(model_path: Path, key: str, verdict: ProbeVerdict) -> None:
    for path in _cache_paths(model_path):
        try:
            try:
                data = json.loads(path.read_text())
                data = data if isinstance(data, dict) else {}
            except (OSError, ValueError):
                data = {}
            data[key] = verdict.to_dict()
            if len(data) > 32:  # old builds and settings
                data = dict(list(data.items())[-32:])
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(data, indent=1))
            os.replace(tmp, path)
            return
        except OSError:
            continue


def _crash(verdict: ProbeVerdict, settings: Mapping[str, Any]) -> LlamaCrashError:
    name = verdict.signal or f"exit status {verdict.returncode}"
    hint = _SIGNAL_HINTS.get(name, "a fatal signal")
    return LlamaCrashError(
        f"llama.cpp died with {name} running the model in a probe process ({hint}); "
        f"settings {dict(settings)}; try AGENTRT_EXTRA_BUFTS=0, a portable build "
        "(CMAKE_ARGS='-DGGML_NATIVE=OFF' pip install --force-reinstall --no-cache-dir "
        "llama-cpp-python) or AGENTRT_PROBE=force after a change",
        signal=name, returncode=verdict.returncode, settings=settings)


def ensure_runnable(model_path: Path, kwargs: Mapping[str, Any], params: LoadParams, *,
                    command: Sequence[str] | None = None,
                    env: Mapping[str, str] | None = None,
                    flags: frozenset[str] | None = None,
                    timeout: float = PROBE_TIMEOUT_S) -> LoadParams:
    """Check (once, cached) that llama.cpp runs the model with these settings without dying.

    Returns the load parameters to use: ``params``, or ``use_extra_bufts=False`` when the
    probe died with the extra buffer types on and survived without them. Raises
    :class:`LlamaCrashError` when the child is killed by a signal and no fallback helps, and
    :class:`BackendError` when it exits with an error; a probe that hangs is logged and not
    held against the settings.
    """
    env = os.environ if env is None else env
    mode = env.get("AGENTRT_PROBE", "auto").strip().lower() or "auto"
    if mode in _FALSE:
        return params
    if mode not in ("auto", "force", "always"):
        raise ConfigError(f"AGENTRT_PROBE must be auto, force or off, got {mode!r}")
    tries = [params]
    if not params.forced and params.use_extra_bufts is not False:
        tries.append(LoadParams(use_extra_bufts=False, reason="fallback: the probe died with "
                                "llama.cpp's extra buffer types"))
    first_failure: tuple[ProbeVerdict, dict[str, Any]] | None = None
    for attempt in tries:
        settings = _probe_settings(kwargs, attempt.use_extra_bufts)
        key = probe_key(model_path, settings, flags=flags)
        verdict = _read_cache(model_path, key) if mode == "auto" else None
        cached = verdict is not None
        if verdict is None:
            verdict = run_probe(model_path, settings, command=command, timeout=timeout)
            if verdict.ok or verdict.returncode != 0:  # a timeout proves nothing: not cached
                _write_cache(model_path, key, verdict)
        log.info("embedded.probe", ok=verdict.ok, signal=verdict.signal, cached=cached,
                 seconds=round(verdict.seconds, 2), use_extra_bufts=attempt.use_extra_bufts,
                 detail=verdict.detail)
        if verdict.ok:
            return attempt
        if verdict.returncode == 0:  # timed out
            log.warning("embedded.probe_inconclusive", detail=verdict.detail)
            return attempt
        if verdict.signal is None:  # an ordinary error (the file does not load, ...)
            raise BackendError(f"llama.cpp could not run {model_path} in a probe process "
                               f"(exit status {verdict.returncode}): {verdict.detail}",
                               backend="embedded")
        if first_failure is None:
            first_failure = (verdict, settings)
    assert first_failure is not None
    raise _crash(*first_failure)
