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
    paths = {f"/very/long/path/segment/{'y' * 50}/{i}": {"get": {"responses": OK}}
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
