"""Benchmark the latency `agentrt mcp serve` adds to a call, against agentrt's Executor alone.

The demo flights API runs on loopback; the same safe call (``get_airport``) is made N times
(after a warm-up) three ways: the `Executor` in this process; the SDK's client through
``agentrt mcp serve`` over stdio (a subprocess); and the same over streamable HTTP. Prints the
median and p90 per call (ms) and the median added by each MCP transport, as JSON with
``--json``.

    python bench/bench_mcp.py                 # 200 calls each
    python bench/bench_mcp.py --calls 50 --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]

from mcp import ClientSession  # noqa: E402
from mcp.client.stdio import StdioServerParameters, get_default_environment, stdio_client  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402

from agentrt.executor import Executor  # noqa: E402
from agentrt.servers import serve_in_thread  # noqa: E402
from agentrt.toolset import Toolset  # noqa: E402
from agentrt_demo import DEMO_API_KEY, create_flights_app, spec_path  # noqa: E402

ARGS = {"code": "LIS"}
KEY_ENV = "BENCH_DEMO_KEY"


async def _timed(call: Callable[[], Awaitable[Any]], n: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        await call()
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        await call()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _argv(url: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "agentrt", "mcp", "serve", str(spec_path("flights")),
            "--base-url", url, "--credential-env", f"ApiKeyAuth={KEY_ENV}", *extra]


def _env() -> dict[str, str]:
    path = os.pathsep.join([str(ROOT), str(ROOT / "tools")])
    return {**get_default_environment(), KEY_ENV: DEMO_API_KEY, "PYTHONPATH": path}


async def _check(client: ClientSession) -> Any:
    result = await client.call_tool("get_airport", ARGS)
    if result.isError:
        raise RuntimeError(f"call failed: {result.content}")
    return result


async def bench(url: str, n: int, warmup: int) -> dict[str, list[float]]:
    toolset = Toolset.from_spec(spec_path("flights"), base_url=url)
    times: dict[str, list[float]] = {}
    async with Executor(toolset, credentials={"ApiKeyAuth": DEMO_API_KEY}) as ex:
        async def direct() -> None:
            obs = await ex.execute("get_airport", ARGS)
            if not obs.ok:
                raise RuntimeError(obs.message)
        times["executor"] = await _timed(direct, n, warmup)

    params = StdioServerParameters(command=sys.executable, args=_argv(url)[1:], env=_env())
    async with stdio_client(params) as (read, write), ClientSession(read, write) as client:
        await client.initialize()
        times["mcp_stdio"] = await _timed(lambda: _check(client), n, warmup)

    proc = subprocess.Popen(_argv(url, "--transport", "http"), stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=_env(), text=True)
    try:
        assert proc.stdout is not None
        endpoint = proc.stdout.readline().split()[1]
        async with streamable_http_client(endpoint) as (read, write, _sid), \
                ClientSession(read, write) as client:
            await client.initialize()
            times["mcp_http"] = await _timed(lambda: _check(client), n, warmup)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return times


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--calls", type=int, default=200)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as state, \
            serve_in_thread(create_flights_app(state, today=date(2026, 6, 1))) as served:
        times = asyncio.run(bench(served.url, args.calls, args.warmup))
    summary: dict[str, Any] = {"calls": args.calls}
    for name, values in times.items():
        values.sort()
        summary[name] = {"median_ms": round(statistics.median(values), 3),
                         "p90_ms": round(values[int(0.9 * (len(values) - 1))], 3)}
    base = summary["executor"]["median_ms"]
    for name in ("mcp_stdio", "mcp_http"):
        summary[name]["added_median_ms"] = round(summary[name]["median_ms"] - base, 3)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for name in times:
            row = summary[name]
            extra = f"  (+{row['added_median_ms']} ms)" if "added_median_ms" in row else ""
            print(f"{name:<10} median {row['median_ms']:8.3f} ms  p90 {row['p90_ms']:8.3f} ms"
                  f"{extra}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
