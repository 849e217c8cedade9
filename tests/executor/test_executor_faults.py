"""Over a real socket: a fault-injecting booking server (SQLite, WAL, dedup by Idempotency-Key)
and >= 1,000 booking attempts — zero duplicate bookings, and every outcome tells the truth."""

from __future__ import annotations

import asyncio
import collections
import random
import socket
import sqlite3
import struct
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from structlog.testing import capture_logs

from agentrt.executor import Executor, RetryPolicy
from agentrt.servers import serve_in_thread
from agentrt.toolset.tool import Body, Param

ATTEMPTS = 1000
READ_TIMEOUT = 0.5
SLOW = 0.7
#: fault -> weight, drawn per request (seeded): most requests are hit by something
FAULTS = {"none": 50, "503": 10, "502": 6, "504": 4, "429": 6, "reset_before": 8,
          "reset_after": 14, "slow_before": 4, "slow_after": 4, "500_after": 0}
#: faults after which the server may have committed and the client cannot know
ANSWER_LOST = {"reset_before", "reset_after", "slow_before", "slow_after"}


def _abort(request: Request) -> None:
    """Drop the TCP connection with a reset (SO_LINGER 0), no response."""
    cycle = request.scope["faults.send"].__self__  # uvicorn's RequestResponseCycle
    sock = cycle.transport.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    cycle.transport.abort()


