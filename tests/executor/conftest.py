"""Shared helpers for the executor tests: hand-built tools and a small toolset double."""

from __future__ import annotations

from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any

import jsonschema
import pytest

from agentrt.toolset.tool import Body, Param, Service, Tool
from agentrt.validation import Violation

BASE = "http://api.test"


def service(base_url: str = BASE, *, schemes: dict[str, dict[str, Any]] | None = None,
            security: Iterable[dict[str, list[str]]] = ()) -> Service:
    return Service(name="svc", source="<test>", base_url=base_url,
                   security_schemes=schemes or {}, security=tuple(security))


def make_tool(name: str, method: str, path: str, *, params: Iterable[Param] = (),
              body: Body | None = None, side_effect: str | None = None,
              svc: Service | None = None, responses: dict[str, Any] | None = None,
              properties: dict[str, Any] | None = None, required: Iterable[str] = (),
              security: Iterable[dict[str, list[str]]] = ()) -> Tool:
    params = tuple(params)
    props = dict(properties or {})
    for p in params:
        props.setdefault(p.name, p.schema or {"type": "string"})
    req = {p.name for p in params if p.required} | set(required)
    if body is not None and body.mode == "whole":
        props.setdefault(body.argument, {"type": "object"})
    schema = {"type": "object", "properties": props, "required": sorted(req),
              "additionalProperties": False}
    effect = side_effect or {"GET": "safe", "HEAD": "safe", "PUT": "idempotent",
                             "DELETE": "idempotent"}.get(method.upper(), "unsafe")
    return Tool(name=name, description=name, method=method.upper(), path=path,
                parameters=schema, params=params, body=body, side_effect=effect,  # type: ignore[arg-type]
                service=svc or service(), responses=responses or {},
                security=tuple(security))


class FakeToolset:
    """The three methods the executor uses, backed by jsonschema (stands in for Toolset)."""

    def __init__(self, *tools: Tool) -> None:
        self._tools = {t.name: t for t in tools}

    @property
    def tools(self) -> tuple[Tool, ...]:
        return tuple(self._tools.values())

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def validate(self, name: str, arguments: Any) -> list[Violation]:
        import json

        tool = self._tools.get(name)
        if tool is None:
            return [Violation(kind="unknown_tool", path="$", message=f"no tool {name!r}")]
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments)
            except ValueError:
                return [Violation(kind="malformed_arguments", path="$", message="not JSON")]
        v = jsonschema.Draft202012Validator(tool.parameters)
        return [Violation(kind="schema", path="$" + "".join(f".{p}" for p in e.absolute_path),
                          message=e.message) for e in v.iter_errors(arguments)]

    def response_violations(self, name: str, status_code: int, body: Any) -> list[Violation]:
        tool = self._tools[name]
        schema = tool.responses.get(str(status_code), tool.responses.get(
            f"{status_code // 100}XX", tool.responses.get("default")))
        if not schema:
            return []
        v = jsonschema.Draft202012Validator(schema)
        return [Violation(kind="schema", path="$", message=e.message)
                for e in v.iter_errors(body)]


def recorder(waits: list[float]) -> Any:
    """An async sleep that records the waits asked for instead of sleeping."""
    async def sleep(seconds: float) -> None:
        waits.append(seconds)
    return sleep


@pytest.fixture
def kit() -> SimpleNamespace:
    """The helpers above, for test modules (importlib mode cannot import conftest)."""
    return SimpleNamespace(BASE=BASE, service=service, make_tool=make_tool,
                           FakeToolset=FakeToolset, recorder=recorder, Param=Param, Body=Body)
