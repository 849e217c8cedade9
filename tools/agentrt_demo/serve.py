"""Demo services, serving: run both demo APIs on loopback, in a thread or until stopped.

``serve_forever`` backs ``agentrt serve-demo``; ``running_services`` is for tests, examples
and the task runner.
"""

from __future__ import annotations

import contextlib
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from agentrt_demo.flights import create_flights_app
from agentrt_demo.hotels import create_hotels_app
from agentrt_demo.injected import inject_enabled
from agentrt_demo.keys import DEMO_API_KEY

__all__ = ["DemoServices", "running_services", "serve_forever"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoServices:
    """Base URLs of the running demo services and their state directory."""

    flights_url: str
    hotels_url: str
    state_dir: Path
    api_key: str = DEMO_API_KEY
    #: the services serve injected descriptions, reviews and notes
    inject: bool = False


@contextlib.contextmanager
def running_services(state_dir: Path | str | None = None, *, port_flights: int = 0,
                     port_hotels: int = 0, today: date | None = None,
                     api_key: str = DEMO_API_KEY, inject: bool | None = None
                     ) -> Iterator[DemoServices]:
    """Serve both demo APIs on 127.0.0.1 for the ``with`` block (a temp state dir when None).

    ``inject``: serve injected content (:mod:`agentrt_demo.injected`); ``None`` reads the
    ``AGENTRT_DEMO_INJECT`` environment variable."""
    from agentrt.servers import serve_in_thread

    inject = inject_enabled(inject)
    with contextlib.ExitStack() as stack:
        if state_dir is None:
            state_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="agentrt-demo-"))
        folder = Path(state_dir)
        flights = stack.enter_context(serve_in_thread(
            create_flights_app(folder, today=today, api_key=api_key, inject=inject),
            port=port_flights))
        hotels = stack.enter_context(serve_in_thread(
            create_hotels_app(folder, today=today, api_key=api_key, inject=inject),
            port=port_hotels))
        yield DemoServices(flights_url=flights.url, hotels_url=hotels.url, state_dir=folder,
                           api_key=api_key, inject=inject)


def serve_forever(state_dir: Path | str, port_flights: int = 0, port_hotels: int = 0, *,
                  out: Callable[[str], Any] = print, today: date | None = None,
                  stop: threading.Event | None = None, inject: bool | None = None) -> None:
    """Serve both APIs, print ``flights URL`` and ``hotels URL`` via ``out``, block until stopped.

    Stops on Ctrl-C, SIGTERM (when called from the main thread) or when ``stop`` is set.
    ``inject``: serve injected content (``None``: the ``AGENTRT_DEMO_INJECT`` variable).
    """
    stop = stop or threading.Event()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        with running_services(state_dir, port_flights=port_flights, port_hotels=port_hotels,
                              today=today, inject=inject) as services:
            out(f"flights {services.flights_url}")
            out(f"hotels {services.hotels_url}")
            with contextlib.suppress(KeyboardInterrupt):
                while not stop.wait(0.5):
                    pass
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