class BookingServer:
    """Books seats; deduplicates by Idempotency-Key; injects faults chosen per request."""

    def __init__(self, db: Path, *, seed: int = 7) -> None:
        self.conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")  # WAL: durable enough, no fsync per commit
        self.conn.executescript("""
            CREATE TABLE bookings (id INTEGER PRIMARY KEY, reference TEXT, flight TEXT,
                                   idem_key TEXT);
            CREATE TABLE idempotency (key TEXT PRIMARY KEY, status INTEGER, body TEXT);
        """)
        self.seed = seed
        self.faults_on = True
        self.seen: collections.Counter[str] = collections.Counter()
        #: every request received: (reference, idempotency key, fault, replayed?)
        self.ledger: list[tuple[str, str, str, bool]] = []
        names, weights = zip(*FAULTS.items(), strict=True)
        self._names, self._weights = list(names), list(weights)
        starlette = Starlette(routes=[Route("/bookings", self.book, methods=["POST"])])

        async def app(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                scope["faults.send"] = send
            await starlette(scope, receive, send)

        self.app = app

    def _fault(self, ref: str, n: int) -> str:
        if not self.faults_on:
            return "none"
        return random.Random(f"{self.seed}:{ref}:{n}").choices(self._names, self._weights)[0]

    def _commit(self, key: str, ref: str, flight: str) -> tuple[int, dict[str, Any], bool]:
        import json

        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            row = c.execute("SELECT status, body FROM idempotency WHERE key = ?",
                            (key,)).fetchone()
            if row is not None:
                c.execute("COMMIT")
                return row[0], json.loads(row[1]), True
            cur = c.execute("INSERT INTO bookings (reference, flight, idem_key) VALUES (?,?,?)",
                            (ref, flight, key))
            body = {"booking_id": cur.lastrowid, "reference": ref, "flight": flight}
            c.execute("INSERT INTO idempotency VALUES (?, ?, ?)", (key, 201, json.dumps(body)))
            c.execute("COMMIT")
            return 201, body, False
        except BaseException:
            c.execute("ROLLBACK")
            raise

    async def book(self, request: Request) -> Response:
        key = request.headers.get("idempotency-key")
        data = await request.json()
        if not key:
            return JSONResponse({"error": "Idempotency-Key required"}, status_code=400)
        ref = data["reference"]
        self.seen[ref] += 1
        fault = self._fault(ref, self.seen[ref])
        replay = self.conn.execute("SELECT 1 FROM idempotency WHERE key = ?",
                                   (key,)).fetchone() is not None
        self.ledger.append((ref, key, fault, replay))
        if fault in ("502", "503", "504"):
            return JSONResponse({"error": "unavailable"}, status_code=int(fault))
        if fault == "429":
            return JSONResponse({"error": "slow down"}, status_code=429,
                                headers={"Retry-After": "0"})
        if fault == "reset_before":
            _abort(request)
            return Response(status_code=500)
        if fault == "slow_before":
            await asyncio.sleep(SLOW)
        status, body, _ = self._commit(key, ref, data["flight"])
        if fault == "reset_after":
            _abort(request)
            return Response(status_code=500)
        if fault == "slow_after":
            await asyncio.sleep(SLOW)
        return JSONResponse(body, status_code=status)

    def bookings(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = collections.defaultdict(list)
        for ref, bid in self.conn.execute("SELECT reference, id FROM bookings"):
            out[ref].append(bid)
        return out


def _toolset(kit, base: str):
    tool = kit.make_tool("book_flight", "POST", "/bookings", svc=kit.service(base), body=Body(
        media_type="application/json", mode="flat", required=True), params=[
        Param(name="reference", location="body", wire_name="reference", required=True),
        Param(name="flight", location="body", wire_name="flight", required=True)],
        responses={"201": {"type": "object", "required": ["booking_id", "reference"],
                           "properties": {"booking_id": {"type": "integer"},
                                          "reference": {"type": "string"}}}})
    return kit.FakeToolset(tool)


async def test_thousand_bookings_with_faults_no_duplicates_true_outcomes(kit, tmp_path):
    server = BookingServer(tmp_path / "bookings.db")
    retry = RetryPolicy(attempts=5, backoff=0.002, multiplier=2.0, max_wait=0.02, jitter=0.003,
                        max_elapsed=15.0)
    with serve_in_thread(server.app) as served, capture_logs() as logs:
        client = httpx.AsyncClient(timeout=httpx.Timeout(READ_TIMEOUT, connect=3.0, pool=10.0),
                                   limits=httpx.Limits(max_connections=16))
        async with client, Executor(_toolset(kit, served.url), client=client, policy="allow",
                                    retry=retry) as ex:
            gate = asyncio.Semaphore(16)

            async def one(i: int):
                async with gate:
                    return await ex.execute("book_flight", {"reference": f"r{i}",
                                                            "flight": f"AF{i % 97}"})

            observations = await asyncio.gather(*(one(i) for i in range(ATTEMPTS)))
            await asyncio.sleep(SLOW + 0.2)  # let abandoned slow handlers finish committing
            booked = server.bookings()
            by_ref: dict[str, list[tuple[str, str, bool]]] = collections.defaultdict(list)
            for ref, key, fault, replay in server.ledger:
                by_ref[ref].append((key, fault, replay))

            # zero duplicate bookings, whatever happened
            assert all(len(ids) == 1 for ids in booked.values())
            counts = collections.Counter(o.outcome for o in observations)
            lost_committed = 0
            for i, obs in enumerate(observations):
                ref = f"r{i}"
                seen = by_ref[ref]
                assert obs.idempotency_key and {k for k, _, _ in seen} == {obs.idempotency_key}
                assert 1 <= len(seen) <= obs.attempts <= retry.attempts, (ref, obs)
                if obs.outcome == "ok":
                    assert booked[ref] == [obs.body["booking_id"]] and obs.committed
                elif obs.outcome == "lost":  # the server got it, and an answer went missing
                    client_side = {e["result"] for e in logs if e["event"] == "executor.attempt"
                                   and e["idempotency_key"] == obs.idempotency_key}
                    assert any(f in ANSWER_LOST for _, f, _ in seen) or client_side & {
                        "ReadTimeout", "ReadError", "RemoteProtocolError", "WriteError"}, (
                        ref, seen, client_side)
                    lost_committed += ref in booked
                else:  # a failure the executor calls certain: nothing may have been booked
                    assert obs.outcome in ("server_error", "client_error"), obs
                    assert ref not in booked, (ref, obs, seen)
            replays = sum(1 for *_, replay in server.ledger if replay)
            # the faults really happened and really exercised deduplication
            assert counts["ok"] > ATTEMPTS * 0.8 and counts["lost"] > 0 and replays > 50
            assert len(server.ledger) > ATTEMPTS * 1.5

            # settle every lost call by re-sending with its key: exactly one booking results
            server.faults_on = False
            for i, obs in enumerate(observations):
                if obs.outcome != "lost":
                    continue
                before = booked.get(f"r{i}")
                again = await ex.execute("book_flight", dict(obs.arguments),
                                         idempotency_key=obs.idempotency_key)
                assert again.outcome == "ok"
                if before:
                    assert again.body["booking_id"] == before[0]
            final = server.bookings()
            assert all(len(ids) == 1 for ids in final.values())
            assert set(final) == {f"r{i}" for i, o in enumerate(observations)
                                  if o.outcome in ("ok", "lost")}
    calls = [e for e in logs if e["event"] == "executor.call"]
    assert len(calls) == ATTEMPTS + counts["lost"]
    print(f"\noutcomes={dict(counts)} requests={len(server.ledger)} replays={replays} "
          f"lost_committed={lost_committed}/{counts['lost']}")
