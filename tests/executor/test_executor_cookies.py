"""Over a real socket: the executor's one HTTP client serves every run of a service, so a
cookie that an API sets in one run must not be sent in the next (another user's, perhaps)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from agentrt.executor import Executor
from agentrt.servers import serve_in_thread


async def _login(request: Request) -> JSONResponse:
    response = JSONResponse({"ok": True})
    response.set_cookie("session", "user-a-secret", path="/")
    return response


async def _whoami(request: Request) -> JSONResponse:
    return JSONResponse({"seen": sorted(request.cookies)})


APP = Starlette(routes=[Route("/login", _login), Route("/whoami", _whoami)])


async def test_a_cookie_set_in_one_run_is_not_sent_in_the_next(kit) -> None:
    with serve_in_thread(APP) as served:
        svc = kit.service(served.url)
        toolset = kit.FakeToolset(
            kit.make_tool("login", "GET", "/login", svc=svc,
                          responses={"200": {"type": "object"}}),
            kit.make_tool("whoami", "GET", "/whoami", svc=svc,
                          responses={"200": {"type": "object"}}))
        async with Executor(toolset, policy="allow") as executor:
            first = await executor.view().execute("login", {})
            assert first.outcome == "ok", first
            second = await executor.view().execute("whoami", {})
            assert second.outcome == "ok", second
            assert second.body == {"seen": []}
            assert len(executor.client.cookies) == 0
