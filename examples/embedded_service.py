"""Embedding agentrt in a web service (Starlette): one backend and one agent shared by every
request — opened at startup, closed at shutdown (the app's lifespan), so every run goes
through one HTTP client (one connection pool, one OAuth2 token cache) — a side-effect policy
chosen per request, the result returned as JSON.

    POST /run  {"request": "Book ...", "allow_bookings": false}  →  RunResult JSON
    GET  /health

Run it against the demo services with the embedded model:

    python examples/embedded_service.py --port 8080
    curl -s localhost:8080/run -d '{"request": "Which airports serve Paris?"}'

``create_app(backend, toolset, ...)`` is what a test or another service imports.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from agentrt.agent import Agent
from agentrt.errors import AgentRTError
from agentrt.protocol import PolicyMode
from agentrt.search import Budget


class RunRequest(BaseModel):
    """The body of ``POST /run``."""

    request: str = Field(min_length=1, max_length=4000)
    #: side effects (bookings, cancellations) run only when the caller allows them
    allow_bookings: bool = False


def create_app(backend: Any, toolset: Any, *, credentials: Any = None,
               instructions: str = "", budget: Budget | None = None,
               max_concurrent_runs: int = 4) -> Starlette:
    """A Starlette app running one agent over ``toolset`` with the shared ``backend``.

    The agent lives as long as the app: the lifespan opens it at startup and closes it (its
    HTTP client) at shutdown; ``app.state.agent`` is it. Runs are independent, so several
    processes (or machines) can serve the same app behind a load balancer."""
    slots = asyncio.Semaphore(max_concurrent_runs)  # the model is the scarce resource

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with Agent(backend, toolset, credentials=credentials, instructions=instructions,
                         budget=budget or Budget(max_seconds=120)) as agent:
            app.state.agent = agent
            yield

    async def run(request: Request) -> Response:
        try:
            body = RunRequest.model_validate_json(await request.body())
        except ValidationError as exc:
            return JSONResponse({"error": "invalid request", "detail": exc.errors(
                include_url=False, include_context=False)}, status_code=422)
        policy: PolicyMode = "allow" if body.allow_bookings else "deny"
        agent: Agent = request.app.state.agent
        try:
            async with slots:
                result = await agent.run(body.request, policy=policy)
        except AgentRTError as exc:  # e.g. the model server is down: say so, don't crash
            return JSONResponse({"error": type(exc).__name__, "detail": str(exc)},
                                status_code=503)
        return Response(result.to_json(), media_type="application/json")

    async def health(_request: Request) -> Response:
        return JSONResponse({"ok": True, "model": getattr(backend, "name", "?"),
                             "tools": len(toolset.tools)})

    return Starlette(routes=[Route("/run", run, methods=["POST"]),
                             Route("/health", health, methods=["GET"])], lifespan=lifespan)


def main() -> None:
    """Serve the example against the demo services with the model ``--model``."""
    import uvicorn

    from agentrt.backends import load_backend
    from agentrt_demo import demo_credentials, demo_today, demo_toolset, running_services

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="embedded")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    with running_services() as svc:
        toolset = demo_toolset(svc.flights_url, svc.hotels_url)
        app = create_app(load_backend(args.model), toolset,
                         credentials=demo_credentials(toolset),
                         instructions=f"Today is {demo_today().isoformat()}.")
        uvicorn.run(app, host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
