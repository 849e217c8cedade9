"""The shared retry loop: attempts, waits (backoff or Retry-After), the whole-call bound, and
decisions on types and codes only."""

from __future__ import annotations

import ast
from pathlib import Path

import httpx
import pytest

import agentrt.retrying
from agentrt.retrying import RetryPolicy, retry_call

REQ = httpx.Request("POST", "http://api.test/")


def _script(*results: httpx.Response | BaseException):
    calls: list[int] = []

    async def attempt() -> httpx.Response | BaseException:
        calls.append(1)
        return results[min(len(calls), len(results)) - 1]

    return attempt, calls


def _sleeper(waits: list[float]):
    async def sleep(seconds: float) -> None:
        waits.append(seconds)
    return sleep


async def test_retries_until_an_answer_settles_with_backoff_and_retry_after() -> None:
    waits: list[float] = []
    attempt, calls = _script(httpx.Response(502), httpx.Response(429, headers={"Retry-After": "3"}),
                             httpx.ConnectError("refused", request=REQ), httpx.Response(200))
    policy = RetryPolicy(attempts=5, backoff=0.5, multiplier=2.0, jitter=0.0, max_wait=4.0)
    result = await retry_call(attempt, policy, sleep=_sleeper(waits))
    assert isinstance(result, httpx.Response) and result.status_code == 200
    assert len(calls) == 4, "the first attempt is one of the policy's attempts"
    assert waits == [0.5, 3.0, 2.0]


async def test_gives_back_the_last_result_when_spent() -> None:
    attempt, calls = _script(httpx.Response(503))
    result = await retry_call(attempt, RetryPolicy(attempts=3, backoff=0.0, jitter=0.0),
                              sleep=_sleeper([]))
    assert isinstance(result, httpx.Response) and result.status_code == 503 and len(calls) == 3
    attempt, calls = _script(httpx.Response(503))
    await retry_call(attempt, RetryPolicy.none(), sleep=_sleeper([]))
    assert len(calls) == 1


async def test_no_retry_starts_past_max_elapsed() -> None:
    waits: list[float] = []
    attempt, calls = _script(httpx.Response(503, headers={"Retry-After": "2"}))
    await retry_call(attempt, RetryPolicy(attempts=9, max_wait=5.0, max_elapsed=1.0),
                     sleep=_sleeper(waits))
    assert len(calls) == 1 and waits == []


async def test_resend_rules_and_raised_errors() -> None:
    read = httpx.ReadError("reset", request=REQ)
    attempt, calls = _script(read, httpx.Response(200))
    assert await retry_call(attempt, RetryPolicy(jitter=0.0), resend_allowed=False,
                            sleep=_sleeper([])) is read, "maybe delivered: not resent"
    attempt, calls = _script(httpx.ConnectError("refused", request=REQ), httpx.Response(200))
    result = await retry_call(attempt, RetryPolicy(jitter=0.0), resend_allowed=False,
                              sleep=_sleeper([]))
    assert isinstance(result, httpx.Response) and len(calls) == 2, "certainly not sent: resent"
    attempt, calls = _script(httpx.Response(503))
    await retry_call(attempt, RetryPolicy(), resend_allowed=False, sleep=_sleeper([]))
    assert len(calls) == 1, "an answer proves delivery"
    attempt, calls = _script(ValueError("503 Service Unavailable"))
    await retry_call(attempt, RetryPolicy(), sleep=_sleeper([]))
    assert len(calls) == 1, "never decided on a message string"

    async def broken() -> httpx.Response:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        await retry_call(broken, RetryPolicy(), sleep=_sleeper([]))


def test_policy_is_a_small_frozen_value() -> None:
    policy = RetryPolicy()
    with pytest.raises(AttributeError):
        policy.attempts = 9  # type: ignore[misc]
    for bad in ({"attempts": 0}, {"backoff": -1.0}, {"max_elapsed": -1.0}):
        with pytest.raises(ValueError):
            RetryPolicy(**bad)


def test_imports_nothing_from_the_stages() -> None:
    tree = ast.parse(Path(agentrt.retrying.__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {m for m in imported if m.startswith("agentrt")}
