"""Which arguments must be grounded: links, the x-agentrt-grounded extension, the inference."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from agentrt.errors import SpecError
from agentrt.grounding import (
    GroundingPlan,
    identifier_arguments,
    infer_identifier,
    read_spec_grounding,
    rules_for,
)
from agentrt.toolset import Toolset
from agentrt_demo.specs import load_spec as load_demo_doc

S = {"type": "string"}


@pytest.mark.parametrize(("name", "schema"), [
    ("booking_id", S), ("offerId", S), ("hotel-ref", S), ("userID", S), ("id", S),
    ("reference", S), ("record_locator", S), ("next_page_token", S), ("room_ids", S),
    ("code", {"type": "string", "pattern": "^[A-Z]{3}$"}), ("promo_code", S),
    ("confirmation_number", S), ("flight_number", S), ("order_no", S),
    ("anything", {"type": "string", "format": "uuid"}),
    ("locator", {"type": "string", "pattern": "^HB[A-Z0-9]{6}$"}),
    ("slot", {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{2}$"}),
    ("hotel_id", {"type": "integer"}),
])
def test_identifier_like(name: str, schema: dict[str, Any]) -> None:
    assert infer_identifier(name, schema) is not None


@pytest.mark.parametrize(("name", "schema"), [
    ("origin", {"type": "string", "pattern": "^[A-Z]{3}$"}),  # a code the model may know
    ("country_code", S), ("currency_code", S), ("language_code", S), ("zip_code", S),
    ("status_code", S), ("phone_number", S),
    ("cabin_id", {"type": "string", "enum": ["economy", "business"]}),   # enum: never
    ("booking_id", {"type": "string", "const": "X"}),
    ("booking_id", {"type": "boolean"}), ("offer_id", {"type": "number"}),
    ("booking_id", {"type": "object"}),
    ("departure_id", {"type": "string", "format": "date"}),
    ("query", S), ("name", S), ("hotel_name", S), ("description", S), ("contact_email", S),
    ("address", S), ("city", S), ("note_id", {"type": "string", "maxLength": 1000}),
    ("birth_date", {"type": "string", "pattern": "^\\d{4}-\\d{2}-\\d{2}$"}),
    ("free", {"type": "string", "pattern": "^[A-Za-z0-9 ]+$"}),
    ("max_price", {"type": "number"}),
])
def test_not_identifier_like(name: str, schema: dict[str, Any]) -> None:
    assert infer_identifier(name, schema) is None


def demo_tools() -> Toolset:
    return Toolset.merge(Toolset.from_spec(load_demo_doc("flights")),
                         Toolset.from_spec(load_demo_doc("hotels")))


def test_demo_inference_picks_the_ids_and_not_the_airport_codes() -> None:
    ts = demo_tools()
    got = {t.name: sorted(identifier_arguments(t)) for t in ts}
    assert got == {
        "list_airports": [], "get_airport": ["code"], "search_flight_offers": [],
        "get_flight_offer": ["offer_id"], "create_flight_booking": ["offer_id"],
        "get_flight_booking": ["booking_id"], "cancel_flight_booking": ["booking_id"],
        "search_hotels": [], "get_hotel": ["hotel_id"], "create_hotel_booking": ["room_id"],
        "get_hotel_booking": ["booking_id"], "cancel_hotel_booking": ["booking_id"],
    }


def test_plan_names_the_producers() -> None:
    ts = demo_tools()
    plan = GroundingPlan(ts.tools)
    assert plan.rules("create_flight_booking")["offer_id"].producers[0] == "search_flight_offers"
    assert plan.rules("create_hotel_booking")["room_id"].producers[0] == "search_hotels"
    assert plan.rules("nope") == {}


def linked_flights() -> dict[str, Any]:
    """The demo flights spec with the links a spec author would declare."""
    doc = copy.deepcopy(load_demo_doc("flights"))
    search = doc["paths"]["/offers"]["get"]["responses"]["200"]
    search["links"] = {
        "BookOffer": {"operationId": "create_flight_booking",
                      "requestBody": {"offer_id": "{$response.body#/offers/0/offer_id}"}},
        "GetOffer": {"operationId": "get_flight_offer",
                     "parameters": {"offer_id": "$response.body#/offers/0/offer_id"}},
    }
    doc["paths"]["/bookings"]["post"]["responses"]["201"]["links"] = {
        "GetBooking": {"operationId": "get_flight_booking",
                       "parameters": {"booking_id": "$response.body#/booking_id"}},
        "CancelBooking": {"operationRef": "#/paths/~1bookings~1{booking_id}/delete",
                          "parameters": {"path.booking_id": "$response.body#/booking_id"}},
    }
    return doc


def test_links_ground_arguments_with_their_source_fields() -> None:
    doc = linked_flights()
    sg = read_spec_grounding(doc, strict=True)
    assert sg.warnings == ()
    ts = Toolset.from_spec(doc)
    book = rules_for(ts.get("create_flight_booking"), sg)["offer_id"]  # type: ignore[arg-type]
    assert book.reason == "link"
    assert [(s.operation, s.field, s.status) for s in book.links] == [
        ("search_flight_offers", "offers[].offer_id", "200"),
        ("get_flight_offer", "offer_id", "200")]
    cancel = rules_for(ts.get("cancel_flight_booking"), sg)["booking_id"]  # type: ignore[arg-type]
    assert cancel.reason == "link" and {s.field for s in cancel.links} == {"booking_id"}
    assert all("/links/CancelBooking/parameters/" in s.pointer
               and s.pointer.endswith("booking_id") for s in cancel.links)
    # the shipped spec links list_airports' codes to get_airport too
    assert rules_for(ts.get("get_airport"), sg)["code"].reason == "link"  # type: ignore[arg-type]
    # arguments no link names still come from the inference
    bare = copy.deepcopy(doc)
    del bare["paths"]["/airports"]["get"]["responses"]["200"]["links"]
    bare_ts = Toolset.from_spec(bare)
    assert rules_for(bare_ts.get("get_airport"),  # type: ignore[arg-type]
                     read_spec_grounding(bare))["code"].reason == "inferred"


def test_plan_matches_specs_by_source_and_names_link_producers() -> None:
    doc = linked_flights()
    ts = Toolset.from_spec(doc)
    plan = GroundingPlan(ts.tools, [read_spec_grounding(doc)])
    rule = plan.rules("get_flight_booking")["booking_id"]
    assert rule.reason == "link" and rule.producers == ("create_flight_booking",)


def test_bad_links_are_warnings_with_pointers_never_crashes() -> None:
    doc = linked_flights()
    links = doc["paths"]["/offers"]["get"]["responses"]["200"]["links"]
    links["Ghost"] = {"operationId": "book_a_unicorn", "parameters": {"id": "$response.body#/x"}}
    links["NoParam"] = {"operationId": "get_flight_offer",
                        "parameters": {"offer_code": "$response.body#/offers/0/offer_id"}}
    links["NoProp"] = {"operationId": "create_flight_booking",
                       "requestBody": {"offer": "$response.body#/offers/0/offer_id"}}
    links["BadExpr"] = {"operationId": "get_flight_offer",
                        "parameters": {"offer_id": "$response.bogus"}}
    links["BadRef"] = {"operationRef": "#/paths/~1nowhere/get"}
    sg = read_spec_grounding(doc)
    base = "#/paths/~1offers/get/responses/200/links"
    assert {(w.pointer, w.reason) for w in sg.warnings} == {
        (f"{base}/Ghost/operationId",
         "link 'Ghost' names the unknown operation 'book_a_unicorn'"),
        (f"{base}/NoParam/parameters/offer_code",
         "link 'NoParam': operation #/paths/~1offers~1{offer_id}/get has no parameter "
         "'offer_code'"),
        (f"{base}/NoProp/requestBody/offer",
         "link 'NoProp': the request body of #/paths/~1bookings/post has no property 'offer'"),
        (f"{base}/BadExpr/parameters/offer_id",
         "link 'BadExpr': cannot read the runtime expression '$response.bogus'"),
        (f"{base}/BadRef/operationRef",
         "link 'BadRef' names the unknown operation '#/paths/~1nowhere/get' (only local "
         "references are followed)"),
    }
    # the good links still work
    ts = Toolset.from_spec(doc)
    assert rules_for(ts.get("create_flight_booking"), sg)["offer_id"].reason == "link"  # type: ignore[arg-type]
    with pytest.raises(SpecError) as err:
        read_spec_grounding(doc, strict=True, source="flights.yaml")
    assert err.value.pointer == f"{base}/Ghost/operationId"
    assert err.value.source == "flights.yaml"


def mini_spec(**extra: Any) -> dict[str, Any]:
    return {
        "openapi": "3.1.0", "info": {"title": "t", "version": "1"},
        "components": {"schemas": {"Token": {"type": "string", "x-agentrt-grounded": True}}},
        "paths": {"/things/{slot}": {"post": {
            "operationId": "take",
            "parameters": [
                {"name": "slot", "in": "path", "required": True, "schema": {"type": "string"},
                 "x-agentrt-grounded": True},
                {"name": "lane", "in": "query", "schema": {"$ref": "#/components/schemas/Token"}},
                {"name": "user_id", "in": "query", "schema": {"type": "string",
                                                              "x-agentrt-grounded": False}},
                {"name": "seat", "in": "query", "schema": {"type": "string"}},
            ],
            "requestBody": {"content": {"application/json": {"schema": {
                "type": "object", "properties": {
                    "voucher": {"type": "string", "x-agentrt-grounded": True},
                    "guest": {"type": "object", "properties": {
                        "badge": {"$ref": "#/components/schemas/Token"}}},
                }}}}},
            "responses": {"200": {"description": "ok"}},
            **extra,
        }}},
    }


def test_the_extension_marks_and_unmarks() -> None:
    doc = mini_spec(**{"x-agentrt-grounded": ["seat"]})
    sg = read_spec_grounding(doc, strict=True)
    tool = Toolset.from_spec(doc).get("take")
    assert tool is not None
    rules = rules_for(tool, sg)
    assert {a: r.reason for a, r in rules.items()} == {
        "slot": "extension", "lane": "extension", "voucher": "extension",
        "guest.badge": "extension", "seat": "extension"}  # user_id opted out of the inference
    assert "user_id" in identifier_arguments(tool)  # without the spec it would be inferred


def test_a_bad_extension_value_is_a_warning() -> None:
    doc = mini_spec(**{"x-agentrt-grounded": "seat"})
    doc["components"]["schemas"]["Token"]["x-agentrt-grounded"] = "yes"
    sg = read_spec_grounding(doc)
    assert {w.pointer for w in sg.warnings} == {
        "#/paths/~1things~1{slot}/post/x-agentrt-grounded",
        "#/components/schemas/Token/x-agentrt-grounded"}
    with pytest.raises(SpecError):
        read_spec_grounding(doc, strict=True)


def test_nested_and_array_arguments_get_paths() -> None:
    doc = mini_spec()
    body = doc["paths"]["/things/{slot}"]["post"]["requestBody"]["content"]["application/json"]
    body["schema"]["properties"]["room_ids"] = {"type": "array", "items": {"type": "string"}}
    body["schema"]["properties"]["passengers"] = {"type": "array", "items": {
        "type": "object", "properties": {"loyalty_id": {"type": "string"}}}}
    tool = Toolset.from_spec(doc).get("take")
    assert tool is not None
    args = identifier_arguments(tool)
    assert {"room_ids[]", "passengers[].loyalty_id"} <= args
    assert "room_ids" not in args  # the array itself is not a value: its items are


def test_read_spec_grounding_reads_a_path(tmp_path: Any) -> None:
    import yaml

    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(linked_flights()))
    sg = read_spec_grounding(path)
    assert sg.warnings == () and sg.links and sg.source.endswith("spec.yaml")


def test_plan_tells_two_documents_with_the_same_paths_apart() -> None:
    flights, hotels = linked_flights(), copy.deepcopy(load_demo_doc("hotels"))
    hotels["paths"]["/bookings"]["post"]["responses"]["201"]["links"] = {
        "Get": {"operationId": "get_hotel_booking",
                "parameters": {"booking_id": "$response.body#/booking_id"}}}
    ts = Toolset.merge(Toolset.from_spec(flights), Toolset.from_spec(hotels))
    # both are dicts ("<dict>") and both have POST /bookings: the operationId and title decide
    plan = GroundingPlan(ts.tools, [read_spec_grounding(hotels), read_spec_grounding(flights)])
    assert plan.warnings == ()
    flight = plan.rules("get_flight_booking")["booking_id"]
    hotel = plan.rules("get_hotel_booking")["booking_id"]
    assert (flight.reason, flight.links[0].operation) == ("link", "create_flight_booking")
    assert (hotel.reason, hotel.links[0].operation) == ("link", "create_hotel_booking")
    assert plan.rules("create_flight_booking")["offer_id"].reason == "link"
    assert plan.rules("create_hotel_booking")["room_id"].reason == "link"  # the shipped spec's
