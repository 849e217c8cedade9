"""Executor stage: retries — a small frozen `RetryPolicy` and the decisions it drives.

Decisions are made on exception *types* and status *codes*, never on message strings:

* certainly not sent: `httpx.ConnectError`, `ConnectTimeout`, `PoolTimeout`,
  `UnsupportedProtocol`, `LocalProtocolError` — retrying cannot duplicate anything;
* maybe sent, answer lost: `ReadTimeout`, `WriteTimeout`, `ReadError`, `WriteError`,
  `RemoteProtocolError` (and any other transport error) — retried only for safe/idempotent
  calls, or unsafe calls that carry an ``Idempotency-Key``;
* retryable answers: 429, 502, 503, 504 (``Retry-After`` honoured on 429/503).
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx

__all__ = [
    "MAYBE_SENT",
    "NOT_SENT",
    "RETRYABLE_STATUS",
    "TIMEOUTS",
    "RetryPolicy",
    "certainly_not_sent",
    "parse_retry_after",
]

#: Transport errors raised before any byte of the request could reach the server.
NOT_SENT: tuple[type[Exception], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
    httpx.ProxyError,
)
#: Transport errors after which the request may have been received and acted upon.
MAYBE_SENT: tuple[type[Exception], ...] = (
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
)
#: Transient transport errors worth another attempt.
RETRYABLE_ERRORS: tuple[type[Exception], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    *MAYBE_SENT,
)
TIMEOUTS: tuple[type[Exception], ...] = (httpx.TimeoutException,)
RETRYABLE_STATUS: frozenset[int] = frozenset({429, 502, 503, 504})
_RETRY_AFTER_STATUS = frozenset({429, 503})


def certainly_not_sent(exc: BaseException) -> bool:
    """True when ``exc`` proves the request never reached the server."""
    return isinstance(exc, NOT_SENT)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or HTTP-date), or None."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How often and how patiently a call is retried.

    ``attempts`` counts the first try. The wait before retry *n* is
    ``min(max_wait, backoff * multiplier ** (n - 1)) + uniform(0, jitter)``, unless the answer
    carried a ``Retry-After`` (429/503): then that many seconds — and if it asks for more than
    ``max_wait``, the call is not retried at all (waiting less would ignore the server).
    ``max_elapsed`` bounds the whole call (seconds, first try included), None for no bound.
    """

    attempts: int = 3
    backoff: float = 0.1
    multiplier: float = 2.0
    max_wait: float = 5.0
    jitter: float = 0.05
    honour_retry_after: bool = True
    max_elapsed: float | None = 30.0
    statuses: frozenset[int] = field(default=RETRYABLE_STATUS)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("RetryPolicy.attempts must be >= 1")
        if min(self.backoff, self.multiplier, self.max_wait, self.jitter) < 0:
            raise ValueError("RetryPolicy waits must be >= 0")

    @classmethod
    def none(cls) -> RetryPolicy:
        """A single attempt, no retries."""
        return cls(attempts=1)

    def retry_after(self, status_code: int, headers: Mapping[str, str]) -> float | None:
        """The server-requested wait for this answer, when it is to be honoured."""
        if not self.honour_retry_after or status_code not in _RETRY_AFTER_STATUS:
            return None
        return parse_retry_after(headers.get("retry-after"))

    def should_retry_status(self, status_code: int, headers: Mapping[str, str]) -> bool:
        """Whether an answer with this status is worth another attempt."""
        if status_code not in self.statuses:
            return False
        wait = self.retry_after(status_code, headers)
        return wait is None or wait <= self.max_wait

    def should_retry_error(self, exc: BaseException, *, resend_allowed: bool) -> bool:
        """Whether a transport error is worth another attempt.

        ``resend_allowed`` is False for an unsafe call without an idempotency key: then only
        errors that prove the request was never sent are retried.
        """
        if not isinstance(exc, RETRYABLE_ERRORS):
            return False
        return resend_allowed or certainly_not_sent(exc)

    def backoff_for(self, attempt_number: int) -> float:
        """The wait after failed attempt ``attempt_number`` (1-based), without Retry-After."""
        base = min(self.max_wait, self.backoff * self.multiplier ** max(0, attempt_number - 1))
        return base + (random.uniform(0, self.jitter) if self.jitter else 0.0)
