"""Executor stage: request building — validated arguments + a `Tool` → the bytes that go out.

Every path value is percent-encoded with nothing left safe, so no argument can add a ``/``,
``?``, ``#``, CR/LF or an authority to the URL; whole-value dot segments (``.``, ``..``) and empty
path values are refused. Query parameters follow the OpenAPI styles (form with or without
explode, spaceDelimited, pipeDelimited, deepObject); headers refuse CR/LF/NUL and names that
would let a spec or a model steer the connection (``Host``, ``Content-Length`` …). The base URL
is given by the caller (from the service or an override), never taken from the arguments.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from agentrt.toolset.tool import Param, Tool
from agentrt.validation import Violation

__all__ = ["BuildError", "PreparedRequest", "build_request", "origin_of"]

_TEMPLATE = re.compile(r"\{([^{}]+)\}")
#: Header names neither a spec parameter nor the model may set (connection steering, auth).
FORBIDDEN_HEADERS = frozenset({
    "host", "content-length", "transfer-encoding", "connection", "upgrade", "te", "trailer",
    "keep-alive", "proxy-authorization", "proxy-connection", "authorization", "cookie",
    "idempotency-key", "expect", "content-type", "accept",
})
_BAD_HEADER_CHARS = re.compile(r"[\x00-\x1f\x7f]")


class BuildError(ValueError):
    """The arguments cannot be turned into a safe request; carries the violations."""

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = tuple(violations)
        super().__init__("; ".join(v.message for v in violations))


@dataclass(frozen=True, slots=True, kw_only=True)
class PreparedRequest:
    """A request ready to be authenticated and sent; ``query`` holds encoded ``k=v`` pieces."""

    method: str
    base_url: str
    path: str
    query: tuple[str, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    cookies: tuple[tuple[str, str], ...] = ()
    content: bytes | None = None
    content_type: str | None = None
    #: the body as data (JSON object, form fields) for policy prompts and observations
    body_preview: Any = None
    extra_headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def url(self) -> httpx.URL:
        raw = self.base_url.rstrip("/") + self.path
        if self.query:
            raw += "?" + "&".join(self.query)
        return _parsed_url(raw)

    def with_auth(self, *, headers: Mapping[str, str] = {}, query: tuple[str, ...] = (),
                  cookies: tuple[tuple[str, str], ...] = ()) -> PreparedRequest:
        """A copy with credentials added (kept out of the pre-auth description)."""
        return replace(self, headers=self.headers + tuple(headers.items()),
                       query=self.query + query, cookies=self.cookies + cookies)

    def to_httpx(self, client: httpx.AsyncClient, *, timeout: Any = None,
                 url: httpx.URL | None = None) -> httpx.Request:
        """The `httpx.Request` (body fully read, so it can be re-sent identically); ``url``:
        this request's :attr:`url` when the caller already parsed it."""
        headers: list[tuple[str, str]] = list(self.headers)
        if self.cookies:
            headers.append(("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies)))
        if self.content_type is not None:
            headers.append(("Content-Type", self.content_type))
        headers.extend(self.extra_headers.items())
        kwargs: dict[str, Any] = {"headers": headers, "content": self.content}
        if timeout is not None:
            kwargs["timeout"] = timeout
        request = client.build_request(self.method, url or self.url, **kwargs)
        request.read()
        return request


@functools.lru_cache(maxsize=1024)
def _parsed_url(raw: str) -> httpx.URL:
    """``httpx.URL(raw)``, kept for the URLs a service calls again (an `httpx.URL` is
    immutable; parsing one is a good part of building a request)."""
    return httpx.URL(raw)


def origin_of(url: httpx.URL | str) -> tuple[str, str, int]:
    """(scheme, host, port) with the default port filled in."""
    u = url if isinstance(url, httpx.URL) else httpx.URL(url)
    port = u.port or {"http": 80, "https": 443}.get(u.scheme, 0)
    return (u.scheme, u.host.lower(), port)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (int, float, str)):
        return str(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _enc(value: Any) -> str:
    return quote(_scalar(value), safe="")


def _violation(p: Param, message: str) -> Violation:
    return Violation(kind="schema", path=f"$.{p.name}", message=message)


def _path_value(p: Param, value: Any) -> str:
    style, explode = p.style or "simple", bool(p.explode)
    if isinstance(value, list):
        items = [_enc(v) for v in value]
        text = {"label": "." if explode else ","}.get(style, ",").join(items)
        if style == "matrix" and explode:
            text = ";".join(f"{p.wire_name}={i}" for i in items)
    elif isinstance(value, dict):
        pairs = [(quote(str(k), safe=""), _enc(v)) for k, v in value.items()]
        sep = "." if style == "label" and explode else ";" if style == "matrix" and explode else ","
        text = sep.join(f"{k}={v}" for k, v in pairs) if explode else ",".join(
            f"{k},{v}" for k, v in pairs)
    else:
        text = _enc(value)
    if style == "label":
        return "." + text
    if style == "matrix":
        return text if explode and isinstance(value, (list, dict)) else f";{p.wire_name}={text}"
    if text in ("", ".", ".."):
        raise BuildError([_violation(p, f"path parameter {p.name!r} cannot be {text!r}")])
    return text


def _build_path(tool: Tool, args: Mapping[str, Any]) -> str:
    by_wire = {p.wire_name: p for p in tool.params if p.location == "path"}

    def sub(m: re.Match[str]) -> str:
        p = by_wire.get(m.group(1))
        if p is None or p.name not in args or args[p.name] is None:
            raise BuildError([Violation(kind="missing_required", path=f"$.{m.group(1)}",
                                        message=f"path parameter {m.group(1)!r} is required")])
        return _path_value(p, args[p.name])

    path = _TEMPLATE.sub(sub, tool.path)
    template_segments = tool.path.split("/")
    for tmpl, seg in zip(template_segments, path.split("/"), strict=False):
        if seg in (".", "..") and tmpl != seg:
            raise BuildError([Violation(kind="schema", path="$",
                                        message="path parameters cannot form a dot segment")])
    return path if path.startswith("/") else "/" + path


def _query_pieces(p: Param, value: Any) -> list[str]:
    name = quote(p.wire_name, safe="")
    style = p.style or "form"
    explode = True if p.explode is None and style == "form" else bool(p.explode)
    if isinstance(value, list):
        if style == "spaceDelimited":
            return [f"{name}=" + "%20".join(_enc(v) for v in value)]
        if style == "pipeDelimited":
            return [f"{name}=" + "|".join(_enc(v) for v in value)]
        if explode:
            return [f"{name}={_enc(v)}" for v in value]
        return [f"{name}=" + ",".join(_enc(v) for v in value)]
    if isinstance(value, dict):
        if style == "deepObject":
            return [f"{name}%5B{quote(str(k), safe='')}%5D={_enc(v)}" for k, v in value.items()]
        if explode:
            return [f"{quote(str(k), safe='')}={_enc(v)}" for k, v in value.items()]
        return [f"{name}=" + ",".join(f"{quote(str(k), safe='')},{_enc(v)}"
                                      for k, v in value.items())]
    return [f"{name}={_enc(value)}"]


def _header_value(p: Param, value: Any) -> str:
    if isinstance(value, list):
        text = ",".join(_scalar(v) for v in value)
    elif isinstance(value, dict):
        sep = "=" if p.explode else ","
        text = ",".join(f"{k}{sep}{_scalar(v)}" for k, v in value.items())
    else:
        text = _scalar(value)
    if _BAD_HEADER_CHARS.search(text):
        raise BuildError([_violation(p, f"header {p.wire_name!r} cannot contain control "
                                        "characters (CR, LF, NUL …)")])
    if not text.isascii():
        raise BuildError([_violation(p, f"header {p.wire_name!r} must be ASCII text")])
    if text != text.strip(" "):
        raise BuildError([_violation(p, f"header {p.wire_name!r} cannot start or end with "
                                        "spaces")])
    return text


def _is_binary(p: Param | None) -> bool:
    if p is None:
        return False
    s = p.schema
    return s.get("type") == "file" or s.get("format") in ("binary", "byte")


def _build_body(tool: Tool, args: Mapping[str, Any]) -> tuple[bytes | None, str | None, Any]:
    body = tool.body
    if body is None:
        return None, None, None
    params = {p.wire_name: p for p in tool.params if p.location == "body"}
    if body.mode == "whole":
        if body.argument in args:
            data = args[body.argument]
        elif body.required:  # the toolset left it optional because `{}` is a valid body
            data = {}
        else:
            return None, None, None
    else:
        data = {p.wire_name: args[p.name] for p in params.values() if p.name in args}
        if not data and not body.required:
            return None, None, None
    media = body.media_type.split(";")[0].strip().lower()
    if media == "application/x-www-form-urlencoded":
        fields = data if isinstance(data, Mapping) else {"value": data}
        pairs = [(k, _scalar(x)) for k, v in fields.items()
                 for x in (v if isinstance(v, list) else [v])]
        return urlencode(pairs).encode(), media, fields
    if media == "multipart/form-data":
        fields = data if isinstance(data, Mapping) else {"value": data}
        files: list[tuple[str, Any]] = []
        for k, v in fields.items():
            for x in v if isinstance(v, list) else [v]:
                if _is_binary(params.get(k)):
                    files.append((k, (k, _scalar(x).encode(), "application/octet-stream")))
                else:
                    files.append((k, (None, _scalar(x))))
        encoded = httpx.Request("POST", "http://multipart.invalid/", files=files)
        return encoded.read(), encoded.headers["content-type"], fields
    if "json" in media:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        return text.encode(), body.media_type, data
    return _scalar(data).encode(), body.media_type, data


def build_request(tool: Tool, args: Mapping[str, Any], *, base_url: str) -> PreparedRequest:
    """Turn validated ``args`` into a `PreparedRequest` against ``base_url``.

    Raises `BuildError` (with violations) when a value cannot be sent safely.
    """
    errors: list[Violation] = []
    path = ""
    try:
        path = _build_path(tool, args)
    except BuildError as exc:
        errors.extend(exc.violations)
    query: list[str] = []
    headers: list[tuple[str, str]] = []
    cookies: list[tuple[str, str]] = []
    for p in tool.params:
        if p.name not in args or args[p.name] is None or p.location in ("path", "body"):
            continue
        value = args[p.name]
        try:
            if p.location == "query":
                query.extend(_query_pieces(p, value))
            elif p.location == "header":
                if p.wire_name.lower() in FORBIDDEN_HEADERS:
                    raise BuildError([_violation(p, f"header {p.wire_name!r} cannot be set")])
                headers.append((p.wire_name, _header_value(p, value)))
            elif p.location == "cookie":
                cookies.append((quote(p.wire_name, safe=""), quote(_scalar(value), safe="")))
        except BuildError as exc:
            errors.extend(exc.violations)
    if errors:
        raise BuildError(errors)
    content, content_type, preview = _build_body(tool, args)
    return PreparedRequest(
        method=tool.method.upper(), base_url=base_url, path=path, query=tuple(query),
        headers=tuple(headers), cookies=tuple(cookies), content=content,
        content_type=content_type, body_preview=preview,
    )
