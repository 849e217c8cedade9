"""Over a real socket: a secret canary sent as query key, header key, cookie and basic auth to a
server that echoes everything back (and fails once, so retries are logged) never shows up in
logs, observations, policy prompts or scrubbed exports."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import JSONResponse

from agentrt.executor import Executor, RequestDescription, RetryPolicy, scrub
from agentrt.servers import serve_in_thread
from agentrt.toolset.tool import Body, Param

CANARY = "canary-9d1f3b7e5a-SECRET"


class Echo:
    """Answers 503 to the first request of each path, then echoes the request back."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}
        self.received: list[dict[str, str]] = []

    async def app(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.received.append(headers)
        path = scope["path"]
        self.seen[path] = self.seen.get(path, 0) + 1
        if self.seen[path] == 1:
            response = JSONResponse({"error": f"retry later, {headers}"}, status_code=503)
        else:
            response = JSONResponse({"query": scope["query_string"].decode(),
                                     "headers": headers, "body": body.decode()})
        await response(scope, receive, send)


async def test_secret_canary_never_leaks(kit):
    from structlog.testing import capture_logs

    echo = Echo()
    schemes = {"q": {"type": "apiKey", "in": "query", "name": "key"},
               "h": {"type": "apiKey", "in": "header", "name": "X-Key"},
               "c": {"type": "apiKey", "in": "cookie", "name": "sid"},
               "b": {"type": "http", "scheme": "basic"}}
    prompts: list[RequestDescription] = []

    def confirm(desc: RequestDescription) -> bool:
        prompts.append(desc)
        return True

    with serve_in_thread(echo.app, interface="asgi3") as served:
        svc = kit.service(served.url, schemes=schemes, security=[{"q": [], "h": [], "c": []}])
        basic = kit.service(served.url, schemes=schemes, security=[{"b": []}])
        tools = kit.FakeToolset(
            kit.make_tool("read", "GET", "/read", svc=svc),
            kit.make_tool("write", "POST", "/write", svc=svc, params=[
                Param(name="note", location="body", wire_name="note")], body=Body(
                media_type="application/json", mode="flat")),
            kit.make_tool("basic", "GET", "/basic", svc=basic))
        creds = {"q": CANARY, "h": CANARY, "c": CANARY, "b": f"admin:{CANARY}"}
        with capture_logs() as logs:
            async with Executor(tools, credentials=creds, policy=confirm,
                                retry=RetryPolicy(attempts=3, backoff=0.0, jitter=0.0)) as ex:
                observations = [await ex.execute("read", {}),
                                await ex.execute("write", {"note": "hello"}),
                                await ex.execute("basic", {})]
    assert [o.outcome for o in observations] == ["ok", "ok", "ok"]
    assert [o.attempts for o in observations] == [2, 2, 2]
    # the server really got the secret, in every place it was meant to go
    assert sum(CANARY in json.dumps(h) for h in echo.received) == 4
    assert echo.received[0]["x-key"] == CANARY and f"sid={CANARY}" in echo.received[0]["cookie"]
    emitted = "".join([
        repr(logs), json.dumps([o.to_dict() for o in observations]),
        "".join(o.to_model_text(100_000) for o in observations),
        repr(prompts), "".join(p.to_text() for p in prompts),
        json.dumps(scrub({"export": [o.to_dict() for o in observations],
                          "raw": [str(h) for h in echo.received]})),
    ])
    assert CANARY not in emitted
    assert "YWRtaW46" not in emitted  # base64 of "admin:" — the basic header never shows
    assert "[REDACTED]" in emitted
    assert any(e["event"] == "executor.attempt" for e in logs)
