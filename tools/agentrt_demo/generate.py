"""Demo tasks, generator: new tasks of every category of the task set, drawn from the seeded
inventory, for ``agentrt synth`` — never one of the 52 evaluation tasks.

``generate_tasks(n, seed)`` returns :class:`~agentrt_demo.task_model.Task` values in the same
shape as ``tasks.jsonl`` (requests with ``{date+N}`` resolved, ``setup`` and ``expect`` with day
offsets resolved), so the checker (:func:`agentrt_demo.verdict.check_task`) and the reference
solver work on them. Categories are cycled in order; within one, a variant (which lookup, which
kind of unsatisfiable request, ...) and a phrasing (several templates each, in
:mod:`agentrt_demo.generate_templates`) are drawn from a ``random.Random(seed)``. Routes,
dates, cities and counts are drawn until the seeded inventory has the right answer (offers with
seats for everyone, free rooms, or — for unsatisfiable requests — none), so a generated task is
always solvable or always refusable.

``expect`` may carry one key the evaluation tasks do not: ``hints``, read by the programmatic
teacher (:mod:`agentrt_demo.teacher`) and ignored by the checker — the searches that show an
unsatisfiable request cannot be done (``lookups``), what an ambiguous request leaves open
(``missing``), and what it mentions (``origin``, ``destination``, ``city``, ``names``).

No overlap with the evaluation set, asserted for every task generated: the checks live in
:mod:`agentrt_demo.generate_overlap` (:func:`overlap`, :func:`normalized_request`,
:func:`signature`) and are re-exported here.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any

from agentrt_demo.checks import expected_offers, expected_rooms
from agentrt_demo.clock import demo_today
from agentrt_demo.db import connect, ensure_db
from agentrt_demo.generate_overlap import (
    EVAL_NAMES,
    OverlapError,
    eval_index,
    normalized_request,
    overlap,
    signature,
)
from agentrt_demo.generate_templates import (
    AMBIGUOUS,
    BOOK,
    CANCEL,
    HOTEL,
    LOOKUP,
    MULTI_PASSENGER,
    TRIP,
    UNSATISFIABLE,
)
from agentrt_demo.seed_data import AIRPORTS, NO_SERVICE
from agentrt_demo.task_model import CATEGORIES, Task
from agentrt_demo.tasks import _request, _resolve

__all__ = ["EVAL_NAMES", "OverlapError", "eval_index", "generate_raw", "generate_tasks",
           "normalized_request", "overlap", "signature", "weighted_categories"]

_CODES = [a[0] for a in AIRPORTS]
_CITY = {a[0]: a[2] for a in AIRPORTS}
_CITIES = sorted({a[2] for a in AIRPORTS})
_MULTI_AIRPORT = {c: [a[0] for a in AIRPORTS if a[2] == c] for c in _CITIES}
_MULTI_AIRPORT = {c: codes for c, codes in _MULTI_AIRPORT.items() if len(codes) > 1}

#: travellers (none of them in the evaluation set); families share a last name
_PEOPLE: tuple[tuple[str, str, str], ...] = (
    ("Marta", "Costa", "1987-06-14"), ("Lukas", "Brandt", "1991-03-02"),
    ("Chloe", "Martin", "1984-10-21"), ("Ravi", "Patel", "1979-12-05"),
    ("Ingrid", "Larsen", "1993-01-27"), ("Tomas", "Novak", "1982-07-09"),
    ("Elena", "Rossi", "1996-05-18"), ("Kenji", "Mori", "1975-09-30"),
    ("Fatima", "Zahra", "1989-02-11"), ("Oscar", "Lindqvist", "1990-08-08"),
    ("Nadia", "Petrova", "1985-04-03"), ("Diego", "Ramirez", "1977-11-23"),
    ("Hanna", "Nowak", "1998-12-12"), ("Samuel", "Okafor", "1983-03-29"),
    ("Clara", "Dubois", "1994-06-06"), ("Jonas", "Weber", "1980-01-15"),
)
_KIN = ("Rui", "Ines", "Paula", "Leo", "Emma", "Max", "Sofia", "Hugo", "Alma", "Theo")
_REF = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


# -- the inventory -------------------------------------------------------------------------------
class _Inventory:
    def __init__(self, flights: Any, hotels: Any, today: date) -> None:
        self.flights, self.hotels, self.today = flights, hotels, today

    def offers(self, spec: dict[str, Any]) -> list[dict[str, Any]]:
        return expected_offers(self.flights, _resolve(spec, self.today))

    def rooms(self, spec: dict[str, Any]) -> list[dict[str, Any]]:
        return expected_rooms(self.hotels, _resolve(spec, self.today))


@contextmanager
def _inventory(today: date) -> Iterator[_Inventory]:
    with tempfile.TemporaryDirectory(prefix="agentrt-gen-") as tmp:
        flights = connect(ensure_db(tmp, "flights", today))
        hotels = connect(ensure_db(tmp, "hotels", today))
        try:
            yield _Inventory(flights, hotels, today)
        finally:
            flights.close()
            hotels.close()


# -- drawing -------------------------------------------------------------------------------------
class _Draw:
    """One task's random choices."""

    def __init__(self, rng: random.Random, inv: _Inventory) -> None:
        self.rng, self.inv = rng, inv
        #: fixed for one task across redraws, so a variant that is hard to satisfy is
        #: redrawn with new places and dates, not replaced by an easier variant
        self.variant = 0.0

    def kind(self, options: list[str]) -> str:
        """The task's variant among ``options``."""
        return options[int(self.variant * len(options)) % len(options)]

    def day(self, low: int = 4, high: int = 100) -> int:
        return self.rng.randint(low, high)

    def route(self) -> tuple[str, str]:
        a, b = self.rng.sample(_CODES, 2)
        return a, b

    def person(self) -> dict[str, str]:
        first, last, born = self.rng.choice(_PEOPLE)
        return {"first_name": first, "last_name": last, "birth_date": born}

    def group(self, size: int) -> list[dict[str, str]]:
        lead = self.person()
        kin = self.rng.sample(_KIN, size - 1)
        out = [lead]
        for i, first in enumerate(kin):
            year = self.rng.choice((1980 + 3 * i, 2008 + i, 2012 + i))
            out.append({"first_name": first, "last_name": lead["last_name"],
                        "birth_date": f"{year}-{self.rng.randint(1, 12):02d}-"
                                      f"{self.rng.randint(1, 28):02d}"})
        return out

    def ref(self, hotel: bool = False) -> str:
        body = "".join(self.rng.choice(_REF) for _ in range(6))
        return f"HB{body}" if hotel else body

    def pick(self, options: Sequence[str]) -> str:
        return self.rng.choice(options)


