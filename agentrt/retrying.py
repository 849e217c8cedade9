"""Shared plumbing below every stage: one retry policy and one tenacity-based retry loop.

Used by the executor (tool calls to the APIs) and by the HTTP model backend (chat completions),
so both retry the same way. Decisions are made on exception *types* and status *codes*, never
on message strings:

* certainly not sent: `httpx.ConnectError`, `ConnectTimeout`, `PoolTimeout`,
  `UnsupportedProtocol`, `LocalProtocolError`, `ProxyError` — retrying cannot duplicate
  anything;
* maybe sent, answer lost: `ReadTimeout`, `WriteTimeout`, `ReadError`, `WriteError`,
  `RemoteProtocolError` — retried only when a resend is allowed (safe or idempotent calls,
  unsafe calls that carry an ``Idempotency-Key``, model requests);
* retryable answers: 429, 502, 503, 504, and only when a resend is allowed; ``Retry-After`` is
  honoured on 429 and 503.

This module imports nothing from the stages (only httpx and tenacity).
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_result

__all__ = [
    "MAYBE_SENT",
    "NOT_SENT",
    "RETRYABLE_ERRORS",
    "RETRYABLE_STATUS",
    "RETRY_AFTER_STATUS",
    "TIMEOUTS",
    "Answer",
    "RetryPolicy",
    "certainly_not_sent",
    "parse_retry_after",
    "retry_call",
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
#: The answers whose ``Retry-After`` header is honoured.
RETRY_AFTER_STATUS: frozenset[int] = frozenset({429, 503})


class Answer(Protocol):
    """What the retry decisions read from an HTTP answer (`httpx.Response` is one)."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...


R = TypeVar("R", bound="Answer | BaseException")


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
    """How often and how patiently a request is retried.

    ``attempts`` counts the first try. The wait before retry *n* is
    ``min(max_wait, backoff * multiplier ** (n - 1)) + uniform(0, jitter)``, unless the answer
    carried a ``Retry-After`` (429/503): then that many seconds — and if it asks for more than
    ``max_wait``, the request is not retried at all (waiting less would ignore the server).
    ``max_elapsed`` bounds the whole call (seconds, first try included): no retry starts whose
    wait would end past it. None for no bound.
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
        if self.max_elapsed is not None and self.max_elapsed < 0:
            raise ValueError("RetryPolicy.max_elapsed must be >= 0 or None")

    @classmethod
    def none(cls) -> RetryPolicy:
        """A single attempt, no retries."""
        return cls(attempts=1)

    def retry_after(self, status_code: int, headers: Mapping[str, str]) -> float | None:
        """The server-requested wait for this answer, when it is to be honoured."""
        if not self.honour_retry_after or status_code not in RETRY_AFTER_STATUS:
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

    def should_retry(self, result: Answer | BaseException, *, resend_allowed: bool) -> bool:
        """Whether one attempt's result (an answer or a transport error) is worth another."""
        if isinstance(result, BaseException):
            return self.should_retry_error(result, resend_allowed=resend_allowed)
        return resend_allowed and self.should_retry_status(result.status_code, result.headers)

    def backoff_for(self, attempt_number: int) -> float:
        """The wait after failed attempt ``attempt_number`` (1-based), without Retry-After."""
        base = min(self.max_wait, self.backoff * self.multiplier ** max(0, attempt_number - 1))
        return base + (random.uniform(0, self.jitter) if self.jitter else 0.0)

    def wait_after(self, result: Answer | BaseException, attempt_number: int) -> float:
        """The wait before the next attempt: the server's ``Retry-After``, else the backoff."""
        if not isinstance(result, BaseException):
            asked = self.retry_after(result.status_code, result.headers)
            if asked is not None:
                return asked
        return self.backoff_for(attempt_number)


async def retry_call(attempt: Callable[[], Awaitable[R]], policy: RetryPolicy, *,
                     resend_allowed: bool = True,
                     sleep: Callable[[float], Awaitable[None]] | None = None) -> R:
    """Run ``attempt`` until its result is not worth retrying or ``policy`` is spent.

    ``attempt`` returns an answer or the transport error it met (as a value, not raised), so
    the last one is returned either way; anything it *raises* propagates unretried.
    ``sleep`` replaces `asyncio.sleep` between attempts (tests record the waits).
    """
    planned: dict[int, float] = {}

    def result_of(state: RetryCallState) -> R:
        assert state.outcome is not None  # tenacity sets it before stop/wait/callback
        return state.outcome.result()

    def wait(state: RetryCallState) -> float:
        # computed once per attempt: stop and wait both read it (tenacity's order differs
        # between versions), and jitter must not make them disagree
        n = state.attempt_number
        if n not in planned:
            planned[n] = policy.wait_after(result_of(state), n)
        return planned[n]

    def stop(state: RetryCallState) -> bool:
        if state.attempt_number >= policy.attempts:
            return True
        return (policy.max_elapsed is not None
                and (state.seconds_since_start or 0.0) + wait(state) > policy.max_elapsed)

    retrying = AsyncRetrying(
        stop=stop, wait=wait, sleep=sleep or asyncio.sleep,
        retry=retry_if_result(lambda r: policy.should_retry(r, resend_allowed=resend_allowed)),
        retry_error_callback=result_of)
    async def run() -> R:  # a coroutine function, so every tenacity version awaits it
        return await attempt()

    return await retrying(run)
