"""Demo services, HTTP edge: the documented error body, API-key check, spec-driven validation.

Framework choice: the services are plain **Starlette** apps. Starlette is already a core
dependency of agentrt (FastAPI is not), and the contract is the hand-written OpenAPI 3.1
document in ``specs/``, not one generated from Python types: requests are validated against
that very document with ``jsonschema`` (Draft 2020-12, formats checked), so the spec and the
service cannot drift apart the way a FastAPI model and a separate YAML file could.
"""

from __future__ import annotations

import hashlib
import json
import math
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import referencing
import referencing.jsonschema
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from agentrt_demo.specs import load_spec

__all__ = [
    "ApiError",
    "Endpoint",
    "OperationValidator",
    "Reply",
    "error_body",
    "http_exception_handler",
    "new_reference",
    "request_hash",
]

MAX_BODY_BYTES = 64 * 1024
_REF_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def error_body(code: str, message: str, details: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """The error body every 4xx response carries (schema ``Error`` in both specs)."""
    return {"code": code, "message": message, "details": details or []}


class ApiError(Exception):
    """A 4xx outcome; raised inside handlers, rendered as the documented error body."""

    def __init__(self, status: int, code: str, message: str,
                 details: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []

    def response(self) -> JSONResponse:
        return JSONResponse(error_body(self.code, self.message, self.details), status_code=self.status)


@dataclass(frozen=True, slots=True, kw_only=True)
class Reply:
    """What a handler returns: status, JSON payload, extra headers."""

    status: int = 200
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


def new_reference(prefix: str = "", length: int = 6) -> str:
    """A random booking reference of unambiguous capitals and digits."""
    return prefix + "".join(secrets.choice(_REF_ALPHABET) for _ in range(length))


def request_hash(payload: Any) -> str:
    """A stable fingerprint of a request body, to detect Idempotency-Key reuse."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _location(prefix: str, path: Any) -> str:
    out = prefix
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


class OperationValidator:
    """Validates one operation's path, query, header and body inputs against the spec."""

    def __init__(self, spec_name: str, operation_id: str) -> None:
        spec = load_spec(spec_name)
        uri = f"urn:agentrt-demo:{spec_name}"
        resource = referencing.Resource.from_contents(
            spec, default_specification=referencing.jsonschema.DRAFT202012)
        registry: referencing.Registry[Any] = referencing.Registry().with_resource(uri, resource)
        self.params: list[dict[str, Any]] = []
        self.body_schema: dict[str, Any] | None = None
        for path, item in spec["paths"].items():
            for method, op in item.items():
                if isinstance(op, dict) and op.get("operationId") == operation_id:
                    self.method, self.path = method.upper(), path
                    for p in op.get("parameters", []):
                        if "$ref" in p:
                            p = registry.resolver().lookup(f"{uri}{p['$ref']}").contents
                        self.params.append(p)
                    body = op.get("requestBody", {}).get("content", {}).get("application/json")
                    if body:
                        self.body_schema = body["schema"]
        if not hasattr(self, "method"):
            raise ValueError(f"{operation_id} not in {spec_name} spec")

        def make(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
            return jsonschema.Draft202012Validator(
                {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": f"{uri}-op",
                 **_rebase(schema, uri)},
                registry=registry, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)

        self._param_validators = {p["name"]: make(p["schema"]) for p in self.params}
        self._body_validator = make(self.body_schema) if self.body_schema else None
        self._types = {p["name"]: _param_type(p["schema"], registry, uri) for p in self.params}

    def parameters(self, request: Request) -> dict[str, Any]:
        """Typed, validated parameters (defaults filled); raises ApiError(422) listing all problems."""
        values: dict[str, Any] = {}
        problems: list[dict[str, str]] = []
        for p in self.params:
            name, where = p["name"], p["in"]
            source: Mapping[str, str] = {"path": request.path_params, "query": request.query_params,
                                         "header": request.headers}.get(where, {})
            raw = source.get(name.lower() if where == "header" else name)
            loc = f"{where}.{name}"
            if raw is None:
                if p.get("required"):
                    problems.append({"location": loc, "message": "is required"})
                elif "default" in p["schema"]:
                    values[name] = p["schema"]["default"]
                continue
            value = _coerce(raw, self._types[name])
            if value is _BAD:
                problems.append({"location": loc, "message": f"must be a {self._types[name]}"})
                continue
            errs = sorted(self._param_validators[name].iter_errors(value), key=str)
            problems += [{"location": loc, "message": e.message} for e in errs]
            values[name] = value
        if problems:
            raise ApiError(422, "validation_error", "some parameters are invalid", problems)
        return values

    def body(self, raw: bytes) -> Any:
        """The parsed and validated JSON body; 400 if it is not JSON, 422 if it breaks the schema."""
        if self._body_validator is None:
            return None
        if len(raw) > MAX_BODY_BYTES:
            raise ApiError(400, "malformed_json", f"request body exceeds {MAX_BODY_BYTES} bytes")
        try:
            data = json.loads(raw, parse_constant=_reject_constant)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(400, "malformed_json", f"request body is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ApiError(400, "malformed_json", "request body must be a JSON object")
        errs = sorted(self._body_validator.iter_errors(data), key=lambda e: list(map(str, e.path)))
        if errs:
            raise ApiError(422, "validation_error", "the request body is invalid",
                           [{"location": _location("body", e.absolute_path), "message": e.message}
                            for e in errs])
        return data


_BAD = object()


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not allowed")


def _rebase(schema: dict[str, Any], uri: str) -> dict[str, Any]:
    """Make local ``#/...`` refs point into the spec document."""
    text = json.dumps(schema).replace('"$ref": "#/', f'"$ref": "{uri}#/')
    result: dict[str, Any] = json.loads(text)
    return result


def _param_type(schema: dict[str, Any], registry: referencing.Registry[Any], uri: str) -> str:
    while "$ref" in schema:
        schema = registry.resolver().lookup(f"{uri}{schema['$ref']}").contents
    kind = schema.get("type", "string")
    return kind if isinstance(kind, str) else "string"


def _coerce(raw: str, kind: str) -> Any:
    if kind == "integer":
        try:
            return int(raw, 10) if raw.strip() == raw else _BAD
        except ValueError:
            return _BAD
    if kind == "number":
        try:
            value = float(raw)
        except ValueError:
            return _BAD
        return value if math.isfinite(value) else _BAD
    if kind == "boolean":
        return {"true": True, "false": False}.get(raw.lower(), _BAD)
    return raw


Handler = Callable[[dict[str, Any], Any], Reply]


class Endpoint:
    """A Starlette endpoint for one operation: API key, validation, then a sync DB handler."""

    def __init__(self, spec_name: str, operation_id: str, handler: Handler, api_key: str) -> None:
        self.validator = OperationValidator(spec_name, operation_id)
        self.operation_id = operation_id
        self.handler = handler
        self.api_key = api_key

    async def handle(self, request: Request) -> Response:
        try:
            given = request.headers.get("x-api-key")
            if given is None or not secrets.compare_digest(given.encode(), self.api_key.encode()):
                raise ApiError(401, "unauthorized", "missing or wrong X-API-Key header")
            params = self.validator.parameters(request)
            body = self.validator.body(await request.body())
            reply = await run_in_threadpool(self.handler, params, body)
        except ApiError as err:
            return err.response()
        return JSONResponse(reply.body, status_code=reply.status, headers=dict(reply.headers))


async def http_exception_handler(request: Request, exc: Exception) -> Response:
    """Render Starlette's 404/405 in the documented error body."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    code = {404: "not_found", 405: "method_not_allowed"}.get(status, "validation_error")
    message = {404: f"no such path: {request.url.path}",
               405: f"method {request.method} not allowed on {request.url.path}"}.get(status, str(exc))
    headers = getattr(exc, "headers", None)
    return JSONResponse(error_body(code, message), status_code=status, headers=headers)



def build_routes(spec_name: str, table: tuple[tuple[str, str, str], ...], service: Any,
                 api_key: str) -> list[Any]:
    """One Starlette Route per path (so a 405 lists every allowed method in ``Allow``)."""
    from starlette.routing import Route

    by_path: dict[str, dict[str, Callable[[Request], Awaitable[Response]]]] = {}
    for path, method, op in table:
        by_path.setdefault(path, {})[method] = Endpoint(spec_name, op, getattr(service, op), api_key).handle

    def dispatcher(methods: dict[str, Callable[[Request], Awaitable[Response]]]) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            method = "GET" if request.method == "HEAD" else request.method
            return await methods[method](request)
        return endpoint

    return [Route(path, dispatcher(methods), methods=list(methods)) for path, methods in by_path.items()]
