"""Demo services, clock: the "today" that the demo's inventory, date checks and tasks share.

The default is the real UTC date; set ``AGENTRT_DEMO_TODAY=YYYY-MM-DD`` (or pass ``today=``
to the app factories and task functions) to pin it. The clock only decides which ISO dates
are shown and what counts as "the past": the inventory, the tasks and their expected outcomes
are functions of the day *offset* from it, so runs on different days are comparable.
"""

from __future__ import annotations

import os
from datetime import date, datetime, timezone

__all__ = ["TODAY_ENV", "demo_today"]

TODAY_ENV = "AGENTRT_DEMO_TODAY"


def demo_today(today: date | str | None = None) -> date:
    """``today`` if given, else ``$AGENTRT_DEMO_TODAY``, else the current UTC date."""
    if isinstance(today, date):
        return today
    value = today or os.environ.get(TODAY_ENV)
    if value:
        try:
            return date.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"{TODAY_ENV} must be YYYY-MM-DD, got {value!r}") from exc
    return datetime.now(timezone.utc).date()


def utc_now_iso() -> str:
    """The current UTC time, to the second, as ``2026-11-25T10:00:00Z`` (booking stamps)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
