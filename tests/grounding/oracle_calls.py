"""Run the demo oracle over a task and record every response it got, as (tool, body) pairs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from agentrt.toolset import Toolset
from agentrt_demo import DemoServices, oracle
from agentrt_demo.specs import spec_path
from agentrt_demo.task_model import Task
from agentrt_demo.tasks import run_task


@dataclass(frozen=True)
class Recorded:
    tool: str
    status: int
    body: Any


def service_toolset(services: DemoServices) -> Toolset:
    return Toolset.merge(
        Toolset.from_spec(spec_path("flights"), base_url=services.flights_url),
        Toolset.from_spec(spec_path("hotels"), base_url=services.hotels_url))


def _tool_of(ts: Toolset, method: str, url: httpx.URL) -> str:
    for tool in ts:
        base = httpx.URL(tool.service.base_url)
        if (url.host, url.port) != (base.host, base.port) or method != tool.method:
            continue
        rx = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(tool.path)) + "$"
        if re.match(rx, url.path):
            return tool.name
    raise AssertionError(f"no tool for {method} {url}")


def run_oracle(task: Task, services: DemoServices, monkeypatch: pytest.MonkeyPatch,
               ts: Toolset, **kwargs: Any) -> tuple[str, list[Recorded], bool]:
    """(answer, responses, whether the demo checker passed the run)."""
    seen: list[Recorded] = []

    def hook(response: httpx.Response) -> None:
        response.read()
        body = response.json() if response.content else None
        seen.append(Recorded(tool=_tool_of(ts, response.request.method, response.request.url),
                             status=response.status_code, body=body))

    def client(**kw: Any) -> httpx.Client:
        return httpx.Client(event_hooks={"response": [hook]}, **kw)

    monkeypatch.setattr(oracle, "httpx", SimpleNamespace(Client=client))
    result = run_task(task, oracle.oracle_runner(task, **kwargs), services=services)
    return result.answer, seen, result.passed
