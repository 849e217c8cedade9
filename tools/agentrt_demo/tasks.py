"""Demo tasks, evaluation hook: load the task set, reset state, run one task through any callable, check it.

A task (one line of ``tasks.jsonl``) is a natural-language request plus ``setup`` (bookings
or sell-outs to create first) and ``expect`` (the bookings that must exist afterwards, the
references that must be cancelled, the facts the answer must state). Dates are day offsets
from the demo clock, resolved when the tasks are loaded: ``{date+21}`` in a request, ``21``
in ``setup``/``expect`` fields named date, check_in or check_out.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import re
import sqlite3
import time
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from agentrt.protocol import maybe_await
from agentrt_demo.checks import expected_offers, expected_rooms
from agentrt_demo.clock import demo_today
from agentrt_demo.db import connect, db_path, reset_db, write_tx
from agentrt_demo.seed import CABIN_LETTERS
from agentrt_demo.serve import DemoServices, running_services
from agentrt_demo.task_model import Task, TaskResult
from agentrt_demo.verdict import check_task

__all__ = ["BLOCK_EMAIL", "Runner", "Task", "TaskResult", "arun_task", "check_task",
           "load_tasks", "reset_state", "run_task"]

TASKS_FILE = Path(__file__).with_name("tasks.jsonl")
BLOCK_EMAIL = "blocked@demo.invalid"
_DATE_KEYS = {"date", "check_in", "check_out"}
Runner = Callable[[str, str, str], "str | Awaitable[str]"]


def _resolve(value: Any, today: date, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _resolve(v, today, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, today, key) for v in value]
    if key in _DATE_KEYS and isinstance(value, int):
        return (today + timedelta(days=value)).isoformat()
    return value


def _request(text: str, today: date) -> str:
    def sub(m: re.Match[str]) -> str:
        return (today + timedelta(days=int(m.group(1)))).isoformat()
    return re.sub(r"\{date([+-]\d+)\}", sub, text)


def load_tasks(path: Path | str | None = None, *, today: date | None = None) -> list[Task]:
    """The task set (default: the bundled ``tasks.jsonl``) with dates resolved for ``today``."""
    day = demo_today(today)
    tasks = []
    for n, line in enumerate(Path(path or TASKS_FILE).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except ValueError as exc:
            raise ValueError(f"{path or TASKS_FILE}:{n}: {exc}") from exc
        tasks.append(Task(id=raw["id"], category=raw["category"], request=_request(raw["request"], day),
                          setup=_resolve(raw.get("setup", []), day),
                          expect=_resolve(raw.get("expect", {}), day), today=day))
    return tasks


def _apply_setup(flights: sqlite3.Connection, hotels: sqlite3.Connection, op: dict[str, Any]) -> None:
    kind = op["op"]
    if kind == "sell_out":
        letter = CABIN_LETTERS[op.get("cabin", "economy")].lower()
        flights.execute(f"UPDATE flights SET seats_{letter} = 0 WHERE origin = ? AND destination = ?"
                        " AND dep_date = ? AND seats_{letter} IS NOT NULL".replace("{letter}", letter),
                        (op["origin"], op["destination"], op["date"]))
    elif kind == "flight_booking":
        pax = op["passengers"]
        offer = expected_offers(flights, {**op, "pax": len(pax)})[0]
        letter = CABIN_LETTERS[op.get("cabin", "economy")].lower()
        number, day = offer["flight_number"], op["date"]
        fid = flights.execute("SELECT id FROM flights WHERE number = ? AND dep_date = ?",
                              (number, day)).fetchone()[0]
        flights.execute(f"UPDATE flights SET seats_{letter} = seats_{letter} - ? WHERE id = ?",
                        (len(pax), fid))
        cents = round(offer["price"] * 100)
        flights.execute("INSERT INTO bookings VALUES (?,?,?,?,?,?,?,?,?,'confirmed',?,NULL)",
                        (op["ref"], fid, offer["offer_id"], op.get("cabin", "economy"), json.dumps(pax),
                         len(pax), op["email"], cents, cents * len(pax), "2000-01-01T00:00:00Z"))
    elif kind == "hotel_booking":
        room = expected_rooms(hotels, op)[0]
        g = op["guest"]
        hotels.execute("INSERT INTO bookings VALUES (?,?,?,?,?,?,?,?,?,?,'confirmed',?,NULL)",
                       (op["ref"], room["room_id"], room["hotel_id"], op["check_in"], op["check_out"],
                        op.get("guests", 1), g["first_name"], g["last_name"], g["email"],
                        round(room["total_price"] * 100), "2000-01-01T00:00:00Z"))
    elif kind == "fill_hotels":
        rooms = hotels.execute("SELECT r.room_id, r.hotel_id, r.total_rooms FROM rooms r JOIN hotels h"
                               " USING (hotel_id) WHERE h.city = ? COLLATE NOCASE", (op["city"],)).fetchall()
        n = 0
        for r in rooms:
            for _ in range(r["total_rooms"]):
                n += 1
                hotels.execute("INSERT INTO bookings VALUES (?,?,?,?,?,1,'Blocked','Block',?,0,"
                               "'confirmed','2000-01-01T00:00:00Z',NULL)",
                               (f"HBBLK{n:03d}", r["room_id"], r["hotel_id"], op["check_in"],
                                op["check_out"], BLOCK_EMAIL))
    else:
        raise ValueError(f"unknown setup op {kind!r}")


def reset_state(state_dir: Path | str, task: Task | None = None, *, today: date | None = None) -> None:
    """Reset both databases to the pristine seed, then apply ``task.setup`` if given."""
    day = task.today if task is not None else demo_today(today)
    reset_db(state_dir, "flights", day)
    reset_db(state_dir, "hotels", day)
    if task is None or not task.setup:
        return
    flights, hotels = connect(db_path(state_dir, "flights")), connect(db_path(state_dir, "hotels"))
    try:
        with write_tx(flights), write_tx(hotels):
            for op in task.setup:
                _apply_setup(flights, hotels, op)
    finally:
        flights.close()
        hotels.close()


async def arun_task(task: Task, runner: Runner, *, state_dir: Path | str | None = None,
                    services: DemoServices | None = None) -> TaskResult:
    """Reset state, run ``runner(request, flights_url, hotels_url)``, check the outcome.

    ``services``: already running demo services to use (their state is reset); otherwise
    both are started for this task on free ports (``state_dir`` or a temp dir).
    """
    with contextlib.ExitStack() as stack:
        if services is None:
            if state_dir is not None:
                reset_state(state_dir, task)
            services = stack.enter_context(running_services(state_dir, today=task.today))
            if state_dir is None:
                reset_state(services.state_dir, task)
        else:
            reset_state(services.state_dir, task)
        started = time.perf_counter()
        if inspect.iscoroutinefunction(runner):
            answer = await runner(task.request, services.flights_url, services.hotels_url)
        else:
            answer = await asyncio.to_thread(runner, task.request, services.flights_url,
                                             services.hotels_url)
            answer = await maybe_await(answer)
        seconds = time.perf_counter() - started
        result = check_task(task, str(answer), services.state_dir)
    return result.model_copy(update={"seconds": seconds})


def run_task(task: Task, runner: Runner, *, state_dir: Path | str | None = None,
             services: DemoServices | None = None) -> TaskResult:
    """Synchronous edge of :func:`arun_task` (must not be called from a running event loop)."""
    return asyncio.run(arun_task(task, runner, state_dir=state_dir, services=services))
