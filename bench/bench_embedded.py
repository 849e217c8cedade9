"""Benchmark the embedded backend on the demo's own model steps.

1. ``record``: run the demo request (the real Agent, the demo toolset and services, as
   ``agentrt demo`` does) through a recorder around the embedded backend; per step: prompt
   tokens, tokens reused from the KV cache, generated tokens, seconds, threads.
2. ``replay`` the recorded requests, in order (so KV-cache reuse is the same), on:
   raw llama-cpp-python (``Llama.create_chat_completion`` with the same chat messages, GBNF
   grammar, sampling and thread count), agentrt's backend with llama-cpp-python's own sampler
   (the wrapper's overhead alone), and agentrt's backend as shipped (lazy grammar);
   then agentrt's backend at 1 and 2 fixed threads and with the adaptive policy, quiet and
   beside a busy neighbour (a python busy loop the bench starts, killed at the end). Replays
   use the JSON-step format on both sides, whatever format the demo run used.
3. Print medians: seconds per step, generated tok/s (generated tokens / step seconds), the
   ratio agentrt / raw (goal ≥ 0.95), and the load average.

    python bench/bench_embedded.py                 # everything (~5-10 min on 2 cores)
    python bench/bench_embedded.py --record-only   # just the demo run
    python bench/bench_embedded.py --replay FILE   # replay saved steps, skip the demo

The raw model is loaded with ``use_extra_bufts=False`` where AMX is advertised (otherwise it
dies with SIGILL on the VMs of issue 10), so both sides run the same kernels.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentrt.backends import EmbeddedBackend, Sampling
from agentrt.backends.base import Candidate
from agentrt.backends.llama_runtime import choose_load_params, create_llama
from agentrt.backends.model_files import resolve_model_path
from agentrt.backends.native import common_prefix
from agentrt.backends.prompting import bound_thought, step_messages


@dataclass(slots=True)
class Step:
    """One recorded ``propose`` request, and what each candidate cost when recorded."""

    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]]
    n: int
    sampling: dict[str, Any]
    constraint: dict[str, Any] | None
    metas: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"messages": self.messages, "tools": self.tools, "n": self.n,
                "sampling": self.sampling, "constraint": self.constraint, "metas": self.metas}


class Recorder:
    """A backend that records each request and delegates it to the embedded backend."""

    def __init__(self, inner: EmbeddedBackend) -> None:
        self.inner = inner
        self.name = inner.name
        self.capabilities = inner.capabilities
        self.steps: list[Step] = []

    async def propose(self, messages: Sequence[dict[str, Any]], *,
                      tools: Sequence[dict[str, Any]], n: int = 1,
                      sampling: Sampling | None = None,
                      constraint: dict[str, Any] | None = None) -> list[Candidate]:
        sampling = sampling or Sampling()
        step = Step(messages=json.loads(json.dumps(list(messages), default=str)),
                    tools=list(tools), n=n, constraint=constraint,
                    sampling={"temperature": sampling.temperature, "top_p": sampling.top_p,
                              "max_tokens": sampling.max_tokens, "seed": sampling.seed})
        cands = await self.inner.propose(messages, tools=tools, n=n, sampling=sampling,
                                         constraint=constraint)
        step.metas = [dict(c.meta) for c in cands]
        self.steps.append(step)
        return cands

    async def aclose(self) -> None:
        await self.inner.aclose()


async def record(max_seconds: float) -> list[Step]:
    """Run the demo request once, as ``agentrt demo`` does, recording every model step."""
    import agentrt_demo
    from agentrt.agent import Agent
    from agentrt.cli.demo import default_request, demo_budget, demo_instructions

    backend = Recorder(EmbeddedBackend())  # the demo's own default backend and format
    await backend.inner.load()
    try:
        with agentrt_demo.running_services(None) as services:
            today = agentrt_demo.demo_today()
            toolset = agentrt_demo.demo_toolset(services.flights_url, services.hotels_url)
            budget = demo_budget().model_copy(update={"max_seconds": max_seconds})
            agent = Agent(backend, toolset, search="dfs", policy="allow", budget=budget,
                          credentials=agentrt_demo.demo_credentials(toolset, services.api_key),
                          instructions=demo_instructions(today))
            t0 = time.perf_counter()
            result = await agent.run(default_request(today))
            print(f"demo run: status={result.status} solved={result.solved} "
                  f"in {time.perf_counter() - t0:.1f}s, {len(backend.steps)} model steps, "
                  f"format {getattr(backend.inner, 'tool_format', 'json')}", flush=True)
    finally:
        await backend.aclose()
    return backend.steps


# -- replay -------------------------------------------------------------------------------------
def _seed(step: Step, i: int) -> int:
    recorded = step.metas[i].get("seed") if i < len(step.metas) else None
    return int(recorded if recorded is not None else 1000 + i)


def _candidate_count(step: Step) -> int:
    return max(1, len(step.metas) or step.n)


@dataclass(slots=True)
class Row:
    """One replayed completion."""

    step: int
    prompt_tokens: int
    reused: int
    generated: int
    seconds: float
    threads: int


class RawRunner:
    """The same completions through plain llama-cpp-python (its own sampler and decoding)."""

    def __init__(self, threads: int, thought_chars: int | None) -> None:
        import llama_cpp

        self._llama_cpp = llama_cpp
        self.threads = threads
        self.thought_chars = thought_chars
        params = choose_load_params()
        self.llm = create_llama(llama_cpp, str(resolve_model_path()),
                                use_extra_bufts=params.use_extra_bufts, n_ctx=6144, n_batch=512,
                                n_threads=threads, n_threads_batch=threads, verbose=False)

    def complete(self, index: int, step: Step, i: int) -> Row:
        llama_cpp, llm = self._llama_cpp, self.llm
        prompt = step_messages(step.messages, step.tools)
        constraint = bound_thought(step.constraint, self.thought_chars)
        grammar = (llama_cpp.LlamaGrammar.from_json_schema(json.dumps(constraint), verbose=False)
                   if constraint is not None else None)
        before = list(llm.input_ids[: llm.n_tokens])
        t0 = time.perf_counter()
        reply = llm.create_chat_completion(
            messages=prompt, grammar=grammar, seed=_seed(step, i),
            temperature=step.sampling["temperature"], top_p=step.sampling["top_p"],
            max_tokens=step.sampling["max_tokens"])
        wall = time.perf_counter() - t0
        usage = reply["usage"]
        reused = common_prefix(before, list(llm.input_ids[: usage["prompt_tokens"]]))
        return Row(step=index, prompt_tokens=usage["prompt_tokens"], reused=reused,
                   generated=usage["completion_tokens"], seconds=wall, threads=self.threads)

    def close(self) -> None:
        self.llm.close()


async def _agentrt_row(backend: EmbeddedBackend, index: int, step: Step, i: int) -> Row:
    s = step.sampling
    [cand] = await backend.propose(
        step.messages, tools=step.tools, n=1, constraint=step.constraint,
        sampling=Sampling(temperature=s["temperature"], top_p=s["top_p"],
                          max_tokens=s["max_tokens"], seed=_seed(step, i)))
    m = cand.meta
    return Row(step=index, prompt_tokens=m["prompt_tokens"], reused=m["reused_prompt_tokens"],
               generated=m["completion_tokens"], seconds=m["seconds"], threads=m["threads"])


async def compare(steps: Sequence[Step], threads: int, thought_chars: int | None
                  ) -> dict[str, list[Row]]:
    """Raw llama-cpp-python, agentrt with the stock sampler, agentrt as shipped: the same
    completions, interleaved (the three take turns at every completion, so a load change on a
    shared machine hits all three alike)."""
    raw = RawRunner(threads, thought_chars)
    stock = json_backend(n_threads=threads, lazy_grammar=False, lookahead=0,
                         thought_max_chars=thought_chars)
    shipped = json_backend(n_threads=threads, thought_max_chars=thought_chars)
    await stock.load()
    await shipped.load()
    rows: dict[str, list[Row]] = {"raw": [], "stock": [], "shipped": []}
    try:
        for index, step in enumerate(steps):
            for i in range(_candidate_count(step)):
                order = ["raw", "stock", "shipped"]
                k = (index + i) % 3
                for name in order[k:] + order[:k]:
                    if name == "raw":
                        rows[name].append(await asyncio.to_thread(raw.complete, index, step, i))
                    else:
                        backend = stock if name == "stock" else shipped
                        rows[name].append(await _agentrt_row(backend, index, step, i))
            print(f"    step {index}: " + "  ".join(
                f"{name} {r[-1].seconds:.2f}s" for name, r in rows.items()), flush=True)
    finally:
        raw.close()
        await stock.aclose()
        await shipped.aclose()
    return rows


def json_backend(**kw: Any) -> EmbeddedBackend:
    """The embedded backend in its JSON-step format (what the raw comparison replays)."""
    if "tool_format" in inspect.signature(EmbeddedBackend).parameters:
        kw["tool_format"] = "json"
    return EmbeddedBackend(**kw)


async def replay_agentrt(steps: Sequence[Step], *, threads: int | None, lazy: bool,
                         thought_chars: int | None, budget_s: float = 1e9) -> list[Row]:
    """The same requests through agentrt's backend (``threads`` None: the adaptive policy)."""
    backend = json_backend(n_threads=threads, lazy_grammar=lazy, lookahead=4 if lazy else 0,
                           thought_max_chars=thought_chars)
    await backend.load()
    rows = []
    started = time.perf_counter()
    try:
        for index, step in enumerate(steps):
            if time.perf_counter() - started > budget_s:
                print(f"    (stopped after {index} steps: over {budget_s:.0f}s)", flush=True)
                break
            for i in range(_candidate_count(step)):
                rows.append(await _agentrt_row(backend, index, step, i))
    finally:
        await backend.aclose()
    return rows


