"""Validation: every violation at once, with kinds, JSON paths and messages for the model."""

from __future__ import annotations

from agentrt import Toolset

SPEC = {
    "openapi": "3.1.0", "info": {"title": "Flights", "version": "1"},
    "paths": {"/offers": {"get": {
        "operationId": "search_offers",
        "parameters": [
            {"name": "origin", "in": "query", "required": True,
             "schema": {"type": "string", "pattern": "^[A-Z]{3}$"}},
            {"name": "date", "in": "query", "required": True,
             "schema": {"type": "string", "format": "date"}},
            {"name": "cabin", "in": "query", "schema": {"enum": ["economy", "business"]}},
            {"name": "adults", "in": "query", "schema": {"type": "integer", "minimum": 1}},
        ], "responses": {"200": {"description": "ok"}}}},
        "/bookings": {"post": {"operationId": "create_booking", "requestBody": {
            "required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["passengers", "email"], "properties": {
                    "email": {"type": "string", "format": "email"},
                    "id": {"type": "string", "format": "uuid"},
                    "passengers": {"type": "array", "minItems": 1, "items": {
                        "type": "object", "required": ["name", "born"], "properties": {
                            "name": {"type": "string"},
                            "born": {"type": "string", "format": "date"}}}}}}}}},
            "responses": {"201": {"description": "ok"}}}}},
}
TS = Toolset.from_spec(SPEC)


def kinds(name: str, args: object) -> list[tuple[str, str]]:
    return [(v.kind, v.path) for v in TS.validate(name, args)]


def test_valid_call_has_no_violations() -> None:
    assert TS.validate("search_offers", {"origin": "CDG", "date": "2026-12-01"}) == []
    assert TS.validate("search_offers", '{"origin": "CDG", "date": "2026-12-01"}') == []


def test_all_violations_at_once() -> None:
    got = kinds("search_offers", {"origin": "paris", "date": "tomorrow", "cabin": "first",
                                  "adults": 0, "seat": "A1"})
    assert sorted(got) == sorted([
        ("pattern", "$.origin"), ("format", "$.date"), ("enum", "$.cabin"),
        ("bounds", "$.adults"), ("unknown_argument", "$.seat")])
    assert kinds("search_offers", {}) == [("missing_required", "$.origin"),
                                          ("missing_required", "$.date")]


def test_nested_paths_and_formats() -> None:
    got = kinds("create_booking", {"email": "nobody", "id": "123",
                                   "passengers": [{"name": "A", "born": "1990-13-45"},
                                                  {"name": 7}]})
    assert sorted(got) == sorted([
        ("format", "$.email"), ("format", "$.id"), ("format", "$.passengers[0].born"),
        ("type", "$.passengers[1].name"), ("missing_required", "$.passengers[1].born")])


def test_messages_are_written_for_the_model() -> None:
    (v,) = TS.validate("search_offers", {"origin": "CDG", "date": "2026-12-01",
                                         "cabin": "first"})
    assert '"economy"' in v.message and '"business"' in v.message and "first" in v.message
    (m,) = TS.validate("search_offers", {"origin": "CDG"})
    assert "date" in m.message and "format date" in m.message
    (u,) = TS.validate("search_offers", {"origin": "CDG", "date": "2026-12-01", "dest": "X"})
    assert "dest" in u.message and "origin" in u.message, "lists the valid arguments"


def test_unknown_tool_suggests_nearest_names() -> None:
    (v,) = TS.validate("search_offer", {})
    assert v.kind == "unknown_tool" and v.suggestions[0] == "search_offers"
    (w,) = TS.validate("booking", {})
    assert "create_booking" in w.suggestions


def test_malformed_arguments() -> None:
    assert kinds("search_offers", "{not json") == [("malformed_arguments", "$")]
    assert kinds("search_offers", "[1, 2]") == [("malformed_arguments", "$")]
    assert kinds("search_offers", 42) == [("malformed_arguments", "$")]


def test_response_validation() -> None:
    spec = {"openapi": "3.1.0", "info": {"title": "R", "version": "1"}, "paths": {"/r": {
        "get": {"operationId": "r", "responses": {
            "200": {"description": "ok", "content": {"application/json": {"schema": {
                "type": "object", "required": ["id"],
                "properties": {"id": {"type": "integer"}}}}}},
            "4XX": {"description": "err", "content": {"application/json": {"schema": {
                "type": "object", "required": ["error"]}}}}}}}}}
    ts = Toolset.from_spec(spec)
    assert ts.response_violations("r", 200, {"id": 1}) == []
    assert [v.kind for v in ts.response_violations("r", 200, {"id": "x"})] == ["type"]
    assert [v.kind for v in ts.response_violations("r", 404, {})] == ["missing_required"]
    assert ts.response_violations("r", 500, "anything") == []
