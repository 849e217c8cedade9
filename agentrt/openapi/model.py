"""Spec stage: the internal model every OpenAPI version is normalised to.

Schemas in this model are JSON Schema 2020-12, self-contained (``$ref`` resolved and inlined;
recursive types kept as local ``#/$defs/...`` references).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@dataclass(frozen=True, slots=True, kw_only=True)
class SpecWarning:
    """A problem the loader repaired instead of refusing the document (non-strict mode)."""

    pointer: str
    reason: str

    def __str__(self) -> str:
        return f"{self.pointer}: {self.reason}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Parameter:
    name: str
    location: Literal["path", "query", "header", "cookie"]
    required: bool
    schema: dict[str, Any]
    description: str = ""
    style: str | None = None
    explode: bool | None = None
    deprecated: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestBody:
    required: bool
    #: media type -> JSON Schema of the body in that encoding
    content: dict[str, dict[str, Any]]
    description: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Operation:
    method: str
    path: str
    pointer: str
    operation_id: str | None = None
    summary: str = ""
    description: str = ""
    tags: tuple[str, ...] = ()
    parameters: tuple[Parameter, ...] = ()
    request_body: RequestBody | None = None
    #: status ("200", "2XX", "default") -> JSON Schema of the JSON body, or None if not JSON
    responses: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    #: None: inherit the document's security; () : explicitly none
    security: tuple[dict[str, list[str]], ...] | None = None
    #: the operation's own Server Objects, else its path item's; () : the document's apply
    servers: tuple[dict[str, Any], ...] = ()
    extensions: dict[str, Any] = field(default_factory=dict)
    deprecated: bool = False
    #: the schema that wraps *other* schemas: $defs shared by the parameter/body/response
    #: schemas of this operation, when they hold recursive types
    defs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Spec:
    """One loaded, validated and normalised OpenAPI document."""

    source: str
    version: Literal["2.0", "3.0", "3.1"]
    title: str
    api_version: str
    servers: tuple[dict[str, Any], ...]
    security_schemes: dict[str, dict[str, Any]]
    security: tuple[dict[str, list[str]], ...]
    operations: tuple[Operation, ...]
    warnings: tuple[SpecWarning, ...] = ()
    description: str = ""
    #: the document as read (``$ref`` unresolved, extensions and ``links`` kept), for stages
    #: that read what the normalised model leaves out (grounding reads the links)
    document: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
