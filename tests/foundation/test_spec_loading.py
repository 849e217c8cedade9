"""Spec loading: three OpenAPI versions, $ref (files, cycles, blow-up), broken documents."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from agentrt import SpecError, Toolset, load_spec
from agentrt.servers import serve_in_thread

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "specs"

OAS30 = {
    "openapi": "3.0.3",
    "info": {"title": "Pets", "version": "1"},
    "servers": [{"url": "https://{region}.pets.test/v{v}",
                 "variables": {"region": {"default": "eu"}, "v": {"default": "2"}}}],
    "paths": {
        "/pets/{pet_id}": {
            "parameters": [{"name": "pet_id", "in": "path", "required": True,
                            "schema": {"type": "integer"}}],
            "get": {
                "operationId": "getPet",
                "summary": "Get a pet.",
                "parameters": [
                    {"name": "fields", "in": "query", "schema": {
                        "type": "string", "nullable": True, "example": "name"}},
                    {"name": "weight", "in": "query", "schema": {
                        "type": "number", "minimum": 0, "exclusiveMinimum": True}},
                ],
                "responses": {"200": {"description": "ok", "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}}},
            },
        }
    },
    "components": {"schemas": {"Pet": {"type": "object", "required": ["id"], "properties": {
        "id": {"type": "integer"}, "tag": {"type": "string", "nullable": True}}}}},
}

SWAGGER = {
    "swagger": "2.0",
    "info": {"title": "Legacy", "version": "1"},
    "host": "legacy.test",
    "basePath": "/api",
    "schemes": ["http", "https"],
    "consumes": ["application/json"],
    "securityDefinitions": {"key": {"type": "apiKey", "in": "header", "name": "X-Key"},
                            "oauth": {"type": "oauth2", "flow": "application",
                                      "tokenUrl": "https://legacy.test/token", "scopes": {}}},
    "paths": {
        "/orders": {"post": {
            "operationId": "createOrder",
            "parameters": [{"name": "order", "in": "body", "required": True,
                            "schema": {"$ref": "#/definitions/Order"}},
                           {"name": "X-Key", "in": "header", "type": "string"}],
            "responses": {"201": {"description": "ok", "schema": {"$ref": "#/definitions/Order"}}},
        }},
        "/upload": {"post": {
            "operationId": "upload",
            "consumes": ["multipart/form-data"],
            "parameters": [{"name": "file", "in": "formData", "type": "file", "required": True},
                           {"name": "tags", "in": "query", "type": "array",
                            "items": {"type": "string"}, "collectionFormat": "multi"}],
            "responses": {"200": {"description": "ok"}},
        }},
    },
    "definitions": {"Order": {"type": "object", "required": ["qty"], "properties": {
        "qty": {"type": "integer", "minimum": 1}, "note": {"type": "string", "x-nullable": True}}}},
}


def test_openapi_30_is_normalised_to_2020_12() -> None:
    spec = load_spec(OAS30)
    assert spec.version == "3.0"
    (op,) = spec.operations
    fields = next(p for p in op.parameters if p.name == "fields")
    assert fields.schema["type"] == ["string", "null"]
    assert fields.schema["examples"] == ["name"] and "example" not in fields.schema
    weight = next(p for p in op.parameters if p.name == "weight")
    assert weight.schema["exclusiveMinimum"] == 0 and "minimum" not in weight.schema
    assert op.responses["200"]["properties"]["tag"]["type"] == ["string", "null"]
    tool = Toolset.from_spec(OAS30).get("getPet")
    assert tool is not None
    assert tool.service.base_url == "https://eu.pets.test/v2"
    assert tool.parameters["required"] == ["pet_id"]


def test_swagger_20_body_formdata_servers_and_security() -> None:
    spec = load_spec(SWAGGER)
    assert spec.version == "2.0"
    assert spec.servers[0]["url"] == "https://legacy.test/api"
    assert spec.security_schemes["oauth"]["flows"]["clientCredentials"]["tokenUrl"]
    ts = Toolset.from_spec(SWAGGER)
    order = ts.get("createOrder")
    assert order is not None and order.body is not None
    assert order.body.mode == "flat" and order.body.media_type == "application/json"
    assert "X-Key" not in order.parameters["properties"], "auth parameters are hidden"
    assert order.parameters["properties"]["note"]["type"] == ["string", "null"]
    upload = ts.get("upload")
    assert upload is not None and upload.body is not None
    assert upload.body.media_type == "multipart/form-data"
    assert upload.parameters["properties"]["file"] == {"type": "string", "format": "binary"}
    tags = upload.param("tags")
    assert tags is not None and (tags.style, tags.explode) == ("form", True)
    assert ts.validate("createOrder", {"qty": 0})[0].kind == "bounds"


def test_openapi_31_with_ref_siblings() -> None:
    doc = copy.deepcopy(OAS30)
    doc["openapi"] = "3.1.0"
    doc["components"]["schemas"]["Pet"]["properties"]["tag"] = {"type": ["string", "null"]}
    get = doc["paths"]["/pets/{pet_id}"]["get"]
    get["parameters"][0]["schema"] = {"type": ["string", "null"]}
    get["parameters"][1]["schema"] = {"type": "number", "exclusiveMinimum": 0}
    get["responses"]["200"]["content"]["application/json"]["schema"] = {
        "$ref": "#/components/schemas/Pet", "description": "the pet"}
    spec = load_spec(doc)
    assert spec.version == "3.1"
    schema = spec.operations[0].responses["200"]
    assert schema["description"] == "the pet" and schema["required"] == ["id"]


def test_cyclic_refs_across_files_load_and_validate() -> None:
    ts = Toolset.from_spec(FIX / "tree.yaml")
    cat = ts.get("create_category")
    assert cat is not None
    Draft202012Validator.check_schema(cat.parameters)
    assert "Category" in cat.parameters["$defs"]
    deep = {"name": "a", "children": [{"name": "b", "children": [{"name": "c"}]}],
            "parent": {"name": "root"}}
    assert ts.validate("create_category", deep) == []
    bad = ts.validate("create_category", {"name": "a", "children": [{"children": []}]})
    assert [(v.kind, v.path) for v in bad] == [("missing_required", "$.children[0].name")]
    linked = ts.validate("put_list", {"value": 1, "next": {"value": 2, "next": {"value": "x"}}})
    assert [v.path for v in linked] == ["$.next.next.value"] or linked[0].kind in ("type", "schema")


def test_wide_shared_refs_do_not_blow_up() -> None:
    # 40 levels, each referencing the next twice: inlining naively would be 2**40 nodes
    schemas = {f"L{i}": {"type": "object", "properties": {
        "a": {"$ref": f"#/components/schemas/L{i + 1}"},
        "b": {"$ref": f"#/components/schemas/L{i + 1}"}}} for i in range(40)}
    schemas["L40"] = {"type": "string"}
    doc = {"openapi": "3.1.0", "info": {"title": "wide", "version": "1"}, "paths": {"/x": {
        "post": {"operationId": "x", "requestBody": {"content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/L0"}}}},
            "responses": {"200": {"description": "ok"}}}}},
        "components": {"schemas": schemas}}
    t0 = time.perf_counter()
    tool = Toolset.from_spec(doc).get("x")
    assert time.perf_counter() - t0 < 10
    assert tool is not None
    assert len(json.dumps(tool.parameters)) < 200_000


@pytest.mark.parametrize(("fixture", "pointer"), [
    ("broken_ref.yaml", "#/paths/~1flights/get/parameters/0"),
    ("broken_param.yaml", "#/paths/~1flights/get/parameters/0"),
])
def test_broken_documents_name_file_and_pointer(fixture: str, pointer: str) -> None:
    with pytest.raises(SpecError) as info:
        load_spec(FIX / fixture)
    assert info.value.pointer == pointer
    assert fixture in info.value.source and pointer in str(info.value)


@pytest.mark.parametrize("source", [
    FIX / "bad_yaml.yaml", FIX / "missing.yaml", {"openapi": "9.9.9", "paths": {}},
    {"info": {}}, {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": []},
])
def test_bad_input_is_always_a_spec_error(source: object) -> None:
    with pytest.raises(SpecError):
        load_spec(source)  # type: ignore[arg-type]


def test_self_referencing_ref_chain_is_a_spec_error() -> None:
    doc = {"openapi": "3.1.0", "info": {"title": "loop", "version": "1"}, "paths": {"/x": {
        "get": {"operationId": "x", "parameters": [{"$ref": "#/components/parameters/A"}],
                "responses": {"200": {"description": "ok"}}}}},
        "components": {"parameters": {"A": {"$ref": "#/components/parameters/B"},
                                      "B": {"$ref": "#/components/parameters/A"}}}}
    with pytest.raises(SpecError):
        load_spec(doc)


def test_load_from_url_over_a_real_socket_with_relative_server() -> None:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    doc = copy.deepcopy(OAS30)
    doc["servers"] = [{"url": "/v2"}]
    text = json.dumps(doc)
    app = Starlette(routes=[Route("/openapi.json", lambda request: PlainTextResponse(text))])
    with serve_in_thread(app) as served:
        ts = Toolset.from_spec(f"{served.url}/openapi.json")
        missing = f"{served.url}/nope.json"
        with pytest.raises(SpecError, match="HTTP 404"):
            load_spec(missing)
    tool = ts.get("getPet")
    assert tool is not None and tool.service.base_url == f"{served.url}/v2"


def test_strict_mode_refuses_what_lenient_mode_repairs(corpus: list[Path]) -> None:
    path = next(p for p in corpus if p.name.startswith("TransferBook"))
    spec = load_spec(path)
    assert spec.warnings and all(w.pointer.startswith("#/") for w in spec.warnings)
    with pytest.raises(SpecError) as info:
        load_spec(path, strict=True)
    assert info.value.pointer.endswith("/pattern")
