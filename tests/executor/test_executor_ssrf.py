"""Over real sockets: an SSRF corpus sent through every parameter location — zero requests
reach any origin but the configured one (a second, "attacker" server records everything)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

import httpx
from starlette.responses import JSONResponse, RedirectResponse, Response

from agentrt.executor import Executor, RetryPolicy
from agentrt.servers import serve_in_thread
from agentrt.toolset.tool import Param

CORPUS = [
    "../admin", "../../../../etc/passwd", "a/b", "%2F", "%2e%2e%2f", "..%2F..%2Fadmin", "?x=1",
    "#frag", "a\r\nHost: {evil}", "x\r\n\r\nGET / HTTP/1.1", "http://{evil}/", "https://{evil}/",
    "//{evil}/", "///{evil}", "@{evil}", "user@{evil}", "{evil}", "{evil}#", "\\\\{evil}",
    "http:\\\\{evil}", "%40{evil}", "..\\..\\admin", "é", "\u202e", "🙂", "%00", "\x00", " ",
    "http://[::1]:{port}/", "http://0x7f000001:{port}/", "http://2130706433:{port}/",
    "file:///etc/passwd", "gopher://{evil}/_", "a?b#c/d", "..;/admin", "/./", ";x=1", "%252F",
    "%u002f", "\t", "x y", ".", "..", "", "...", "~", "$(curl {evil})",
]


class Recorder:
    """A catch-all ASGI app that records the raw request pieces it receives (no routing, so
    whatever arrives is seen exactly as sent)."""

    def __init__(self, *, redirect_to: str | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self.redirect_to = redirect_to

    async def app(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        raw_path = scope["raw_path"].decode("latin-1")
        self.requests.append({"raw_path": raw_path,
                              "query": scope["query_string"].decode("latin-1"),
                              "headers": {k.decode("latin-1"): v.decode("latin-1")
                                          for k, v in scope["headers"]}})
        if raw_path.startswith("/redirect") and self.redirect_to:
            response: Response = RedirectResponse(self.redirect_to, status_code=307)
        else:
            response = JSONResponse({"ok": True})
        await response(scope, receive, send)


def _tools(kit, base: str):
    p = [Param(name="id", location="path", wire_name="id", required=True),
         Param(name="q", location="query", wire_name="q"),
         Param(name="trace", location="header", wire_name="X-Trace"),
         Param(name="sess", location="cookie", wire_name="sess")]
    svc = kit.service(base)
    return kit.FakeToolset(
        kit.make_tool("get_user", "GET", "/users/{id}/profile", params=p, svc=svc),
        kit.make_tool("follow", "GET", "/redirect", svc=svc))


async def test_ssrf_corpus_never_reaches_another_origin(kit):
    attacker = Recorder()
    with serve_in_thread(attacker.app, interface="asgi3") as evil_srv:
        evil = evil_srv.url.removeprefix("http://")
        good = Recorder(redirect_to=evil_srv.url + "/stolen")
        with serve_in_thread(good.app, interface="asgi3") as good_srv:
            payloads = [c.format(evil=evil, port=evil_srv.port) for c in CORPUS]
            outcomes: dict[str, int] = {}
            async with Executor(_tools(kit, good_srv.url), retry=RetryPolicy.none(),
                                timeout=5.0) as ex:
                for value in payloads:
                    for args in ({"id": value}, {"id": "u1", "q": value},
                                 {"id": "u1", "trace": value}, {"id": "u1", "sess": value},
                                 {"id": value, "q": value, "trace": value, "sess": value}):
                        obs = await ex.execute("get_user", args)
                        assert obs.outcome in ("ok", "rejected"), (args, obs)
                        outcomes[obs.outcome] = outcomes.get(obs.outcome, 0) + 1
                        if obs.outcome == "ok":
                            assert obs.url.startswith(good_srv.url + "/users/")
                for extra in ({"id": "u1", "url": f"http://{evil}/"},
                              {"id": "u1", "base_url": f"http://{evil}"},
                              {"id": "u1", "host": evil}):
                    assert (await ex.execute("get_user", extra)).outcome == "rejected"
                redirected = await ex.execute("follow", {})
                assert redirected.status_code == 307 and redirected.outcome != "ok"
            # a spec whose servers point at the attacker, with the allowlist on the good one
            async with Executor(_tools(kit, evil_srv.url),
                                allowed_origins=[good_srv.url]) as ex:
                obs = await ex.execute("get_user", {"id": "u1"})
                assert obs.outcome == "rejected" and "allowed origin" in obs.message
            # the caller's override wins over the spec's servers
            async with Executor(_tools(kit, evil_srv.url), base_urls=good_srv.url) as ex:
                assert (await ex.execute("get_user", {"id": "u1"})).outcome == "ok"

    assert attacker.requests == []
    assert outcomes["ok"] > 150 and outcomes["rejected"] > 10
    shape = re.compile(r"^/users/[^/?#]+/profile$")
    for req in good.requests:
        if req["raw_path"] == "/redirect":
            continue
        assert shape.match(req["raw_path"]), req["raw_path"]
        segment = unquote(req["raw_path"].split("/")[2])
        assert segment in payloads or segment == "u1"
        assert req["headers"]["host"] == good_srv.url.removeprefix("http://")
        assert "\r" not in repr(req["headers"]).replace("\\r", "")
        assert set(httpx.QueryParams(req["query"]).keys()) <= {"q"}
