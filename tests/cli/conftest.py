"""Fixtures for the CLI tests: demo services on loopback, scripted model steps, and a clean
logging configuration around every test (the CLI configures structlog globally)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from agentrt_demo import DemoServices, demo_today, running_services, spec_path

REPO = Path(__file__).resolve().parents[2]
FLIGHTS = str(spec_path("flights"))
HOTELS = str(spec_path("hotels"))


@pytest.fixture
def services(tmp_path: Path) -> Iterator[DemoServices]:
    with running_services(tmp_path / "state") as svc:
        yield svc


@pytest.fixture
def day() -> str:
    """A departure date inside the demo inventory."""
    return (demo_today() + timedelta(days=21)).isoformat()


def write_steps(path: Path, steps: list[Any]) -> str:
    """Write scripted steps; returns the ``--model`` value that plays them."""
    path.write_text(json.dumps(steps), encoding="utf-8")
    return f"scripted:{path}"


def booking_steps(day: str, *, answer: str = "Booked {{-1.body.booking_id}}") -> list[Any]:
    """search the cheapest LIS→MAD offer, book it for Ana Silva, answer."""
    return [
        {"call": "search_flight_offers", "thought": "find offers",
         "arguments": {"origin": "LIS", "destination": "MAD", "departure_date": day,
                       "sort": "price", "limit": 1}},
        {"call": "create_flight_booking", "thought": "book the cheapest",
         "arguments": {"offer_id": "{{-1.body.offers.0.offer_id}}",
                       "passengers": [{"first_name": "Ana", "last_name": "Silva",
                                       "birth_date": "1990-04-12"}],
                       "contact_email": "ana.silva@example.com"}},
        {"answer": answer},
    ]


def flight_bookings(state_dir: Path) -> list[tuple[str, str]]:
    """(booking_id, status) of every flight booking in the demo's SQLite state."""
    db = state_dir / "flights.sqlite"
    assert db.is_file(), f"no flights database in {state_dir}"
    conn = sqlite3.connect(db)
    try:
        return [(r[0], r[1]) for r in conn.execute("SELECT booking_id, status FROM bookings")]
    finally:
        conn.close()
