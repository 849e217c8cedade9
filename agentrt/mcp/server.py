"""MCP stage: a toolset served as MCP tools (``agentrt mcp serve``) with the official ``mcp`` SDK.

Every ``tools/call`` goes through agentrt's `Executor` — the same path an agent's calls take:
the arguments are validated against the spec (all violations at once; an invalid call comes
back as a tool error listing them and no request is made), credentials are injected from the
server's own configuration (they never appear in an MCP message, and bodies are scrubbed),
only the specs' origins may be reached, retries follow the retry policy and unsafe calls carry
an ``Idempotency-Key``. The SDK's own input validation is switched off so the client sees
agentrt's violations, not the first jsonschema message.

Each tool's ``inputSchema`` is the agentrt argument schema; its side-effect class becomes the
MCP hints (`agentrt.toolset.marks.mcp_annotations`) and is also published exactly in
``_meta["x-agentrt-side-effect"]`` (an agentrt client reads it back).

``policy`` decides non-safe calls: ``allow``, ``deny`` (the default), or ``confirm``: the
server asks the person at the client through MCP *elicitation* (a form with one boolean,
``confirm``) and sends the call only on ``accept`` with ``confirm: true``; a client that does
not declare the elicitation capability gets a tool error and nothing is sent. The result of a
call is the `Observation` as JSON — in ``structuredContent`` and as the text content — and
``isError`` is true unless the outcome is ``ok``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from agentrt._log import get_logger
from agentrt.errors import ConfigError
from agentrt.executor import Executor, Observation, Policy, RequestDescription
from agentrt.toolset import Toolset
from agentrt.toolset.marks import SIDE_EFFECT_EXTENSION, mcp_annotations
from agentrt.toolset.mcp import require_sdk

if TYPE_CHECKING:
    from mcp import types
    from mcp.server.lowlevel import Server
    from starlette.applications import Starlette

__all__ = ["CONFIRM_SCHEMA", "POLICIES", "build_server", "http_app", "mcp_tool", "serve_stdio"]

_log = get_logger("agentrt.mcp.server")
POLICIES = ("allow", "deny", "confirm")
#: What ``--policy confirm`` asks the client to fill in before a non-safe call is sent.
CONFIRM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"confirm": {"type": "boolean", "title": "Send this request?",
                               "description": "true sends it; anything else does not"}},
    "required": ["confirm"],
}


def mcp_tool(tool: Any) -> types.Tool:
    """The MCP description of one agentrt `Tool`."""
    from mcp import types

    return types.Tool(
        name=tool.name, title=tool.name.replace("_", " "), description=tool.description,
        inputSchema=tool.parameters,
        annotations=types.ToolAnnotations.model_validate(mcp_annotations(tool.side_effect)),
        _meta={SIDE_EFFECT_EXTENSION: tool.side_effect,
               "agentrt/side-effect-source": tool.side_effect_source,
               **({"agentrt/operation": f"{tool.method} {tool.path}"}
                  if tool.kind == "openapi" else {})},
    )


def observation_result(obs: Observation) -> types.CallToolResult:
    """An observation as an MCP tool result (``isError`` unless ``ok``)."""
    from mcp import types

    data = obs.to_dict()
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=json.dumps(data, ensure_ascii=False,
                                                                default=str))],
        structuredContent=data, isError=not obs.ok)


def _error(message: str, **extra: Any) -> types.CallToolResult:
    from mcp import types

    data = {"outcome": "denied", "message": message, **extra}
    return types.CallToolResult(content=[types.TextContent(type="text", text=json.dumps(data))],
                                structuredContent=data, isError=True)


def build_server(toolset: Toolset, *, executor_factory: Callable[[Policy], Executor],
                 policy: str = "deny", name: str = "agentrt") -> tuple[Server, Executor]:
    """The SDK server for ``toolset`` and the executor its calls go through.

    ``executor_factory(policy)`` builds the executor (credentials, base URLs, retries are its
    business); the policy handed to it is ``policy`` with, for ``confirm``, the elicitation
    callback attached. Close the executor when the server stops.
    """
    require_sdk()
    from mcp import types
    from mcp.server.lowlevel import Server

    if policy not in POLICIES:
        raise ConfigError(f"unknown MCP server policy {policy!r}: use allow, deny or confirm")
    from agentrt import __version__

    server: Server = Server(name, version=__version__, instructions=(
        "Tools of OpenAPI services, checked by agentrt: a call whose arguments do not match "
        "the schema is refused with every violation listed and is not sent."))

    async def ask(request: RequestDescription) -> bool:
        ctx = server.request_context
        answer = await ctx.session.elicit_form(
            f"Send this request? {request.to_text()}", CONFIRM_SCHEMA,
            related_request_id=ctx.request_id)
        return answer.action == "accept" and (answer.content or {}).get("confirm") is True

    executor = executor_factory(Policy.confirm(ask) if policy == "confirm"
                                else Policy.from_value(policy))
    listed = [mcp_tool(t) for t in toolset.tools]

    @server.list_tools()
    async def _list() -> list[types.Tool]:
        return listed

    @server.call_tool(validate_input=False)
    async def _call(tool_name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        tool = toolset.get(tool_name)
        if policy == "confirm" and tool is not None and tool.side_effect != "safe":
            caps = types.ClientCapabilities(elicitation=types.ElicitationCapability())
            if not server.request_context.session.check_client_capability(caps):
                _log.info("mcp.call", tool=tool_name, outcome="denied",
                          reason="no elicitation")
                return _error("not sent: this server confirms every non-safe call through "
                              "MCP elicitation and this client does not support it",
                              tool=tool_name, side_effect=tool.side_effect)
        obs = await executor.execute(tool_name, arguments)
        return observation_result(obs)

    return server, executor


async def serve_stdio(server: Server) -> None:
    """Serve on stdin/stdout until the client closes them."""
    from mcp.server.stdio import stdio_server

    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


def http_app(server: Server, *, path: str = "/mcp",
             allowed_hosts: list[str] | None = None) -> Starlette:
    """A Starlette app serving ``server`` over streamable HTTP at ``path``. DNS-rebinding
    protection is on: only ``allowed_hosts`` (default: loopback names) may be the Host."""
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
    from mcp.server.transport_security import TransportSecuritySettings
    from starlette.applications import Starlette
    from starlette.routing import Route

    hosts = allowed_hosts or ["127.0.0.1:*", "localhost:*", "[::1]:*"]
    manager = StreamableHTTPSessionManager(
        app=server, security_settings=TransportSecuritySettings(
            enable_dns_rebinding_protection=True, allowed_hosts=hosts,
            allowed_origins=[f"http://{h}" for h in hosts]))

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with manager.run():
            yield

    return Starlette(routes=[Route(path, endpoint=_ASGI(manager))], lifespan=lifespan)


class _ASGI:
    """The session manager as an ASGI app (a class: Starlette then routes every method to it
    and ``/mcp`` is served without a redirect to ``/mcp/``)."""

    def __init__(self, manager: Any) -> None:
        self.manager = manager

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.manager.handle_request(scope, receive, send)
