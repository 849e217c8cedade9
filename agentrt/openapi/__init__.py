"""Spec stage: load an OpenAPI document (3.1, 3.0.x or Swagger 2.0) from a path, URL or dict,
validate it, resolve its ``$ref`` and normalise it to one internal model (`Spec`).

>>> spec = load_spec("specs/flights.yaml")          # doctest: +SKIP
>>> [op.operation_id for op in spec.operations]      # doctest: +SKIP

A document loaded once is cached by its content hash (:mod:`agentrt.openapi.cache`: in memory,
and on disk in the user cache directory), so loading it again — in this process or the next —
skips parsing, validation and ``$ref`` resolution. Validation uses openapi-spec-validator with
the jsonschema-rs backend when it is installed (:func:`~agentrt.openapi.checks.validator_backend`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

from agentrt.errors import SpecError
from agentrt.openapi.cache import SpecCache, default_cache
from agentrt.openapi.checks import (
    ValidatorCrash,
    detect_version,
    validate_document,
    validator_backend,
)
from agentrt.openapi.model import Operation, Parameter, RequestBody, Spec, SpecWarning
from agentrt.openapi.operations import OperationBuilder
from agentrt.openapi.schema import SchemaCompiler
from agentrt.openapi.source import (
    mapping_bytes,
    parse_document,
    read_source,
    read_text,
    retrieve_uri,
)

__all__ = ["Operation", "Parameter", "RequestBody", "Spec", "SpecCache", "SpecWarning",
           "load_spec"]


def load_spec(source: str | Path | Mapping[str, Any], *, strict: bool = False,
              client: httpx.Client | None = None,
              cache: SpecCache | bool = True) -> Spec:
    """Load, validate and normalise an OpenAPI document.

    ``strict=False`` (the default) repairs slips confined to one schema keyword — an invalid
    ``pattern``, a ``default`` of the wrong type — and lists them in ``Spec.warnings``;
    ``strict=True`` refuses them. Anything structural raises :class:`SpecError` naming the
    source and the JSON pointer of the problem.

    ``cache``: True (the default) uses the process-wide :class:`SpecCache` (memory, and the
    user cache directory unless ``AGENTRT_CACHE_DIR=off``), False loads afresh, or a cache of
    your own. A document with a ``$ref`` into another file or URL is never cached. The same
    content gives an equal `Spec` (its ``source`` is this call's); treat it as read-only.
    """
    store = default_cache() if cache is True else (cache or None)
    if isinstance(source, Mapping):
        content = mapping_bytes(source) if store is not None else None
        doc, base_uri, name = read_source(source, client=client)
    else:
        text, base_uri, name = read_text(source, client=client)
        content, doc = text.encode(), None
    key = store.key(content, f"strict={strict}", validator_backend()) \
        if store is not None and content is not None else None
    if key is not None and store is not None:
        hit = store.get(key)
        if isinstance(hit, Spec):
            return hit if hit.source == name else replace(hit, source=name)
    if doc is None:
        doc = parse_document(text, name)
    retrieved: list[str] = []

    def retrieve(uri: str) -> Any:
        retrieved.append(uri)
        return retrieve_uri(uri, client=client)

    spec = _load(doc, base_uri, name, strict=strict, retrieve=retrieve)
    if key is not None and store is not None and not retrieved and _self_contained(doc):
        store.put(key, spec)
    return spec


def _self_contained(node: Any) -> bool:
    """No ``$ref`` leaves the document (the validator follows those too, not only we)."""
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            ref = cur.get("$ref")
            if isinstance(ref, str) and not ref.startswith("#"):
                return False
            stack.extend(cur.values())
        elif isinstance(cur, list):
            stack.extend(cur)
    return True


def _load(doc: dict[str, Any], base_uri: str, name: str, *, strict: bool,
          retrieve: Any) -> Spec:
    version = detect_version(doc, name)
    warnings: list[SpecWarning] = []
    crash: ValidatorCrash | None = None
    try:
        findings = validate_document(doc, version=version, source=name, base_uri=base_uri,
                                     strict=strict)
    except ValidatorCrash as exc:
        crash, findings = exc, []
    for pointer, reason in findings:
        warnings.append(SpecWarning(pointer=pointer, reason=reason))
        _drop_at(doc, pointer)

    def warn(pointer: str, reason: str) -> None:
        if not any(w.pointer == pointer for w in warnings):
            warnings.append(SpecWarning(pointer=pointer, reason=reason))
        if strict:
            raise SpecError(reason, source=name, pointer=pointer)

    compiler = SchemaCompiler(doc, base_uri, source=name, version=version,
                              retrieve=retrieve, warn=warn)
    ops = OperationBuilder(doc, compiler, version, name).operations()
    if crash is not None:  # our own walk found nothing more precise to say
        raise crash
    info: dict[str, Any] = doc["info"] if isinstance(doc.get("info"), dict) else {}
    security = doc.get("security")
    return Spec(
        source=name, version=version,  # type: ignore[arg-type]
        title=str(info.get("title") or Path(name).stem),
        api_version=str(info.get("version") or ""),
        description=str(info.get("description") or "").strip(),
        servers=_servers(doc, version, name),
        security_schemes=_security_schemes(doc, version),
        security=tuple(security) if isinstance(security, list) else (),
        operations=tuple(ops), warnings=tuple(warnings), document=doc,
    )


def _drop_at(doc: dict[str, Any], pointer: str) -> None:
    """Remove the keyword a repairable finding points at (e.g. an invalid ``pattern``)."""
    tokens = [t.replace("~1", "/").replace("~0", "~") for t in pointer.lstrip("#/").split("/")]
    node: Any = doc
    for tok in tokens[:-1]:
        if isinstance(node, dict) and tok in node:
            node = node[tok]
        elif isinstance(node, list) and tok.isdigit() and int(tok) < len(node):
            node = node[int(tok)]
        else:
            return
    if isinstance(node, dict):
        node.pop(tokens[-1], None)


def _servers(doc: dict[str, Any], version: str, source: str) -> tuple[dict[str, Any], ...]:
    if version == "2.0":
        host = doc.get("host")
        base_path = str(doc.get("basePath") or "")
        schemes = [s for s in doc.get("schemes") or () if s in ("http", "https")]
        if not host:
            return ({"url": base_path or "/"},)
        ordered = ["https"] if "https" in schemes else (schemes or ["https"])
        return tuple({"url": f"{s}://{host}{base_path}"} for s in ordered)
    servers = doc.get("servers")
    if not isinstance(servers, list) or not servers:
        return ({"url": "/"},)
    return tuple(s for s in servers if isinstance(s, dict) and isinstance(s.get("url"), str))


_V2_FLOWS = {"application": "clientCredentials", "password": "password",
             "implicit": "implicit", "accessCode": "authorizationCode"}


def _security_schemes(doc: dict[str, Any], version: str) -> dict[str, dict[str, Any]]:
    if version != "2.0":
        comps: dict[str, Any] = doc["components"] if isinstance(doc.get("components"), dict) \
            else {}
        schemes = comps.get("securitySchemes") or {}
        return {k: v for k, v in schemes.items() if isinstance(v, dict)}
    out: dict[str, dict[str, Any]] = {}
    for name, d in (doc.get("securityDefinitions") or {}).items():
        if not isinstance(d, dict):
            continue
        if d.get("type") == "basic":
            out[name] = {"type": "http", "scheme": "basic"}
        elif d.get("type") == "oauth2":
            flow = _V2_FLOWS.get(str(d.get("flow")), "clientCredentials")
            body = {k: d[k] for k in ("tokenUrl", "authorizationUrl") if k in d}
            out[name] = {"type": "oauth2",
                         "flows": {flow: {**body, "scopes": d.get("scopes") or {}}}}
        else:
            out[name] = dict(d)
    return out
