"""Grounded arguments: an invented id is an `ungrounded` violation naming the allowed values."""

from __future__ import annotations

from agentrt.grounding import (
    UNGROUNDED,
    GroundingPlan,
    Provenance,
    allowed_values,
    check_arguments,
    invented_people,
    read_spec_grounding,
)
from agentrt.toolset import Tool, Toolset
from agentrt_demo.specs import load_spec as load_demo_doc
from tests.grounding.test_identifiers import linked_flights

REQUEST = "Book the cheapest economy flight from LIS to MAD on 2026-12-16 for Ana Silva."
SEARCH = {"offers": [{"offer_id": f"IB{300 + i}-20261216-Y", "flight_number": f"IB{300 + i}",
                      "price": 70.0 + i} for i in range(12)], "count": 12}
PASSENGERS = [{"first_name": "Ana", "last_name": "Silva", "birth_date": "1990-04-12"}]


def tools() -> Toolset:
    return Toolset.merge(Toolset.from_spec(load_demo_doc("flights")),
                         Toolset.from_spec(load_demo_doc("hotels")))


def tool(name: str) -> Tool:
    t = tools().get(name)
    assert t is not None
    return t


def searched() -> Provenance:
    return Provenance.from_request(REQUEST).with_observation("search_flight_offers", SEARCH,
                                                             node=1)


def test_a_seen_id_passes() -> None:
    args = {"offer_id": "IB305-20261216-Y", "passengers": PASSENGERS,
            "contact_email": "ana@example.com"}
    assert check_arguments(tool("create_flight_booking"), args, searched()) == []


def test_an_invented_id_is_ungrounded_with_the_allowed_values() -> None:
    args = {"offer_id": "IB999-20261216-Y", "passengers": PASSENGERS,
            "contact_email": "ana@example.com"}
    plan = GroundingPlan(tools().tools)
    (v,) = check_arguments(tool("create_flight_booking"), args, searched(), plan=plan)
    assert v.kind == UNGROUNDED == "ungrounded"
    assert v.path == "$.offer_id"
    # newest first, capped, and the tool that produces offer ids named
    assert v.message == ('offer_id "IB999-20261216-Y" appears in no earlier result and not in '
                         "the request; use one of: IB311-20261216-Y, IB310-20261216-Y, "
                         "IB309-20261216-Y, IB308-20261216-Y, IB307-20261216-Y, "
                         "IB306-20261216-Y, IB305-20261216-Y, IB304-20261216-Y, … "
                         "(or call search_flight_offers first)")
    assert len(v.suggestions) == 8


def test_nothing_seen_yet_says_what_to_call() -> None:
    plan = GroundingPlan(tools().tools)
    led = Provenance.from_request(REQUEST)
    (v,) = check_arguments(tool("get_flight_offer"), {"offer_id": "TP1234-20261216-Y"}, led,
                           plan=plan)
    assert v.message.endswith("no offer_id has been seen yet: call search_flight_offers first "
                              "to get one")
    # a booking id comes from the create (the get and the cancel need one themselves), of
    # the same service
    assert plan.rules("get_flight_booking")["booking_id"].producers == ("create_flight_booking",)
    assert plan.rules("cancel_hotel_booking")["booking_id"].producers == ("create_hotel_booking",)


def test_an_existing_booking_no_result_can_name_is_the_users_to_give() -> None:
    """A cancel's booking id that nothing read-only can produce (only the create makes one)
    and the request does not give: the violation says to ask the user, and marks it so the
    search asks for an answer next. An offer id (a search finds one) is not the user's."""
    plan = GroundingPlan(tools().tools)
    led = Provenance.from_request("Cancel my booking.")
    assert plan.rules("cancel_flight_booking")["booking_id"].lookable is False
    assert plan.rules("create_flight_booking")["offer_id"].lookable is True
    (v,) = check_arguments(tool("cancel_flight_booking"), {"booking_id": "K7QX2M"}, led,
                           plan=plan)
    assert v.ask_user and "cannot be looked up: ask the user for it" in v.message
    (w,) = check_arguments(tool("create_flight_booking"), {
        "offer_id": "TP1234-20261216-Y", "passengers": PASSENGERS}, led, plan=plan)
    assert not w.ask_user and "call search_flight_offers first" in w.message
    # a read-only get of a booking by its id is not a change: looking is not asking
    (g,) = check_arguments(tool("get_flight_booking"), {"booking_id": "K7QX2M"}, led, plan=plan)
    assert not g.ask_user


