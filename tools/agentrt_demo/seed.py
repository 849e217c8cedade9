"""Demo services, seeding stage: build the flight inventory deterministically from the demo clock.

Each route has a fixed daily schedule (flight numbers, times and carriers never change from
day to day, as with real airlines); fares and seats left vary per day through a random
generator seeded by the day's *offset* from the demo's today on a fixed calendar
(:func:`generator_day`), never by the real date. So "day N after today" holds the same
flights, fares and seats whatever today is; only the ISO dates shown (today + N) move.
Weekday-like variation (routes that skip a day of the week, dearer Fridays) follows
:func:`demo_weekday`, a function of the offset too. One row of ``flights`` is one dated
departure (nonstop, or a one-stop itinerary) with a price and seat count per cabin.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import random
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from agentrt_demo.seed_data import AIRLINES, AIRPORTS, HUBS, NO_SERVICE, UTC_OFFSET

__all__ = ["CABIN_LETTERS", "HORIZON_DAYS", "SEED_DAY", "SEED_VERSION", "demo_weekday",
           "flight_rows", "generator_day", "seed_flights"]

SEED_VERSION = 4  # 4: content is a function of the day offset, no longer of the real date
# The generator's fixed calendar: day N of every demo is generated as this date + N (the day
# the task set was written against), whatever the demo's today is.
SEED_DAY = date(2026, 11, 25)
HORIZON_DAYS = 120
CABIN_LETTERS = {"economy": "Y", "premium_economy": "W", "business": "C", "first": "F"}
_CABIN_FACTOR = {"Y": 1.0, "W": 1.7, "C": 3.4, "F": 6.0}

FLIGHTS_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE airports (code TEXT PRIMARY KEY, name TEXT NOT NULL, city TEXT NOT NULL,
    country TEXT NOT NULL, metro TEXT NOT NULL);
CREATE TABLE airlines (code TEXT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE flights (
    id INTEGER PRIMARY KEY, number TEXT NOT NULL, airline TEXT NOT NULL REFERENCES airlines,
    origin TEXT NOT NULL, destination TEXT NOT NULL, dep_date TEXT NOT NULL,
    dep_time TEXT NOT NULL, arr_date TEXT NOT NULL, arr_time TEXT NOT NULL,
    duration INTEGER NOT NULL, stops INTEGER NOT NULL, via TEXT, segments TEXT,
    price_y INTEGER, seats_y INTEGER CHECK (seats_y >= 0),
    price_w INTEGER, seats_w INTEGER CHECK (seats_w >= 0),
    price_c INTEGER, seats_c INTEGER CHECK (seats_c >= 0),
    price_f INTEGER, seats_f INTEGER CHECK (seats_f >= 0),
    UNIQUE (number, dep_date));
CREATE INDEX flights_route ON flights (origin, destination, dep_date);
CREATE TABLE bookings (
    booking_id TEXT PRIMARY KEY, flight_id INTEGER NOT NULL REFERENCES flights,
    offer_id TEXT NOT NULL, cabin TEXT NOT NULL, passengers TEXT NOT NULL,
    pax INTEGER NOT NULL, contact_email TEXT NOT NULL, unit_cents INTEGER NOT NULL,
    total_cents INTEGER NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL,
    cancelled_at TEXT);
CREATE TABLE dirty (flight_id INTEGER PRIMARY KEY);
CREATE TRIGGER flights_dirty AFTER UPDATE OF seats_y, seats_w, seats_c, seats_f ON flights
BEGIN INSERT OR IGNORE INTO dirty VALUES (NEW.id); END;
CREATE TABLE idempotency (key TEXT NOT NULL, operation TEXT NOT NULL,
    request_hash TEXT NOT NULL, status INTEGER NOT NULL, body TEXT NOT NULL,
    created_at TEXT NOT NULL, PRIMARY KEY (key, operation));
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class _Leg:
    number: str
    airline: str
    origin: str
    destination: str
    dep_minute: int  # minutes after local midnight
    duration: int


@dataclass(frozen=True, slots=True, kw_only=True)
class _Slot:
    """One daily departure: a nonstop leg or a one-stop pair of legs."""

    legs: tuple[_Leg, ...]
    layover: int
    days: frozenset[int]  # demo weekdays operated (see demo_weekday)
    base_cents: int
    cabins: str
    lowcost: bool


def generator_day(offset: int) -> date:
    """The fixed date that day ``offset`` of the demo is generated as (its seed and season).

    Day ``offset`` after the demo's today, whatever today is, draws its random numbers from
    this date's seed and takes its weekday-like and seasonal variation from it.
    """
    return SEED_DAY + timedelta(days=offset)


def demo_weekday(offset: int) -> int:
    """The weekday-like index (0 = a Monday) of the day ``offset`` days after the demo's today.

    It repeats every 7 days but is not the real weekday of today + ``offset``: the week-shaped
    variation of the inventory (schedules, fares, nightly rates) depends on the offset alone.
    """
    return generator_day(offset).weekday()


def _h(*parts: object) -> float:
    """A stable pseudo-random number in [0, 1) from the parts (not Python's salted hash)."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


_AP = {a[0]: a for a in AIRPORTS}
_PRIMARY = frozenset({"LHR", "CDG", "FRA", "AMS", "MAD", "IST"})
_SECONDARY = frozenset({"LIS", "MUC", "ZRH", "FCO", "BCN", "CPH", "VIE"})
_AL = {a[0]: a for a in AIRLINES}


def _km(a: str, b: str) -> float:
    la1, lo1, la2, lo2 = map(math.radians, (_AP[a][4], _AP[a][5], _AP[b][4], _AP[b][5]))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * 6371 * math.asin(math.sqrt(h))


def _nonstop(a: str, b: str) -> bool:
    ra, rb = _AP[a][7], _AP[b][7]
    if frozenset((a, b)) in NO_SERVICE or _AP[a][6] == _AP[b][6]:
        return False
    h = _h(a, b)
    if ra == rb == "eu":
        return h < (0.6 if {a, b} & _PRIMARY else 0.2 if {a, b} & _SECONDARY else 0.04)
    if ra == rb:
        return h < (0.9 if {a, b} & HUBS else 0.3)
    if "eu" in (ra, rb):
        eu, other = (a, b) if ra == "eu" else (b, a)
        if eu not in _PRIMARY and eu not in _SECONDARY:
            return other in ("DXB", "DOH") and h < 0.15
        return h < (0.7 if other in ("JFK", "EWR", "BOS", "ORD", "YYZ", "DXB", "DOH") else 0.35)
    return bool({a, b} & HUBS) and h < (0.8 if {a, b} & {"DXB", "DOH"} else 0.4)


def _carriers(a: str, b: str) -> list[str]:
    found = [al[0] for al in AIRLINES if a in al[2] or b in al[2]]
    if _AP[a][7] == _AP[b][7] == "eu" and _km(a, b) < 2500:
        found += [lc for lc in ("FR", "U2", "W6", "VY") if _h(lc, a, b) < 0.18 and lc not in found]
    if not found:
        found = [AIRLINES[int(_h("carrier", a, b) * len(AIRLINES))][0]]
    return found[:3]


def _cabins(airline: str, km: float) -> str:
    if _AL[airline][3]:
        return "Y"
    cabins = "YC"
    if km > 3500:
        cabins = "YWC"
    if km > 5000 and airline in ("EK", "QR", "SQ", "NH", "AF", "BA", "LH", "LX", "AA"):
        cabins += "F"
    return cabins


def _base_cents(airline: str, km: float) -> int:
    fare = 35 + km * 0.075 if km < 3000 else 180 + km * 0.055
    return int(fare * (0.6 if _AL[airline][3] else 1.0) * 100)


def _leg_minutes(km: float) -> int:
    return int(round((35 + km / 800 * 60) / 5) * 5)


def _schedule() -> list[_Slot]:
    """The fixed daily schedule of every route, in a stable order."""
    counters = {al[0]: itertools.count(100 + int(_h("start", al[0]) * 300), 7) for al in AIRLINES}
    codes = [a[0] for a in AIRPORTS]
    direct = {(a, b) for a in codes for b in codes if a < b and _nonstop(a, b)}
    direct |= {(b, a) for a, b in direct}
    slots: list[_Slot] = []
    for a, b in sorted(direct):
        km, carriers = _km(a, b), _carriers(a, b)
        count = 1 + (_h("n", a, b) < 0.4) + (a in _PRIMARY and b in _PRIMARY)
        for i in range(count):
            airline = carriers[i % len(carriers)]
            dep = 6 * 60 + int(_h("t", a, b, i) * 16 * 12) * 5
            days = frozenset(range(7)) if _h("d", a, b, i) < 0.8 else frozenset(
                d for d in range(7) if d != int(_h("x", a, b, i) * 7))
            leg = _Leg(number=f"{airline}{next(counters[airline])}", airline=airline, origin=a,
                       destination=b, dep_minute=dep, duration=_leg_minutes(km))
            slots.append(_Slot(legs=(leg,), layover=0, days=days,
                               base_cents=_base_cents(airline, km), cabins=_cabins(airline, km),
                               lowcost=_AL[airline][3]))
    hubs = sorted(HUBS)
    for a in codes:
        for b in codes:
            if a == b or frozenset((a, b)) in NO_SERVICE or _AP[a][6] == _AP[b][6]:
                continue
            if _h("c", a, b) >= (0.1 if (a, b) in direct else 0.12):
                continue
            vias = sorted((_km(a, v) + _km(v, b), v) for v in hubs
                          if v not in (a, b) and (a, v) in direct and (v, b) in direct)
            if not vias or vias[0][0] > 1.5 * _km(a, b):
                continue
            v = vias[0][1]
            airline = _carriers(a, v)[0]
            km1, km2 = _km(a, v), _km(v, b)
            dep = 6 * 60 + int(_h("ct", a, b) * 14 * 12) * 5
            d1, d2 = _leg_minutes(km1), _leg_minutes(km2)
            layover = 50 + int(_h("lay", a, b) * 20) * 5
            arr_v = dep + d1 + int((UTC_OFFSET[v] - UTC_OFFSET[a]) * 60)
            legs = (
                _Leg(number=f"{airline}{next(counters[airline])}", airline=airline, origin=a,
                     destination=v, dep_minute=dep, duration=d1),
                _Leg(number=f"{airline}{next(counters[airline])}", airline=airline, origin=v,
                     destination=b, dep_minute=arr_v + layover, duration=d2),
            )
            base = int(0.8 * (_base_cents(airline, km1) + _base_cents(airline, km2)))
            cabins = "".join(c for c in _cabins(airline, km1 + km2) if c != "F")
            slots.append(_Slot(legs=legs, layover=layover, days=frozenset(range(7)),
                               base_cents=base, cabins=cabins, lowcost=_AL[airline][3]))
    return slots


def _stamp(day: date, minute: int) -> tuple[str, str]:
    """Local (date, "HH:MM") of ``minute`` minutes after midnight of ``day`` (may roll over)."""
    extra, minute = divmod(minute, 24 * 60)
    when = (day + timedelta(days=extra)).isoformat() if extra else day.isoformat()
    return when, f"{minute // 60:02d}:{minute % 60:02d}"


def _shift(leg: _Leg) -> int:
    return int((UTC_OFFSET[leg.destination] - UTC_OFFSET[leg.origin]) * 60)


def flight_rows(today: date, days: int = HORIZON_DAYS) -> Iterator[tuple[object, ...]]:
    """The ``flights`` rows for ``days`` days from ``today``, in insertion order (without ids).

    A pure function of the offset up to the dates: the rows for ``today + n``
    differ between two values of ``today`` only by the date shift.
    """
    return _rows(_schedule(), today, days)


def _rows(slots: list[_Slot], today: date, days: int) -> Iterator[tuple[object, ...]]:
    caps = {"Y": 120, "W": 24, "C": 28, "F": 8}
    for offset in range(days):
        day = today + timedelta(days=offset)
        rng = random.Random(generator_day(offset).toordinal())
        weekday = demo_weekday(offset)
        ahead = 1.5 if offset < 7 else 1.2 if offset < 21 else 1.0 if offset < 60 else 0.9
        dow = (1.0, 0.9, 0.9, 1.0, 1.15, 1.05, 1.15)[weekday]
        for slot in slots:
            if weekday not in slot.days:
                continue
            first, last = slot.legs[0], slot.legs[-1]
            total = sum(leg.duration for leg in slot.legs) + slot.layover
            segments = None
            if len(slot.legs) > 1:
                segs = []
                for leg in slot.legs:
                    d0, t0 = _stamp(day, leg.dep_minute)
                    d1, t1 = _stamp(day, leg.dep_minute + leg.duration + _shift(leg))
                    segs.append({"flight_number": leg.number, "origin": leg.origin,
                                 "destination": leg.destination, "departure": f"{d0}T{t0}",
                                 "arrival": f"{d1}T{t1}"})
                segments = json.dumps(segs)
            arr_minute = first.dep_minute + total + sum(_shift(leg) for leg in slot.legs)
            arr_date, arr_time = _stamp(day, arr_minute)
            early = 0.9 if first.dep_minute < 8 * 60 or first.dep_minute > 20 * 60 else 1.0
            fare = slot.base_cents * ahead * dow * early * (0.82 + 0.48 * rng.random())
            cells: list[int | None] = []
            for letter in "YWCF":
                if letter not in slot.cabins:
                    cells += [None, None]
                    continue
                euros = max(19, round(fare * _CABIN_FACTOR[letter] / 100))
                seats = 0 if rng.random() < 0.03 else 1 + int(rng.random() * caps[letter])
                cells += [euros * 100 - 1, seats]
            yield (first.number, first.airline, first.origin, last.destination,
                   day.isoformat(), _stamp(day, first.dep_minute)[1], arr_date, arr_time,
                   total, len(slot.legs) - 1,
                   first.destination if len(slot.legs) > 1 else None, segments, *cells)


def seed_flights(conn: sqlite3.Connection, today: date, days: int = HORIZON_DAYS) -> None:
    """Create the flight schema in an empty database and fill it for ``days`` from ``today``."""
    conn.executescript(FLIGHTS_SCHEMA)
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO meta VALUES (?, ?)",
                     [("seed_version", str(SEED_VERSION)), ("seeded_for", today.isoformat()),
                      ("service", "flights")])
    conn.executemany("INSERT INTO airports VALUES (?, ?, ?, ?, ?)",
                     [(a[0], a[1], a[2], a[3], a[6]) for a in AIRPORTS])
    conn.executemany("INSERT INTO airlines VALUES (?, ?)", [(a[0], a[1]) for a in AIRLINES])
    conn.executemany(
        "INSERT INTO flights (number, airline, origin, destination, dep_date, dep_time, arr_date,"
        " arr_time, duration, stops, via, segments, price_y, seats_y, price_w, seats_w, price_c,"
        " seats_c, price_f, seats_f) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        flight_rows(today, days))
    conn.execute("COMMIT")
