"""Over real sockets, from a spec: where requests go (the document's server, an operation's or
path item's own ``servers``, a caller's override) and what an empty request body sends."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from agentrt.executor import Executor, RetryPolicy
from agentrt.servers import serve_in_thread
from agentrt.toolset import Toolset

OK = {"200": {"description": "ok"}}


class Recorder:
    """A catch-all ASGI app recording method, path, content type and body of each request."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    async def app(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.requests.append({"method": scope["method"], "path": scope["path"], "body": body,
                              "content_type": headers.get("content-type")})
        await JSONResponse({"ok": True})(scope, receive, send)


def _spec(default: str, other: str) -> dict[str, Any]:
    def body(schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
        return {"required": required, "content": {"application/json": {"schema": schema}}}

    return {"openapi": "3.1.0", "info": {"title": "S", "version": "1"},
            "servers": [{"url": default}],
            "paths": {
                "/plain": {"get": {"operationId": "plain", "responses": OK}},
                "/upload": {"put": {"operationId": "upload", "responses": OK,
                                    "servers": [{"url": f"{other}/files"}]}},
                "/item": {"servers": [{"url": other}],
                          "get": {"operationId": "item", "responses": OK}},
                "/rel": {"get": {"operationId": "rel", "responses": OK,
                                 "servers": [{"url": "/v2"}]}},
                "/reset": {"put": {"operationId": "reset", "responses": OK,
                                   "requestBody": body({"type": "object", "properties": {}})}},
                "/touch": {"put": {"operationId": "touch", "responses": OK,
                                   "requestBody": body({"type": "object"})}},
                "/maybe": {"put": {"operationId": "maybe", "responses": OK,
                                   "requestBody": body({"type": "object", "properties": {}},
                                                       required=False)}}}}


async def test_operation_servers_are_used_and_allowed() -> None:
    home, away = Recorder(), Recorder()
    with serve_in_thread(home.app, interface="asgi3") as h, \
            serve_in_thread(away.app, interface="asgi3") as a:
        ts = Toolset.from_spec(_spec(h.url, a.url))
        async with Executor(ts, policy="allow", retry=RetryPolicy.none(), timeout=5.0) as ex:
            assert {o[1:] for o in ex.allowed_origins} == {("127.0.0.1", h.port),
                                                           ("127.0.0.1", a.port)}
            for name in ("plain", "upload", "item", "rel"):
                obs = await ex.execute(name, {})
                assert obs.outcome == "ok", (name, obs)
            assert obs.url == f"{h.url}/v2/rel"
    assert [r["path"] for r in home.requests] == ["/plain", "/v2/rel"]
    assert [r["path"] for r in away.requests] == ["/files/upload", "/item"]


async def test_operation_servers_beat_a_callers_override() -> None:
    """``base_urls`` moves the spec (and relative operation servers); an operation's own
    absolute server keeps its host."""
    home, away = Recorder(), Recorder()
    with serve_in_thread(home.app, interface="asgi3") as h, \
            serve_in_thread(away.app, interface="asgi3") as a:
        ts = Toolset.from_spec(_spec("http://127.0.0.1:9/unused", a.url))
        async with Executor(ts, policy="allow", base_urls={"S": h.url},
                            retry=RetryPolicy.none(), timeout=5.0) as ex:
            assert ex.base_url_for(ts.get("plain")) == h.url  # type: ignore[arg-type]
            for name in ("plain", "rel", "upload", "item"):
                assert (await ex.execute(name, {})).outcome == "ok", name
        async with Executor(ts, policy="allow", base_urls=h.url,
                            allowed_origins=[h.url], retry=RetryPolicy.none()) as ex:
            obs = await ex.execute("upload", {})
            assert obs.outcome == "rejected" and "not an allowed origin" in obs.message
    assert [r["path"] for r in home.requests] == ["/plain", "/v2/rel"]
    assert [r["path"] for r in away.requests] == ["/files/upload", "/item"]


async def test_empty_bodies_are_sent_as_empty_objects() -> None:
    home = Recorder()
    with serve_in_thread(home.app, interface="asgi3") as h:
        ts = Toolset.from_spec(_spec(h.url, h.url))
        async with Executor(ts, policy="allow", retry=RetryPolicy.none(), timeout=5.0) as ex:
            for name, args in (("reset", {}), ("touch", {}), ("touch", {"body": {"a": 1}}),
                               ("maybe", {})):
                obs = await ex.execute(name, args)
                assert obs.outcome == "ok", (name, obs)
    sent = [(r["path"], r["body"], r["content_type"]) for r in home.requests]
    assert sent == [("/reset", b"{}", "application/json"), ("/touch", b"{}", "application/json"),
                    ("/touch", b'{"a":1}', "application/json"), ("/maybe", b"", None)]
