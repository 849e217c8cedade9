"""Demo services, flight API: the Starlette app implementing ``specs/flights.yaml``.

Each request opens its own SQLite connection; bookings and cancellations run in a
``BEGIN IMMEDIATE`` transaction, so the seat check, the seat decrement, the booking row and
the stored idempotent reply commit together or not at all (no oversell, no lost write).
"""

from __future__ import annotations

import contextlib
import json
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
from agentrt_demo.seed import CABIN_LETTERS

__all__ = ["create_flights_app", "offer_from_row", "parse_offer_id"]

_LETTER_CABIN = {v: k for k, v in CABIN_LETTERS.items()}
_SORT = {"price": "price, dep_time, number", "departure_time": "dep_time, price, number",
         "duration": "duration, price, number"}


def parse_offer_id(offer_id: str) -> tuple[str, str, str]:
    """``"TP1234-20250701-Y"`` -> (flight number, ISO date, cabin name); ValueError if malformed."""
    number, day, letter = offer_id.split("-")
    return number, date(int(day[:4]), int(day[4:6]), int(day[6:])).isoformat(), _LETTER_CABIN[letter]


def _offer_id(number: str, dep_date: str, cabin: str) -> str:
    return f"{number}-{dep_date.replace('-', '')}-{CABIN_LETTERS[cabin]}"


def offer_from_row(row: sqlite3.Row, cabin: str, names: dict[str, str],
                   passengers: int | None = None) -> dict[str, Any]:
    """The ``Offer`` JSON of one flight row in one cabin."""
    letter = CABIN_LETTERS[cabin].lower()
    price = row[f"price_{letter}"]
    segments = json.loads(row["segments"]) if row["segments"] else [{
        "flight_number": row["number"], "origin": row["origin"],
        "destination": row["destination"], "departure": f"{row['dep_date']}T{row['dep_time']}",
        "arrival": f"{row['arr_date']}T{row['arr_time']}"}]
    offer: dict[str, Any] = {
        "offer_id": _offer_id(row["number"], row["dep_date"], cabin), "airline": row["airline"],
        "airline_name": names.get(row["airline"], row["airline"]), "flight_number": row["number"],
        "origin": row["origin"], "destination": row["destination"],
        "departure_date": row["dep_date"], "departure_time": row["dep_time"],
        "arrival_date": row["arr_date"], "arrival_time": row["arr_time"],
        "duration_minutes": row["duration"], "stops": row["stops"], "via": row["via"],
        "cabin": cabin, "price": price / 100, "currency": "EUR",
        "seats_left": row[f"seats_{letter}"], "segments": segments,
    }
    if passengers is not None:
        offer["total_price"] = round(price * passengers / 100, 2)
    return offer


def _booking_json(conn: sqlite3.Connection, booking: sqlite3.Row, names: dict[str, str]) -> dict[str, Any]:
    flight = conn.execute("SELECT * FROM flights WHERE id = ?", (booking["flight_id"],)).fetchone()
    return {
        "booking_id": booking["booking_id"], "status": booking["status"],
        "offer": offer_from_row(flight, booking["cabin"], names),
        "passengers": json.loads(booking["passengers"]), "contact_email": booking["contact_email"],
        "total_price": booking["total_cents"] / 100, "currency": "EUR",
        "created_at": booking["created_at"], "cancelled_at": booking["cancelled_at"],
    }