def test_a_reference_from_the_request_passes() -> None:
    led = Provenance.from_request("Please cancel my flight booking Q7K2MX.")
    assert check_arguments(tool("cancel_flight_booking"), {"booking_id": "Q7K2MX"}, led) == []
    assert check_arguments(tool("cancel_flight_booking"), {"booking_id": "q7k2mx"}, led) == []
    (v,) = check_arguments(tool("cancel_flight_booking"), {"booking_id": "Q7K2MY"}, led)
    assert "use one of: Q7K2MX" in v.message  # the request's value that fits the pattern


def test_airport_codes_from_the_request_and_non_identifiers_are_not_checked() -> None:
    led = Provenance.from_request(REQUEST)
    search = {"origin": "OPO", "destination": "MAD", "departure_date": "2026-12-16"}
    assert check_arguments(tool("search_flight_offers"), search, led) == []  # not ids
    assert check_arguments(tool("get_airport"), {"code": "LIS"}, led) == []
    assert [v.kind for v in check_arguments(tool("get_airport"), {"code": "OPO"}, led)] == [
        "ungrounded"]


def test_error_bodies_are_not_fed_so_a_404_does_not_ground() -> None:
    # the caller appends only successful observations; a value the model sent is no source
    led = Provenance.from_request(REQUEST)
    assert check_arguments(tool("get_flight_booking"), {"booking_id": "ZZ9Q8W"}, led)


def test_malformed_or_missing_arguments_are_left_to_validation() -> None:
    led = searched()
    assert check_arguments(tool("create_flight_booking"), "{not json", led) == []
    assert check_arguments(tool("create_flight_booking"), {"passengers": PASSENGERS}, led) == []
    assert check_arguments(tool("create_flight_booking"), {"offer_id": None}, led) == []


def test_nested_and_array_values_are_each_checked() -> None:
    doc = {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {"/x": {"post": {
        "operationId": "bulk", "requestBody": {"content": {"application/json": {"schema": {
            "type": "object", "properties": {
                "room_ids": {"type": "array", "items": {"type": "string"}},
                "guest": {"type": "object", "properties": {"loyalty_id": {"type": "string"}}},
            }}}}},
        "responses": {"200": {"description": "ok"}}}}}}
    t = Toolset.from_spec(doc).get("bulk")
    assert t is not None
    led = Provenance().with_observation("rooms", {"rooms": [{"room_id": "R-1"}, {"room_id": "R-2"}],
                                                  "loyalty_id": "LY-77"})
    ok = {"room_ids": ["R-1", "R-2"], "guest": {"loyalty_id": "LY-77"}}
    assert check_arguments(t, ok, led) == []
    bad = {"room_ids": ["R-1", "R-9"], "guest": {"loyalty_id": "LY-78"}}
    got = check_arguments(t, bad, led)
    assert [v.path for v in got] == ["$.room_ids[1]", "$.guest.loyalty_id"]
    assert "use one of: R-2, R-1" in got[0].message  # room_ids[] ← room_id fields


def test_link_candidates_come_from_the_linked_field_only() -> None:
    doc = linked_flights()
    ts = Toolset.from_spec(doc)
    plan = GroundingPlan(ts.tools, [read_spec_grounding(doc)])
    book = ts.get("create_flight_booking")
    assert book is not None
    led = searched().with_observation("get_flight_booking", {
        "booking_id": "K7QX2M", "offer": {"offer_id": "XX1-20261216-Y"}}, node=2)
    got = allowed_values(book, led, plan=plan)["offer_id"]
    assert got[:2] == ["IB311-20261216-Y", "IB310-20261216-Y"]
    assert "XX1-20261216-Y" in got  # a pattern-valid value seen elsewhere is still allowed


