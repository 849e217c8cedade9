"""Interfaces: what the subcommands share — the ``--model`` option and backend loading (with
progress on stderr), ``--json``/``--out``, credentials from the command line, and the event
loop edge the commands run on. (The demo's toolset and services come from ``agentrt_demo``,
imported only by the commands that start the demo.)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import weakref
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TextIO

from agentrt.errors import ConfigError

__all__ = [
    "MODEL_ENV",
    "add_json_options",
    "add_model_arg",
    "close_backend",
    "default_model",
    "fraction",
    "load_model",
    "parse_credentials",
    "progress_bar",
    "run_async",
    "write_json",
]

#: An environment variable that overrides the default ``--model`` (a model string; a bare
#: GGUF path there is left to the embedded backend, which reads the same variable).
MODEL_ENV = "AGENTRT_MODEL"
#: a test hook beside the backends' forms: ``scripted:STEPS.json`` (see agentrt.cli.scripted)
_SCRIPTED = "scripted"


def _model_kinds() -> set[str]:
    from agentrt.backends import MODEL_FORMS

    return {form.split(":")[0].lower() for form, _example, _what in MODEL_FORMS} | {_SCRIPTED}


def default_model() -> str:
    """``$AGENTRT_MODEL`` when it is a model string, else ``embedded``."""
    value = os.environ.get(MODEL_ENV, "").strip()
    if value and value.split(":")[0].lower() in _model_kinds():
        return value
    return "embedded"


def fraction(text: str) -> float:
    """An argparse type: a number from 0 to 1 (a pass rate, a share)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"a number between 0 and 1, not {value}")
    return value


def add_model_arg(p: argparse.ArgumentParser) -> None:
    """The one ``--model`` option every model-using subcommand takes; the accepted forms (from
    ``agentrt.backends.MODEL_FORMS``) are listed at the end of the subcommand's help."""
    from agentrt.backends import MODEL_FORMS, model_forms_text

    forms = ", ".join(form for form, _example, _what in MODEL_FORMS)
    p.add_argument("--model", "-m", default=None, metavar="MODEL",
                   help=f"the model: {forms} (default: ${MODEL_ENV} or embedded)")
    p.epilog = "MODEL is one of:\n" + model_forms_text()


def add_json_options(p: argparse.ArgumentParser, what: str) -> None:
    """``--json`` (``what`` as JSON on stdout, and nothing else there) and ``--out FILE`` (the
    same JSON written to FILE): alike in every subcommand that has a result."""
    p.add_argument("--json", action="store_true", help=f"print {what} as JSON on stdout")
    p.add_argument("--out", metavar="FILE", help=f"write {what} as JSON to FILE")


def write_json(args: argparse.Namespace, text: str) -> None:
    """Send JSON ``text`` where ``--json`` / ``--out`` asked for it."""
    if args.out:
        try:
            Path(args.out).write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot write --out {args.out}: {exc.strerror or exc}") from exc
    if args.json:
        print(text)


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
    if text.startswith(f"{_SCRIPTED}:"):  # test hook: steps from a JSON file (agentrt.testing)
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
