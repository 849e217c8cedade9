"""Spec stage: walk ``paths`` and turn every operation into the internal `Operation` model.

Swagger 2.0 and OpenAPI 3.x differ here (body/formData parameters, ``consumes``,
``produces``, response ``schema`` vs ``content``); both end in the same `Operation`.
"""

from __future__ import annotations

from typing import Any

from agentrt.errors import SpecError
from agentrt.openapi.model import HTTP_METHODS, Operation, Parameter, RequestBody
from agentrt.openapi.schema import SchemaCompiler, SchemaScope, escape_pointer_token

_V2_SCHEMA_KEYS = ("type", "format", "items", "enum", "default", "minimum", "maximum",
                   "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "pattern",
                   "minItems", "maxItems", "uniqueItems", "multipleOf", "x-nullable")
_V2_COLLECTION = {"csv": ("form", False), "multi": ("form", True), "ssv": ("spaceDelimited", False),
                  "pipes": ("pipeDelimited", False), "tsv": ("form", False)}


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


class OperationBuilder:
    def __init__(self, doc: dict[str, Any], compiler: SchemaCompiler, version: str,
                 source: str) -> None:
        self.doc = doc
        self.c = compiler
        self.version = version
        self.source = source

    def fail(self, reason: str, pointer: str) -> SpecError:
        return SpecError(reason, source=self.source, pointer=pointer)

    def operations(self) -> list[Operation]:
        paths = self.doc.get("paths") or {}
        if not isinstance(paths, dict):
            raise self.fail("'paths' must be an object", "#/paths")
        ops: list[Operation] = []
        for path, item in paths.items():
            ip = f"#/paths/{escape_pointer_token(path)}"
            item, _ = self.c.deref(item, ip)
            if not isinstance(item, dict):
                raise self.fail("a path item must be an object", ip)
            shared = item.get("parameters") or []
            item_servers = self.servers(item, ip)
            for method in HTTP_METHODS:
                if method in item:
                    ops.append(self.operation(path, method, item[method], shared, ip,
                                              item_servers))
        return ops

    def servers(self, node: dict[str, Any], ptr: str) -> tuple[dict[str, Any], ...]:
        """The ``servers`` a path item or operation declares (OpenAPI 3.x; () for none)."""
        raw = node.get("servers")
        if self.version == "2.0" or raw is None:
            return ()
        if not isinstance(raw, list):
            raise self.fail("'servers' must be an array", f"{ptr}/servers")
        for i, server in enumerate(raw):
            if not isinstance(server, dict) or not isinstance(server.get("url"), str):
                raise self.fail("a server needs a string 'url'", f"{ptr}/servers/{i}")
        return tuple(raw)

    def operation(self, path: str, method: str, op: Any, shared: list[Any],
                  item_ptr: str, item_servers: tuple[dict[str, Any], ...] = ()) -> Operation:
        pointer = f"{item_ptr}/{method}"
        if not isinstance(op, dict):
            raise self.fail("an operation must be an object", pointer)
        scope = self.c.scope()
        params: dict[tuple[str, str], Parameter] = {}
        body: RequestBody | None = None
        form: list[tuple[dict[str, Any], str]] = []
        raw_params = [(p, f"{item_ptr}/parameters/{i}") for i, p in enumerate(shared)]
        raw_params += [(p, f"{pointer}/parameters/{i}")
                       for i, p in enumerate(op.get("parameters") or [])]
        for raw, ptr in raw_params:
            p, _ = self.c.deref(raw, ptr)
            if not isinstance(p, dict) or not isinstance(p.get("name"), str) \
                    or p.get("in") not in ("path", "query", "header", "cookie", "body",
                                           "formData"):
                raise self.fail("a parameter needs a string 'name' and a valid 'in'", ptr)
            where = p["in"]
            if where == "body":
                body = RequestBody(
                    required=bool(p.get("required")), description=_text(p.get("description")),
                    content={mt: scope.compile(p.get("schema", {}), f"{ptr}/schema")
                             for mt in self._consumes(op, json_default=True)})
                continue
            if where == "formData":
                form.append((p, ptr))
                continue
            params[(where, p["name"])] = self.parameter(p, ptr, scope)  # op-level overrides
        if form:
            body = self._form_body(op, form, scope)
        if self.version != "2.0" and "requestBody" in op:
            body = self.request_body(op["requestBody"], f"{pointer}/requestBody", scope)
        responses = self.responses(op.get("responses") or {}, f"{pointer}/responses", scope, op)
        security = op.get("security")
        return Operation(
            method=method.upper(), path=path, pointer=pointer,
            operation_id=op.get("operationId") if isinstance(op.get("operationId"), str) else None,
            summary=_text(op.get("summary")), description=_text(op.get("description")),
            tags=tuple(t for t in op.get("tags") or () if isinstance(t, str)),
            parameters=tuple(params.values()), request_body=body, responses=responses,
            security=tuple(security) if isinstance(security, list) else None,
            servers=self.servers(op, pointer) or item_servers,
            extensions={k: v for k, v in op.items() if k.startswith("x-")},
            deprecated=bool(op.get("deprecated")), defs=scope.defs,
        )

    def parameter(self, p: dict[str, Any], ptr: str, scope: SchemaScope) -> Parameter:
        where = p["in"]
        style, explode = p.get("style"), p.get("explode")
        if self.version == "2.0":
            raw = {k: v for k, v in p.items() if k in _V2_SCHEMA_KEYS}
            if "collectionFormat" in p:
                style, explode = _V2_COLLECTION.get(p["collectionFormat"], ("form", False))
            elif raw.get("type") == "array":
                style, explode = "form", False  # Swagger 2.0's default is csv
            schema = scope.compile(raw, ptr)
        elif "schema" in p:
            schema = scope.compile(p["schema"], f"{ptr}/schema")
        elif isinstance(p.get("content"), dict) and p["content"]:
            mt, media = next(iter(p["content"].items()))
            schema = scope.compile((media or {}).get("schema", {}),
                                   f"{ptr}/content/{escape_pointer_token(mt)}/schema")
        else:
            schema = {}
        if p.get("description") and "description" not in schema:
            schema = {**schema, "description": _text(p["description"])}
        return Parameter(name=p["name"], location=where, schema=schema,
                         required=bool(p.get("required")) or where == "path",
                         description=_text(p.get("description")), style=style,
                         explode=explode if isinstance(explode, bool) else None,
                         deprecated=bool(p.get("deprecated")))

    def _consumes(self, op: dict[str, Any], *, json_default: bool) -> list[str]:
        types = op.get("consumes") or self.doc.get("consumes") or []
        types = [t for t in types if isinstance(t, str)]
        return types or (["application/json"] if json_default else [])

    def _form_body(self, op: dict[str, Any], form: list[tuple[dict[str, Any], str]],
                   scope: SchemaScope) -> RequestBody:
        props: dict[str, Any] = {}
        required: list[str] = []
        for p, ptr in form:
            raw = {k: v for k, v in p.items() if k in _V2_SCHEMA_KEYS}
            schema = scope.compile(raw, ptr)
            if p.get("description"):
                schema = {**schema, "description": _text(p["description"])}
            props[p["name"]] = schema
            if p.get("required"):
                required.append(p["name"])
        schema_obj: dict[str, Any] = {"type": "object", "properties": props}
        if required:
            schema_obj["required"] = required
        consumes = [t for t in self._consumes(op, json_default=False)
                    if t in ("application/x-www-form-urlencoded", "multipart/form-data")]
        media = consumes[0] if consumes else "application/x-www-form-urlencoded"
        return RequestBody(required=bool(required), content={media: schema_obj})

    def request_body(self, raw: Any, ptr: str, scope: SchemaScope) -> RequestBody:
        rb, _ = self.c.deref(raw, ptr)
        if not isinstance(rb, dict) or not isinstance(rb.get("content", {}), dict):
            raise self.fail("requestBody must be an object with 'content'", ptr)
        content = {mt: scope.compile((media or {}).get("schema", {}),
                                     f"{ptr}/content/{escape_pointer_token(mt)}/schema")
                   for mt, media in rb.get("content", {}).items()}
        return RequestBody(required=bool(rb.get("required")), content=content,
                           description=_text(rb.get("description")))

    def responses(self, raw: Any, ptr: str, scope: SchemaScope,
                  op: dict[str, Any]) -> dict[str, dict[str, Any] | None]:
        if not isinstance(raw, dict):
            raise self.fail("'responses' must be an object", ptr)
        out: dict[str, dict[str, Any] | None] = {}
        for status, resp in raw.items():
            if str(status).startswith("x-"):
                continue
            rp = f"{ptr}/{escape_pointer_token(str(status))}"
            resp, _ = self.c.deref(resp, rp)
            if not isinstance(resp, dict):
                raise self.fail("a response must be an object", rp)
            schema: dict[str, Any] | None = None
            if self.version == "2.0":
                if "schema" in resp:
                    schema = scope.compile(resp["schema"], f"{rp}/schema")
            else:
                for mt, media in (resp.get("content") or {}).items():
                    if "json" in mt and isinstance(media, dict) and "schema" in media:
                        schema = scope.compile(media["schema"],
                                               f"{rp}/content/{escape_pointer_token(mt)}/schema")
                        break
            out[str(status)] = schema
        return out
