"""Benchmark the embedded backend on a DFS-like sequence of prompts.

A depth-first search asks the model for k sibling candidates at each node; children extend
the parent's conversation with a step and an observation; backtracking returns to a shorter
conversation with another tail. llama.cpp keeps the KV cache of the last evaluation and only
re-evaluates tokens after the longest common prefix, so this measures, per call and overall:
time per candidate, prompt and generation tokens/s, and the share of prompt tokens reused.

    python bench/bench_backends.py                    # default model, k=2, 6 expansions
    python bench/bench_backends.py --threads 1 --max-tokens 96 --k 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from collections.abc import Sequence
from typing import Any

from agentrt.backends import FINISH_TOOL, EmbeddedBackend, Sampling


def _tool(name: str, description: str, props: dict[str, Any], required: list[str]
          ) -> dict[str, Any]:
    return {"type": "function", "function": {
        "name": name, "description": description,
        "parameters": {"type": "object", "properties": props, "required": required,
                       "additionalProperties": False}}}


TOOLS = [
    _tool("search_flights", "Search flights between two airports on a date.",
          {"origin": {"type": "string"}, "destination": {"type": "string"},
           "date": {"type": "string", "description": "YYYY-MM-DD"}},
          ["origin", "destination", "date"]),
    _tool("get_flight", "Details of one flight by its id.", {"flight_id": {"type": "string"}},
          ["flight_id"]),
    _tool("book_flight", "Book a seat on a flight for a passenger.",
          {"flight_id": {"type": "string"}, "passenger": {"type": "string"}},
          ["flight_id", "passenger"]),
    _tool("get_booking", "Fetch a booking by its reference.", {"reference": {"type": "string"}},
          ["reference"]),
    FINISH_TOOL,
]


def step_schema(tools: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The union-of-steps constraint (one anyOf branch per tool), as the toolset builds it."""
    return {"anyOf": [{
        "type": "object",
        "properties": {"thought": {"type": "string"}, "name": {"const": t["function"]["name"]},
                       "arguments": t["function"]["parameters"]},
        "required": ["thought", "name", "arguments"], "additionalProperties": False,
    } for t in tools]}


def _turn(name: str, args: dict[str, Any], observation: Any, thought: str
          ) -> list[dict[str, Any]]:
    call_id = f"c{abs(hash((name, json.dumps(args)))) % 10_000}"
    return [
        {"role": "assistant", "content": thought, "tool_calls": [{
            "id": call_id, "type": "function",
            "function": {"name": name, "arguments": json.dumps(args)}}]},
        {"role": "tool", "tool_call_id": call_id, "content": json.dumps(observation)},
    ]


def dfs_prompts() -> list[tuple[str, list[dict[str, Any]]]]:
    """The conversations a DFS visits, in order: root, deeper, backtrack, deeper again."""
    root = [{"role": "user", "content": "Book the cheapest flight from Paris CDG to New York "
                                        "JFK on 2026-12-01 for Ada Lovelace."}]
    search = _turn("search_flights", {"origin": "CDG", "destination": "JFK",
                                      "date": "2026-12-01"},
                   {"flights": [{"id": "AF22", "price": 512}, {"id": "DL405", "price": 468}]},
                   "Search flights first.")
    detail = _turn("get_flight", {"flight_id": "DL405"},
                   {"id": "DL405", "departs": "10:05", "seats_left": 3}, "Check the cheapest.")
    failed = _turn("search_flights", {"origin": "Paris", "destination": "New York",
                                      "date": "2026-12-01"},
                   {"status": 422, "error": "origin must be an IATA code"}, "Search by city.")
    return [
        ("root", root),
        ("child", [*root, *search]),
        ("grandchild", [*root, *search, *detail]),
        ("backtrack->root", root),
        ("sibling branch", [*root, *failed]),
        ("back to best", [*root, *search, *detail]),
    ]


async def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    backend = EmbeddedBackend(n_ctx=args.n_ctx, n_threads=args.threads,
                              thought_max_chars=args.thought_chars)
    await backend.load()
    load_s = time.perf_counter() - started
    constraint = step_schema(TOOLS)
    rows = []
    for label, messages in dfs_prompts():
        t0 = time.perf_counter()
        cands = await backend.propose(messages, tools=TOOLS, n=args.k, constraint=constraint,
                                      sampling=Sampling(seed=args.seed, temperature=0.7,
                                                        max_tokens=args.max_tokens))
        wall = time.perf_counter() - t0
        for c in cands:
            m = c.meta
            rows.append((label, m["prompt_tokens"], m["reused_prompt_tokens"],
                         m["completion_tokens"], m["seconds"], c.kind,
                         c.call.name if c.call else (c.answer or "")[:20]))
        print(f"{label:16s} k={args.k} {wall:6.2f}s  " + "  ".join(
            f"[{c.kind}:{c.call.name if c.call else ''}]" for c in cands), flush=True)
    await backend.aclose()
    stats = backend.stats
    print("\nper call: label, prompt_tokens, reused, completion_tokens, seconds, kind, name")
    for row in rows:
        print("  ", *row)
    per_candidate = [r[4] for r in rows]
    first_of_node = [r for i, r in enumerate(rows) if i % args.k == 0]
    print(f"\nthreads={backend._settings['n_threads']} k={args.k} max_tokens={args.max_tokens} "
          f"load_s={load_s:.2f} (model load {stats.load_seconds:.2f}s) "
          f"loadavg={os.getloadavg()[0]:.2f}")
    print(f"time per candidate: mean {statistics.mean(per_candidate):.2f}s, "
          f"median {statistics.median(per_candidate):.2f}s")
    print(f"prompt tokens: {stats.prompt_tokens} total, {stats.reused_prompt_tokens} reused "
          f"from the KV cache ({stats.reuse_ratio:.1%}); first candidate of each node alone: "
          f"{sum(r[2] for r in first_of_node) / max(1, sum(r[1] for r in first_of_node)):.1%}")
    print(f"prompt eval: {stats.prompt_tokens_per_s:.1f} tok/s "
          f"({stats.evaluated_prompt_tokens} tokens in {stats.prompt_seconds:.2f}s)")
    print(f"generation: {stats.generation_tokens_per_s:.1f} tok/s "
          f"({stats.completion_tokens} tokens in {stats.generation_seconds:.2f}s; "
          f"wall incl. grammar sampling {stats.wall_seconds:.2f}s)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=2, help="candidates per node")
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--thought-chars", type=int, default=80)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--n-ctx", type=int, default=4096)
    parser.add_argument("--seed", type=int, default=11)
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
