"""Auth: apiKey (header/query/cookie), bearer, basic, OAuth2 client credentials (fetch, cache,
refresh, one fetch at a time, 401 → fresh token), credentials from env; secrets never leak."""

from __future__ import annotations

import asyncio
import base64
import json

import httpx
import pytest
from structlog.testing import capture_logs

from agentrt.executor import Credentials, Executor, RetryPolicy
from agentrt.executor.auth import Authenticator
from agentrt.executor.redact import REDACTED, Redactor, redact_processor, scrub

CANARY = "s3cr3t-CANARY-7f9e2d"
SCHEMES = {
    "hdr": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    "qry": {"type": "apiKey", "in": "query", "name": "api_key"},
    "ck": {"type": "apiKey", "in": "cookie", "name": "session"},
    "bearer": {"type": "http", "scheme": "bearer"},
    "basic": {"type": "http", "scheme": "basic"},
    "oauth": {"type": "oauth2", "flows": {"clientCredentials": {
        "tokenUrl": "http://auth.test/token", "scopes": {"read": "read"}}}},
}


def _echo(request: httpx.Request) -> httpx.Response:
    """The API echoes what it received, secrets included (the worst case for leaks)."""
    return httpx.Response(200, json={"url": str(request.url), "headers": dict(request.headers),
                                     "note": f"your key is {request.headers.get('x-api-key')}"})


def _executor(kit, scheme: str, secret, handler=_echo, **kw) -> Executor:
    svc = kit.service(schemes=SCHEMES, security=[{scheme: []}])
    tool = kit.make_tool("whoami", "GET", "/me", svc=svc)
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return Executor(kit.FakeToolset(tool), client=client, credentials={scheme: secret},
                    retry=RetryPolicy.none(), **kw)


@pytest.mark.parametrize("scheme, secret, where", [
    ("hdr", CANARY, lambda r: r.headers["x-api-key"] == CANARY),
    ("qry", CANARY, lambda r: r.url.params["api_key"] == CANARY),
    ("ck", CANARY, lambda r: r.headers["cookie"] == f"session={CANARY}"),
    ("bearer", CANARY, lambda r: r.headers["authorization"] == f"Bearer {CANARY}"),
    ("basic", f"alice:{CANARY}", lambda r: base64.b64decode(
        r.headers["authorization"][6:]).decode() == f"alice:{CANARY}"),
    ("basic", {"username": "alice", "password": CANARY}, lambda r: r.headers[
        "authorization"] == "Basic " + base64.b64encode(f"alice:{CANARY}".encode()).decode()),
])
async def test_schemes_are_applied_and_never_leak(kit, scheme, secret, where):
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _echo(request)

    with capture_logs() as logs:
        async with _executor(kit, scheme, secret, handler) as ex:
            obs = await ex.execute("whoami", {})
    assert obs.outcome == "ok" and where(seen[0])
    emitted = json.dumps(obs.to_dict()) + obs.to_model_text(10_000) + repr(logs)
    assert CANARY not in emitted
    assert base64.b64encode(f"alice:{CANARY}".encode()).decode() not in emitted
    assert REDACTED in json.dumps(obs.to_dict())  # the echo was scrubbed, not dropped
    assert CANARY not in json.dumps(scrub({"trace": [str(seen[0].url), dict(seen[0].headers)]}))


async def test_credentials_from_environment(kit):
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    svc = kit.service(schemes=SCHEMES, security=[{"hdr": []}])
    tool = kit.make_tool("whoami", "GET", "/me", svc=svc)
    creds = Credentials(env={"hdr": "FLIGHTS_KEY"}, environ={"FLIGHTS_KEY": CANARY})
    ex = Executor(kit.FakeToolset(tool), client=httpx.AsyncClient(
        transport=httpx.MockTransport(handler)), credentials=creds)
    assert (await ex.execute("whoami", {})).outcome == "ok"
    assert seen[0].headers["x-api-key"] == CANARY
    empty = Executor(kit.FakeToolset(tool), client=httpx.AsyncClient(
        transport=httpx.MockTransport(handler)),
        credentials=Credentials(env={"hdr": "UNSET_VAR_X"}, environ={}))
    await empty.execute("whoami", {})
    assert "x-api-key" not in seen[1].headers


