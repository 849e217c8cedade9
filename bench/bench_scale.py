"""Benchmark: agentrt as a service — many concurrent runs on one default Agent, against raw httpx
on the same server in the same process, plus the per-step overhead and spec loading at scale.

    python bench/bench_scale.py [--levels 1,10,100,1000] [--min-runs 200] [--pairs 300]
                                [--deadline 110] [--skip-spec]
    python bench/bench_scale.py --levels "" --pairs 0        # spec loading only
    python bench/bench_scale.py --targets in-process --skip-spec  # no server process

* ``runs``: for each concurrency level c, ``max(c, min-runs)`` runs of a scripted model (one
  GET through the executor, then an answer) on one default ``Agent`` — its own executor, one
  HTTP client for every run — with at most c in flight; then the same number of raw
  ``httpx.AsyncClient`` GETs (same limits) at the same concurrency. Against the app in process
  (``httpx.ASGITransport``) and a real uvicorn server in a child process on loopback. Prints
  runs/s, p50/p99 latency (per run, from its start), the peak RSS of this process during the
  phase, and agent runs/s ÷ raw requests/s (above 100 in flight raw httpx is also run with at
  most 100 — the pool size — in flight, and the better of the two is the baseline).
* ``step``: the per-step overhead of agentrt over raw httpx, in process: the median over
  interleaved pairs (one raw GET, one agent run of one call) of their difference, and the same
  for one ``Executor.execute`` call.
* ``spec``: a generated 1,000-operation document: openapi-spec-validator alone, a cold
  ``load_spec`` and a warm one (each in a fresh process with an empty, then a filled, cache
  directory), and ``Toolset.from_spec`` on top; then, as on a core install without
  jsonschema-rs (the pure-Python backend forced), the validator alone and a cold load.

Stops itself: every phase checks ``--deadline`` (seconds, whole script) and what is left is
skipped with a note. The machine's load shows in every figure: run it on a quiet one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from agentrt.agent import Agent
from agentrt.executor import Executor
from agentrt.testing import ScriptedBackend, answer, call
from agentrt.toolset import Toolset

HERE = Path(__file__).resolve().parent
SPEC: dict[str, Any] = {
    "openapi": "3.1.0", "info": {"title": "Flights", "version": "1"},
    "servers": [{"url": "http://bench.test/v1"}],
    "components": {"securitySchemes": {"key": {"type": "apiKey", "in": "header",
                                               "name": "X-Key"}}},
    "security": [{"key": []}],
    "paths": {"/flights/{id}": {"get": {
        "operationId": "get_flight",
        "parameters": [{"name": "id", "in": "path", "required": True,
                        "schema": {"type": "string"}}],
        "responses": {"200": {"description": "ok", "content": {"application/json": {
            "schema": {"type": "object", "required": ["id", "seats"], "properties": {
                "id": {"type": "string"}, "seats": {"type": "integer"}}}}}}}}}},
}
KEY = "bench-key-123"


async def flight(request: Request) -> JSONResponse:
    return JSONResponse({"id": request.path_params["id"], "seats": 3})


APP = Starlette(routes=[Route("/v1/flights/{id}", flight)])


def responder(messages: Sequence[dict[str, Any]], tools: Any, n: int) -> Any:
    """The scripted model: look the flight up, then answer."""
    if any(m.get("role") == "tool" for m in messages):  # (a note may follow the result)
        return answer("AF1 has 3 seats.")
    return call("get_flight", id="AF1")


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    @property
    def left(self) -> float:
        return self.end - time.monotonic()


# -- measuring ----------------------------------------------------------------------------------
def rss_mib() -> float:
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:  # not Linux: the lifetime peak
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextlib.contextmanager
def peak_rss() -> Iterator[list[float]]:
    """The peak resident set of this process while the block runs (sampled every 5 ms)."""
    peak = [rss_mib()]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.005):
            peak[0] = max(peak[0], rss_mib())

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        done.set()
        thread.join()
        peak[0] = max(peak[0], rss_mib())


async def load(job: Callable[[int], Awaitable[Any]], total: int, concurrency: int,
               deadline: Deadline | None = None) -> tuple[float, list[float]]:
    """``total`` jobs, at most ``concurrency`` at once: (wall seconds, latency of each job
    done). Past ``deadline`` no new job starts."""
    latencies: list[float] = []
    next_job = iter(range(total))

    async def worker() -> None:
        for i in next_job:
            if deadline is not None and deadline.left <= 0:
                return
            t0 = time.perf_counter()
            await job(i)
            latencies.append(time.perf_counter() - t0)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(min(concurrency, total))))
    return time.perf_counter() - start, latencies


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


POOL = 100  # the executor's default max_connections


def client_limits() -> httpx.Limits:
    return httpx.Limits(max_connections=POOL, max_keepalive_connections=POOL)  # the executor's


# -- the server in its own process --------------------------------------------------------------
@contextlib.contextmanager
def uvicorn_server() -> Iterator[str]:
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(HERE)!r})
        import uvicorn
        from agentrt.servers import bind_socket
        from bench_scale import APP
        sock = bind_socket("127.0.0.1", 0)
        sock.listen(2048)
        print(sock.getsockname()[1], flush=True)
        config = uvicorn.Config(APP, log_level="warning", lifespan="off", access_log=False,
                                backlog=2048)
        uvicorn.Server(config).run(sockets=[sock])
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        url = f"http://127.0.0.1:{port}"
        for _ in range(500):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/v1/flights/X", timeout=1).status_code == 200:
                    break
            time.sleep(0.02)
        yield url
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)
        if proc.poll() is None:
            proc.kill()


# -- phases -------------------------------------------------------------------------------------
def make_agent(base: str | None) -> Agent:
    transport = httpx.ASGITransport(app=APP) if base is None else None
    return Agent(ScriptedBackend(responder, record=False), Toolset.from_spec(SPEC), credentials={"key": KEY},
                 base_urls=None if base is None else f"{base}/v1", transport=transport)


async def scale(target: str, base: str | None, levels: list[int], min_runs: int,
                deadline: Deadline) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    url = f"{base or 'http://bench.test'}/v1/flights/AF1"
    agent = make_agent(base)
    async with contextlib.AsyncExitStack() as stack:
        client = await stack.enter_async_context(httpx.AsyncClient(
            transport=httpx.ASGITransport(app=APP) if base is None else None,
            limits=client_limits(), timeout=httpx.Timeout(60.0), trust_env=False))
        if hasattr(agent, "aclose"):  # (an agentrt before 0.2 has no agent to close)
            stack.push_async_callback(agent.aclose)

        async def run(_i: int) -> None:
            result = await agent.run("How many seats are left on flight AF1?")
            if result.status != "solved":
                raise RuntimeError(f"run ended {result.status}: {result.answer}")

        async def raw(_i: int) -> None:
            response = await client.get(url, headers={"X-Key": KEY})
            response.raise_for_status()
            response.json()

        await load(run, 50, 10)  # warm up: imports, validators, connections
        await load(raw, 50, 10)
        for c in levels:
            if deadline.left < 5:
                print(f"  [{target}] deadline reached: c={c} and above skipped")
                break
            total = max(c, min_runs)
            row: dict[str, Any] = {"target": target, "c": c, "runs": total}
            # raw at the same concurrency, and at most a pool's worth in flight (past that,
            # httpcore's queue of waiting requests costs time per request it finishes)
            phases = [("agent", run, c), ("raw", raw, c)]
            if c > POOL:
                phases.append(("raw_pool", raw, POOL))
            for name, job, in_flight in phases:
                with peak_rss() as peak:  # the raw side keeps the time the agent side left
                    wall, lat = await load(job, total, in_flight,
                                           deadline if name == "agent" else None)
                if not lat:
                    break
                row[name] = {"per_s": len(lat) / wall, "done": len(lat),
                             "p50_ms": pct(lat, 0.5) * 1e3, "p99_ms": pct(lat, 0.99) * 1e3,
                             "rss_mib": peak[0]}
                if name == "agent" and len(lat) < total:  # cut short: as many raw requests
                    total = len(lat)
                    row["cut_at_deadline"] = True
            if "raw" not in row:
                print(f"  [{target}] c={c}: nothing finished before the deadline")
                break
            best = max(row[k]["per_s"] for k in ("raw", "raw_pool") if k in row)
            row["ratio"] = row["agent"]["per_s"] / best
            rows.append(row)
            a, r = row["agent"], row["raw"]
            pooled = (f" (≤{POOL} in flight {row['raw_pool']['per_s']:.0f} req/s)"
                      if "raw_pool" in row else "")
            print(f"  [{target:9}] c={c:5} runs={total:5}{'*' if row.get('cut_at_deadline') else ''}"
                  f"  agent {a['per_s']:7.0f} runs/s "
                  f"p50 {a['p50_ms']:8.1f} ms p99 {a['p99_ms']:8.1f} ms rss {a['rss_mib']:5.0f} "
                  f"MiB | raw {r['per_s']:7.0f} req/s p50 {r['p50_ms']:8.1f} ms{pooled} | "
                  f"ratio to the best raw {row['ratio']:.2f}", flush=True)
            if row.get("cut_at_deadline"):
                print(f"  [{target}] * cut short by the deadline")
                break
    return rows


async def per_step(pairs: int) -> dict[str, float]:
    """Median of interleaved pairs, in process: raw GET vs one agent run (one call) and vs
    one Executor.execute call."""
    url = "http://bench.test/v1/flights/AF1"
    async with make_agent(None) as agent, httpx.AsyncClient(
            transport=httpx.ASGITransport(app=APP), limits=client_limits(),
            trust_env=False) as client:
        executor = Executor(Toolset.from_spec(SPEC), client=client, credentials={"key": KEY})

        async def raw() -> None:
            (await client.get(url, headers={"X-Key": KEY})).json()

        async def run() -> None:
            await agent.run("How many seats are left on flight AF1?")

        async def execute() -> None:
            await executor.execute("get_flight", {"id": "AF1"})

        async def timed(fn: Callable[[], Awaitable[None]]) -> float:
            t0 = time.perf_counter()
            await fn()
            return time.perf_counter() - t0

        for fn in (raw, run, execute):
            for _ in range(50):
                await fn()
        run_d, exe_d, raws = [], [], []
        for _ in range(pairs):
            r = await timed(raw)
            run_d.append(await timed(run) - r)
            r2 = await timed(raw)
            exe_d.append(await timed(execute) - r2)
            raws += [r, r2]
    return {"raw_us": statistics.median(raws) * 1e6,
            "run_over_raw_us": statistics.median(run_d) * 1e6,
            "execute_over_raw_us": statistics.median(exe_d) * 1e6}


_SPEC_CHILD = textwrap.dedent("""
    import json, sys, time
    sys.path.insert(0, {here!r})
    from bench_foundation import generated_spec
    what = sys.argv[1]
    doc = generated_spec(1000)
    path = sys.argv[2]
    from openapi_spec_validator import OpenAPIV31SpecValidator
    from openapi_spec_validator.schemas import get_validator_backend
    from agentrt.openapi import load_spec
    from agentrt.openapi.checks import validator_backend
    from agentrt.toolset import Toolset
    t0 = time.perf_counter()
    if what == "validator":
        errors = list(OpenAPIV31SpecValidator(doc).iter_errors())
        assert not errors, errors[:1]
        extra = {{"backend": get_validator_backend()}}
    else:
        spec = load_spec(path)
        t1 = time.perf_counter()
        tools = Toolset.from_spec(spec)
        extra = {{"operations": len(tools), "backend": validator_backend(),
                  "toolset_s": time.perf_counter() - t1}}
    print(json.dumps({{"s": time.perf_counter() - t0 - extra.get("toolset_s", 0), **extra}}))
