"""`agentrt demo`: the whole flow (services, toolset, live search, bookings, exit status) with a
scripted model. (No test runs it with the embedded 0.5B model: on 2 shared cores that run takes
well over the 3 minutes a test may take, and the model does not complete the booking.)"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from agentrt.cli import main
from agentrt.cli.demo import default_request
from agentrt_demo import demo_today
from tests.cli.conftest import booking_steps, flight_bookings, write_steps


def _trip_steps(day: str, day2: str) -> list[Any]:
    return [
        *booking_steps(day)[:2],
        {"call": "search_hotels", "arguments": {"city": "Madrid", "check_in": day,
                                                "check_out": day2, "sort": "price",
                                                "limit": 1}},
        {"call": "create_hotel_booking", "arguments": {
            "room_id": "{{-1.body.hotels.0.cheapest_room.room_id}}", "check_in": day,
            "check_out": day2, "guests": 1,
            "guest": {"first_name": "Ana", "last_name": "Silva",
                      "email": "ana.silva@example.com"}}},
        {"answer": "Flight {{-3.body.booking_id}}, hotel {{-1.body.booking_id}}."},
    ]


def test_default_request_is_concrete() -> None:
    text = default_request(demo_today())
    day = (demo_today() + timedelta(days=21)).isoformat()
    assert f"from LIS to MAD on {day}" in text
    assert "1990-04-12" in text and "ana.silva@example.com" in text and "Madrid" in text


def test_demo_books_flight_and_hotel(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    day = demo_today() + timedelta(days=21)
    steps = _trip_steps(day.isoformat(), (day + timedelta(days=2)).isoformat())
    model = write_steps(tmp_path / "steps.json", steps)
    assert main(["demo", "--model", model, "--state", str(tmp_path / "state")]) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert "search (dfs): Book the cheapest economy flight from LIS to MAD" in out
    for tool in ("search_flight_offers", "create_flight_booking", "search_hotels",
                 "create_hotel_booking"):
        assert f"→ {tool}(" in out
    assert "status: solved" in out
    refs = [line.split()[1] for line in out.splitlines() if line.startswith("booking: ")]
    assert len(refs) == 2 and refs[1].startswith("HB")
    assert f"answer: Flight {refs[0]}, hotel {refs[1]}." in out
    assert flight_bookings(tmp_path / "state") == [(refs[0], "confirmed")]
    assert "demo services: flights http://127.0.0.1:" in captured.err


def test_demo_without_a_booking_exits_1(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    # a claim of success without any call is refused (grounded answers); a decline passes
    model = write_steps(tmp_path / "steps.json", [{"answer": "I booked everything."},
                                                  {"answer": "Sorry, I cannot book that."}])
    assert main(["demo", "--model", model, "--request", "Book something"]) == 1
    captured = capsys.readouterr()
    out = captured.out
    assert "answer refused: you have not looked this up yet" in out
    assert "status: solved" in out  # solved (declined), but nothing was booked
    assert "no booking was made: the run ended without a booking" in captured.err