class _OAuthServer:
    def __init__(self, *, lifetime: int = 3600, fail: bool = False) -> None:
        self.fetches = 0
        self.lifetime = lifetime
        self.fail = fail
        self.valid: set[str] = set()
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.host == "auth.test":
            assert request.method == "POST"
            if self.fail:
                return httpx.Response(500, text=f"oops {CANARY}")
            form = dict(x.split("=", 1) for x in request.content.decode().split("&"))
            assert form["grant_type"] == "client_credentials"
            cred = base64.b64decode(request.headers["authorization"][6:]).decode()
            assert cred == f"app:{CANARY}"
            self.fetches += 1
            await asyncio.sleep(0.01)  # slow enough for concurrent callers to pile up
            token = f"tok-{self.fetches}-{CANARY}"
            self.valid = {token}
            return httpx.Response(200, json={"access_token": token, "token_type": "Bearer",
                                             "expires_in": self.lifetime})
        if request.headers.get("authorization", "")[7:] not in self.valid:
            return httpx.Response(401, json={"error": "invalid token"})
        return httpx.Response(200, json={"ok": True})


async def test_oauth2_client_credentials_fetch_cache_refresh(kit):
    server = _OAuthServer()
    now = [1000.0]
    secret = {"client_id": "app", "client_secret": CANARY}
    with capture_logs() as logs:
        ex = _executor(kit, "oauth", secret, server)
        ex.auth = Authenticator(ex.auth.credentials, ex.redactor, clock=lambda: now[0])
        results = await asyncio.gather(*(ex.execute("whoami", {}) for _ in range(20)))
        assert {o.outcome for o in results} == {"ok"}
        assert server.fetches == 1  # cached, and fetched once despite 20 concurrent calls
        now[0] += 3600 - 10  # inside the refresh margin: a new token is fetched
        assert (await ex.execute("whoami", {})).outcome == "ok"
        assert server.fetches == 2
        server.valid = set()  # the server revoked the token: 401 → refetch once → ok
        obs = await ex.execute("whoami", {})
        assert obs.outcome == "ok" and server.fetches == 3 and obs.attempts == 2
        await ex.aclose()
    emitted = repr(logs) + json.dumps([o.to_dict() for o in results])
    assert CANARY not in emitted and "tok-1" not in emitted


async def test_oauth2_token_failure_is_an_observation_without_secrets(kit):
    server = _OAuthServer(fail=True)
    with capture_logs() as logs:
        ex = _executor(kit, "oauth", {"client_id": "app", "client_secret": CANARY}, server)
        obs = await ex.execute("whoami", {})
    assert obs.outcome == "transport_error" and "token endpoint answered 500" in obs.message
    assert all(r.url.host == "auth.test" for r in server.requests)  # the API was not called
    assert CANARY not in json.dumps(obs.to_dict()) + repr(logs)


def test_redactor_processor_and_keys():
    r = Redactor([CANARY])
    event = {"event": "x", "url": f"http://a/?k={CANARY}", "Authorization": "Bearer zz",
             "nested": {"client_secret": "short", "list": [CANARY.encode()]},
             "token_url": "http://auth/token"}
    out = r(None, "info", dict(event))
    assert CANARY not in repr(out) and out["Authorization"] == REDACTED
    assert out["nested"]["client_secret"] == REDACTED and out["token_url"] == "http://auth/token"
    # the process-wide processor knows secrets registered by any executor
    Redactor(parent=__import__("agentrt.executor.redact", fromlist=["x"]).DEFAULT_REDACTOR).add(
        "another-secret-value")
    assert "another-secret-value" not in repr(redact_processor(None, "info", {"e": "another-"
                                                                              "secret-value"}))