@contextlib.contextmanager
def busy_neighbour(seconds: float) -> Iterator[None]:
    """A python busy loop on one core, bounded to ``seconds`` and killed on exit."""
    proc = subprocess.Popen([sys.executable, "-c",
                             f"import time\nend = time.time() + {seconds}\n"
                             "while time.time() < end: pass"])
    try:
        time.sleep(0.3)
        yield
    finally:
        proc.kill()
        proc.wait()


# -- report -------------------------------------------------------------------------------------
def _step_seconds(rows: Sequence[Row]) -> list[float]:
    per: dict[int, float] = {}
    for r in rows:
        per[r.step] = per.get(r.step, 0.0) + r.seconds
    return list(per.values())


def _tok_s(rows: Sequence[Row]) -> float:
    secs = sum(r.seconds for r in rows)
    return sum(r.generated for r in rows) / secs if secs else 0.0


def summary(label: str, rows: Sequence[Row]) -> dict[str, float]:
    if not rows:
        return {}
    med = statistics.median(_step_seconds(rows))
    out = {"median_step_s": med, "tok_s": _tok_s(rows),
           "median_prompt": statistics.median(r.prompt_tokens for r in rows),
           "median_evaluated": statistics.median(r.prompt_tokens - r.reused for r in rows),
           "median_generated": statistics.median(r.generated for r in rows)}
    threads = sorted({r.threads for r in rows})
    print(f"  {label:34s} median step {med:6.2f}s  gen {out['tok_s']:5.1f} tok/s  "
          f"prompt {out['median_prompt']:.0f} (evaluated {out['median_evaluated']:.0f})  "
          f"generated {out['median_generated']:.0f}  threads {threads}  "
          f"load {os.getloadavg()[0]:.2f}", flush=True)
    return out


