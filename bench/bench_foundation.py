"""Foundation benchmark: validation throughput against openapi-core, and spec load times.

    python bench/bench_foundation.py [--seconds 2]

Prints validations per second for agentrt (Toolset.validate) and for openapi-core's request
validation on the same calls over the same spec, and their ratio; load + tool-build time of
the largest Amadeus document and of a generated 1,000-operation document; retrieval recall.
Medians over repeated rounds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from agentrt import Toolset, load_spec

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "amadeus"

SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Flights", "version": "1"},
    "servers": [{"url": "http://127.0.0.1:8081"}],
    "paths": {
        "/offers": {"get": {"operationId": "search_offers", "parameters": [
            {"name": "origin", "in": "query", "required": True,
             "schema": {"type": "string", "pattern": "^[A-Z]{3}$"}},
            {"name": "destination", "in": "query", "required": True,
             "schema": {"type": "string", "pattern": "^[A-Z]{3}$"}},
            {"name": "date", "in": "query", "required": True,
             "schema": {"type": "string", "format": "date"}},
            {"name": "adults", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                          "maximum": 9}},
            {"name": "cabin", "in": "query",
             "schema": {"type": "string", "enum": ["economy", "business", "first"]}}],
            "responses": {"200": {"description": "ok"}}}},
        "/bookings": {"post": {"operationId": "create_booking", "requestBody": {
            "required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["offer_id", "passengers", "email"],
                "additionalProperties": False, "properties": {
                    "offer_id": {"type": "string"},
                    "email": {"type": "string", "format": "email"},
                    "passengers": {"type": "array", "minItems": 1, "items": {
                        "type": "object", "required": ["first_name", "last_name", "born"],
                        "properties": {"first_name": {"type": "string"},
                                       "last_name": {"type": "string"},
                                       "born": {"type": "string", "format": "date"}}}}}}}}},
            "responses": {"201": {"description": "ok"}}}},
    },
}
SEARCH = {"origin": "CDG", "destination": "JFK", "date": "2026-12-01", "adults": 2,
          "cabin": "economy"}
BOOK = {"offer_id": "OF-1", "email": "a@b.example", "passengers": [
    {"first_name": "Ada", "last_name": "Lovelace", "born": "1990-01-02"}]}


def rate(fn: Any, seconds: float) -> float:
    """Calls per second, median of 5 rounds."""
    rounds = []
    for _ in range(5):
        n, t0 = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - t0) < seconds / 5:
            fn()
            n += 1
        rounds.append(n / elapsed)
    return statistics.median(rounds)


def bench_validation(seconds: float) -> None:
    from openapi_core import OpenAPI
    from openapi_core.testing import MockRequest

    ts = Toolset.from_spec(SPEC)
    api = OpenAPI.from_dict(SPEC)
    search_req = MockRequest("http://127.0.0.1:8081", "get", "/offers",
                             args={k: str(v) for k, v in SEARCH.items()})
    book_req = MockRequest("http://127.0.0.1:8081", "post", "/bookings",
                           data=json.dumps(BOOK), content_type="application/json")
    assert ts.validate("search_offers", SEARCH) == [] and ts.validate("create_booking", BOOK) == []
    api.validate_request(search_req)
    api.validate_request(book_req)

    def ours() -> None:
        ts.validate("search_offers", SEARCH)
        ts.validate("create_booking", BOOK)

    def theirs() -> None:
        api.validate_request(search_req)
        api.validate_request(book_req)

    a, b = rate(ours, seconds) * 2, rate(theirs, seconds) * 2
    print(f"validations/s  agentrt {a:10.0f}   openapi-core {b:10.0f}   ratio {a / b:5.1f}x")


def generated_spec(n: int) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for i in range(n // 2):
        paths[f"/resource{i}/{{id}}"] = {
            "get": {"operationId": f"get_resource{i}", "summary": f"Get resource {i}",
                    "parameters": [{"name": "id", "in": "path", "required": True,
                                    "schema": {"type": "string"}},
                                   {"name": "expand", "in": "query",
                                    "schema": {"type": "boolean"}}],
                    "responses": {"200": {"description": "ok", "content": {"application/json": {
                        "schema": {"$ref": f"#/components/schemas/R{i % 50}"}}}}}},
            "put": {"operationId": f"put_resource{i}", "parameters": [
                {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "requestBody": {"content": {"application/json": {
                    "schema": {"$ref": f"#/components/schemas/R{i % 50}"}}}},
                "responses": {"200": {"description": "ok"}}}}
    schemas = {f"R{j}": {"type": "object", "properties": {
        "name": {"type": "string"}, "child": {"$ref": f"#/components/schemas/R{(j + 1) % 50}"}}}
        for j in range(50)}
    return {"openapi": "3.1.0", "info": {"title": "big", "version": "1"}, "paths": paths,
            "components": {"schemas": schemas}}


def timed(fn: Any, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_loading() -> None:
    if CORPUS.is_dir():
        largest = max(CORPUS.glob("*.json"), key=lambda p: p.stat().st_size)
        t = timed(lambda: Toolset.from_spec(largest))
        n = len(load_spec(largest).operations)
        print(f"load+build  {largest.name} ({largest.stat().st_size // 1024} KiB, {n} ops): "
              f"{t * 1000:.0f} ms")
        t_all = timed(lambda: Toolset.from_specs(sorted(CORPUS.glob("*.json"))), repeat=1)
        print(f"load+build  all {len(list(CORPUS.glob('*.json')))} Amadeus documents: "
              f"{t_all:.2f} s")
    big = generated_spec(1000)
    t = timed(lambda: Toolset.from_spec(big), repeat=1)
    ts = Toolset.from_spec(big)
    print(f"load+build  generated document, {len(ts)} operations: {t:.2f} s")
    t = timed(lambda: ts.retrieve("get resource 512", 8))
    print(f"retrieve    top-8 over {len(ts)} tools (index built once): {t * 1000:.1f} ms first, "
          f"{timed(lambda: ts.retrieve('put resource 7', 8)) * 1000:.2f} ms after")


def bench_recall() -> None:
    qfile = ROOT / "tests" / "fixtures" / "retrieval_amadeus.json"
    if not CORPUS.is_dir():
        return
    ts = Toolset.from_specs(sorted(CORPUS.glob("*.json")))
    queries = json.loads(qfile.read_text())
    for k in (1, 3, 5, 8):
        hit = sum(bool({t.name for t in ts.retrieve(q, k)} & set(e)) for q, e in queries)
        print(f"retrieval   recall@{k} on {len(queries)} queries over {len(ts)} tools: "
              f"{hit / len(queries):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    bench_validation(args.seconds)
    bench_loading()
    bench_recall()


if __name__ == "__main__":
    main()
