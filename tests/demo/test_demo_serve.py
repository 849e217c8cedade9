"""`serve_forever` (behind `agentrt serve-demo`) prints one line per service and serves until stopped."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import httpx
import pytest

from agentrt_demo import DEMO_API_KEY, serve_forever, spec_path


def test_serve_forever_prints_urls_and_stops(tmp_path: Path) -> None:
    lines: list[str] = []
    stop = threading.Event()
    ready = threading.Event()

    def out(line: str) -> None:
        lines.append(line)
        if len(lines) == 2:
            ready.set()

    worker = threading.Thread(target=serve_forever, args=(tmp_path, 0, 0),
                              kwargs={"out": out, "stop": stop}, daemon=True)
    worker.start()
    assert ready.wait(60)
    assert re.fullmatch(r"flights http://127\.0\.0\.1:\d+", lines[0])
    assert re.fullmatch(r"hotels http://127\.0\.0\.1:\d+", lines[1])
    url = lines[0].split()[1]
    r = httpx.get(f"{url}/airports/LIS", headers={"X-API-Key": DEMO_API_KEY})
    assert r.json()["city"] == "Lisbon"
    stop.set()
    worker.join(15)
    assert not worker.is_alive()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/airports/LIS")


def test_spec_path() -> None:
    assert spec_path("flights").name == "flights.yaml" and spec_path("hotels").is_file()
    with pytest.raises(ValueError):
        spec_path("trains")


def test_demo_toolset_points_both_specs_at_the_services() -> None:
    from agentrt_demo import demo_credentials, demo_toolset

    toolset = demo_toolset("http://127.0.0.1:1", "http://127.0.0.1:2")
    assert {"search_flight_offers", "create_flight_booking", "search_hotels",
            "cancel_hotel_booking"} <= set(toolset.names)
    assert sorted(s.base_url for s in toolset.services) == ["http://127.0.0.1:1",
                                                            "http://127.0.0.1:2"]
    assert demo_credentials(toolset) == {"ApiKeyAuth": DEMO_API_KEY}
    assert demo_credentials(toolset, "other") == {"ApiKeyAuth": "other"}