""")


def spec_loading(deadline: Deadline) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    from bench_foundation import generated_spec

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.json"
        path.write_text(json.dumps(generated_spec(1000)), encoding="utf-8")
        env = {**os.environ, "AGENTRT_CACHE_DIR": str(Path(tmp) / "cache")}
        # a core install without jsonschema-rs: the pure-Python backend, and its own cache
        core = {**env, "AGENTRT_CACHE_DIR": str(Path(tmp) / "core-cache"),
                "OPENAPI_SPEC_VALIDATOR_SCHEMA_VALIDATOR_BACKEND": "jsonschema"}
        code = _SPEC_CHILD.format(here=str(HERE))
        for name, what, child_env in (
                ("validator_alone", "validator", env), ("cold", "load", env),
                ("warm", "load", env), ("core_validator_alone", "validator", core),
                ("core_cold", "load", core)):
            if deadline.left < 30:
                print(f"  [spec] deadline reached: {name} skipped")
                break
            proc = subprocess.run([sys.executable, "-c", code, what, str(path)], env=child_env,
                                  capture_output=True, text=True, timeout=max(deadline.left, 1))
            if proc.returncode != 0:
                raise RuntimeError(proc.stderr[-2000:])
            out[name] = json.loads(proc.stdout.strip().splitlines()[-1])
            print(f"  [spec] {name:16} {json.dumps(out[name])}", flush=True)
    return out


async def amain(ns: argparse.Namespace) -> None:
    deadline = Deadline(ns.deadline)
    levels = [int(x) for x in ns.levels.split(",") if x]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.2f}")
    print("runs (scripted model, one GET + answer per run; default Agent, one client):")
    results: dict[str, Any] = {"scale": []}
    targets = {t.strip() for t in ns.targets.split(",") if t.strip()}
    if levels and "uvicorn" in targets:
        with uvicorn_server() as url:  # each target gets its share of the time
            results["scale"] += await scale("uvicorn", url, levels, ns.min_runs,
                                            Deadline(min(deadline.left, ns.deadline * 0.4)))
    if levels and "in-process" in targets \
            and "transport" in inspect.signature(Agent).parameters:  # (older: uvicorn only)
        results["scale"] += await scale("in-process", None, levels, ns.min_runs,
                                        Deadline(min(deadline.left, ns.deadline * 0.3)))
    if deadline.left > 10 and ns.pairs and any(
            row["target"] == "in-process" for row in results["scale"]):
        step = await per_step(ns.pairs)
        results["step"] = step
        print(f"per step, in process, median of {ns.pairs} interleaved pairs: raw GET "
              f"{step['raw_us']:.0f} µs; agent run (1 call) − raw {step['run_over_raw_us']:.0f}"
              f" µs; Executor.execute − raw {step['execute_over_raw_us']:.0f} µs")
    if not ns.skip_spec:
        print("spec loading (generated 1,000-operation document, fresh processes):")
        spec = spec_loading(deadline)
        results["spec"] = spec
        if "validator_alone" in spec and "cold" in spec:
            v = spec["validator_alone"]["s"]
            line = f"  load_spec cold {spec['cold']['s']:.2f} s = {spec['cold']['s'] / v:.2f}x " \
                   f"openapi-spec-validator alone ({v:.2f} s)"
            if "warm" in spec:
                w = spec["warm"]
                line += (f"; warm {w['s']:.3f} s = {w['s'] / v:.3f}x; Toolset.from_spec on "
                         f"top {w['toolset_s']:.2f} s")
            print(line)
        if "core_validator_alone" in spec and "core_cold" in spec:
            v, c = spec["core_validator_alone"]["s"], spec["core_cold"]["s"]
            print(f"  core install (jsonschema backend): load_spec cold {c:.2f} s = {c / v:.2f}x "
                  f"openapi-spec-validator alone ({v:.2f} s)")
    print(f"load average at the end {os.getloadavg()[0]:.2f}; total "
          f"{ns.deadline - deadline.left:.0f} s")
    if ns.json:
        Path(ns.json).write_text(json.dumps(results, indent=1), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="1,10,100,1000")
    parser.add_argument("--min-runs", type=int, default=200)
    parser.add_argument("--pairs", type=int, default=300)
    parser.add_argument("--deadline", type=float, default=110.0)
    parser.add_argument("--skip-spec", action="store_true")
    parser.add_argument("--targets", default="uvicorn,in-process",
                        help="which servers the runs go to (comma-separated)")
    parser.add_argument("--json", default="", help="also write the figures to this file")
    ns = parser.parse_args(argv)
    asyncio.run(amain(ns))


if __name__ == "__main__":
    main()
