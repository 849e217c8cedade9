"""Run the demo oracle over a task and record every call it made: the tool, the arguments
(as the model would have written them) and the response."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from agentrt.toolset import Tool, Toolset
from agentrt_demo import DemoServices, oracle
from agentrt_demo.specs import spec_path
from agentrt_demo.task_model import Task
from agentrt_demo.tasks import run_task


@dataclass(frozen=True)
class Recorded:
    tool: str
    arguments: dict[str, Any]
    status: int
    body: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True)
class OracleRun:
    answer: str
    calls: list[Recorded]
    passed: bool


def service_toolset(services: DemoServices) -> Toolset:
    return Toolset.merge(
        Toolset.from_spec(spec_path("flights"), base_url=services.flights_url),
        Toolset.from_spec(spec_path("hotels"), base_url=services.hotels_url))


def _arguments(tool: Tool, request: httpx.Request, match: re.Match[str]) -> dict[str, Any]:
    args: dict[str, Any] = {}
    wire = {p.wire_name: p.name for p in tool.params}
    args.update({wire.get(k, k): v for k, v in match.groupdict().items()})
    args.update({wire.get(k, k): v for k, v in request.url.params.items()})
    if request.content and tool.body is not None:
        body = json.loads(request.content)
        if tool.body.mode == "flat" and isinstance(body, dict):
            args.update(body)
        else:
            args[tool.body.argument] = body
    return args


def _call_of(ts: Toolset, request: httpx.Request) -> tuple[Tool, dict[str, Any]]:
    url = request.url
    for tool in ts:
        base = httpx.URL(tool.service.base_url)
        if (url.host, url.port) != (base.host, base.port) or request.method != tool.method:
            continue
        rx = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(tool.path)) + "$"
        m = re.match(rx, url.path)
        if m:
            return tool, _arguments(tool, request, m)
    raise AssertionError(f"no tool for {request.method} {url}")


def run_oracle(task: Task, services: DemoServices, ts: Toolset, **kwargs: Any) -> OracleRun:
    """Run the oracle on ``task`` (state reset first) and record its calls."""
    seen: list[Recorded] = []

    def hook(response: httpx.Response) -> None:
        response.read()
        tool, args = _call_of(ts, response.request)
        seen.append(Recorded(tool=tool.name, arguments=args, status=response.status_code,
                             body=response.json() if response.content else None))

    def client(**kw: Any) -> httpx.Client:
        return httpx.Client(event_hooks={"response": [hook]}, **kw)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(oracle, "httpx", SimpleNamespace(Client=client))
        result = run_task(task, oracle.oracle_runner(task, **kwargs), services=services)
    return OracleRun(answer=result.answer, calls=seen, passed=result.passed)
