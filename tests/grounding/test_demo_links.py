"""The links proposed for the demo specs: no warning, and every id argument grounded by one."""

from __future__ import annotations

from agentrt.grounding import GroundingPlan, Provenance, allowed_values, read_spec_grounding
from agentrt.toolset import Toolset
from tests.grounding.demo_links import with_links


def test_demo_links_are_clean_and_cover_every_id_argument() -> None:
    flights, hotels = with_links("flights"), with_links("hotels")
    specs = [read_spec_grounding(flights, strict=True), read_spec_grounding(hotels, strict=True)]
    ts = Toolset.merge(Toolset.from_spec(flights), Toolset.from_spec(hotels))
    plan = GroundingPlan(ts.tools, specs)
    reasons = {(t.name, a): r.reason for t in ts for a, r in plan.rules(t.name).items()}
    assert reasons == {(t, a): "link" for t, a in [
        ("get_airport", "code"), ("get_flight_offer", "offer_id"),
        ("create_flight_booking", "offer_id"), ("get_flight_booking", "booking_id"),
        ("cancel_flight_booking", "booking_id"), ("get_hotel", "hotel_id"),
        ("create_hotel_booking", "room_id"), ("get_hotel_booking", "booking_id"),
        ("cancel_hotel_booking", "booking_id")]}
    room = plan.rules("create_hotel_booking")["room_id"]
    assert {(s.operation, s.field) for s in room.links} == {
        ("search_hotels", "hotels[].cheapest_room.room_id"), ("get_hotel", "rooms[].room_id")}
    led = Provenance().with_observation("search_hotels", {"hotels": [
        {"hotel_id": "LIS-01", "cheapest_room": {"room_id": "LIS-01-SGL"}}]}, node=1)
    book = ts.get("create_hotel_booking")
    assert book is not None
    assert allowed_values(book, led, plan=plan) == {"room_id": ["LIS-01-SGL"]}
