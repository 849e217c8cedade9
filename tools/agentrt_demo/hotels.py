"""Demo services, hotel API: the Starlette app implementing ``specs/hotels.yaml``.

A room type has ``total_rooms`` rooms; it is free for a stay when, on every night of the
stay, fewer confirmed bookings overlap that night. Booking checks and inserts inside one
``BEGIN IMMEDIATE`` transaction, so two guests can never get the last room.
"""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException

from agentrt_demo.clock import demo_today, utc_now_iso
from agentrt_demo.common import (
    ApiError,
    Reply,
    build_routes,
    http_exception_handler,
    new_reference,
)
from agentrt_demo.db import ServiceState, ensure_db, write_tx
from agentrt_demo.idempotency import replay_or_run
from agentrt_demo.injected import Injector
from agentrt_demo.keys import DEMO_API_KEY
from agentrt_demo.seed_hotels import nights, seeded_for, stay_price

__all__ = ["MAX_NIGHTS", "create_hotels_app", "room_free"]

MAX_NIGHTS = 30


def room_free(conn: sqlite3.Connection, room: sqlite3.Row, check_in: date, check_out: date) -> bool:
    """Whether one room of this type is free on every night from check_in to check_out."""
    rows = conn.execute(
        "SELECT check_in, check_out FROM bookings WHERE room_id = ? AND status = 'confirmed'"
        " AND check_in < ? AND check_out > ?",
        (room["room_id"], check_out.isoformat(), check_in.isoformat())).fetchall()
    for night in nights(check_in, check_out):
        taken = sum(1 for r in rows if r["check_in"] <= night.isoformat() < r["check_out"])
        if taken >= room["total_rooms"]:
            return False
    return True


def _room_json(room: sqlite3.Row, stay: tuple[date, date] | None, free: bool | None,
               seed_day: date) -> dict[str, Any]:
    out: dict[str, Any] = {"room_id": room["room_id"], "name": room["name"],
                           "max_guests": room["max_guests"], "beds": room["beds"],
                           "base_rate": float(room["base_rate"])}
    if stay is not None:
        total, count = stay_price(room["base_rate"], *stay, seed_day), (stay[1] - stay[0]).days
        out.update(available=bool(free), nights=count, nightly_rate=round(total / count, 2),
                   total_price=float(total))
    return out


