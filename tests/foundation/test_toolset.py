"""Tools from operations: names, descriptions, argument schemas, side effects, rendering."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from agentrt import ConfigError, SpecError, Toolset
from agentrt.toolset.build import sanitize_name


def doc(paths: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"openapi": "3.1.0", "info": {"title": "T", "version": "1"},
            "servers": [{"url": "http://127.0.0.1:9"}], "paths": paths, **extra}


OK = {"200": {"description": "ok"}}

BOOKING = doc({
    "/flights/{flight_id}/bookings": {"post": {
        "operationId": "book_flight",
        "summary": "Book a seat.",
        "description": "Creates a booking. " + "Very long text. " * 60,
        "x-agentrt-compensation": "cancel_booking",
        "parameters": [
            {"name": "flight_id", "in": "path", "required": True, "schema": {"type": "string"}},
            {"name": "Idempotency-Key", "in": "header", "schema": {"type": "string"}},
            {"name": "X-Trace", "in": "header", "schema": {"type": "string"}},
            {"name": "session", "in": "cookie", "schema": {"type": "string"}},
        ],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["email"], "properties": {
                "email": {"type": "string", "format": "email"},
                "seats": {"type": "integer", "minimum": 1, "maximum": 9}}}}}},
        "responses": OK}},
    "/bookings/{id}": {"delete": {"operationId": "cancel_booking", "parameters": [
        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": OK},
        "get": {"parameters": [{"name": "id", "in": "path", "required": True,
                                "schema": {"type": "string"}}], "responses": OK,
                "x-agentrt-side-effect": "unsafe"}},
})


def test_tool_shape_locations_and_side_effects() -> None:
    ts = Toolset.from_spec(BOOKING)
    assert sorted(ts.names) == ["book_flight", "cancel_booking", "get_bookings_id"]
    book = ts.get("book_flight")
    assert book is not None
    assert book.side_effect == "unsafe" and book.compensation == "cancel_booking"
    assert set(book.parameters["properties"]) == {"flight_id", "X-Trace", "session", "email",
                                                  "seats"}
    assert book.parameters["required"] == ["flight_id", "email"]
    assert {p.name: p.location for p in book.params} == {
        "flight_id": "path", "X-Trace": "header", "session": "cookie", "email": "body",
        "seats": "body"}
    assert book.body is not None and book.body.mode == "flat"
    assert len(book.description) <= 401 and book.description.startswith("Book a seat.")
    cancel, get = ts.get("cancel_booking"), ts.get("get_bookings_id")
    assert cancel is not None and cancel.side_effect == "idempotent"
    assert get is not None and get.side_effect == "unsafe", "x- extension overrides the method"


def test_bad_side_effect_extension_is_a_spec_error() -> None:
    bad = doc({"/x": {"get": {"operationId": "x", "x-agentrt-side-effect": "maybe",
                              "responses": OK}}})
    with pytest.raises(SpecError) as info:
        Toolset.from_spec(bad)
    assert info.value.pointer == "#/paths/~1x/get/x-agentrt-side-effect"


def test_names_are_sanitised_truncated_and_unique() -> None:
    assert sanitize_name("get /a b.c") == "get_a_b_c"
    long = sanitize_name("x" * 100)
    assert len(long) == 64
    paths: dict[str, Any] = {f"/very/long/path/segment/{'y' * 50}/{i}": {"get": {"responses": OK}}
             for i in range(3)}
    paths["/dup"] = {"get": {"operationId": "same.x", "responses": OK},
                     "put": {"operationId": "same x", "responses": OK}}
    ts = Toolset.from_spec(doc(paths))
    names = ts.names
    assert len(set(names)) == len(names) == 5
    assert all(len(n) <= 64 and n.replace("_", "").replace("-", "").isalnum() for n in names)
    merged = Toolset.merge(ts, Toolset.from_spec(doc(paths)))
    assert len(set(merged.names)) == 10
    with pytest.raises(ConfigError):
        Toolset([*ts.tools, ts.tools[0]])


def test_merge_keeps_each_spec_base_url() -> None:
    a = Toolset.from_spec(BOOKING, base_url="http://127.0.0.1:1111/")
    b = Toolset.from_spec(doc({"/h": {"get": {"operationId": "hotels", "responses": OK}}}))
    ts = Toolset.merge(a, b)
    urls = {t.name: t.service.base_url for t in ts.tools}
    assert urls["book_flight"] == "http://127.0.0.1:1111"
    assert urls["hotels"] == "http://127.0.0.1:9"
    assert len(ts.services) == 2


def test_openai_rendering_plain_and_strict() -> None:
    schema = doc({"/s": {"get": {"operationId": "s", "parameters": [
        {"name": "tags", "in": "query", "schema": {"type": "array", "uniqueItems": True,
                                                   "items": {"type": "string"}}},
        {"name": "code", "in": "query", "schema": {"type": "string", "pattern": "^[A-Z]{3}$",
                                                   "minLength": 3, "maxLength": 3}},
        {"name": "n", "in": "query", "schema": {"type": "integer", "multipleOf": 5}}],
        "responses": OK}}})
    ts = Toolset.from_spec(schema)
    (plain,) = ts.to_openai()
    assert plain["type"] == "function" and "strict" not in plain["function"]
    assert plain["function"]["parameters"]["properties"]["tags"]["uniqueItems"] is True
    (strict,) = ts.to_openai(strict=True)
    props = strict["function"]["parameters"]["properties"]
    assert strict["function"]["strict"] is True
    assert "uniqueItems" not in props["tags"] and "multipleOf" not in props["n"]
    assert props["code"] == {"type": "string", "pattern": "^[A-Z]{3}$"}
    assert strict["function"]["parameters"]["additionalProperties"] is False
    json.dumps(ts.to_openai(strict=True))


def test_call_schema_accepts_exactly_one_call_of_one_tool() -> None:
    ts = Toolset.from_spec(Path(__file__).resolve().parents[1] / "fixtures/specs/tree.yaml")
    schema = ts.call_schema()
    Draft202012Validator.check_schema(schema)
    v = Draft202012Validator(schema)
    good = {"thought": "make it", "name": "create_category",
            "arguments": {"name": "a", "children": [{"name": "b"}]}}
    assert v.is_valid(good)
    assert v.is_valid({"thought": "", "name": "finish",
                       "arguments": {"return_type": "give_answer", "final_answer": "done"}})
    assert not v.is_valid({**good, "name": "nope"})
    assert not v.is_valid({**good, "arguments": {"value": 3}}), "arguments of another tool"
    assert not v.is_valid({"name": "create_category", "arguments": {"name": "a"}})
    assert not v.is_valid({**good, "extra": 1})
    one = ts.call_schema(["put_list"], include_finish=False, thought=False)
    assert len(one["anyOf"]) == 1
    assert Draft202012Validator(one).is_valid({"name": "put_list", "arguments": {"value": 1}})


def _body_tool(schema: dict[str, Any], *, required: bool = True,
               media: str = "application/json") -> Toolset:
    return Toolset.from_spec(doc({"/reset": {"post": {
        "operationId": "reset", "responses": OK,
        "requestBody": {"required": required, "content": {media: {"schema": schema}}}}}}))


@pytest.mark.parametrize("required", [True, False])
def test_empty_properties_body_flattens_to_no_arguments(required: bool) -> None:
    ts = _body_tool({"type": "object", "properties": {}}, required=required)
    tool = ts.get("reset")
    assert tool is not None and tool.body is not None
    assert (tool.body.mode, tool.body.required) == ("flat", required)
    assert tool.parameters["properties"] == {} and "required" not in tool.parameters
    assert ts.validate("reset", {}) == [], "the natural call {} is accepted"
    assert ts.validate("reset", None) == []
    [v] = ts.validate("reset", {"body": {}})
    assert v.kind == "unknown_argument"


@pytest.mark.parametrize("schema", [{"type": "object"}, {}, {"type": "object", "properties": {},
                                                             "additionalProperties": True},
                                    {"type": "object", "additionalProperties": {"type": "string"}}])
def test_required_body_that_accepts_empty_object_is_optional(schema: dict[str, Any]) -> None:
    ts = _body_tool(schema)
    tool = ts.get("reset")
    assert tool is not None and tool.body is not None
    assert (tool.body.mode, tool.body.argument, tool.body.required) == ("whole", "body", True)
    assert "body" in tool.parameters["properties"]
    assert "body" not in tool.parameters.get("required", []), "the executor sends {} for it"
    assert ts.validate("reset", {}) == []
    assert ts.validate("reset", {"body": {"note": "x"}}) == []


@pytest.mark.parametrize("schema,media", [
    ({"type": "object", "minProperties": 1}, "application/json"),
    ({"type": "object", "required": ["x"], "properties": {}}, "application/json"),
    ({"type": "array", "items": {"type": "string"}}, "application/json"),
    ({"type": "string"}, "text/plain"),
    ({}, "application/octet-stream"),
])
def test_required_body_that_refuses_empty_object_stays_required(schema: dict[str, Any],
                                                                media: str) -> None:
    ts = _body_tool(schema, media=media)
    tool = ts.get("reset")
    assert tool is not None and tool.body is not None and tool.body.mode == "whole"
    assert tool.parameters["required"] == ["body"]
    [v] = ts.validate("reset", {})
    assert v.kind == "missing_required" and "'body'" in v.message


SERVERS = {"openapi": "3.1.0", "info": {"title": "S", "version": "1"},
           "servers": [{"url": "http://{host}:9/api", "variables": {"host": {"default": "doc"}}}],
           "paths": {
               "/plain": {"get": {"operationId": "plain", "responses": OK}},
               "/upload": {"post": {"operationId": "upload", "responses": OK,
                                    "servers": [{"url": "https://files.test/v1"},
                                                {"url": "https://mirror.test"}]}},
               "/item": {"servers": [{"url": "http://item.test:8080"}],
                         "get": {"operationId": "item_get", "responses": OK},
                         "put": {"operationId": "item_put", "responses": OK,
                                 "servers": [{"url": "http://op.test"}]}},
               "/rel": {"get": {"operationId": "rel", "responses": OK,
                                "servers": [{"url": "/v2"}]}}}}


def test_operation_and_path_item_servers_are_parsed_and_carried_to_the_tool() -> None:
    from agentrt.openapi import load_spec
    from agentrt.toolset import OperationService

    spec = load_spec(SERVERS)
    by_id = {op.operation_id: op for op in spec.operations}
    assert by_id["plain"].servers == ()
    assert [s["url"] for s in by_id["upload"].servers] == ["https://files.test/v1",
                                                           "https://mirror.test"]
    assert by_id["item_get"].servers == ({"url": "http://item.test:8080"},), "path item level"
    assert by_id["item_put"].servers == ({"url": "http://op.test"},), "operation beats path"
    ts = Toolset.from_spec(spec)
    urls = {t.name: t.service.base_url for t in ts.tools}
    assert urls == {"plain": "http://doc:9/api", "upload": "https://files.test/v1",
                    "item_get": "http://item.test:8080", "item_put": "http://op.test",
                    "rel": "http://doc:9/v2"}
    upload = ts.get("upload")
    assert upload is not None and isinstance(upload.service, OperationService)
    assert upload.service.document.base_url == "http://doc:9/api"
    assert upload.service.name == "S" and len(ts.services) == 1, "still one service (the spec)"
    moved = Toolset.from_spec(SERVERS, base_url="http://127.0.0.1:5000")
    urls = {t.name: t.service.base_url for t in moved.tools}
    assert urls["plain"] == "http://127.0.0.1:5000" and urls["rel"] == "http://127.0.0.1:5000/v2"
    assert urls["upload"] == "https://files.test/v1", "an absolute operation server stays put"


@pytest.mark.parametrize("servers,pointer", [
    ("http://x.test", "#/paths/~1x/get/servers"),
    ([{"description": "no url"}], "#/paths/~1x/get/servers/0"),
])
def test_malformed_operation_servers_are_a_spec_error(servers: Any, pointer: str) -> None:
    bad = doc({"/x": {"get": {"operationId": "x", "responses": OK, "servers": servers}}})
    with pytest.raises(SpecError) as info:
        Toolset.from_spec(bad)
    assert info.value.pointer == pointer
