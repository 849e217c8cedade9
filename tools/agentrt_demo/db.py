"""Demo services, storage stage: SQLite state files (WAL mode), transactions and fresh copies.

Each service keeps one database file in the state directory (``flights.sqlite``,
``hotels.sqlite``). A pristine seeded database is built once per (service, seed version,
today) in a cache directory and copied with SQLite's online backup API, which is safe even
while a server has the target open; this makes resets between demo tasks take milliseconds.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

from agentrt_demo.seed import SEED_VERSION, seed_flights
from agentrt_demo.seed_hotels import seed_hotels

__all__ = ["CACHE_ENV", "connect", "db_path", "ensure_db", "reset_db", "write_tx"]

CACHE_ENV = "AGENTRT_DEMO_CACHE"
_SEEDERS: dict[str, Callable[[sqlite3.Connection, date], None]] = {
    "flights": seed_flights,
    "hotels": seed_hotels,
}


def db_path(state_dir: Path | str, service: str) -> Path:
    """The database file of ``service`` in ``state_dir``."""
    if service not in _SEEDERS:
        raise ValueError(f"unknown demo service {service!r}")
    return Path(state_dir) / f"{service}.sqlite"


def connect(path: Path | str) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit) with sane pragmas."""
    conn = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


@contextlib.contextmanager
def write_tx(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction taken up front (BEGIN IMMEDIATE), so check-then-update is atomic."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _cache_dir() -> Path:
    folder = os.environ.get(CACHE_ENV) or os.path.join(
        tempfile.gettempdir(), f"agentrt-demo-cache-{os.getuid() if hasattr(os, 'getuid') else 0}")
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _template(service: str, today: date) -> Path:
    """The pristine seeded database for ``service`` and ``today``, built on first use."""
    path = _cache_dir() / f"{service}-v{SEED_VERSION}-{today.isoformat()}.sqlite"
    if path.exists():
        return path
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{service}-", suffix=".tmp")
    os.close(fd)
    try:
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            _SEEDERS[service](conn, today)
            conn.execute("VACUUM")
        finally:
            conn.close()
        os.replace(tmp, path)  # atomic: concurrent builders race harmlessly
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return path


def _copy_into(template: Path, target: Path) -> None:
    src = sqlite3.connect(f"file:{template}?mode=ro", uri=True)
    dst = connect(target)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode = WAL")
    finally:
        src.close()
        dst.close()


def ensure_db(state_dir: Path | str, service: str, today: date) -> Path:
    """The service's database in ``state_dir``, seeded for ``today`` if it does not exist yet.

    An existing database is kept as it is: data survive restarts.
    """
    path = db_path(state_dir, service)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        _copy_into(_template(service, today), path)
    return path


def _fast_reset(path: Path, template: Path, today: date) -> bool:
    """Undo bookings in place (seat counts restored from the template); False if not possible."""
    conn = connect(path)
    try:
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("seeded_for") != today.isoformat() or meta.get("seed_version") != str(SEED_VERSION):
            return False
        conn.execute("ATTACH DATABASE ? AS pristine", (f"file:{template}?mode=ro",))
        with write_tx(conn):
            if meta.get("service") == "flights":
                conn.execute(
                    "UPDATE flights SET (seats_y, seats_w, seats_c, seats_f) = (SELECT p.seats_y,"
                    " p.seats_w, p.seats_c, p.seats_f FROM pristine.flights p WHERE p.id = flights.id)"
                    " WHERE id IN (SELECT flight_id FROM dirty)")
                conn.execute("DELETE FROM dirty")
            conn.execute("DELETE FROM bookings")
            conn.execute("DELETE FROM idempotency")
        conn.execute("DETACH DATABASE pristine")
        return True
    except sqlite3.DatabaseError:
        return False
    finally:
        conn.close()


def reset_db(state_dir: Path | str, service: str, today: date) -> Path:
    """Put the service's database back to the pristine seed for ``today`` (bookings dropped)."""
    path = db_path(state_dir, service)
    path.parent.mkdir(parents=True, exist_ok=True)
    template = _template(service, today)
    if not (path.exists() and _fast_reset(path, template, today)):
        _copy_into(template, path)
    return path


class ServiceState:
    """What both services' handlers share: the database file and the demo clock."""

    def __init__(self, path: Path, today: date | None) -> None:
        self.path = path
        self._today = today

    def today(self) -> date:
        from agentrt_demo.clock import demo_today

        return self._today or demo_today()

    @contextlib.contextmanager
    def db(self) -> Iterator[sqlite3.Connection]:
        conn = connect(self.path)
        try:
            yield conn
        finally:
            conn.close()
