"""Interfaces: what the subcommands share — the ``--model`` option and backend loading (with
progress on stderr), the demo toolset, credentials from the command line, and the event loop
edge the commands run on.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
import weakref
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TextIO

from agentrt.errors import ConfigError

__all__ = [
    "MODEL_ENV",
    "add_model_arg",
    "default_model",
    "demo_credentials",
    "demo_toolset",
    "load_model",
    "parse_credentials",
    "progress_bar",
]

#: An environment variable that overrides the default ``--model`` (a model string; a bare
#: GGUF path there is left to the embedded backend, which reads the same variable).
MODEL_ENV = "AGENTRT_MODEL"
_KINDS = ("embedded", "openai:", "vllm:", "llamacpp:", "vllm-local:", "scripted:")


def default_model() -> str:
    """``$AGENTRT_MODEL`` when it is a model string, else ``embedded``."""
    value = os.environ.get(MODEL_ENV, "").strip()
    if value and value.lower().startswith(_KINDS):
        return value
    return "embedded"


def add_model_arg(p: argparse.ArgumentParser) -> None:
    """The one ``--model`` option every model-using subcommand takes."""
    from agentrt.cli import MODEL_HELP

    p.add_argument("--model", "-m", default=None, metavar="MODEL",
                   help=f"{MODEL_HELP} (default: ${MODEL_ENV} or embedded)")


def progress_bar(label: str, stream: TextIO | None = None) -> Any:
    """A ``progress(done, total)`` callback drawing one updating line on ``stream``."""
    out = stream or sys.stderr
    tty = out.isatty()
    state = {"last": -1}

    def progress(done: int, total: int) -> None:
        pct = int(100 * done / total) if total else 100
        if pct == state["last"] or (not tty and pct not in (0, 100) and pct % 25):
            return
        state["last"] = pct
        mib = f"{done / 2**20:.0f}/{total / 2**20:.0f} MiB"
        if tty:
            bar = "#" * (pct // 5)
            out.write(f"\r{label} [{bar:<20}] {pct:3d}% {mib}")
            if pct >= 100:
                out.write("\n")
        else:
            out.write(f"{label}: {pct}% {mib}\n")
        out.flush()

    return progress


def _scripted(path: str) -> Any:
    from agentrt.cli.scripted import scripted_backend

    return scripted_backend(path)


async def load_model(text: str | None, *, stream: TextIO | None = None, quiet: bool = False
                     ) -> Any:
    """The backend ``text`` names, loaded (for the embedded model: assembled/verified and read
    into memory now, with progress on ``stream``) so the first step is not a long silence."""
    out = stream or sys.stderr
    text = (text or default_model()).strip()
    if text.startswith("scripted:"):  # test hook: steps from a JSON file (agentrt.testing)
        return _scripted(text.partition(":")[2])
    from agentrt.backends import load_backend

    if not text.lower().startswith("embedded"):
        return load_backend(text)
    backend = load_backend(text, progress=None if quiet else progress_bar(
        "preparing model", out))
    if not quiet:
        print(f"loading model {backend.name} …", file=out, flush=True)
    started = time.perf_counter()
    await backend.load()  # type: ignore[attr-defined]  # EmbeddedBackend.load
    if not quiet:
        print(f"model ready in {time.perf_counter() - started:.1f}s", file=out, flush=True)
    return backend


def demo_toolset(services: Any) -> Any:
    """The flights + hotels toolset pointed at running demo services."""
    import agentrt_demo
    from agentrt.toolset import Toolset

    return Toolset.merge(
        Toolset.from_spec(agentrt_demo.spec_path("flights"), base_url=services.flights_url),
        Toolset.from_spec(agentrt_demo.spec_path("hotels"), base_url=services.hotels_url))


def demo_credentials(toolset: Any, key: str) -> dict[str, str]:
    """The demo API key for every security scheme of the toolset's services."""
    return {name: key for s in toolset.services for name in s.security_schemes}


def parse_credentials(values: Sequence[str], env_values: Sequence[str]) -> Any:
    """``--credential SCHEME=VALUE`` and ``--credential-env SCHEME=VAR`` → ``Credentials``."""
    from agentrt.executor import Credentials

    def pairs(items: Sequence[str], flag: str) -> dict[str, str]:
        out = {}
        for item in items:
            name, sep, value = item.partition("=")
            if not sep or not name or not value:
                raise ConfigError(f"{flag} needs SCHEME=VALUE, got {item!r}")
            out[name] = value
        return out

    return Credentials(pairs(values, "--credential"),
                       env=pairs(env_values, "--credential-env"))


@contextlib.contextmanager
def demo_services(state: str | None = None) -> Iterator[Any]:
    """The two demo services on loopback for the ``with`` block."""
    try:
        import agentrt_demo
    except ImportError as exc:  # pragma: no cover - shipped in the same wheel
        raise ConfigError(f"the demo services are not installed ({exc})") from exc
    with agentrt_demo.running_services(state) as services:
        yield services


#: the default executor each CLI loop runs worker threads in (see :func:`close_backend`)
_POOLS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, ThreadPoolExecutor] = \
    weakref.WeakKeyDictionary()


def install_pool(loop: asyncio.AbstractEventLoop) -> ThreadPoolExecutor | None:
    """Give ``loop`` a fresh default executor (model steps run there) and return the old one."""
    old = _POOLS.get(loop)
    pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="agentrt-cli")
    loop.set_default_executor(pool)
    _POOLS[loop] = pool
    return old


def drain_pool(old: ThreadPoolExecutor | None) -> None:
    """Wait for the worker threads of a replaced executor (a cancelled model step)."""
    if old is not None:
        old.shutdown(wait=True)


def run_async(coro: Any) -> Any:
    """The CLI's one event-loop edge."""
    async def main() -> Any:
        install_pool(asyncio.get_running_loop())
        return await coro

    return asyncio.run(main())


async def close_backend(backend: Any) -> None:
    """Close ``backend`` once no worker thread uses it any more.

    A cancelled model step (Ctrl-C, a time budget) leaves its llama.cpp call running in a
    worker thread; freeing the model under it would crash the process. So the loop gets a
    fresh default executor and the old one is drained first.
    """
    loop = asyncio.get_running_loop()
    old = install_pool(loop)
    await loop.run_in_executor(None, drain_pool, old)
    await backend.aclose()
