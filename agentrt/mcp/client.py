"""MCP stage: calling the MCP tools of a toolset — `MCPExecutor`, the agent's executor for them.

`MCPExecutor` has the shape an `Agent` runs on (``await execute(name, arguments) ->
Observation``, `agentrt.agent.CallExecutor`), so a toolset built with `Toolset.from_mcp` —
alone, or mixed with OpenAPI tools (``Toolset.from_spec(...) + Toolset.from_mcp(...)``) — is
driven like any other::

    async with MCPExecutor(toolset, policy="allow", credentials=...) as executor:
        result = await Agent(backend, toolset, executor=executor).run("...")

An MCP tool's call is checked as an OpenAPI one is before anything is sent: the arguments
against the tool's input schema (every violation, ``rejected``), then the policy for a tool
that is not ``safe`` (``denied``). It is then sent once — MCP has no idempotency key, so a
call is never repeated behind the model's back; a non-safe call whose answer was lost is
``lost``. A tool result with ``isError`` is ``client_error``; the body is the tool's
``structuredContent``, else its text (parsed as JSON when it is JSON). OpenAPI tools of the
same toolset go to an `Executor` (given as ``http``, or built here from ``credentials``,
``base_urls`` and the policy).

One session per MCP server, opened by ``async with`` (or `MCPExecutor.open`) and closed by
its exit (or `MCPExecutor.aclose`), from any task.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from agentrt._log import get_logger
from agentrt.errors import ConfigError
from agentrt.executor import Executor, Observation, Outcome, Policy, RequestDescription
from agentrt.executor.redact import DEFAULT_REDACTOR, Redactor
from agentrt.toolset.mcp import MCPConnection, MCPTarget, connect
from agentrt.validation import Violation

if TYPE_CHECKING:
    from mcp import types

    from agentrt.executor.auth import Credentials, Secret
    from agentrt.toolset import Tool, Toolset

__all__ = ["MCPExecutor", "result_body"]

_log = get_logger("agentrt.mcp.client")


def result_body(result: types.CallToolResult) -> Any:
    """What a tool result says: its structured content, else its text (JSON when it parses;
    several blocks as a list), else ``None``."""
    if result.structuredContent is not None:
        return result.structuredContent
    from mcp import types

    texts = [block.text for block in result.content if isinstance(block, types.TextContent)]
    parsed: list[Any] = []
    for text in texts:
        try:
            parsed.append(json.loads(text))
        except ValueError:
            parsed.append(text)
    if not parsed:
        return None
    return parsed[0] if len(parsed) == 1 else parsed


class MCPExecutor:
    """Executes the calls of ``toolset``: MCP tools over their servers' sessions, OpenAPI
    tools through ``http`` (or an `Executor` made here). Use as ``async with``.

    ``policy`` ("allow" | "deny" | "confirm", a confirm callback or a `Policy`; default deny)
    decides every non-safe MCP call; ``env`` is added to the environment of stdio servers.
    """

    def __init__(self, toolset: Toolset, *, policy: Policy | str | Any = None,
                 http: Any = None,
                 credentials: Credentials | Mapping[str, Secret] | None = None,
                 base_urls: str | Mapping[str, str] | None = None,
                 env: Mapping[str, str] | None = None, timeout: float = 30.0,
                 redactor: Redactor | None = None) -> None:
        self.toolset = toolset
        self.policy = Policy.from_value(policy)
        self.redactor = redactor or Redactor(parent=DEFAULT_REDACTOR)
        self.timeout = timeout
        self._env = env
        self._http = http
        self._owns_http = False
        self._credentials = credentials
        self._base_urls = base_urls
        self._sessions: dict[str, MCPConnection] = {}
        self._holders: list[tuple[asyncio.Future[None], asyncio.Event]] = []

    async def __aenter__(self) -> MCPExecutor:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def open(self) -> None:
        """Connect to every MCP server of the toolset (and make the OpenAPI executor if one
        is needed). Each session lives in a task of its own, so `open` and `aclose` may be
        called from different tasks (the SDK's transports hold anyio cancel scopes)."""
        if self._holders:
            return
        try:
            for source in dict.fromkeys(t.service.source for t in self.toolset.tools
                                        if t.kind == "mcp"):
                await self._hold(MCPTarget.of(source, env=self._env), source)
        except BaseException:
            await self.aclose()
            raise
        if self._http is None and any(t.kind == "openapi" for t in self.toolset.tools):
            self._http = Executor(self.toolset, policy=self.policy,
                                  credentials=self._credentials, base_urls=self._base_urls)
            self._owns_http = True

    def view(self, *, policy: Policy | str | Any = None,
             credentials: Credentials | Mapping[str, Secret] | None = None) -> MCPExecutor:
        """This executor for one run (like `Executor.view`): the same open sessions and HTTP
        client, ``policy`` (and for the OpenAPI tools ``credentials``) replaced when given.
        A view closes nothing: the executor it came from owns the sessions."""
        other = copy.copy(self)
        other._holders, other._owns_http = [], False
        if policy is not None:
            other.policy = Policy.from_value(policy)
        if self._http is not None and hasattr(self._http, "view") and (
                policy is not None or credentials is not None):
            other._http = self._http.view(policy=policy, credentials=credentials)
        return other

    async def _hold(self, target: MCPTarget, source: str) -> None:
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[MCPConnection] = loop.create_future()
        stop = asyncio.Event()

        async def hold() -> None:
            try:
                async with connect(target, timeout=self.timeout) as conn:
                    ready.set_result(conn)
                    await stop.wait()
            except BaseException as exc:
                if not ready.done():
                    ready.set_exception(exc)
                elif not isinstance(exc, asyncio.CancelledError):
                    _log.warning("mcp.session_closed", target=self.redactor.scrub_text(source),
                                 error=type(exc).__name__)

        task = asyncio.ensure_future(hold())
        self._holders.append((task, stop))
        self._sessions[source] = await ready

    async def aclose(self) -> None:
        """Close every session (ending stdio servers) and an executor made here."""
        holders, self._holders = self._holders, []
        if holders:  # a view holds none and shares the sessions: it closes nothing
            self._sessions.clear()
        for _task, stop in holders:
            stop.set()
        for task, _stop in holders:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await task
        if self._owns_http and self._http is not None:
            http, self._http, self._owns_http = self._http, None, False
            await http.aclose()

    async def execute(self, name: str, arguments: Mapping[str, Any] | str, **options: Any
                      ) -> Observation:
        """Run one proposed call to its single outcome; never raises for the model's mistakes
        or the server's failures."""
        tool = self.toolset.get(name)
        if tool is not None and tool.kind == "openapi":
            if self._http is None:
                raise ConfigError("an OpenAPI tool was called on an MCPExecutor that is not "
                                  "open (use 'async with')")
            obs: Observation = await self._http.execute(name, arguments, **options)
            return obs
        start = time.perf_counter()
        if not isinstance(arguments, (str, Mapping)):
            return self._done(Observation(
                tool=name, arguments=self.redactor.scrub(repr(arguments)), outcome="rejected",
                violations=(Violation(kind="malformed_arguments", path="$",
                                      message="arguments must be a JSON object"),),
                message="the call was not sent: arguments must be a JSON object"), start)
        shown = self.redactor.scrub(arguments if isinstance(arguments, str)
                                    else dict(arguments))
        violations = self.toolset.validate(name, arguments if isinstance(arguments, str)
                                           else dict(arguments))
        if violations or tool is None:
            violations = violations or [Violation(kind="unknown_tool", path="$",
                                                  message=f"no tool named {name!r}")]
            return self._done(Observation(
                tool=name, arguments=shown, outcome="rejected", violations=tuple(violations),
                message="the call was not sent: " + "; ".join(v.message for v in violations)),
                start)
        args = dict(json.loads(arguments) if isinstance(arguments, str) else arguments)
        return self._done(await self._call(tool, args, shown), start)

    async def _call(self, tool: Tool, args: dict[str, Any], shown: Any) -> Observation:
        where = self.redactor.scrub_text(tool.service.source)
        base: dict[str, Any] = {"tool": tool.name, "arguments": shown, "method": "MCP",
                                "url": f"{where} tools/call {tool.path}",
                                "side_effect": tool.side_effect}
        if tool.side_effect != "safe":
            decision = await self.policy.decide(RequestDescription(
                tool=tool.name, method="MCP", url=base["url"], side_effect=tool.side_effect,
                body=self.redactor.scrub(args)))
            if not decision.allowed:
                return Observation(**base, outcome="denied",
                                   message=f"not sent: {decision.reason}")
        conn = self._sessions.get(tool.service.source)
        if conn is None:
            raise ConfigError(f"no open MCP session for {where!r}: use 'async with "
                              "MCPExecutor(...)' around the calls")
        from mcp.shared.exceptions import McpError

        try:
            result = await conn.session.call_tool(tool.path, args)
        except McpError as exc:  # the server answered with a protocol error
            return Observation(**base, attempts=1, outcome="client_error",
                               message=self.redactor.scrub_text(
                                   f"the MCP server refused the call: {exc.error.message}"))
        except Exception as exc:  # the transport broke: what happened on the server is unknown
            kind = type(exc).__name__
            if tool.unsafe:
                return Observation(**base, attempts=1, outcome="lost", message=(
                    f"the call may have been carried out but its answer was lost ({kind}); "
                    "do not repeat it blindly: check its effect first"))
            outcome: Outcome = "timeout" if isinstance(exc, TimeoutError) \
                else "transport_error"
            return Observation(**base, attempts=1, outcome=outcome,
                               message=f"no answer from the MCP server: {kind}")
        body = self.redactor.scrub(result_body(result))
        if result.isError:
            return Observation(**base, attempts=1, outcome="client_error", body=body,
                               message="the tool reported an error; read the body")
        return Observation(**base, attempts=1, outcome="ok", body=body, message="ok")

    def _done(self, observation: Observation, start: float) -> Observation:
        observation = replace(observation, elapsed=time.perf_counter() - start)
        _log.info("mcp.call", tool=observation.tool, outcome=observation.outcome,
                  elapsed=round(observation.elapsed, 6), side_effect=observation.side_effect)
        return observation