class _FlightService(ServiceState):
    """The operations; each method is a sync handler run in Starlette's thread pool."""

    def __init__(self, path: Path, today: date | None, injector: Injector | None = None) -> None:
        super().__init__(path, today)
        #: the injected notes (``None``: the switch is off and offers are as seeded)
        self.injector = injector
        with self.db() as conn:
            self.names = {r["code"]: r["name"] for r in conn.execute("SELECT * FROM airlines")}

    def list_airports(self, p: dict[str, Any], _body: Any) -> Reply:
        sql, args = "SELECT code, name, city, country FROM airports WHERE 1=1", []
        if "query" in p:
            like = f"%{p['query'].strip()}%"
            sql += " AND (code LIKE ? OR name LIKE ? OR city LIKE ?)"
            args += [like, like, like]
        if "country" in p:
            sql += " AND country = ?"
            args.append(p["country"])
        with self.db() as conn:
            rows = conn.execute(sql + " ORDER BY code", args).fetchall()
        return Reply(body={"airports": [dict(r) for r in rows]})

    def get_airport(self, p: dict[str, Any], _body: Any) -> Reply:
        with self.db() as conn:
            row = conn.execute("SELECT code, name, city, country FROM airports WHERE code = ?",
                               (p["code"],)).fetchone()
        if row is None:
            raise ApiError(404, "not_found", f"no airport with code {p['code']}")
        return Reply(body=dict(row))

    def search_flight_offers(self, p: dict[str, Any], _body: Any) -> Reply:
        origin, dest, when = p["origin"], p["destination"], date.fromisoformat(p["departure_date"])
        if origin == dest:
            raise ApiError(422, "validation_error", "origin and destination must differ",
                           [{"location": "query.destination", "message": "same as origin"}])
        if when < self.today():
            raise ApiError(422, "past_date", f"departure_date {when} is in the past (today is {self.today()})",
                           [{"location": "query.departure_date", "message": "is in the past"}])
        cabin, pax = p.get("cabin", "economy"), p["passengers"]
        letter = CABIN_LETTERS[cabin].lower()
        with self.db() as conn:
            known = {r[0] for r in conn.execute(
                "SELECT code FROM airports WHERE code IN (?, ?)", (origin, dest))}
            for name, code in (("origin", origin), ("destination", dest)):
                if code not in known:
                    raise ApiError(404, "not_found", f"no airport with code {code}",
                                   [{"location": f"query.{name}", "message": "unknown airport"}])
            sql = (f"SELECT *, price_{letter} AS price FROM flights WHERE origin = ? AND destination = ?"
                   f" AND dep_date = ? AND price_{letter} IS NOT NULL AND seats_{letter} >= ?")
            args: list[Any] = [origin, dest, when.isoformat(), pax]
            if p["nonstop_only"]:
                sql += " AND stops = 0"
            if "max_price" in p:
                sql += f" AND price_{letter} <= ?"
                args.append(round(p["max_price"] * 100))
            rows = conn.execute(f"{sql} ORDER BY {_SORT[p['sort']]} LIMIT ?", [*args, p["limit"]]).fetchall()
        offers = [self._injected(offer_from_row(r, cabin, self.names, pax)) for r in rows]
        return Reply(body={"offers": offers, "count": len(offers)})

    def _injected(self, offer: dict[str, Any]) -> dict[str, Any]:
        return offer if self.injector is None else {**offer, **self.injector.offer(offer)}

    def _flight(self, conn: sqlite3.Connection, offer_id: str) -> tuple[sqlite3.Row, str]:
        try:
            number, day, cabin = parse_offer_id(offer_id)
        except (ValueError, KeyError):
            raise ApiError(404, "not_found", f"no offer {offer_id}") from None
        row = conn.execute("SELECT * FROM flights WHERE number = ? AND dep_date = ?",
                           (number, day)).fetchone()
        if row is None or row[f"price_{CABIN_LETTERS[cabin].lower()}"] is None:
            raise ApiError(404, "not_found", f"no offer {offer_id}")
        return row, cabin

    def get_flight_offer(self, p: dict[str, Any], _body: Any) -> Reply:
        with self.db() as conn:
            row, cabin = self._flight(conn, p["offer_id"])
        return Reply(body=self._injected(offer_from_row(row, cabin, self.names)))

    def create_flight_booking(self, p: dict[str, Any], body: dict[str, Any]) -> Reply:
        today = self.today()
        problems = [{"location": f"body.passengers[{i}].birth_date", "message": "is in the future"}
                    for i, pax in enumerate(body["passengers"])
                    if date.fromisoformat(pax["birth_date"]) > today]
        if problems:
            raise ApiError(422, "validation_error", "a birth date is in the future", problems)
        with self.db() as conn, write_tx(conn):
            def book() -> Reply:
                row, cabin = self._flight(conn, body["offer_id"])
                if date.fromisoformat(row["dep_date"]) < today:
                    raise ApiError(422, "past_date", f"offer {body['offer_id']} departed in the past")
                letter, pax = CABIN_LETTERS[cabin].lower(), len(body["passengers"])
                cur = conn.execute(f"UPDATE flights SET seats_{letter} = seats_{letter} - ?"
                                   f" WHERE id = ? AND seats_{letter} >= ?", (pax, row["id"], pax))
                if cur.rowcount != 1:
                    raise ApiError(409, "sold_out", f"offer {body['offer_id']} has "
                                   f"{row[f'seats_{letter}']} seats left, {pax} requested")
                unit = row[f"price_{letter}"]
                for _ in range(20):
                    ref = new_reference()
                    with contextlib.suppress(sqlite3.IntegrityError):
                        conn.execute(
                            "INSERT INTO bookings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'confirmed', ?, NULL)",
                            (ref, row["id"], body["offer_id"], cabin, json.dumps(body["passengers"]),
                             pax, body["contact_email"], unit, unit * pax, utc_now_iso()))
                        break
                booking = conn.execute("SELECT * FROM bookings WHERE booking_id = ?", (ref,)).fetchone()
                return Reply(status=201, body=_booking_json(conn, booking, self.names),
                             headers={"Location": f"/bookings/{ref}"})

            return replay_or_run(conn, "create_flight_booking", p.get("Idempotency-Key"), body, book)

    def _booking(self, conn: sqlite3.Connection, booking_id: str) -> sqlite3.Row:
        row = conn.execute("SELECT * FROM bookings WHERE booking_id = ?", (booking_id,)).fetchone()
        if row is None:
            raise ApiError(404, "not_found", f"no booking {booking_id}")
        return row

    def get_flight_booking(self, p: dict[str, Any], _body: Any) -> Reply:
        with self.db() as conn:
            return Reply(body=_booking_json(conn, self._booking(conn, p["booking_id"]), self.names))

    def cancel_flight_booking(self, p: dict[str, Any], _body: Any) -> Reply:
        with self.db() as conn, write_tx(conn):
            row = self._booking(conn, p["booking_id"])
            if row["status"] == "confirmed":
                letter = CABIN_LETTERS[row["cabin"]].lower()
                conn.execute(f"UPDATE flights SET seats_{letter} = seats_{letter} + ? WHERE id = ?",
                             (row["pax"], row["flight_id"]))
                conn.execute("UPDATE bookings SET status = 'cancelled', cancelled_at = ?"
                             " WHERE booking_id = ?", (utc_now_iso(), row["booking_id"]))
                row = self._booking(conn, p["booking_id"])
            return Reply(body=_booking_json(conn, row, self.names))


_ROUTES = (("/airports", "GET", "list_airports"), ("/airports/{code}", "GET", "get_airport"),
           ("/offers", "GET", "search_flight_offers"), ("/offers/{offer_id}", "GET", "get_flight_offer"),
           ("/bookings", "POST", "create_flight_booking"),
           ("/bookings/{booking_id}", "GET", "get_flight_booking"),
           ("/bookings/{booking_id}", "DELETE", "cancel_flight_booking"))


def create_flights_app(state_dir: Path | str, *, today: date | None = None,
                       api_key: str = DEMO_API_KEY, inject: bool = False) -> Starlette:
    """The flight API as an ASGI app keeping its data in ``state_dir/flights.sqlite``.

    The database is created and seeded (for ``today``, default the demo clock) on first use
    and kept across restarts. ``today`` also drives the past-date checks. ``inject``: offers
    carry ``notes`` with injected instructions (:mod:`agentrt_demo.injected`).
    """
    service = _FlightService(ensure_db(state_dir, "flights", demo_today(today)), today,
                             Injector(state_dir) if inject else None)
    routes = build_routes("flights", _ROUTES, service, api_key)
    return Starlette(routes=routes, exception_handlers={HTTPException: http_exception_handler})
