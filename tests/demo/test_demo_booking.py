"""Booking integrity of the demo services over real sockets: concurrency, idempotency, restarts, bad input."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from typing import Any

import httpx
import jsonschema
import pytest

from agentrt_demo import DEMO_API_KEY, DemoServices, demo_today, load_spec, running_services
from agentrt_demo.db import db_path
from agentrt_demo.tasks import reset_state

PAX = {"first_name": "Ana", "last_name": "Silva", "birth_date": "1990-04-12"}
GUEST = {"first_name": "Lea", "last_name": "Keller", "email": "lea@example.com"}


def _day(n: int) -> str:
    return (demo_today() + timedelta(days=n)).isoformat()


def _offer(client: httpx.Client, url: str, day: int = 21) -> dict[str, Any]:
    r = client.get(f"{url}/offers", params={"origin": "LIS", "destination": "MAD",
                                            "departure_date": _day(day)})
    assert r.status_code == 200, r.text
    offer: dict[str, Any] = r.json()["offers"][0]
    return offer


def _db(services: DemoServices, name: str) -> sqlite3.Connection:
    conn = sqlite3.connect(db_path(services.state_dir, name))
    conn.row_factory = sqlite3.Row
    return conn


def _counts(services: DemoServices) -> tuple[int, int, int]:
    f, h = _db(services, "flights"), _db(services, "hotels")
    try:
        return (f.execute("SELECT COUNT(*) FROM bookings").fetchone()[0],
                f.execute("SELECT SUM(seats_y) FROM flights").fetchone()[0],
                h.execute("SELECT COUNT(*) FROM bookings").fetchone()[0])
    finally:
        f.close()
        h.close()


async def test_50_concurrent_bookings_for_10_seats(services: DemoServices) -> None:
    reset_state(services.state_dir)
    with httpx.Client(headers={"X-API-Key": DEMO_API_KEY}) as c:
        offer = _offer(c, services.flights_url)
    number, day = offer["flight_number"], offer["departure_date"]
    conn = _db(services, "flights")
    with conn:
        conn.execute("UPDATE flights SET seats_y = 10 WHERE number = ? AND dep_date = ?", (number, day))
    conn.close()
    limits = httpx.Limits(max_connections=60)
    async with httpx.AsyncClient(headers={"X-API-Key": DEMO_API_KEY}, limits=limits, timeout=60) as ac:
        replies = await asyncio.gather(*(ac.post(f"{services.flights_url}/bookings", json={
            "offer_id": offer["offer_id"], "contact_email": f"p{i}@example.com",
            "passengers": [{**PAX, "first_name": f"P{i}"}]}) for i in range(50)))
    codes = sorted(r.status_code for r in replies)
    assert codes.count(201) == 10 and codes.count(409) == 40, codes
    assert {r.json()["code"] for r in replies if r.status_code == 409} == {"sold_out"}
    refs = {r.json()["booking_id"] for r in replies if r.status_code == 201}
    conn = _db(services, "flights")
    stored = {row[0] for row in conn.execute("SELECT booking_id FROM bookings WHERE offer_id = ?",
                                             (offer["offer_id"],))}
    seats = conn.execute("SELECT seats_y FROM flights WHERE number = ? AND dep_date = ?",
                         (number, day)).fetchone()[0]
    conn.close()
    assert stored == refs and len(refs) == 10  # no lost write, no phantom booking
    assert seats == 0  # no oversell


async def test_concurrent_hotel_bookings_never_exceed_rooms(services: DemoServices) -> None:
    reset_state(services.state_dir)
    conn = _db(services, "hotels")
    total = conn.execute("SELECT total_rooms FROM rooms WHERE room_id = 'LIS-01-DBL'").fetchone()[0]
    conn.close()
    body = {"room_id": "LIS-01-DBL", "check_in": _day(30), "check_out": _day(33), "guests": 2, "guest": GUEST}
    async with httpx.AsyncClient(headers={"X-API-Key": DEMO_API_KEY}, timeout=60) as ac:
        replies = await asyncio.gather(*(ac.post(f"{services.hotels_url}/bookings", json=body)
                                         for _ in range(total + 8)))
    codes = [r.status_code for r in replies]
    assert codes.count(201) == total and codes.count(409) == 8, codes


def test_idempotency_key_replays_first_response(services: DemoServices, headers: dict[str, str]) -> None:
    reset_state(services.state_dir)
    with httpx.Client(headers=headers) as c:
        offer = _offer(c, services.flights_url)
        body = {"offer_id": offer["offer_id"], "passengers": [PAX], "contact_email": "a@example.com"}
        first = c.post(f"{services.flights_url}/bookings", json=body, headers={"Idempotency-Key": "k-1"})
        again = c.post(f"{services.flights_url}/bookings", json=body, headers={"Idempotency-Key": "k-1"})
        other = c.post(f"{services.flights_url}/bookings", json={**body, "contact_email": "b@example.com"},
                       headers={"Idempotency-Key": "k-1"})
        seats = c.get(f"{services.flights_url}/offers/{offer['offer_id']}").json()["seats_left"]
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert other.status_code == 409 and other.json()["code"] == "idempotency_conflict"
    assert seats == offer["seats_left"] - 1
    assert _counts(services)[0] == 1


def test_cancel_restores_seats_and_is_idempotent(services: DemoServices, headers: dict[str, str]) -> None:
    reset_state(services.state_dir)
    with httpx.Client(headers=headers) as c:
        offer = _offer(c, services.flights_url)
        b = c.post(f"{services.flights_url}/bookings", json={
            "offer_id": offer["offer_id"], "passengers": [PAX, {**PAX, "first_name": "Joao"}],
            "contact_email": "a@example.com"}).json()
        assert b["total_price"] == pytest.approx(offer["price"] * 2)
        once = c.delete(f"{services.flights_url}/bookings/{b['booking_id']}")
        twice = c.delete(f"{services.flights_url}/bookings/{b['booking_id']}")
        seats = c.get(f"{services.flights_url}/offers/{offer['offer_id']}").json()["seats_left"]
    assert once.status_code == twice.status_code == 200
    assert once.json()["status"] == twice.json()["status"] == "cancelled"
    assert seats == offer["seats_left"]


def test_data_survive_restart(tmp_path: Any) -> None:
    with running_services(tmp_path) as svc, httpx.Client(headers={"X-API-Key": DEMO_API_KEY}) as c:
        offer = _offer(c, svc.flights_url)
        ref = c.post(f"{svc.flights_url}/bookings", json={
            "offer_id": offer["offer_id"], "passengers": [PAX], "contact_email": "a@example.com"}).json()["booking_id"]
        hotel = c.post(f"{svc.hotels_url}/bookings", json={
            "room_id": "MAD-01-DBL", "check_in": _day(10), "check_out": _day(12), "guests": 1,
            "guest": GUEST}).json()["booking_id"]
    with running_services(tmp_path) as svc, httpx.Client(headers={"X-API-Key": DEMO_API_KEY}) as c:
        assert c.get(f"{svc.flights_url}/bookings/{ref}").json()["status"] == "confirmed"
        assert c.get(f"{svc.hotels_url}/bookings/{hotel}").json()["status"] == "confirmed"
        assert c.get(f"{svc.flights_url}/offers/{offer['offer_id']}").json()["seats_left"] == offer["seats_left"] - 1


def _bad_cases(offer: dict[str, Any]) -> list[tuple[str, str, str, dict[str, Any], int, str]]:
    book = {"offer_id": offer["offer_id"], "passengers": [PAX], "contact_email": "a@example.com"}
    stay = {"room_id": "LIS-01-DBL", "check_in": _day(20), "check_out": _day(22), "guests": 1, "guest": GUEST}
    return [
        ("flights", "POST", "/bookings", {"content": b'{"offer_id": '}, 400, "malformed_json"),
        ("flights", "POST", "/bookings", {"content": b"[1, 2]"}, 400, "malformed_json"),
        ("flights", "POST", "/bookings", {"json": {**book, "offer_id": "ZZ9-20990101-Y"}}, 404, "not_found"),
        ("flights", "POST", "/bookings", {"json": {**book, "contact_email": "nope"}}, 422, "validation_error"),
        ("flights", "POST", "/bookings", {"json": {**book, "extra": 1}}, 422, "validation_error"),
        ("flights", "POST", "/bookings", {"json": {**book, "passengers": [{**PAX, "birth_date": _day(5)}]}},
         422, "validation_error"),
        ("flights", "GET", f"/offers?origin=LIS&destination=MAD&departure_date={_day(-2)}", {}, 422, "past_date"),
        ("flights", "GET", f"/offers?origin=lis&destination=MAD&departure_date={_day(2)}", {}, 422,
         "validation_error"),
        ("flights", "GET", f"/offers?origin=LIS&destination=ZZZ&departure_date={_day(2)}", {}, 404, "not_found"),
        ("hotels", "POST", "/bookings", {"json": {**stay, "check_out": _day(19)}}, 422, "invalid_dates"),
        ("hotels", "POST", "/bookings", {"json": {**stay, "check_in": _day(-1)}}, 422, "past_date"),
        ("hotels", "POST", "/bookings", {"json": {**stay, "guests": 6}}, 422, "validation_error"),
        ("hotels", "POST", "/bookings", {"json": {**stay, "room_id": "LIS-99-DBL"}}, 404, "not_found"),
        ("hotels", "GET", f"/hotels?city=Lisbon&check_in={_day(9)}&check_out={_day(3)}", {}, 422, "invalid_dates"),
    ]


def test_bad_input_is_a_documented_4xx_and_writes_nothing(services: DemoServices,
                                                           headers: dict[str, str]) -> None:
    reset_state(services.state_dir)
    with httpx.Client(headers=headers) as c:
        offer = _offer(c, services.flights_url)
        before = _counts(services)
        for name, method, path, kwargs, status, code in _bad_cases(offer):
            base = services.flights_url if name == "flights" else services.hotels_url
            r = c.request(method, base + path, **kwargs)
            assert (r.status_code, r.json().get("code")) == (status, code), (path, kwargs, r.text)
            jsonschema.validate(r.json(), load_spec(name)["components"]["schemas"]["Error"])
        unauth = httpx.post(f"{services.flights_url}/bookings", json={
            "offer_id": offer["offer_id"], "passengers": [PAX], "contact_email": "a@example.com"})
        assert unauth.status_code == 401 and unauth.json()["code"] == "unauthorized"
    assert _counts(services) == before


def test_sold_out_offer_is_409_and_writes_nothing(services: DemoServices, headers: dict[str, str]) -> None:
    reset_state(services.state_dir)
    with httpx.Client(headers=headers) as c:
        offer = _offer(c, services.flights_url)
        conn = _db(services, "flights")
        with conn:
            conn.execute("UPDATE flights SET seats_y = 1 WHERE number = ? AND dep_date = ?",
                         (offer["flight_number"], offer["departure_date"]))
        conn.close()
        r = c.post(f"{services.flights_url}/bookings", json={
            "offer_id": offer["offer_id"], "passengers": [PAX, PAX], "contact_email": "a@example.com"})
        assert r.status_code == 409 and r.json()["code"] == "sold_out"
        assert c.get(f"{services.flights_url}/offers/{offer['offer_id']}").json()["seats_left"] == 1
    assert _counts(services)[0] == 0
