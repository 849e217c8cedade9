"""Shared doubles for the search tests: a fake executor and checkers over a tiny tool catalogue."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from agentrt.executor.observation import Observation
from agentrt.search import Hooks, ToolFacts
from agentrt.validation import Violation

#: name -> (required arguments, side effect, compensation)
CATALOGUE: dict[str, tuple[tuple[str, ...], str, str | None]] = {
    "search_flights": (("origin", "destination"), "safe", None),
    "get_offer": (("offer_id",), "safe", None),
    "book_flight": (("offer_id", "passenger"), "unsafe", "cancel_booking"),
    "cancel_booking": (("booking_id",), "idempotent", None),
    "send_email": (("to",), "unsafe", None),
}


def check(name: str, arguments: Any) -> list[Violation]:
    """A tiny validator: unknown tools, non-dict arguments, missing/unknown arguments."""
    if name not in CATALOGUE:
        near = tuple(n for n in CATALOGUE if n.split("_")[-1] in name)
        return [Violation(kind="unknown_tool", path="$", message=f"no tool named {name!r}",
                          suggestions=near)]
    if not isinstance(arguments, dict):
        return [Violation(kind="malformed_arguments", path="$", message="arguments not JSON")]
    required = CATALOGUE[name][0]
    out = [Violation(kind="missing_required", path=f"$.{r}", message=f"{r} is required")
           for r in required if r not in arguments]
    out += [Violation(kind="unknown_argument", path=f"$.{a}", message=f"no argument {a!r}")
            for a in arguments if a not in required]
    return out


def facts(name: str) -> ToolFacts:
    if name not in CATALOGUE:
        return ToolFacts()
    _, side, comp = CATALOGUE[name]
    return ToolFacts(side_effect=side, compensation=comp)


def obs(tool: str, arguments: Any, outcome: str = "ok", *, status: int | None = 200,
        body: Any = None, message: str = "") -> Observation:
    side = CATALOGUE.get(tool, ((), "safe", None))[1]
    if outcome != "ok" and status == 200:
        status = {"client_error": 404, "server_error": 503}.get(outcome)
    return Observation(tool=tool, arguments=arguments, outcome=outcome,  # type: ignore[arg-type]
                       status_code=status, body=body, message=message, side_effect=side,
                       attempts=1)


class FakeExecutor:
    """An object with ``async execute``: answers from ``responses`` (name -> callable or
    Observation), records every call; unknown or invalid calls come back ``rejected``."""

    def __init__(self, responses: dict[str, Any] | None = None) -> None:
        self.responses = responses or {}
        self.calls: list[tuple[str, Any]] = []

    async def execute(self, name: str, arguments: Any) -> Observation:
        self.calls.append((name, arguments))
        problems = check(name, arguments)
        if problems:
            return Observation(tool=name, arguments=arguments, outcome="rejected",
                               violations=tuple(problems), message=problems[0].message)
        answer = self.responses.get(name)
        if callable(answer):
            answer = answer(arguments)
        if answer is None:
            return obs(name, arguments, body={"ok": True})
        return answer

    def count(self, name: str) -> int:
        return sum(1 for n, _ in self.calls if n == name)


def scripted_propose(steps: list[Any]) -> tuple[Callable[..., Any], list[Any]]:
    """A ``propose`` hook playing ``steps`` (candidate, list, or callable(request)); it
    records the requests."""
    requests: list[Any] = []
    queue = list(steps)

    async def propose(request: Any) -> list[Any]:
        requests.append(request)
        step = queue.pop(0) if queue else []
        if callable(step):
            step = step(request)
        return step if isinstance(step, list) else [step]

    return propose, requests


#: a small OpenAPI document for the Agent tests (served for real by test_search_agent.mini_air)
API_KEY = "canary-secret-key-93f1"

SPEC = {
    "openapi": "3.1.0",
    "info": {"title": "mini-air", "version": "1"},
    "servers": [{"url": "http://127.0.0.1:9"}],
    "components": {"securitySchemes": {"key": {"type": "apiKey", "in": "header",
                                               "name": "X-API-Key"}}},
    "security": [{"key": []}],
    "paths": {
        "/flights": {"get": {
            "operationId": "search_flights", "summary": "Search flights between two airports.",
            "parameters": [
                {"name": "origin", "in": "query", "required": True,
                 "schema": {"type": "string", "pattern": "^[A-Z]{3}$"}},
                {"name": "destination", "in": "query", "required": True,
                 "schema": {"type": "string", "pattern": "^[A-Z]{3}$"}}],
            "responses": {"200": {"description": "offers", "content": {"application/json": {
                "schema": {"type": "array", "items": {"type": "object"}}}}}}}},
        "/bookings": {"post": {
            "operationId": "book_flight", "summary": "Book an offer.",
            "x-agentrt-compensation": "cancel_booking",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["offer_id", "passenger"],
                "properties": {"offer_id": {"type": "string"},
                               "passenger": {"type": "string"}}}}}},
            "responses": {"201": {"description": "booked", "content": {"application/json": {
                "schema": {"type": "object", "required": ["booking_id"]}}}},
                "409": {"description": "sold out"}}}},
        "/bookings/{booking_id}": {"delete": {
            "operationId": "cancel_booking", "summary": "Cancel a booking.",
            "parameters": [{"name": "booking_id", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "responses": {"200": {"description": "cancelled"}}}},
    },
}


@pytest.fixture
def make_hooks() -> Callable[..., tuple[Hooks, FakeExecutor, list[Any]]]:
    def make(steps: list[Any], responses: dict[str, Any] | None = None,
             **extra: Any) -> tuple[Hooks, FakeExecutor, list[Any]]:
        executor = FakeExecutor(responses)
        propose, requests = scripted_propose(steps)
        hooks = Hooks(propose=propose, execute=executor.execute, check=check, facts=facts,
                      **extra)
        return hooks, executor, requests

    return make
