"""Toolset stage: the `Tool` value — one OpenAPI operation as something a model can call."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from agentrt.protocol import SideEffect

Location = Literal["path", "query", "header", "cookie", "body"]
#: Where a tool runs: an OpenAPI operation over HTTP, or a tool of an MCP server.
ToolKind = Literal["openapi", "mcp"]

#: The `x-` extension naming the operationId that undoes an unsafe operation (e.g. a cancel).
COMPENSATION_EXTENSION = "x-agentrt-compensation"


@dataclass(frozen=True, slots=True, kw_only=True)
class Param:
    """Where one argument of a tool goes on the wire.

    ``name`` is the argument name the model uses; ``wire_name`` the name in the request (a
    path/query/header/cookie parameter name, or a body property when the body is flattened).
    """

    name: str
    location: Location
    wire_name: str
    required: bool = False
    schema: dict[str, Any] = field(default_factory=dict)
    style: str | None = None
    explode: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Body:
    """How a request body is assembled from the arguments.

    ``mode == "flat"``: the body is a JSON/form object whose properties are top-level arguments
    (the ``Param`` entries with ``location == "body"``). ``mode == "whole"``: the argument named
    ``argument`` is the body itself.
    """

    media_type: str
    mode: Literal["flat", "whole"]
    argument: str = "body"
    required: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Service:
    """One API (one spec) inside a toolset: where it lives and how it authenticates."""

    name: str
    source: str
    base_url: str
    servers: tuple[dict[str, Any], ...] = ()
    security_schemes: dict[str, dict[str, Any]] = field(default_factory=dict)
    security: tuple[dict[str, list[str]], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Tool:
    """One operation of an OpenAPI document (or one tool of an MCP server, ``kind == "mcp"``:
    then ``method`` is ``"MCP"``, ``path`` the tool's name on its server and ``service.source``
    the server's command line or URL), ready to be offered to a model and executed.

    ``side_effect_source`` says which mark decided ``side_effect`` (see
    `agentrt.toolset.marks`). ``parameters`` is a self-contained JSON Schema 2020-12 object schema of the arguments (local
    ``$defs`` only, for recursive types); ``params`` and ``body`` say where each argument goes.
    """

    name: str
    description: str
    method: str
    path: str
    parameters: dict[str, Any]
    params: tuple[Param, ...] = ()
    body: Body | None = None
    side_effect: SideEffect = "safe"
    service: Service
    operation_id: str | None = None
    response_schema: dict[str, Any] | None = None
    #: status code (e.g. "200", "2XX", "default") -> JSON Schema of the JSON response body
    responses: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    security: tuple[dict[str, list[str]], ...] = ()
    compensation: str | None = None
    tags: tuple[str, ...] = ()
    pointer: str = ""
    side_effect_source: str = "method"
    kind: ToolKind = "openapi"

    @property
    def unsafe(self) -> bool:
        return self.side_effect == "unsafe"

    def param(self, name: str) -> Param | None:
        for p in self.params:
            if p.name == name:
                return p
        return None
