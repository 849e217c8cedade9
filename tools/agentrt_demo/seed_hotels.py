"""Demo services, seeding stage: the hotel inventory and its nightly rates.

Hotels and room types are fixed per city (seeded by the city code); availability is computed
from bookings (a room type has ``total_rooms`` rooms each night), and the nightly rate of a
room follows :func:`nightly_rate`, a pure function of the room's base rate and the night's
offset from the day the inventory was seeded for (``meta.seeded_for``), never of the calendar,
so the services and the task checker price a stay identically whatever today is.
"""

from __future__ import annotations

import random
import sqlite3
from datetime import date, timedelta

from agentrt_demo.seed import SEED_VERSION, demo_weekday, generator_day
from agentrt_demo.seed_data import (
    AIRPORTS,
    CITY_COST,
    HOTEL_PREFIXES,
    HOTEL_STEMS,
    ROOM_TYPES,
    STREETS,
)

__all__ = ["HOTELS_SCHEMA", "nightly_rate", "nights", "seed_hotels", "seeded_for", "stay_price"]

HOTELS_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE hotels (hotel_id TEXT PRIMARY KEY, name TEXT NOT NULL, city TEXT NOT NULL,
    city_code TEXT NOT NULL, country TEXT NOT NULL, rating REAL NOT NULL, address TEXT NOT NULL);
CREATE INDEX hotels_city ON hotels (city COLLATE NOCASE);
CREATE TABLE rooms (room_id TEXT PRIMARY KEY, hotel_id TEXT NOT NULL REFERENCES hotels,
    name TEXT NOT NULL, max_guests INTEGER NOT NULL, beds TEXT NOT NULL,
    base_rate INTEGER NOT NULL, total_rooms INTEGER NOT NULL CHECK (total_rooms >= 0));
CREATE TABLE bookings (
    booking_id TEXT PRIMARY KEY, room_id TEXT NOT NULL REFERENCES rooms,
    hotel_id TEXT NOT NULL REFERENCES hotels, check_in TEXT NOT NULL, check_out TEXT NOT NULL,
    guests INTEGER NOT NULL, first_name TEXT NOT NULL, last_name TEXT NOT NULL,
    email TEXT NOT NULL, total_cents INTEGER NOT NULL, status TEXT NOT NULL,
    created_at TEXT NOT NULL, cancelled_at TEXT);
CREATE INDEX bookings_room ON bookings (room_id, check_in);
CREATE TABLE idempotency (key TEXT NOT NULL, operation TEXT NOT NULL,
    request_hash TEXT NOT NULL, status INTEGER NOT NULL, body TEXT NOT NULL,
    created_at TEXT NOT NULL, PRIMARY KEY (key, operation));
"""

# Season factor by the month of the generator's calendar (seed.generator_day), not the real one.
_SEASON = {1: 0.85, 2: 0.85, 3: 0.95, 4: 1.05, 5: 1.1, 6: 1.25, 7: 1.3, 8: 1.3, 9: 1.1,
           10: 1.0, 11: 0.9, 12: 1.15}


def nightly_rate(base_rate: int, offset: int) -> int:
    """The price in whole EUR of the night ``offset`` days after the seed day, at ``base_rate``."""
    weekend = 1.2 if demo_weekday(offset) in (4, 5) else 1.0
    return max(25, round(base_rate * weekend * _SEASON[generator_day(offset).month]))


def nights(check_in: date, check_out: date) -> list[date]:
    """The nights of a stay: every date from check-in up to (not including) check-out."""
    return [check_in + timedelta(days=i) for i in range((check_out - check_in).days)]


def stay_price(base_rate: int, check_in: date, check_out: date, seed_day: date) -> int:
    """Total price in whole EUR of a stay in an inventory seeded for ``seed_day``."""
    return sum(nightly_rate(base_rate, (n - seed_day).days) for n in nights(check_in, check_out))


def seeded_for(conn: sqlite3.Connection) -> date:
    """The day a demo database was seeded for (its day 0), from its ``meta`` table."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'seeded_for'").fetchone()
    if row is None:
        raise ValueError("not a seeded demo database (no meta.seeded_for)")
    return date.fromisoformat(row[0])


def _cities() -> list[tuple[str, str, str]]:
    seen: dict[str, tuple[str, str, str]] = {}
    for _code, _name, city, country, _la, _lo, metro, _region in AIRPORTS:
        seen.setdefault(metro, (metro, city, country))
    return list(seen.values())


def seed_hotels(conn: sqlite3.Connection, today: date) -> None:
    """Create the hotel schema in an empty database and fill it (independent of ``today``)."""
    conn.executescript(HOTELS_SCHEMA)
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO meta VALUES (?, ?)",
                     [("seed_version", str(SEED_VERSION)), ("seeded_for", today.isoformat()),
                      ("service", "hotels")])
    for metro, city, country in _cities():
        rng = random.Random(f"hotels/{metro}")  # fixed per city: no date, no offset
        stems = rng.sample(HOTEL_STEMS, 4 + rng.randint(0, 4))
        for i, stem in enumerate(stems, start=1):
            hotel_id = f"{metro}-{i:02d}"
            prefix = rng.choice(HOTEL_PREFIXES)
            name = f"{prefix} {stem} {city}" if prefix != "Suites" else f"{stem} Suites {city}"
            rating = round(rng.uniform(2.4, 4.9), 1)
            address = f"{rng.randint(1, 240)} {rng.choice(STREETS)}, {city}"
            conn.execute("INSERT INTO hotels VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (hotel_id, name, city, metro, country, rating, address))
            base = CITY_COST.get(metro, 1.0) * (35 + rating * 24) * rng.uniform(0.85, 1.2)
            kinds = [ROOM_TYPES[1], *rng.sample([r for r in ROOM_TYPES if r[0] != "DBL"], 3)]
            for code, room_name, max_guests, beds, factor in kinds:
                total = rng.randint(1, 3) if code == "STE" else rng.randint(2, 12)
                conn.execute("INSERT INTO rooms VALUES (?, ?, ?, ?, ?, ?, ?)",
                             (f"{hotel_id}-{code}", hotel_id, room_name, max_guests, beds,
                              round(base * factor), total))
    conn.execute("COMMIT")
