"""Benchmark: executor overhead per call against raw httpx, on the same in-process ASGI app.

Both sides send GET /v1/flights/{id}?tags=a&tags=b through one `httpx.AsyncClient` over
`httpx.ASGITransport` and parse the JSON answer; the executor adds argument validation, request
building, the origin check, auth (an API key), retries bookkeeping, the size-capped read,
response validation, redaction and its structlog event (rendered to nowhere).

    python bench/bench_executor.py [--calls 2000] [--rounds 5]

Prints the median per-call time of each side (over rounds of ``calls`` calls) and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import time
from typing import Any

import httpx
import structlog
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from agentrt.executor import Executor
from agentrt.toolset import Toolset

SPEC: dict[str, Any] = {
    "openapi": "3.1.0", "info": {"title": "Flights", "version": "1"},
    "servers": [{"url": "http://bench.test/v1"}],
    "components": {"securitySchemes": {"key": {"type": "apiKey", "in": "header",
                                               "name": "X-Key"}}},
    "security": [{"key": []}],
    "paths": {"/flights/{id}": {"get": {
        "operationId": "get_flight",
        "parameters": [
            {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
            {"name": "tags", "in": "query",
             "schema": {"type": "array", "items": {"type": "string"}}}],
        "responses": {"200": {"description": "ok", "content": {"application/json": {
            "schema": {"type": "object", "required": ["id", "seats"], "properties": {
                "id": {"type": "string"}, "seats": {"type": "integer"},
                "legs": {"type": "array", "items": {"type": "object"}}}}}}}}}}},
}


async def flight(request: Request) -> JSONResponse:
    return JSONResponse({"id": request.path_params["id"], "seats": 3,
                         "legs": [{"from": "CDG", "to": "JFK", "n": i} for i in range(5)]})


APP = Starlette(routes=[Route("/v1/flights/{id}", flight)])


async def _round(fn: Any, calls: int) -> float:
    start = time.perf_counter()
    for i in range(calls):
        await fn(i)
    return (time.perf_counter() - start) / calls


async def main(calls: int, rounds: int) -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=APP)) as client:
        executor = Executor(Toolset.from_spec(SPEC), client=client,
                            credentials={"key": "bench-key-123"})

        async def raw(i: int) -> Any:
            r = await client.get(f"http://bench.test/v1/flights/AF{i}",
                                 params=[("tags", "a"), ("tags", "b")],
                                 headers={"X-Key": "bench-key-123"})
            return r.json()

        async def via_executor(i: int) -> Any:
            obs = await executor.execute("get_flight", {"id": f"AF{i}", "tags": ["a", "b"]})
            assert obs.outcome == "ok", obs
            return obs.body

        for fn in (raw, via_executor):  # warm up imports, validators, connection
            await _round(fn, 200)
        raw_t, ex_t = [], []
        for _ in range(rounds):  # interleaved, so load changes hit both sides alike
            raw_t.append(await _round(raw, calls))
            ex_t.append(await _round(via_executor, calls))
    r, e = statistics.median(raw_t), statistics.median(ex_t)
    print(f"calls per round: {calls}, rounds: {rounds}, transport: httpx.ASGITransport")
    print(f"raw httpx  median per call: {r * 1e6:8.1f} µs")
    print(f"executor   median per call: {e * 1e6:8.1f} µs")
    print(f"overhead per call: {(e - r) * 1e6:8.1f} µs   ratio executor/raw: {e / r:.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    ns = parser.parse_args()
    asyncio.run(main(ns.calls, ns.rounds))
