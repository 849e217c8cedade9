"""Toolset stage: the tools of an MCP server as agentrt `Tool` values, and the connection to it.

A *target* names a server: an ``http(s)://`` URL (streamable HTTP) or a command line (a string,
split like a shell would, or a list of words) started as a subprocess speaking stdio. The
official ``mcp`` SDK is an optional dependency (``pip install 'agentrt[mcp]'``), imported only
here and only when a server is reached.

Each MCP tool becomes a `Tool` with ``kind == "mcp"``: its input schema is the argument schema
(validated with jsonschema before any call goes out, like an OpenAPI tool's), its description
feeds retrieval, and its annotations decide its side-effect class (`agentrt.toolset.marks`;
an unannotated tool is ``unsafe``). Calling one is `agentrt.mcp.MCPExecutor`'s job.
"""

from __future__ import annotations

import contextlib
import copy
import shlex
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TextIO

from agentrt.errors import ConfigError
from agentrt.toolset.build import MAX_DESCRIPTION, sanitize_name
from agentrt.toolset.marks import from_mcp_tool
from agentrt.toolset.tool import Service, Tool

if TYPE_CHECKING:
    from mcp import ClientSession
    from mcp.client.session import ElicitationFnT

__all__ = ["MCPConnection", "MCPTarget", "connect", "list_tools", "mcp_tools", "require_sdk"]

#: The extra that installs the official SDK.
EXTRA_HINT = "the MCP SDK is not installed: pip install 'agentrt[mcp]'"


def require_sdk() -> None:
    """Raise `ConfigError` naming the extra when the ``mcp`` package is missing."""
    try:
        import mcp  # noqa: F401
    except ImportError:
        raise ConfigError(EXTRA_HINT) from None


@dataclass(frozen=True, slots=True, kw_only=True)
class MCPTarget:
    """Where an MCP server is: ``url`` (streamable HTTP) or ``command`` (stdio subprocess)."""

    url: str | None = None
    command: tuple[str, ...] = ()
    env: Mapping[str, str] | None = field(default=None, compare=False)
    cwd: str | None = None

    @classmethod
    def of(cls, target: str | Sequence[str] | MCPTarget, *,
           env: Mapping[str, str] | None = None, cwd: str | None = None) -> MCPTarget:
        """A target from a URL, a command line or a list of words."""
        if isinstance(target, MCPTarget):
            return target
        if isinstance(target, str):
            text = target.strip()
            if text.startswith(("http://", "https://")):
                return cls(url=text)
            words = tuple(shlex.split(text))
        else:
            words = tuple(str(w) for w in target)
        if not words:
            raise ConfigError("an MCP server needs a URL or a command to start")
        return cls(command=words, env=env, cwd=cwd)

    @property
    def text(self) -> str:
        """The target as one line (the tools' ``service.source``)."""
        return self.url or shlex.join(self.command)


@dataclass(frozen=True, slots=True, kw_only=True)
class MCPConnection:
    """An open, initialised session with one server, and what the server said of itself."""

    session: ClientSession
    target: MCPTarget
    server_name: str = ""
    server_version: str = ""


@contextlib.asynccontextmanager
async def connect(target: str | Sequence[str] | MCPTarget, *,
                  timeout: float = 30.0,
                  elicitation: ElicitationFnT | None = None,
                  errlog: TextIO | None = None) -> AsyncIterator[MCPConnection]:
    """An initialised SDK session with the server (`MCPConnection`), closed (and a subprocess ended)
    when the block exits. Enter and exit it in the same task (the SDK's transports hold
    anyio cancel scopes)."""
    require_sdk()
    from mcp import ClientSession

    where = MCPTarget.of(target)
    async with contextlib.AsyncExitStack() as stack:
        if where.url is not None:
            from mcp.client.streamable_http import streamable_http_client

            read, write, _session_id = await stack.enter_async_context(
                streamable_http_client(where.url))
        else:
            from mcp.client.stdio import (
                StdioServerParameters,
                get_default_environment,
                stdio_client,
            )

            env = {**get_default_environment(), **where.env} if where.env is not None else None
            params = StdioServerParameters(command=where.command[0], args=list(where.command[1:]),
                                           env=env, cwd=where.cwd)
            read, write = await stack.enter_async_context(
                stdio_client(params, errlog=errlog or _stderr()))
        session = await stack.enter_async_context(ClientSession(
            read, write, read_timeout_seconds=timedelta(seconds=timeout),
            elicitation_callback=elicitation))
        init = await session.initialize()
        yield MCPConnection(session=session, target=where, server_name=init.serverInfo.name,
                            server_version=init.serverInfo.version)


def _stderr() -> TextIO:
    """Where a stdio server's stderr goes: ours, or the process's real one when ``sys.stderr``
    is a stand-in without a file descriptor (a captured stream)."""
    try:
        sys.stderr.fileno()
        return sys.stderr
    except (AttributeError, OSError, ValueError):
        return sys.__stderr__ or sys.stderr


async def list_tools(session: ClientSession) -> list[dict[str, Any]]:
    """Every tool the server lists (all pages), as plain dicts (``_meta`` by its wire name)."""
    out: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = await (session.list_tools(cursor=cursor) if cursor else session.list_tools())
        out.extend(t.model_dump(by_alias=True, exclude_none=True) for t in page.tools)
        cursor = page.nextCursor
        if not cursor:
            return out


def mcp_tools(listing: Sequence[Mapping[str, Any]], target: str | Sequence[str] | MCPTarget,
              *, server_name: str = "") -> list[Tool]:
    """`Tool` values for a server's tool listing (``list_tools``' dicts)."""
    where = MCPTarget.of(target)
    service = Service(name=server_name or where.text, source=where.text, base_url="")
    tools = []
    for item in listing:
        raw = str(item["name"])
        schema = copy.deepcopy(dict(item.get("inputSchema") or {"type": "object"}))
        schema.pop("$schema", None)
        schema.setdefault("type", "object")
        schema.setdefault("properties", {})
        side_effect, source = from_mcp_tool(item.get("annotations"), item.get("_meta"))
        description = " ".join(str(item.get("description") or item.get("title") or raw).split())
        if len(description) > MAX_DESCRIPTION:
            description = description[: MAX_DESCRIPTION - 1].rstrip() + "…"
        output = item.get("outputSchema")
        tools.append(Tool(
            name=sanitize_name(raw), description=description, method="MCP", path=raw,
            parameters=schema, side_effect=side_effect, side_effect_source=source,
            service=service, operation_id=raw,
            response_schema=dict(output) if isinstance(output, Mapping) else None,
            kind="mcp", pointer=f"mcp:{raw}"))
    return tools
