"""Fixtures for the MCP tests: the demo services on real loopback sockets behind a request
counter (to prove a refused call never reached the API), and the `agentrt mcp serve` command
line that serves them."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from agentrt.servers import serve_in_thread
from agentrt_demo import DEMO_API_KEY, create_flights_app, create_hotels_app, spec_path

TODAY = date(2026, 6, 1)
#: the environment variable the served agentrt reads the demo key from (never argv)
KEY_ENV = "AGENTRT_TEST_DEMO_KEY"
PAX = {"first_name": "Ana", "last_name": "Silva", "birth_date": "1990-04-12"}


def day(n: int) -> str:
    return (TODAY + timedelta(days=n)).isoformat()


@dataclass
class Counter:
    """ASGI middleware counting the HTTP requests that reach the wrapped app."""

    app: Any
    requests: list[str] = field(default_factory=list)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.requests.append(f"{scope['method']} {scope['path']}")
        await self.app(scope, receive, send)


@dataclass
class Demo:
    flights_url: str
    hotels_url: str
    flights: Counter
    hotels: Counter

    @property
    def count(self) -> int:
        return len(self.flights.requests) + len(self.hotels.requests)

    def serve_argv(self, *extra: str, hotels: bool = True) -> list[str]:
        """``python -m agentrt mcp serve`` for the demo specs, key from the environment."""
        argv = [sys.executable, "-m", "agentrt", "mcp", "serve", str(spec_path("flights"))]
        if hotels:
            argv.append(str(spec_path("hotels")))
        argv += ["--base-url", self.flights_url]
        if hotels:
            argv += ["--base-url", self.hotels_url]
        return [*argv, "--credential-env", f"ApiKeyAuth={KEY_ENV}", *extra]


def serve_env() -> dict[str, str]:
    """The child's environment: the demo key, and the repository importable."""
    root = Path(__file__).resolve().parents[2]
    path = os.pathsep.join([str(root), str(root / "tools"), os.environ.get("PYTHONPATH", "")])
    return {KEY_ENV: DEMO_API_KEY, "PYTHONPATH": path}


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    state = tmp_path_factory.mktemp("mcp-demo-state")
    flights = Counter(create_flights_app(state, today=TODAY))
    hotels = Counter(create_hotels_app(state, today=TODAY))
    with serve_in_thread(flights) as f, serve_in_thread(hotels) as h:
        yield Demo(flights_url=f.url, hotels_url=h.url, flights=flights, hotels=hotels)
