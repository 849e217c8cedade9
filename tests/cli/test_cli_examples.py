"""The examples: the embedded Starlette service over a real socket (per-request side-effect
policy, one shared backend) and the booking script, both with a scripted model."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from agentrt.cli.scripted import scripted_backend
from agentrt.testing import serve_in_thread
from agentrt.toolset import Toolset
from agentrt_demo import DEMO_API_KEY, DemoServices, demo_toolset
from tests.cli.conftest import REPO, booking_steps, flight_bookings, write_steps


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, REPO / "examples" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _toolset(services: DemoServices) -> Toolset:
    return demo_toolset(services.flights_url, services.hotels_url)


def test_embedded_service_applies_the_policy_per_request(services: DemoServices, day: str,
                                                         tmp_path: Path) -> None:
    app_module = _load("embedded_service")
    steps = [*booking_steps(day)[:2], {"answer": "Not allowed to book."},  # request 1: deny
             *booking_steps(day)]                                            # request 2: allow
    backend = scripted_backend(write_steps(tmp_path / "steps.json", steps).split(":", 1)[1])
    app = app_module.create_app(backend, _toolset(services),
                                credentials={"ApiKeyAuth": DEMO_API_KEY})
    with serve_in_thread(app) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        assert http.get("/health").json()["tools"] == 12

        denied = http.post("/run", json={"request": "Book LIS-MAD for Ana Silva, ana.silva@example.com"})
        assert denied.status_code == 200
        body: dict[str, Any] = denied.json()
        assert body["answer"] == "Not allowed to book."
        assert [c["outcome"] for c in body["calls"]] == ["ok", "denied"]
        assert flight_bookings(services.state_dir) == []

        allowed = http.post("/run", json={"request": "Book LIS-MAD for Ana Silva, ana.silva@example.com",
                                          "allow_bookings": True}).json()
        assert allowed["status"] == "solved"
        ref = allowed["side_effects"][0]["body"]["booking_id"]
        assert allowed["answer"] == f"Booked {ref}"
        assert flight_bookings(services.state_dir) == [(ref, "confirmed")]
        assert "children" in allowed["tree"]

        bad = http.post("/run", json={"allow_bookings": "maybe"})
        assert bad.status_code == 422 and bad.json()["error"] == "invalid request"
        assert DEMO_API_KEY not in denied.text + str(allowed)
    assert backend.remaining == 0  # one backend served both requests
    agent = app.state.agent  # one agent for the app's life, its HTTP client closed at shutdown
    assert agent.shared_executor is None and agent.executor is None


def test_embedded_service_runs_share_one_client_closed_at_shutdown(
        services: DemoServices, tmp_path: Path) -> None:
    app_module = _load("embedded_service")
    steps = [{"answer": "Hello."}, {"answer": "Hello again."}]
    backend = scripted_backend(write_steps(tmp_path / "steps.json", steps).split(":", 1)[1])
    app = app_module.create_app(backend, _toolset(services))
    clients = []
    with serve_in_thread(app) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        for _ in steps:
            assert http.post("/run", json={"request": "hi"}).status_code == 200
            clients.append(app.state.agent.shared_executor.client)
    assert clients[0] is clients[1] and clients[0].is_closed


def test_embedded_service_reports_a_dead_backend(services: DemoServices, tmp_path: Path) -> None:
    app_module = _load("embedded_service")
    backend = scripted_backend(write_steps(tmp_path / "steps.json", []).split(":", 1)[1])
    app = app_module.create_app(backend, _toolset(services))
    with serve_in_thread(app) as server:
        r = httpx.post(f"{server.url}/run", json={"request": "anything"}, timeout=30)
    assert r.status_code == 503 and r.json()["error"] == "BackendError"


def test_booking_demo_script(services: DemoServices, day: str, tmp_path: Path,
                             monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    import asyncio

    script = _load("booking_demo")
    backend = scripted_backend(write_steps(tmp_path / "steps.json",
                                           booking_steps(day)).split(":", 1)[1])
    monkeypatch.setattr(script, "load_backend", lambda _model: backend)
    monkeypatch.setattr(script, "running_services", lambda: _Same(services))
    asyncio.run(script.main("embedded"))
    out = capsys.readouterr().out
    assert "solved - Booked " in out
    assert "booking: create_flight_booking committed" in out
    assert backend.closed


class _Same:
    """``running_services()`` stand-in that hands over the fixture's running services."""

    def __init__(self, services: DemoServices) -> None:
        self.services = services

    def __enter__(self) -> DemoServices:
        return self.services

    def __exit__(self, *_exc: object) -> None:
        return None
