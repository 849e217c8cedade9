"""Demo services, idempotency: replay the first reply to a repeated ``Idempotency-Key``.

Runs inside the caller's write transaction, so the booking and its stored reply commit
together: a retry after a lost response gets the same booking, never a second one.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from agentrt_demo.common import ApiError, Reply, request_hash

__all__ = ["REPLAY_HEADER", "replay_or_run"]

REPLAY_HEADER = "Idempotent-Replayed"


def replay_or_run(conn: sqlite3.Connection, operation: str, key: str | None, body: Any,
                  run: Callable[[], Reply]) -> Reply:
    """The stored reply for (operation, key) if any, else ``run()`` (2xx replies are stored).

    The same key with a different body is a 409 ``idempotency_conflict``.
    """
    if key is None:
        return run()
    digest = request_hash(body)
    row = conn.execute("SELECT request_hash, status, body FROM idempotency"
                       " WHERE key = ? AND operation = ?", (key, operation)).fetchone()
    if row is not None:
        if row["request_hash"] != digest:
            raise ApiError(409, "idempotency_conflict",
                           "this Idempotency-Key was already used for a different request")
        return Reply(status=row["status"], body=json.loads(row["body"]),
                     headers={REPLAY_HEADER: "true"})
    reply = run()
    if 200 <= reply.status < 300:
        conn.execute("INSERT INTO idempotency VALUES (?, ?, ?, ?, ?, ?)",
                     (key, operation, digest, reply.status, json.dumps(reply.body),
                      datetime.now(timezone.utc).isoformat(timespec="seconds")))
    return reply
