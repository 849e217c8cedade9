"""The demo is date-independent: "day N after today" holds the same inventory, and every task
has the same right answer, whatever today is (only the ISO dates shown move).

Two demo dates are compared on purpose that differ in weekday, month and year, so that any
dependence on the calendar (weekday schedules, weekend or seasonal prices, a date-seeded
random generator) changes some row or some task outcome.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from agentrt_demo import running_services
from agentrt_demo.checks import expected_offers, expected_rooms
from agentrt_demo.db import db_path
from agentrt_demo.oracle import oracle_runner
from agentrt_demo.seed import HORIZON_DAYS, SEED_DAY, demo_weekday, generator_day
from agentrt_demo.seed_hotels import seeded_for
from agentrt_demo.tasks import load_tasks, reset_state, run_task

DAY_A, DAY_B = date(2026, 11, 25), date(2027, 3, 2)  # a Wednesday in November, a Tuesday in March
SHIFT = DAY_B - DAY_A
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_REF = re.compile(r"\breference (HB)?[A-Z0-9]{6}\b")  # booking references are random by design


def _shift(value: Any) -> Any:
    """``value`` with every demo date in it (near DAY_A; not a birth date) moved to DAY_B's calendar."""
    if not isinstance(value, str):
        return value

    def move(m: re.Match[str]) -> str:
        day = date.fromisoformat(m.group())
        near = abs((day - DAY_A).days) <= HORIZON_DAYS + 31
        return (day + SHIFT).isoformat() if near else m.group()

    return _ISO_DATE.sub(move, value)


@pytest.fixture(scope="module")
def states(tmp_path_factory: pytest.TempPathFactory) -> dict[date, Path]:
    """A pristine state directory (both databases) seeded for each of the two demo dates."""
    out = {}
    for day in (DAY_A, DAY_B):
        out[day] = tmp_path_factory.mktemp(f"demo-{day.isoformat()}")
        reset_state(out[day], today=day)
    return out


def _rows(state: Path, service: str, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{db_path(state, service)}?mode=ro", uri=True)
    try:
        return [tuple(r) for r in conn.execute(sql)]
    finally:
        conn.close()


def test_the_two_dates_differ_in_every_calendar_respect() -> None:
    assert DAY_A.weekday() != DAY_B.weekday() and DAY_A.month != DAY_B.month
    assert SHIFT.days % 7 != 0  # else a weekday-seeded inventory would still match
    week = [demo_weekday(n) for n in range(14)]
    assert sorted(week[:7]) == list(range(7)) and week[7:] == week[:7]
    assert demo_weekday(0) == generator_day(0).weekday() == SEED_DAY.weekday()


def test_flight_rows_are_identical_up_to_the_date_shift(states: dict[date, Path]) -> None:
    sql = "SELECT * FROM flights ORDER BY id"
    a, b = _rows(states[DAY_A], "flights", sql), _rows(states[DAY_B], "flights", sql)
    assert len(a) > 100_000  # every row of the 120-day horizon is compared
    assert len(a) == len(b)
    shifted = [tuple(_shift(v) for v in row) for row in a]
    mismatch = next((i for i, (x, y) in enumerate(zip(shifted, b, strict=True)) if x != y), None)
    assert mismatch is None, (a[mismatch], b[mismatch])
    dep_dates = {row[5] for row in b}  # the dates shown stay real ISO dates today + N
    assert min(dep_dates) == DAY_B.isoformat()
    assert max(dep_dates) == (DAY_B + timedelta(days=HORIZON_DAYS - 1)).isoformat()
    first_segments = next(row[12] for row in b if row[12])
    assert all(_ISO_DATE.fullmatch(s["departure"][:10]) for s in json.loads(first_segments))


def _best_rooms(conn: sqlite3.Connection, city: str, check_in: date,
                nights: int) -> list[tuple[Any, ...]]:
    spec = {"city": city, "check_in": check_in.isoformat(),
            "check_out": (check_in + timedelta(days=nights)).isoformat()}
    return [(r["room_id"], r["total_price"]) for r in expected_rooms(conn, spec)]


def test_hotel_inventory_and_stay_prices_are_identical(states: dict[date, Path]) -> None:
    for table in ("hotels", "rooms"):
        sql = f"SELECT * FROM {table} ORDER BY 1"
        assert _rows(states[DAY_A], "hotels", sql) == _rows(states[DAY_B], "hotels", sql)
    conns = {day: sqlite3.connect(db_path(states[day], "hotels")) for day in states}
    try:
        for conn in conns.values():
            conn.row_factory = sqlite3.Row
        assert {day: seeded_for(conn) for day, conn in conns.items()} == {DAY_A: DAY_A, DAY_B: DAY_B}
        for city in ("Lisbon", "Paris", "New York", "Tokyo"):
            for offset, nights in ((1, 1), (4, 3), (11, 2), (29, 3), (58, 7), (100, 5)):
                got = [_best_rooms(conns[day], city, day + timedelta(days=offset), nights)
                       for day in (DAY_A, DAY_B)]
                assert got[0] == got[1] != [], (city, offset, nights)
    finally:
        for conn in conns.values():
            conn.close()


def test_expected_offers_are_identical(states: dict[date, Path]) -> None:
    conns = {day: sqlite3.connect(db_path(states[day], "flights")) for day in states}
    try:
        for conn in conns.values():
            conn.row_factory = sqlite3.Row
        for origin, dest in (("LIS", "MAD"), ("LHR", "JFK"), ("FRA", "SIN")):
            for offset in range(0, HORIZON_DAYS, 9):
                for pick in ("cheapest", "earliest"):
                    got = [[(o["offer_id"][: o["offer_id"].index("-")], o["price"])
                            for o in expected_offers(conns[day], {
                                "origin": origin, "destination": dest, "pick": pick,
                                "date": (day + timedelta(days=offset)).isoformat()})]
                           for day in (DAY_A, DAY_B)]
                    assert got[0] == got[1], (origin, dest, offset, pick)
    finally:
        for conn in conns.values():
            conn.close()


def _outcomes(day: date, state: Path) -> Iterator[tuple[str, bool, list[str], str]]:
    """(task id, passed, reasons, answer with booking references masked) for every task."""
    tasks = load_tasks(today=day)
    with running_services(state, today=day) as services:
        for task in tasks:
            result = run_task(task, oracle_runner(task), services=services)
            yield (task.id, result.passed, result.reasons,
                   _REF.sub("reference <ref>", result.answer))


def test_every_task_has_the_same_outcome_on_both_dates(states: dict[date, Path]) -> None:
    a, b = list(_outcomes(DAY_A, states[DAY_A])), list(_outcomes(DAY_B, states[DAY_B]))
    assert len(a) == len(b) == len(load_tasks())
    assert [t for t in a if not t[1]] == []  # the reference solver passes every task
    differ = [(x, y) for x, y in zip(a, b, strict=True)
              if (x[0], x[1], [_shift(r) for r in x[2]], _shift(x[3])) != y]
    assert differ == []


def test_task_texts_are_the_same_up_to_the_dates() -> None:
    a, b = load_tasks(today=DAY_A), load_tasks(today=DAY_B)
    for x, y in zip(a, b, strict=True):
        assert _shift(x.request) == y.request
        assert json.loads(_shift(json.dumps(x.expect))) == y.expect
        assert json.loads(_shift(json.dumps(x.setup))) == y.setup
    past = next(t for t in b if t.id == "past-date")  # a past date stays in the past
    assert (DAY_B - timedelta(days=3)).isoformat() in past.request