def _d(day: int) -> str:
    """The request placeholder for day ``day`` (resolved like the task set's)."""
    return f"{{date{day:+d}}}"


def _email(p: Mapping[str, str]) -> str:
    return f"{p['first_name']}.{p['last_name']}".lower().replace(" ", "") + "@example.org"


def _who(p: Mapping[str, str]) -> str:
    return f"{p['first_name']} {p['last_name']} (born {p['birth_date']})"


def _flight(origin: str, destination: str, day: int, *, pick: str = "cheapest",
            cabin: str = "economy", nonstop: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {"origin": origin, "destination": destination, "date": day,
                            "cabin": cabin, "pick": pick}
    if nonstop:
        spec["nonstop"] = True
    return spec


Maker = Callable[[_Draw], "dict[str, Any] | None"]


def _lookup(d: _Draw) -> dict[str, Any] | None:
    kind = d.kind(["airport", "city", "cheapest", "earliest", "business", "hotel"])
    if kind == "airport":
        code = d.pick(_CODES)
        req = d.pick(LOOKUP["airport"])
        return {"request": req.format(c=code),
                "expect": {"facts": [{"kind": "airport_name", "code": code}]}}
    if kind == "city":
        city = d.pick(_CITIES)
        codes = [a[0] for a in AIRPORTS if a[2] == city]
        req = d.pick(LOOKUP["city"])
        return {"request": req.format(c=city),
                "expect": {"facts": [{"kind": "contains", "any": [c]} for c in codes],
                           "hints": {"city": city}}}
    if kind == "hotel":
        city, day = d.pick(_CITIES), d.day(5, 90)
        stay = d.rng.randint(1, 5)
        spec = {"city": city, "check_in": day, "check_out": day + stay, "guests": 1}
        if not d.inv.rooms(spec):
            return None
        req = d.pick(LOOKUP["hotel"])
        return {"request": req.format(c=city, a=_d(day), b=_d(day + stay)),
                "expect": {"facts": [{"kind": "hotel", **spec,
                                      "say": ["hotel_name", "total_price"]}]}}
    (a, b), day = d.route(), d.day()
    pick = "earliest" if kind == "earliest" else "cheapest"
    cabin = "business" if kind == "business" else "economy"
    spec = {**_flight(a, b, day, pick=pick, cabin=cabin), "pax": 1}
    if not d.inv.offers(spec):
        return None
    if kind == "earliest":
        say = ["departure_time"]
        req = d.pick(LOOKUP["earliest"])
    elif kind == "business":
        say = ["price"]
        req = d.pick(LOOKUP["business"])
    else:
        say = d.rng.choice([["price"], ["flight_number", "price"]])
        req = d.pick(LOOKUP["cheapest"])
    return {"request": req.format(a=a, b=b, ca=_CITY[a], cb=_CITY[b], d=_d(day)),
            "expect": {"facts": [{"kind": "flight", **spec, "say": say}]}}


def _book(pick: str, nonstop: bool = False) -> Maker:
    def make(d: _Draw) -> dict[str, Any] | None:
        (a, b), day, person = d.route(), d.day(), d.person()
        spec = {**_flight(a, b, day, pick=pick, nonstop=nonstop), "passengers": [person],
                "email": _email(person)}
        if not d.inv.offers({**spec, "pax": 1}):
            return None
        req = d.pick(BOOK["nonstop" if nonstop else pick])
        return {"request": req.format(a=a, b=b, ca=_CITY[a], cb=_CITY[b], d=_d(day),
                                      who=_who(person),
                                      e=_email(person)),
                "expect": {"flight_bookings": [spec], "facts": [{"kind": "refs"}]}}

    return make


def _hotel_spec(d: _Draw, city: str, day: int, stay: int, guest: Mapping[str, str],
                guests: int = 1, **extra: Any) -> dict[str, Any]:
    return {"city": city, "check_in": day, "check_out": day + stay, "guests": guests,
            **extra, "guest": {"first_name": guest["first_name"],
                               "last_name": guest["last_name"], "email": _email(guest)}}


def _hotel(d: _Draw) -> dict[str, Any] | None:
    city, day, stay, person = d.pick(_CITIES), d.day(5, 95), d.rng.randint(1, 6), d.person()
    kind = d.kind(["cheapest", "best_rated", "min_rating", "family"])
    guests = 4 if kind == "family" else d.rng.choice((1, 2)) if kind != "min_rating" else 1
    extra: dict[str, Any] = {}
    if kind == "best_rated":
        extra["pick"] = "best_rated"
    if kind == "min_rating":
        extra["min_rating"] = d.rng.choice((3.5, 4.0, 4.5))
    spec = _hotel_spec(d, city, day, stay, person, guests, **extra)
    if not d.inv.rooms(spec):
        return None
    fmt = {"c": city, "a": _d(day), "b": _d(day + stay), "g": guests,
           "n": f"{person['first_name']} {person['last_name']}", "e": _email(person),
           "r": extra.get("min_rating")}
    req = d.pick(HOTEL[kind]).format(**fmt)
    return {"request": req, "expect": {"hotel_bookings": [spec], "facts": [{"kind": "refs"}]}}


def _trip(d: _Draw) -> dict[str, Any] | None:
    (a, b), day, person = d.route(), d.day(5, 90), d.person()
    stay, city = d.rng.randint(2, 5), _CITY[b]
    flight = {**_flight(a, b, day), "passengers": [person], "email": _email(person)}
    hotel = _hotel_spec(d, city, day, stay, person)
    if not d.inv.offers({**flight, "pax": 1}) or not d.inv.rooms(hotel):
        return None
    req = d.pick(TRIP)
    return {"request": req.format(a=a, b=b, c=city, d=_d(day),
                                  o=_d(day + stay), who=_who(person),
                                  e=_email(person)),
            "expect": {"flight_bookings": [flight], "hotel_bookings": [hotel],
                       "facts": [{"kind": "refs"}]}}


def _cancel(d: _Draw) -> dict[str, Any] | None:
    kind = d.kind(["flight", "hotel", "both", "say_flight", "rebook"])
    person, other = d.rng.sample(_PEOPLE, 2)
    p = {"first_name": person[0], "last_name": person[1], "birth_date": person[2]}
    q = {"first_name": other[0], "last_name": other[1], "birth_date": other[2]}
    (a, b), day = d.route(), d.day(10, 80)
    ref, decoy, href = d.ref(), d.ref(), d.ref(hotel=True)
    booking = {"op": "flight_booking", "ref": ref, **_flight(a, b, day), "passengers": [p],
               "email": _email(p)}
    decoy_booking = {"op": "flight_booking", "ref": decoy, **_flight(b, a, day + 3),
                     "passengers": [q], "email": _email(q)}
    hotel = {"op": "hotel_booking", "ref": href,
             **_hotel_spec(d, _CITY[b], day, d.rng.randint(2, 4), p)}
    if not d.inv.offers({**booking, "pax": 1}) or not d.inv.offers({**decoy_booking, "pax": 1}):
        return None
    if kind in ("hotel", "both") and not d.inv.rooms(hotel):
        return None
    contains = {"kind": "contains", "any": ["cancel"]}
    if kind == "flight":
        req = d.pick(CANCEL["flight"]).format(r=ref)
        return {"request": req, "setup": [booking, decoy_booking],
                "expect": {"cancelled": [ref], "facts": [contains]}}
    if kind == "hotel":
        req = d.pick(CANCEL["hotel"]).format(r=href)
        return {"request": req, "setup": [hotel],
                "expect": {"cancelled": [href], "facts": [contains]}}
    if kind == "both":
        req = d.pick(CANCEL["both"])
        return {"request": req.format(f=ref, h=href), "setup": [booking, hotel],
                "expect": {"cancelled": [ref, href], "facts": [contains]}}
    if kind == "say_flight":
        req = d.pick(CANCEL["say_flight"]).format(r=ref)
        return {"request": req, "setup": [booking, decoy_booking],
                "expect": {"cancelled": [ref], "facts": [
                    {"kind": "flight", **_flight(a, b, day), "pax": 1,
                     "say": ["flight_number"]}]}}
    new_day = day + d.rng.randint(1, 6)
    rebook = {**_flight(a, b, new_day), "passengers": [p], "email": _email(p)}
    if not d.inv.offers({**rebook, "pax": 1}):
        return None
    req = d.pick(CANCEL["rebook"])
    return {"request": req.format(r=ref, a=a, b=b, d=_d(new_day), who=_who(p),
                                  e=_email(p)),
            "setup": [booking], "expect": {"cancelled": [ref], "flight_bookings": [rebook],
                                           "facts": [{"kind": "refs"}]}}


def _multi(d: _Draw) -> dict[str, Any] | None:
    size = d.rng.randint(2, 4)
    people = d.group(size)
    (a, b), day = d.route(), d.day()
    cabin = "business" if d.rng.random() < 0.25 else "economy"
    pick = "earliest" if d.rng.random() < 0.25 else "cheapest"
    spec = {**_flight(a, b, day, pick=pick, cabin=cabin), "passengers": people,
            "email": _email(people[0])}
    if not d.inv.offers({**spec, "pax": size}):
        return None
    names = ", ".join(_who(p) for p in people[:-1]) + " and " + _who(people[-1])
    req = d.pick(MULTI_PASSENGER)
    return {"request": req.format(p=pick, c=cabin, a=a, b=b, ca=_CITY[a], cb=_CITY[b],
                                  d=_d(day), k=size,
                                  n=names, e=_email(people[0])),
            "expect": {"flight_bookings": [spec], "facts": [{"kind": "refs"}]}}


def _unsatisfiable(d: _Draw) -> dict[str, Any] | None:
    kind = d.kind(["no_route", "sold_out", "hotels_full", "past_date", "over_budget"])
    person = d.person()
    who, email = _who(person), _email(person)
    negative = {"kind": "negative"}
    if kind == "hotels_full":
        city, day, stay = d.pick(_CITIES), d.day(5, 90), d.rng.randint(1, 4)
        spec = {"city": city, "check_in": day, "check_out": day + stay, "guests": 1}
        req = d.pick(UNSATISFIABLE["hotels_full"])
        return {"request": req.format(c=city, a=_d(day), b=_d(day + stay),
                                      n=f"{person['first_name']} {person['last_name']}",
                                      e=email),
                "setup": [{"op": "fill_hotels", "city": city, "check_in": day,
                           "check_out": day + stay}],
                "expect": {"facts": [negative], "hints": {"lookups": [
                    {"kind": "hotel", **spec}]}}}
    if kind == "no_route":
        a, b = d.rng.choice(sorted(tuple(sorted(p)) for p in NO_SERVICE)) if d.rng.random() < 0.5 else d.route()
        day = d.day()
        spec = _flight(a, b, day)
        if d.inv.offers({**spec, "pax": 1}):
            return None
    elif kind == "past_date":
        (a, b), day = d.route(), -d.rng.randint(1, 12)
        spec = _flight(a, b, day)
    else:
        (a, b), day = d.route(), d.day()
        spec = _flight(a, b, day, cabin="business" if kind == "over_budget" else "economy")
        offers = d.inv.offers({**spec, "pax": 1})
        if not offers:
            return None
        if kind == "over_budget":
            limit = d.rng.choice((30, 40, 60, 80))
            if offers[0]["price"] <= limit:
                return None
            spec["max_price"] = limit
    lookup = {"kind": "flight", **spec, "pax": 1}
    fmt = {"a": a, "b": b, "ca": _CITY[a], "cb": _CITY[b], "d": _d(day), "who": who,
           "e": email}
    if kind == "sold_out":
        req = d.pick(UNSATISFIABLE["sold_out"]).format(**fmt)
        return {"request": req,
                "setup": [{"op": "sell_out", "origin": a, "destination": b, "date": day,
                           "cabin": "economy"}],
                "expect": {"facts": [negative], "hints": {"lookups": [lookup]}}}
    if kind == "over_budget":
        req = d.pick(UNSATISFIABLE["over_budget"]).format(m=spec["max_price"], **fmt)
    else:
        req = d.pick(UNSATISFIABLE["no_flight"]).format(**fmt)
    return {"request": req, "expect": {"facts": [negative], "hints": {"lookups": [lookup]}}}


def _ambiguous(d: _Draw) -> dict[str, Any] | None:
    kind = d.kind(["date", "passenger", "reference", "city", "airport"])
    person = d.person()
    name = f"{person['first_name']} {person['last_name']}"
    question = {"kind": "question"}
    (a, b), day = d.route(), d.day()
    hints: dict[str, Any]
    if kind == "date":
        req = d.pick(AMBIGUOUS["date"])
        hints = {"missing": "date", "origin": a, "destination": b, "names": [name]}
    elif kind == "passenger":
        req = d.pick(AMBIGUOUS["passenger"])
        hints = {"missing": "passenger", "origin": a, "destination": b, "date": day}
    elif kind == "reference":
        req = d.pick(AMBIGUOUS["reference"])
        hints = {"missing": "reference", "names": [name]}
    elif kind == "city":
        req = d.pick(AMBIGUOUS["city"])
        hints = {"missing": "city", "names": [name], "date": day}
    else:
        city = d.pick(sorted(_MULTI_AIRPORT))
        a = d.pick([c for c in _CODES if _CITY[c] != city])
        req = d.pick(AMBIGUOUS["airport"]).replace("{c}", city)
        hints = {"missing": "airport", "origin": a, "city": city, "date": day, "names": [name]}
    return {"request": req.format(a=a, b=b, ca=_CITY[a], cb=_CITY[b], d=_d(day),
                                  n=name),
            "expect": {"facts": [question], "hints": hints}}


_MAKERS: dict[str, Maker] = {
    "lookup": _lookup, "book_cheapest": _book("cheapest"), "book_earliest": _book("earliest"),
    "book_nonstop": _book("cheapest", nonstop=True), "hotel": _hotel,
    "flight_and_hotel": _trip, "cancel": _cancel, "multi_passenger": _multi,
    "unsatisfiable": _unsatisfiable, "ambiguous": _ambiguous,
}
assert set(_MAKERS) == set(CATEGORIES)


def weighted_categories(weights: Mapping[str, int]) -> tuple[str, ...]:
    """The category cycle for ``generate_*(categories=)``: every category of the task set,
    each repeated by its weight (1 when not named; 0 leaves it out), in the task set's order.
    Raises ``ValueError`` for an unknown category, a negative weight or nothing left."""
    unknown = sorted(set(weights) - set(CATEGORIES))
    if unknown:
        raise ValueError(f"unknown categor{'y' if len(unknown) == 1 else 'ies'} "
                         f"{', '.join(unknown)}; known: {', '.join(CATEGORIES)}")
    if any(w < 0 for w in weights.values()):
        raise ValueError("a category weight cannot be negative")
    cycle = tuple(c for c in CATEGORIES for _ in range(weights.get(c, 1)))
    if not cycle:
        raise ValueError("every category has weight 0: nothing to generate")
    return cycle


def generate_raw(n: int, seed: int = 0, *, today: date | None = None,
                 categories: tuple[str, ...] = CATEGORIES, tries: int = 200
                 ) -> list[dict[str, Any]]:
    """``n`` raw tasks (``tasks.jsonl`` lines: ``{date+N}`` placeholders, day offsets),
    ``categories`` cycled in order (see :func:`weighted_categories` for a mix). Raises :class:`OverlapError` if one overlapped the evaluation
    set (never: overlapping draws are redrawn; the check is the assertion)."""
    rng = random.Random(seed)
    index = eval_index()
    seen_requests: set[str] = set()
    out: list[dict[str, Any]] = []
    with _inventory(demo_today(today)) as inv:
        draw = _Draw(rng, inv)
        for i in range(n):
            category = categories[i % len(categories)]
            draw.variant = rng.random()
            for _ in range(tries):
                raw = _MAKERS[category](draw)
                if raw is None or overlap({**raw, "category": category}, index):
                    continue
                key = normalized_request(raw["request"])
                if key in seen_requests:
                    continue
                seen_requests.add(key)
                out.append({"id": f"gen-{seed}-{i:04d}-{category}", "category": category,
                            **raw})
                break
            else:
                raise RuntimeError(f"no {category} task found in {tries} draws (seed {seed})")
    for raw in out:
        why = overlap(raw, index)
        if why:
            raise OverlapError(f"{raw['id']}: {why}")
    return out


def generate_tasks(n: int, seed: int = 0, *, today: date | None = None,
                   categories: tuple[str, ...] = CATEGORIES) -> list[Task]:
    """``n`` generated tasks with dates resolved for ``today`` (the demo clock's by default)."""
    day = demo_today(today)
    return [Task(id=raw["id"], category=raw["category"], request=_request(raw["request"], day),
                 setup=_resolve(raw.get("setup", []), day),
                 expect=_resolve(raw.get("expect", {}), day), today=day)
            for raw in generate_raw(n, seed, today=day, categories=categories)]