def print_steps(rows: Sequence[Row]) -> None:
    print("  step  prompt  reused  generated  seconds  threads")
    for r in rows:
        print(f"  {r.step:4d}  {r.prompt_tokens:6d}  {r.reused:6d}  {r.generated:9d}  "
              f"{r.seconds:7.2f}  {r.threads:7d}")


def _rows_from_record(steps: Sequence[Step]) -> list[Row]:
    return [Row(step=i, prompt_tokens=m["prompt_tokens"], reused=m["reused_prompt_tokens"],
                generated=m["completion_tokens"], seconds=m["seconds"],
                threads=m.get("threads", 0))
            for i, s in enumerate(steps) for m in s.metas]


async def run(args: argparse.Namespace) -> int:
    print(f"load average at start: {os.getloadavg()}", flush=True)
    if args.replay:
        data = json.loads(Path(args.replay).read_text())
        steps = [Step(**d) for d in data]
    else:
        steps = await record(args.max_seconds)
        Path(args.save).write_text(json.dumps([s.to_dict() for s in steps]))
        print(f"recorded steps saved to {args.save}")
        print("\nthe demo run (agentrt backend, adaptive threads):")
        recorded = _rows_from_record(steps)
        print_steps(recorded)
        summary("demo run", recorded)
    if args.record_only:
        return 0
    steps = steps[: args.steps]
    chars = args.thought_chars
    print(f"\nreplay of {len(steps)} steps at {args.threads} thread(s), interleaved:",
          flush=True)
    rows = await compare(steps, args.threads, chars)
    labels = {"raw": "raw llama-cpp-python", "stock": "agentrt, llama-cpp-python's sampler",
              "shipped": "agentrt as shipped"}
    stats = {name: summary(labels[name], r) for name, r in rows.items()}
    print_steps(rows["shipped"])
    if stats["raw"].get("tok_s"):
        print(f"  ratio agentrt/raw tok/s: with llama-cpp-python's sampler "
              f"{stats['stock']['tok_s'] / stats['raw']['tok_s']:.2f}, as shipped (lazy "
              f"grammar, drafts, KV file) {stats['shipped']['tok_s'] / stats['raw']['tok_s']:.2f}"
              " (goal >= 0.95)")
    later = {name: summary(f"{labels[name]}, after step 0", [x for x in r if x.step > 0])
             for name, r in rows.items()}
    if later["raw"].get("tok_s"):
        print(f"  ratio after the first step (all warm): with llama-cpp-python's sampler "
              f"{later['stock']['tok_s'] / later['raw']['tok_s']:.2f}, as shipped "
              f"{later['shipped']['tok_s'] / later['raw']['tok_s']:.2f}")
    if args.no_threads:
        return 0
    print("\nthreads (agentrt, lazy grammar):", flush=True)
    few = steps[: args.thread_steps]
    for threads in (1, 2):
        summary(f"quiet, {threads} thread(s)", await replay_agentrt(
            few, threads=threads, lazy=True, thought_chars=chars))
    summary("quiet, adaptive", await replay_agentrt(few, threads=None, lazy=True,
                                                    thought_chars=chars))
    with busy_neighbour(args.busy_cap):
        for threads in (1, 2):
            summary(f"busy neighbour, {threads} thread(s)", await replay_agentrt(
                few, threads=threads, lazy=True, thought_chars=chars, budget_s=60))
        summary("busy neighbour, adaptive", await replay_agentrt(
            few, threads=None, lazy=True, thought_chars=chars))
    print(f"load average at end: {os.getloadavg()}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--replay", metavar="FILE", help="replay steps saved by a record run")
    parser.add_argument("--save", default="/tmp/agentrt-demo-steps.json",
                        help="where the recorded steps go")
    parser.add_argument("--record-only", action="store_true")
    parser.add_argument("--no-threads", action="store_true", help="skip the thread comparison")
    parser.add_argument("--max-seconds", type=float, default=150.0,
                        help="wall-time budget of the recorded demo run")
    parser.add_argument("--steps", type=int, default=6, help="at most this many steps replayed")
    parser.add_argument("--thread-steps", type=int, default=3,
                        help="steps replayed per thread setting")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads for the raw-vs-agentrt comparison")
    parser.add_argument("--thought-chars", type=int, default=120,
                        help="the backend's thought bound (EmbeddedBackend default)")
    parser.add_argument("--busy-cap", type=float, default=300.0,
                        help="the busy neighbour's lifetime cap in seconds")
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
