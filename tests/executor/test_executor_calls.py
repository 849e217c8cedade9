"""Executor unit tests over httpx.MockTransport: validation first, origin check, policy,
retries and their decisions, idempotency keys, size cap, response validation, outcomes."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs

from agentrt.executor import Executor, Policy, RequestDescription, RetryPolicy
from agentrt.toolset.tool import Body, Param

FAST = RetryPolicy(attempts=4, backoff=0.0, jitter=0.0, max_wait=2.0)


def _tools(kit):
    get = kit.make_tool("get_flight", "GET", "/flights/{id}", params=[
        Param(name="id", location="path", wire_name="id", required=True)],
        responses={"200": {"type": "object", "required": ["id"],
                           "properties": {"id": {"type": "string"}}}})
    book = kit.make_tool("book", "POST", "/bookings", body=Body(
        media_type="application/json", mode="flat", required=True), params=[
        Param(name="flight", location="body", wire_name="flight", required=True)])
    cancel = kit.make_tool("cancel", "DELETE", "/bookings/{id}", params=[
        Param(name="id", location="path", wire_name="id", required=True)])
    return kit.FakeToolset(get, book, cancel)


def _executor(kit, handler, **kw: Any) -> Executor:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    kw.setdefault("retry", FAST)
    kw.setdefault("sleep", kit.recorder([]))
    return Executor(_tools(kit), client=client, base_urls=kit.BASE, **kw)


async def test_ok_and_fields(kit):
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": "AF1"})

    async with _executor(kit, handler) as ex:
        obs = await ex.execute("get_flight", {"id": "AF1"})
    assert (obs.outcome, obs.status_code, obs.body, obs.attempts) == ("ok", 200, {"id": "AF1"}, 1)
    assert obs.url == "http://api.test/flights/AF1" and obs.method == "GET"
    assert obs.elapsed > 0 and obs.idempotency_key is None
    assert "idempotency-key" not in seen[0].headers


async def test_invalid_calls_are_rejected_unsent(kit):
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={})

    async with _executor(kit, handler, policy="allow") as ex:
        cases: list[tuple[str, Any]] = [
            ("get_flight", {}), ("get_flight", {"id": 3}),
            ("get_flight", {"id": "x", "url": "http://evil"}), ("nope", {}),
            ("get_flight", "{not json"), ("get_flight", {"id": ".."})]
        for name, args in cases:
            obs = await ex.execute(name, args)
            assert obs.outcome == "rejected", (name, args)
            assert obs.violations and obs.message.startswith("the call was not sent")
            assert obs.attempts == 0
        for junk in (["id"], None, 42):
            obs = await ex.execute("get_flight", junk)  # type: ignore[arg-type]
            assert obs.outcome == "rejected" and obs.violations[0].kind == "malformed_arguments"
        obs = await ex.execute("get_flight", '{"id": "AF2"}')  # a JSON string is accepted
        assert obs.outcome == "response_invalid" or obs.outcome == "ok"
    assert len(sent) == 1


async def test_foreign_origin_is_rejected(kit):
    def handler(request: httpx.Request) -> httpx.Response:  # pragma: no cover - must not run
        raise AssertionError("sent")

    evil = kit.service("http://evil.test:8080")
    tool = kit.make_tool("x", "GET", "/x", svc=evil)
    ex = Executor(kit.FakeToolset(tool), client=httpx.AsyncClient(
        transport=httpx.MockTransport(handler)), allowed_origins=["http://api.test"])
    obs = await ex.execute("x", {})
    assert obs.outcome == "rejected" and "not an allowed origin" in obs.message
    ftp = kit.make_tool("y", "GET", "/y", svc=kit.service("ftp://api.test"))
    ex = Executor(kit.FakeToolset(ftp), client=httpx.AsyncClient(
        transport=httpx.MockTransport(handler)))
    assert (await ex.execute("y", {})).outcome == "rejected"


async def test_policy_deny_confirm(kit):
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(201, json={"booking": 1})

    async with _executor(kit, handler) as ex:  # default: deny
        obs = await ex.execute("book", {"flight": "AF1"})
        assert obs.outcome == "denied" and obs.attempts == 0
        assert (await ex.execute("cancel", {"id": "1"})).outcome == "denied"
        assert (await ex.execute("get_flight", {"id": "1"})).outcome == "ok"  # 201: no schema
    assert [r.method for r in sent] == ["GET"]

    asked: list[RequestDescription] = []

    async def confirm(desc: RequestDescription) -> bool:
        asked.append(desc)
        return desc.body == {"flight": "AF1"}

    async with _executor(kit, handler, policy=Policy.confirm(confirm)) as ex:
        assert (await ex.execute("book", {"flight": "AF1"})).outcome == "ok"
        assert (await ex.execute("book", {"flight": "ZZ9"})).outcome == "denied"
    assert asked[0].method == "POST" and asked[0].url == "http://api.test/bookings"
    assert asked[0].idempotency_key and "POST http://api.test/bookings" in asked[0].to_text()

    def broken(desc: RequestDescription) -> bool:
        raise RuntimeError("boom")

    async with _executor(kit, handler, policy=broken) as ex:
        obs = await ex.execute("book", {"flight": "AF1"})
    assert obs.outcome == "denied" and "failed" in obs.message
    async with _executor(kit, handler, policy="confirm") as ex:  # nobody to ask: no
        assert (await ex.execute("book", {"flight": "AF1"})).outcome == "denied"
    assert Policy.from_value("ALLOW") == Policy.allow()
    with pytest.raises(Exception, match="unknown policy"):
        Policy.from_value("maybe")


async def test_retries_keep_the_idempotency_key_and_honour_retry_after(kit):
    keys: list[str] = []
    answers = iter([httpx.Response(503, headers={"Retry-After": "1"}),
                    httpx.Response(429, headers={"Retry-After": "0"}),
                    httpx.Response(502), httpx.Response(201, json={"booking": 7})])

    def handler(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers["idempotency-key"])
        return next(answers)

    waits: list[float] = []
    async with _executor(kit, handler, policy="allow", sleep=kit.recorder(waits)) as ex:
        obs = await ex.execute("book", {"flight": "AF1"})
    assert obs.outcome == "ok" and obs.attempts == 4 and obs.body == {"booking": 7}
    assert len(set(keys)) == 1 and obs.idempotency_key == keys[0]
    assert waits[:2] == [1.0, 0.0]


async def test_retry_after_longer_than_max_wait_is_not_retried(kit):
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(429, headers={"Retry-After": "3600"}, json={"error": "slow down"})

    async with _executor(kit, handler) as ex:
        obs = await ex.execute("get_flight", {"id": "A"})
    assert obs.outcome == "client_error" and obs.status_code == 429 and len(calls) == 1


async def test_no_retry_on_500_and_4xx_body_kept(kit):
    statuses = iter([500, 404])

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(next(statuses), json={"detail": "nope"})

    async with _executor(kit, handler) as ex:
        obs = await ex.execute("get_flight", {"id": "A"})
        assert (obs.outcome, obs.attempts) == ("server_error", 1)
        obs = await ex.execute("get_flight", {"id": "A"})
        assert (obs.outcome, obs.body) == ("client_error", {"detail": "nope"})


@pytest.mark.parametrize("exc, outcome", [
    (httpx.ConnectError, "transport_error"), (httpx.ConnectTimeout, "timeout"),
    (httpx.ReadTimeout, "timeout"), (httpx.RemoteProtocolError, "transport_error")])
async def test_transport_errors_on_safe_calls(kit, exc, outcome):
    count = []

    def handler(request: httpx.Request) -> httpx.Response:
        count.append(1)
        raise exc("x", request=request)

    async with _executor(kit, handler) as ex:
        obs = await ex.execute("get_flight", {"id": "A"})
    assert obs.outcome == outcome and obs.attempts == FAST.attempts == len(count)


@pytest.mark.parametrize("exc, outcome", [
    (httpx.ConnectError, "transport_error"), (httpx.PoolTimeout, "timeout"),
    (httpx.ReadTimeout, "lost"), (httpx.ReadError, "lost"), (httpx.RemoteProtocolError, "lost"),
    (httpx.WriteError, "lost")])
async def test_unsafe_calls_distinguish_not_sent_from_lost(kit, exc, outcome):
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc("x", request=request)

    async with _executor(kit, handler, policy="allow") as ex:
        obs = await ex.execute("book", {"flight": "AF1"})
    assert obs.outcome == outcome and obs.attempts == FAST.attempts


async def test_lost_then_5xx_is_still_lost_and_connect_error_is_not(kit):
    script: list[Any] = [httpx.ReadError, 503, 503, 503]

    def handler(request: httpx.Request) -> httpx.Response:
        step = script.pop(0)
        if isinstance(step, int):
            return httpx.Response(step)
        raise step("x", request=request)

    async with _executor(kit, handler, policy="allow") as ex:
        assert (await ex.execute("book", {"flight": "AF1"})).outcome == "lost"
        script[:] = [httpx.ConnectError, 503, 503, 503]
        assert (await ex.execute("book", {"flight": "AF1"})).outcome == "server_error"
        script[:] = [httpx.ReadError, 400]
        assert (await ex.execute("book", {"flight": "AF1"})).outcome == "client_error"


async def test_idempotent_calls_are_retried_and_never_lost(kit):
    script: list[Any] = [httpx.ReadError, httpx.ReadTimeout, 204]

    def handler(request: httpx.Request) -> httpx.Response:
        step = script.pop(0)
        if isinstance(step, int):
            return httpx.Response(step)
        raise step("x", request=request)

    async with _executor(kit, handler, policy="allow") as ex:
        obs = await ex.execute("cancel", {"id": "9"})
    assert (obs.outcome, obs.attempts, obs.idempotency_key) == ("ok", 3, None)


async def test_response_size_cap(kit):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"id": "x" * 10_000})

    async with _executor(kit, handler, max_response_bytes=500) as ex:
        obs = await ex.execute("get_flight", {"id": "A"})
    assert obs.outcome == "ok" and obs.truncated and isinstance(obs.body, str)
    assert len(obs.body) <= 500 and "trimmed" in obs.message
    assert "trimmed" in obs.to_model_text()


async def test_response_validation_catches_wrong_shape(kit):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"identifier": 3})

    async with _executor(kit, handler) as ex:
        obs = await ex.execute("get_flight", {"id": "A"})
    assert obs.outcome == "response_invalid" and obs.violations
    assert "'id' is a required property" in obs.message


async def test_redirects_are_not_followed(kit):
    hosts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        return httpx.Response(302, headers={"Location": "http://evil.test/steal"})

    async with _executor(kit, handler) as ex:
        obs = await ex.execute("get_flight", {"id": "A"})
    assert hosts == ["api.test"] and obs.outcome == "server_error" and "evil.test" in obs.message


async def test_every_call_is_logged_once(kit):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"id": "A"})

    async with _executor(kit, handler) as ex:
        with capture_logs() as logs:
            await ex.execute("get_flight", {"id": "A"})
            await ex.execute("nope", {})
    calls = [e for e in logs if e["event"] == "executor.call"]
    assert [c["outcome"] for c in calls] == ["ok", "rejected"]
    json.dumps(calls)  # log events are plain data


def test_retry_policy_decisions_are_on_types_and_codes():
    from agentrt.retrying import parse_retry_after

    p = RetryPolicy()
    req = httpx.Request("POST", "http://api.test/")
    assert p.should_retry_error(httpx.ConnectError("x", request=req), resend_allowed=False)
    assert not p.should_retry_error(httpx.ReadError("x", request=req), resend_allowed=False)
    assert p.should_retry_error(httpx.ReadError("x", request=req), resend_allowed=True)
    assert not p.should_retry_error(ValueError("503 Service Unavailable"), resend_allowed=True)
    assert [s for s in range(400, 600) if p.should_retry_status(s, {})] == [429, 502, 503, 504]
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now=1445412480.0) == 30.0
    assert parse_retry_after("soon") is None and parse_retry_after("") is None
    assert p.retry_after(502, {"retry-after": "5"}) is None  # only 429/503 carry it
    with pytest.raises(ValueError):
        RetryPolicy(attempts=0)


async def test_max_elapsed_bounds_the_whole_call(kit):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, headers={"Retry-After": "1"})

    waits: list[float] = []
    retry = RetryPolicy(attempts=10, max_wait=5.0, max_elapsed=0.5)
    async with _executor(kit, handler, retry=retry, sleep=kit.recorder(waits)) as ex:
        obs = await ex.execute("get_flight", {"id": "A"})
    assert obs.outcome == "server_error" and obs.attempts == 1 and waits == []