def test_allowed_values_for_a_grammar() -> None:
    led = Provenance.from_request("Cancel booking Q7K2MX, and W3RT8N too.").with_observation(
        "get_flight_booking", {"booking_id": "K7QX2M", "offer": {"offer_id": "IB300-20261216-Y"}})
    got = allowed_values(tool("cancel_flight_booking"), led)
    assert got == {"booking_id": ["K7QX2M", "Q7K2MX", "W3RT8N"]}  # every value fits ^[A-Z0-9]{6}$
    assert allowed_values(tool("get_flight_offer"), Provenance())["offer_id"] == []
    assert allowed_values(tool("search_flight_offers"), led) == {}  # nothing to constrain
    # every value offered to the grammar is valid for the argument's schema
    ts = tools()
    for name, values in allowed_values(tool("get_flight_offer"), searched()).items():
        for value in values:
            assert ts.validate("get_flight_offer", {name: value}) == []


def test_a_bare_id_field_stands_for_its_parent() -> None:
    doc = {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {
        "/hotels": {"get": {"operationId": "find_hotels", "responses": {"200": {
            "description": "ok", "content": {"application/json": {"schema": {
                "type": "object", "properties": {"hotels": {"type": "array", "items": {
                    "type": "object", "properties": {"id": {"type": "integer"}}}}}}}}}}}},
        "/hotels/{hotel_id}": {"get": {"operationId": "hotel", "parameters": [
            {"name": "hotel_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "responses": {"200": {"description": "ok"}}}}}}
    ts = Toolset.from_spec(doc)
    plan = GroundingPlan(ts.tools)
    t = ts.get("hotel")
    assert t is not None
    assert plan.rules("hotel")["hotel_id"].producers == ("find_hotels",)
    led = Provenance().with_observation("find_hotels", {"hotels": [{"id": 12}, {"id": 31}]})
    assert check_arguments(t, {"hotel_id": 31}, led, plan=plan) == []
    (v,) = check_arguments(t, {"hotel_id": 7}, led, plan=plan)
    assert "use one of: 31, 12 (or call find_hotels first)" in v.message
    assert allowed_values(t, led, plan=plan) == {"hotel_id": [31, 12]}


def test_who_a_booking_is_for_must_be_the_users_or_a_results() -> None:
    """A made-up passenger or contact is ``ungrounded`` (whatever the policy); the user's own
    names and e-mail pass, as do names read from a result (a booking looked up to rebook);
    safe tools and other arguments (dates, counts) are not this rule's business."""
    book = tool("create_flight_booking")
    ours = {"offer_id": "IB305-20261216-Y", "passengers": PASSENGERS,
            "contact_email": "ana.silva@example.org"}
    asked = Provenance.from_request(REQUEST + " E-mail ana.silva@example.org.")
    assert invented_people(book, ours, asked) == []
    doe = {**ours, "passengers": [{"first_name": "John", "last_name": "Doe",
                                   "birth_date": "1980-01-01"}], "contact_email": "j@d.example"}
    got = invented_people(book, doe, asked)
    assert [v.path for v in got] == ["$.passengers[0].first_name", "$.passengers[0].last_name",
                                     "$.contact_email"]
    assert all(v.kind == UNGROUNDED and v.ask_user for v in got)  # only the user can say
    assert "ask the user" in got[0].message and '"John"' in got[0].message
    # the same names from an earlier result (a booking read back) are grounded
    looked_up = Provenance.from_request("Rebook my trip on 2026-12-20.").with_observation(
        "get_flight_booking", {"passengers": doe["passengers"], "contact_email": "j@d.example"},
        node=1)
    assert invented_people(book, doe, looked_up) == []
    # a safe tool is never checked; a spec mark can say a name field is not consequential
    assert invented_people(tool("search_flight_offers"), {"origin": "John"}, asked) == []
    assert invented_people(book, doe, asked, marks={"first_name": False, "last_name": False,
                                                   "contact_email": False}) == []
