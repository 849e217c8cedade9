"""Demo tasks, checking stage: judge a finished task from the database state and the answer text.

The database must hold exactly the expected new confirmed bookings (right offer or room, right
people, right contact), the expected references must be cancelled and no other pre-existing
booking touched; the answer must state the expected facts. Every failed condition is a reason.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from agentrt_demo.checks import NEGATIVE_WORDS, expected_offers, expected_rooms, mentions_number
from agentrt_demo.db import connect, db_path
from agentrt_demo.task_model import Task, TaskResult

__all__ = ["check_task"]


def _names(people: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    return sorted(tuple(str(p.get(k, "")).strip().lower() for k in ("first_name", "last_name", "birth_date"))
                  for p in people)


def _flight_reasons(conn: sqlite3.Connection, task: Task, setup_refs: set[str]) -> tuple[list[str], set[str]]:
    reasons: list[str] = []
    rows = conn.execute("SELECT * FROM bookings").fetchall()
    run_refs = frozenset(r["booking_id"] for r in rows if r["booking_id"] not in setup_refs)
    new = [r for r in rows if r["booking_id"] in run_refs and r["status"] == "confirmed"]
    wanted = task.expect.get("flight_bookings", [])
    if len(new) != len(wanted):
        reasons.append(f"expected {len(wanted)} new flight booking(s), found {len(new)}"
                       f" ({', '.join(r['offer_id'] for r in new) or 'none'})")
    unused = list(new)
    for spec in wanted:
        pax = spec["passengers"]
        offers = {o["offer_id"] for o in expected_offers(conn, {**spec, "pax": len(pax)}, run_refs)}
        if not offers:
            reasons.append(f"task error: no offer satisfies {spec}")
            continue
        match = next((r for r in unused if r["offer_id"] in offers), None)
        if match is None:
            reasons.append(f"no booking on the right offer ({' or '.join(sorted(offers))})")
            continue
        unused.remove(match)
        if _names(json.loads(match["passengers"])) != _names(pax):
            reasons.append(f"booking {match['booking_id']} has the wrong passengers")
        if match["contact_email"].strip().lower() != spec["email"].lower():
            reasons.append(f"booking {match['booking_id']} has contact {match['contact_email']!r}")
    for ref in task.expect.get("cancelled", []):
        row = next((r for r in rows if r["booking_id"] == ref), None)
        if row is not None and row["status"] != "cancelled":
            reasons.append(f"flight booking {ref} was not cancelled")
    reasons += [f"flight booking {r['booking_id']} was cancelled but should not be" for r in rows
                if r["booking_id"] in setup_refs and r["status"] == "cancelled"
                and r["booking_id"] not in task.expect.get("cancelled", [])]
    return reasons, {r["booking_id"] for r in new}


def _hotel_reasons(conn: sqlite3.Connection, task: Task, setup_refs: set[str]) -> tuple[list[str], set[str]]:
    reasons: list[str] = []
    rows = conn.execute("SELECT * FROM bookings").fetchall()
    run_refs = frozenset(r["booking_id"] for r in rows if r["booking_id"] not in setup_refs)
    new = [r for r in rows if r["booking_id"] in run_refs and r["status"] == "confirmed"]
    wanted = task.expect.get("hotel_bookings", [])
    if len(new) != len(wanted):
        reasons.append(f"expected {len(wanted)} new hotel booking(s), found {len(new)}"
                       f" ({', '.join(r['room_id'] for r in new) or 'none'})")
    unused = list(new)
    for spec in wanted:
        rooms = {r["room_id"] for r in expected_rooms(conn, spec, run_refs)}
        if not rooms:
            reasons.append(f"task error: no room satisfies {spec}")
            continue
        match = next((r for r in unused if r["room_id"] in rooms and r["check_in"] == spec["check_in"]
                      and r["check_out"] == spec["check_out"]), None)
        if match is None:
            reasons.append(f"no booking of the right room ({' or '.join(sorted(rooms))}) for"
                           f" {spec['check_in']}..{spec['check_out']}")
            continue
        unused.remove(match)
        g = spec["guest"]
        if (match["first_name"].strip().lower(), match["last_name"].strip().lower(),
                match["email"].strip().lower()) != (g["first_name"].lower(), g["last_name"].lower(),
                                                    g["email"].lower()):
            reasons.append(f"hotel booking {match['booking_id']} is for the wrong guest")
        if match["guests"] != spec.get("guests", 1):
            reasons.append(f"hotel booking {match['booking_id']} is for {match['guests']} guest(s)")
    for ref in task.expect.get("cancelled", []):
        row = next((r for r in rows if r["booking_id"] == ref), None)
        if row is not None and row["status"] != "cancelled":
            reasons.append(f"hotel booking {ref} was not cancelled")
    reasons += [f"hotel booking {r['booking_id']} was cancelled but should not be" for r in rows
                if r["booking_id"] in setup_refs and r["status"] == "cancelled"
                and r["booking_id"] not in task.expect.get("cancelled", [])]
    return reasons, {r["booking_id"] for r in new}


def _fact_reason(fact: dict[str, Any], answer: str, flights: sqlite3.Connection,
                 hotels: sqlite3.Connection, new_refs: set[str], run_refs: frozenset[str]) -> str | None:
    kind, low = fact["kind"], answer.lower()
    if kind == "contains":
        ok = any(s.lower() in low for s in fact["any"])
        return None if ok else f"answer does not mention any of {fact['any']}"
    if kind == "refs":
        missing = sorted(r for r in new_refs if r.lower() not in low)
        return f"answer does not give booking reference(s) {missing}" if missing else None
    if kind == "negative":
        return None if any(w in low for w in NEGATIVE_WORDS) else "answer does not say it cannot be done"
    if kind == "question":
        return None if "?" in answer else "answer does not ask a clarifying question"
    if kind == "airport_name":
        row = flights.execute("SELECT name FROM airports WHERE code = ?", (fact["code"],)).fetchone()
        return None if row and row["name"].lower() in low else f"answer does not name airport {fact['code']}"
    if kind == "flight":
        offers = expected_offers(flights, fact, run_refs)
        for o in offers:
            said = {"flight_number": o["flight_number"].lower() in low,
                    "price": mentions_number(answer, o["price"]) or mentions_number(answer, o["total_price"]),
                    "departure_time": o["departure_time"] in answer}
            if all(said[k] for k in fact["say"]):
                return None
        return f"answer does not state the {fact['say']} of the expected flight"
    if kind == "hotel":
        for r in expected_rooms(hotels, fact, run_refs):
            said = {"hotel_name": r["hotel_name"].lower() in low,
                    "total_price": mentions_number(answer, r["total_price"])}
            if all(said[k] for k in fact["say"]):
                return None
        return f"answer does not state the {fact['say']} of the expected hotel"
    raise ValueError(f"unknown fact kind {kind!r}")


def check_task(task: Task, answer: str, state_dir: Path | str) -> TaskResult:
    """Judge a finished run of ``task`` from the databases in ``state_dir`` and the ``answer``."""
    setup_refs = {op["ref"] for op in task.setup if "ref" in op}
    flights, hotels = connect(db_path(state_dir, "flights")), connect(db_path(state_dir, "hotels"))
    try:
        hotel_setup = setup_refs | {r[0] for r in hotels.execute(
            "SELECT booking_id FROM bookings WHERE booking_id LIKE 'HBBLK%'")}
        f_reasons, f_new = _flight_reasons(flights, task, setup_refs)
        h_reasons, h_new = _hotel_reasons(hotels, task, hotel_setup)
        reasons = f_reasons + h_reasons
        run_refs = frozenset(
            r[0] for conn, known in ((flights, setup_refs), (hotels, hotel_setup))
            for r in conn.execute("SELECT booking_id FROM bookings") if r[0] not in known)
        for fact in task.expect.get("facts", []):
            reason = _fact_reason(fact, answer, flights, hotels, f_new | h_new, run_refs)
            if reason:
                reasons.append(reason)
    finally:
        flights.close()
        hotels.close()
    return TaskResult(task_id=task.id, passed=not reasons, reasons=reasons, answer=answer)