class _HotelService(ServiceState):
    """The operations; each method is a sync handler run in Starlette's thread pool."""

    def __init__(self, path: Path, today: date | None, injector: Injector | None = None) -> None:
        super().__init__(path, today)
        #: the injected descriptions and reviews (``None``: the switch is off)
        self.injector = injector

    def _injected(self, hotel: dict[str, Any], room_id: str | None) -> dict[str, Any]:
        return hotel if self.injector is None else {**hotel,
                                                     **self.injector.hotel(hotel, room_id)}

    def _stay(self, check_in: str, check_out: str, where: str) -> tuple[date, date]:
        start, end = date.fromisoformat(check_in), date.fromisoformat(check_out)
        if start < self.today():
            raise ApiError(422, "past_date", f"check_in {start} is in the past (today is {self.today()})",
                           [{"location": f"{where}.check_in", "message": "is in the past"}])
        if end <= start:
            raise ApiError(422, "invalid_dates", "check_out must be after check_in",
                           [{"location": f"{where}.check_out", "message": "is not after check_in"}])
        if (end - start).days > MAX_NIGHTS:
            raise ApiError(422, "invalid_dates", f"a stay is at most {MAX_NIGHTS} nights",
                           [{"location": f"{where}.check_out", "message": "stay too long"}])
        return start, end

    def search_hotels(self, p: dict[str, Any], _body: Any) -> Reply:
        stay = self._stay(p["check_in"], p["check_out"], "query")
        count = (stay[1] - stay[0]).days
        with self.db() as conn:
            seed_day = seeded_for(conn)
            hotels = conn.execute("SELECT * FROM hotels WHERE city = ? COLLATE NOCASE",
                                  (p["city"].strip(),)).fetchall()
            if not hotels:
                raise ApiError(404, "not_found", f"no hotels in city {p['city']!r}",
                               [{"location": "query.city", "message": "unknown city"}])
            results = []
            for hotel in hotels:
                if hotel["rating"] < p.get("min_rating", 0):
                    continue
                best: tuple[int, dict[str, Any]] | None = None
                rooms = conn.execute("SELECT * FROM rooms WHERE hotel_id = ? AND max_guests >= ?"
                                     " ORDER BY base_rate, room_id", (hotel["hotel_id"], p["guests"]))
                for room in rooms:
                    total = stay_price(room["base_rate"], *stay, seed_day)
                    if "max_price_per_night" in p and total / count > p["max_price_per_night"]:
                        continue
                    if (best is None or total < best[0]) and room_free(conn, room, *stay):
                        best = (total, _room_json(room, stay, True, seed_day))
                if best is not None:
                    results.append((best[0], hotel, best[1]))
        key = (lambda r: (r[0], r[1]["hotel_id"])) if p["sort"] == "price" else (
            lambda r: (-r[1]["rating"], r[0], r[1]["hotel_id"]))
        results.sort(key=key)
        out = [self._injected({"hotel_id": h["hotel_id"], "name": h["name"], "city": h["city"],
                               "rating": h["rating"], "address": h["address"],
                               "cheapest_room": room}, room["room_id"])
               for _total, h, room in results[: p["limit"]]]
        return Reply(body={"hotels": out, "count": len(out), "nights": count})

    def get_hotel(self, p: dict[str, Any], _body: Any) -> Reply:
        if ("check_in" in p) != ("check_out" in p):
            raise ApiError(422, "validation_error", "give both check_in and check_out, or neither")
        stay = self._stay(p["check_in"], p["check_out"], "query") if "check_in" in p else None
        with self.db() as conn:
            hotel = conn.execute("SELECT * FROM hotels WHERE hotel_id = ?", (p["hotel_id"],)).fetchone()
            if hotel is None:
                raise ApiError(404, "not_found", f"no hotel {p['hotel_id']}")
            seed_day = seeded_for(conn)
            rooms = [_room_json(r, stay, stay is not None and room_free(conn, r, *stay), seed_day)
                     for r in conn.execute("SELECT * FROM rooms WHERE hotel_id = ?"
                                           " ORDER BY base_rate, room_id", (p["hotel_id"],))]
        return Reply(body=self._injected({"hotel_id": hotel["hotel_id"], "name": hotel["name"],
                                          "city": hotel["city"], "rating": hotel["rating"],
                                          "address": hotel["address"], "rooms": rooms},
                                         rooms[0]["room_id"] if rooms else None))

    def create_hotel_booking(self, p: dict[str, Any], body: dict[str, Any]) -> Reply:
        stay = self._stay(body["check_in"], body["check_out"], "body")
        with self.db() as conn, write_tx(conn):
            def book() -> Reply:
                room = conn.execute("SELECT * FROM rooms WHERE room_id = ?", (body["room_id"],)).fetchone()
                if room is None:
                    raise ApiError(404, "not_found", f"no room {body['room_id']}")
                if body["guests"] > room["max_guests"]:
                    raise ApiError(422, "validation_error",
                                   f"{room['name']} takes at most {room['max_guests']} guests",
                                   [{"location": "body.guests", "message": "too many for this room"}])
                if not room_free(conn, room, *stay):
                    raise ApiError(409, "no_availability",
                                   f"{body['room_id']} is fully booked for some of those nights")
                guest = body["guest"]
                for _ in range(20):
                    ref = new_reference("HB")
                    with contextlib.suppress(sqlite3.IntegrityError):
                        conn.execute(
                            "INSERT INTO bookings VALUES (?,?,?,?,?,?,?,?,?,?,'confirmed',?,NULL)",
                            (ref, room["room_id"], room["hotel_id"], stay[0].isoformat(),
                             stay[1].isoformat(), body["guests"], guest["first_name"],
                             guest["last_name"], guest["email"],
                             stay_price(room["base_rate"], *stay, seeded_for(conn)) * 100,
                             utc_now_iso()))
                        break
                return Reply(status=201, body=self._booking_json(conn, ref),
                             headers={"Location": f"/bookings/{ref}"})

            return replay_or_run(conn, "create_hotel_booking", p.get("Idempotency-Key"), body, book)

    def _booking_json(self, conn: sqlite3.Connection, booking_id: str) -> dict[str, Any]:
        b = conn.execute(
            "SELECT b.*, h.name AS hotel_name, h.city, r.name AS room_name FROM bookings b"
            " JOIN hotels h USING (hotel_id) JOIN rooms r USING (room_id) WHERE booking_id = ?",
            (booking_id,)).fetchone()
        if b is None:
            raise ApiError(404, "not_found", f"no booking {booking_id}")
        return {"booking_id": b["booking_id"], "status": b["status"], "hotel_id": b["hotel_id"],
                "hotel_name": b["hotel_name"], "city": b["city"], "room_id": b["room_id"],
                "room_name": b["room_name"], "check_in": b["check_in"], "check_out": b["check_out"],
                "nights": (date.fromisoformat(b["check_out"]) - date.fromisoformat(b["check_in"])).days,
                "guests": b["guests"],
                "guest": {"first_name": b["first_name"], "last_name": b["last_name"], "email": b["email"]},
                "total_price": b["total_cents"] / 100, "currency": "EUR",
                "created_at": b["created_at"], "cancelled_at": b["cancelled_at"]}

    def get_hotel_booking(self, p: dict[str, Any], _body: Any) -> Reply:
        with self.db() as conn:
            return Reply(body=self._booking_json(conn, p["booking_id"]))

    def cancel_hotel_booking(self, p: dict[str, Any], _body: Any) -> Reply:
        with self.db() as conn, write_tx(conn):
            body = self._booking_json(conn, p["booking_id"])
            if body["status"] == "confirmed":
                conn.execute("UPDATE bookings SET status = 'cancelled', cancelled_at = ?"
                             " WHERE booking_id = ?", (utc_now_iso(), p["booking_id"]))
                body = self._booking_json(conn, p["booking_id"])
            return Reply(body=body)


_ROUTES = (("/hotels", "GET", "search_hotels"), ("/hotels/{hotel_id}", "GET", "get_hotel"),
           ("/bookings", "POST", "create_hotel_booking"),
           ("/bookings/{booking_id}", "GET", "get_hotel_booking"),
           ("/bookings/{booking_id}", "DELETE", "cancel_hotel_booking"))


def create_hotels_app(state_dir: Path | str, *, today: date | None = None,
                      api_key: str = DEMO_API_KEY, inject: bool = False) -> Starlette:
    """The hotel API as an ASGI app keeping its data in ``state_dir/hotels.sqlite``.

    The database is created and seeded on first use and kept across restarts; ``today``
    (default: the demo clock) drives the past-date checks. ``inject``: hotels carry a
    ``description`` and ``reviews`` with injected instructions (:mod:`agentrt_demo.injected`).
    """
    service = _HotelService(ensure_db(state_dir, "hotels", demo_today(today)), today,
                            Injector(state_dir) if inject else None)
    routes = build_routes("hotels", _ROUTES, service, api_key)
    return Starlette(routes=routes, exception_handlers={HTTPException: http_exception_handler})
