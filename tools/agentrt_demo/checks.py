"""Demo tasks, checking stage: what the right outcome of a task is, computed from the database.

Nothing is hard-coded: "the cheapest nonstop economy offer LIS->MAD on that date" is found
by querying the seeded inventory (seats held by bookings made during the run are added back,
so booking the last seats does not move the target). Ties on the deciding key are accepted.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import date
from typing import Any

from agentrt_demo.hotels import room_free
from agentrt_demo.seed import CABIN_LETTERS
from agentrt_demo.seed_hotels import seeded_for, stay_price

__all__ = ["NEGATIVE_WORDS", "expected_offers", "expected_rooms", "mentions_number"]

NEGATIVE_WORDS = ("no ", "not ", "sold out", "unavailable", "cannot", "can't", "couldn't",
                  "none", "fully booked", "no flights", "unable")
_ORDER = {"cheapest": ("price", "price, dep_time, number"),
          "earliest": ("dep_time", "dep_time, price, number"),
          "shortest": ("duration", "duration, price, number")}


def expected_offers(conn: sqlite3.Connection, spec: dict[str, Any],
                    exclude: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """Every offer that is a right answer for ``spec`` (all tie on the deciding key), best first.

    ``spec``: origin, destination, date, cabin (economy), pick (cheapest|earliest|shortest),
    nonstop (false), max_price (none), pax (1). Seats taken by bookings not in ``exclude``
    (the run's own bookings) are counted as free.
    """
    cabin = spec.get("cabin", "economy")
    letter = CABIN_LETTERS[cabin].lower()
    key, order = _ORDER[spec.get("pick", "cheapest")]
    held = {r["flight_id"]: r["pax"] for r in conn.execute(
        "SELECT flight_id, SUM(pax) AS pax FROM bookings WHERE status = 'confirmed' AND cabin = ?"
        f" AND booking_id IN ({','.join('?' * len(exclude))}) GROUP BY flight_id",
        (cabin, *sorted(exclude)))}
    rows = conn.execute(
        f"SELECT id, number, dep_date, dep_time, duration, stops, price_{letter} AS price,"
        f" seats_{letter} AS seats FROM flights WHERE origin = ? AND destination = ? AND dep_date = ?"
        f" AND price_{letter} IS NOT NULL ORDER BY {order}",
        (spec["origin"], spec["destination"], spec["date"])).fetchall()
    pax = int(spec.get("pax", 1))
    good = []
    for r in rows:
        seats = r["seats"] + held.get(r["id"], 0)
        if seats < pax or (spec.get("nonstop") and r["stops"]) or (
                "max_price" in spec and r["price"] > spec["max_price"] * 100):
            continue
        good.append({"offer_id": f"{r['number']}-{r['dep_date'].replace('-', '')}-{CABIN_LETTERS[cabin]}",
                     "flight_number": r["number"], "price": r["price"] / 100,
                     "total_price": r["price"] * pax / 100, "departure_time": r["dep_time"],
                     "duration": r["duration"], "key": r[key]})
    return [g for g in good if g["key"] == good[0]["key"]] if good else []


def expected_rooms(conn: sqlite3.Connection, spec: dict[str, Any],
                   exclude: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """Every room that is a right answer for the hotel ``spec``, best first.

    ``spec``: city, check_in, check_out, guests (1), pick (cheapest|best_rated), min_rating,
    max_price_per_night. Bookings in ``exclude`` (the run's own) do not occupy rooms.
    """
    start, end = date.fromisoformat(spec["check_in"]), date.fromisoformat(spec["check_out"])
    nights, seed_day = (end - start).days, seeded_for(conn)
    placeholders = ",".join("?" * len(exclude))
    conn.execute("SAVEPOINT expected")  # hide the run's own bookings, then undo
    try:
        conn.execute(f"UPDATE bookings SET status = 'x' WHERE booking_id IN ({placeholders})",
                     sorted(exclude))
        found = []
        for room in conn.execute(
                "SELECT r.*, h.name AS hotel_name, h.rating FROM rooms r JOIN hotels h USING (hotel_id)"
                " WHERE h.city = ? COLLATE NOCASE AND r.max_guests >= ? AND h.rating >= ?",
                (spec["city"], spec.get("guests", 1), spec.get("min_rating", 0))).fetchall():
            total = stay_price(room["base_rate"], start, end, seed_day)
            if total / nights > spec.get("max_price_per_night", float("inf")):
                continue
            if room_free(conn, room, start, end):
                found.append({"room_id": room["room_id"], "hotel_id": room["hotel_id"],
                              "hotel_name": room["hotel_name"], "rating": room["rating"],
                              "total_price": float(total)})
    finally:
        conn.execute("ROLLBACK TO expected")
        conn.execute("RELEASE expected")
    if not found:
        return []
    if spec.get("pick", "cheapest") == "best_rated":
        top = max(f["rating"] for f in found)
        found = [f for f in found if f["rating"] == top]
    best = min(f["total_price"] for f in found)
    return sorted((f for f in found if f["total_price"] == best), key=lambda f: f["room_id"])


_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def mentions_number(answer: str, value: float) -> bool:
    """Whether the answer states ``value`` (e.g. 1,234.50 / 1234.5 / 1234.50 EUR)."""
    for token in _NUMBER.findall(answer):
        try:
            if abs(float(token.replace(",", "")) - value) < 0.006:
                return True
        except ValueError:
            continue
    return False
