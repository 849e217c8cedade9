"""Toolset stage: the tools of one or more OpenAPI documents, as a model sees and calls them.

>>> ts = Toolset.from_spec("specs/flights.yaml", base_url="http://127.0.0.1:8081")  # doctest: +SKIP
>>> ts.validate("search_flight_offers", {"origin": "PAR"})                          # doctest: +SKIP
[Violation(kind='missing_required', path='$.destination', ...)]
>>> both = ts + Toolset.from_mcp("python -m my_mcp_server")                        # doctest: +SKIP
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentrt.errors import ConfigError
from agentrt.openapi import Spec, load_spec
from agentrt.toolset.build import build_tool, tool_name
from agentrt.toolset.render import call_schema, openai_tool
from agentrt.toolset.retrieval import ToolIndex
from agentrt.toolset.servers import OperationService, server_url
from agentrt.toolset.tool import Body, Param, Service, SideEffect, Tool
from agentrt.validation import ArgumentValidator, Violation, parse_arguments, unknown_tool

if TYPE_CHECKING:
    from agentrt.toolset.mcp import MCPTarget

__all__ = ["Body", "OperationService", "Param", "Service", "SideEffect", "Tool", "Toolset"]


def _service_for(spec: Spec, base_url: str | None) -> Service:
    url = base_url or (server_url(spec.servers[0]) if spec.servers else "")
    if url.startswith("/") and spec.source.startswith(("http://", "https://")):
        from urllib.parse import urljoin

        url = urljoin(spec.source, url)
    return Service(name=spec.title, source=spec.source, base_url=url.rstrip("/"),
                   servers=spec.servers, security_schemes=spec.security_schemes,
                   security=spec.security)


class Toolset:
    """An immutable collection of tools with cached validators and a retrieval index.

    Build it with :meth:`from_spec` (one document), :meth:`from_mcp` (an MCP server's tools)
    or :meth:`merge` / ``+`` (several, each keeping its own base URL or server). Tool names are
    unique across the whole toolset.
    """

    def __init__(self, tools: Iterable[Tool], specs: Sequence[Spec] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for tool in tools:
            if tool.name in self._tools:
                raise ConfigError(f"duplicate tool name {tool.name!r}")
            self._tools[tool.name] = tool
        self.specs = tuple(specs)
        self._validators: dict[str, ArgumentValidator] = {}
        self._response_validators: dict[tuple[str, str], ArgumentValidator] = {}
        self._index: ToolIndex | None = None
        self._lock = threading.Lock()

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_spec(cls, source: str | Path | Mapping[str, Any] | Spec, *,
                  base_url: str | None = None, strict: bool = False) -> Toolset:
        """Tools of one OpenAPI document (path, URL, dict, or an already loaded `Spec`)."""
        spec = source if isinstance(source, Spec) else load_spec(source, strict=strict)
        return cls(_tools_of(spec, base_url, taken=set()), [spec])

    @classmethod
    def from_specs(cls, sources: Iterable[str | Path | Mapping[str, Any] | Spec | tuple[Any, str]],
                   *, strict: bool = False) -> Toolset:
        """Tools of several documents; an item may be ``(source, base_url)``."""
        parts = []
        for item in sources:
            src, url = item if isinstance(item, tuple) else (item, None)
            parts.append(cls.from_spec(src, base_url=url, strict=strict))
        return cls.merge(*parts)

    @classmethod
    async def afrom_mcp(cls, target: str | Sequence[str] | MCPTarget, *,
                        env: Mapping[str, str] | None = None, timeout: float = 30.0) -> Toolset:
        """Tools of an MCP server: ``target`` is an ``http(s)://`` URL (streamable HTTP) or a
        command line (stdio subprocess; ``env`` adds to its environment). Annotations decide
        each tool's side-effect class; an unannotated tool is ``unsafe``
        (`agentrt.toolset.marks`). Needs ``agentrt[mcp]``."""
        from agentrt.toolset.mcp import MCPTarget, connect, list_tools, mcp_tools

        where = MCPTarget.of(target, env=env)
        async with connect(where, timeout=timeout) as conn:
            listing = await list_tools(conn.session)
        return cls(mcp_tools(listing, where, server_name=conn.server_name))

    @classmethod
    def from_mcp(cls, target: str | Sequence[str] | MCPTarget, *,
                 env: Mapping[str, str] | None = None, timeout: float = 30.0) -> Toolset:
        """:meth:`afrom_mcp` for scripts and the CLI (a sync edge: not inside a running event
        loop, where ``await Toolset.afrom_mcp(...)`` is the way)."""
        import asyncio

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(cls.afrom_mcp(target, env=env, timeout=timeout))
        raise ConfigError("Toolset.from_mcp() was called inside a running event loop: "
                          "use 'await Toolset.afrom_mcp(...)' there")

    def __add__(self, other: object) -> Toolset:
        """``a + b``: :meth:`merge` (OpenAPI and MCP toolsets mix)."""
        if not isinstance(other, Toolset):
            return NotImplemented
        return Toolset.merge(self, other)

    @classmethod
    def merge(cls, *toolsets: Toolset) -> Toolset:
        """One toolset from several; a name already taken gets a numeric suffix."""
        tools: list[Tool] = []
        taken: set[str] = set()
        for ts in toolsets:
            for tool in ts.tools:
                name = _unique(tool.name, taken)
                tools.append(tool if name == tool.name else _renamed(tool, name))
        return cls(tools, [s for ts in toolsets for s in ts.specs])

    # -- access ---------------------------------------------------------------------------
    @property
    def tools(self) -> tuple[Tool, ...]:
        return tuple(self._tools.values())

    @property
    def names(self) -> list[str]:
        return list(self._tools)

    @property
    def services(self) -> tuple[Service, ...]:
        """The services (one per spec) of the tools; an operation with its own servers counts
        as its spec's service."""
        seen: dict[str, Service] = {}
        for t in self._tools.values():
            svc = t.service.document if isinstance(t.service, OperationService) else t.service
            seen.setdefault(svc.source + svc.base_url, svc)
        return tuple(seen.values())

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[Tool]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    def subset(self, names: Iterable[str]) -> list[Tool]:
        return [self._tools[n] for n in names if n in self._tools]

    # -- validation -----------------------------------------------------------------------
    def validator(self, name: str) -> ArgumentValidator:
        v = self._validators.get(name)
        if v is None:
            with self._lock:
                v = self._validators.get(name)
                if v is None:
                    v = self._validators[name] = ArgumentValidator(self._tools[name].parameters)
        return v

    def validate(self, name: str, arguments: Any) -> list[Violation]:
        """Every violation of a proposed call, at once; ``[]`` when it may be sent."""
        if name not in self._tools:
            return [unknown_tool(name, self._tools)]
        args, problem = parse_arguments(arguments)
        if problem is not None or args is None:
            return [problem] if problem else []
        return self.validator(name).violations(args)

    def response_violations(self, name: str, status_code: int, body: Any) -> list[Violation]:
        """The response body against the spec's schema for that status (``[]`` if none)."""
        tool = self._tools.get(name)
        if tool is None:
            return [unknown_tool(name, self._tools)]
        status = str(status_code)
        for key in (status, f"{status[0]}XX", f"{status[0]}xx", "default"):
            if key in tool.responses:
                schema = tool.responses[key]
                break
        else:
            return []
        if schema is None:
            return []
        cache_key = (name, key)
        v = self._response_validators.get(cache_key)
        if v is None:
            with self._lock:
                v = self._response_validators.setdefault(cache_key, ArgumentValidator(schema))
        return v.violations(body)

    # -- rendering ------------------------------------------------------------------------
    def to_openai(self, strict: bool = False, names: Iterable[str] | None = None
                  ) -> list[dict[str, Any]]:
        """OpenAI tools format; ``strict=True`` marks functions strict (vLLM ≥ 0.33 then
        grammar-enforces the arguments) and simplifies schemas to what grammars accept."""
        tools = self.subset(names) if names is not None else self.tools
        return [openai_tool(t, strict=strict) for t in tools]

    def call_schema(self, names: Iterable[str] | None = None, *, include_finish: bool = True,
                    thought: bool = True) -> dict[str, Any]:
        """One JSON Schema accepting exactly one step naming one of the tools."""
        tools = self.subset(names) if names is not None else self.tools
        return call_schema(tools, include_finish=include_finish, thought=thought)

    # -- retrieval ------------------------------------------------------------------------
    def retrieve(self, query: str, k: int = 8) -> list[Tool]:
        """The ``k`` tools most relevant to ``query`` (BM25 over names and descriptions)."""
        if self._index is None:
            with self._lock:
                if self._index is None:
                    self._index = ToolIndex(self.tools)
        return self._index.search(query, k)

    def __repr__(self) -> str:
        return f"Toolset({len(self)} tools from {len(self.specs)} spec(s))"


def _unique(name: str, taken: set[str]) -> str:
    candidate, i = name, 2
    while candidate in taken:
        suffix = f"_{i}"
        candidate, i = name[: 64 - len(suffix)] + suffix, i + 1
    taken.add(candidate)
    return candidate


def _renamed(tool: Tool, name: str) -> Tool:
    from dataclasses import replace

    return replace(tool, name=name)


def _tools_of(spec: Spec, base_url: str | None, taken: set[str]) -> list[Tool]:
    service = _service_for(spec, base_url)
    return [build_tool(op, spec, service, _unique(tool_name(op), taken))
            for op in spec.operations]
