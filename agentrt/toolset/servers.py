"""Toolset stage: where a tool's requests go — the document's servers, or an operation's own.

OpenAPI lets an operation (or its path item) declare its own ``servers``; they replace the
document's for that operation. Such a tool gets an `OperationService`: the same service (name,
security) at another location. Which base URL wins, from strongest to weakest:

1. an operation's (or path item's) *absolute* server URL — it names another host on purpose,
   so neither ``Toolset.from_spec(base_url=...)`` nor the executor's ``base_urls`` moves it;
2. a caller's override for the spec (the executor's ``base_urls``, else the toolset's
   ``base_url``) — a *relative* operation server URL is resolved against it;
3. the document's first server.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from agentrt.toolset.tool import Service

__all__ = ["OperationService", "effective_base_url", "operation_service", "server_url"]


@dataclass(frozen=True, slots=True, kw_only=True)
class OperationService(Service):
    """A service as one operation sees it, when the operation or its path item has its own
    ``servers``: ``servers`` are those, ``server_url`` the first as declared (server variables
    filled with their defaults), ``base_url`` it resolved against ``document.base_url``, and
    ``document`` the service every other operation of the spec uses."""

    document: Service
    server_url: str

    @property
    def absolute(self) -> bool:
        """Whether the operation's server names its own host (it then beats any override)."""
        return is_absolute(self.server_url)


def server_url(server: Mapping[str, Any]) -> str:
    """A Server Object's URL with each ``{variable}`` replaced by its default."""
    url = str(server.get("url", ""))
    for name, var in (server.get("variables") or {}).items():
        if isinstance(var, Mapping) and "default" in var:
            url = url.replace("{" + name + "}", str(var["default"]))
    return url


def is_absolute(url: str) -> bool:
    parts = urlsplit(url)
    return bool(parts.scheme and parts.netloc)


def _join(base: str, url: str) -> str:
    if is_absolute(url) or not base:
        return url.rstrip("/")
    return urljoin(base.rstrip("/") + "/", url).rstrip("/")


def operation_service(document: Service, servers: tuple[dict[str, Any], ...]) -> Service:
    """The service an operation with ``servers`` (its own or its path item's) uses;
    ``document`` itself when it declares none."""
    if not servers:
        return document
    url = server_url(servers[0])
    return OperationService(
        name=document.name, source=document.source, base_url=_join(document.base_url, url),
        servers=servers, security_schemes=document.security_schemes,
        security=document.security, document=document, server_url=url)


def effective_base_url(service: Service, override: str | None) -> str:
    """Where a tool of ``service`` sends its requests, given a caller's ``override`` for the
    spec (None for none): see the module docstring for which wins."""
    if isinstance(service, OperationService):
        if service.absolute or not override:
            return service.base_url
        return _join(override, service.server_url)
    return (override or service.base_url).rstrip("/")
