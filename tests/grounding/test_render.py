"""Observations a small model can read: schema-guided compact text, every id kept."""

from __future__ import annotations

import json
from typing import Any

import httpx

from agentrt.grounding import RenderOptions, render_observation
from agentrt.grounding.values import tokens
from agentrt_demo import DEMO_API_KEY, DemoServices
from agentrt_demo.tasks import reset_state
from tests.grounding.conftest import TODAY
from tests.grounding.oracle_calls import service_toolset

ITEM = {"type": "object", "required": ["offer_id", "price"], "properties": {
    "offer_id": {"type": "string"}, "airline_name": {"type": "string"},
    "price": {"type": "number"}, "currency": {"type": "string"},
    "departure_time": {"type": "string"}, "notes": {"type": "string"},
    "segments": {"type": "array", "items": {"type": "object", "properties": {
        "flight_number": {"type": "string", "pattern": "^[A-Z0-9]{2}[0-9]{1,4}$"},
        "aircraft": {"type": "string"}}}},
}}
SCHEMA = {"type": "object", "properties": {"offers": {"type": "array", "items": ITEM},
                                           "count": {"type": "integer"}}}


def offers(n: int) -> dict[str, Any]:
    return {"offers": [{"offer_id": f"OF-{i}", "airline_name": "TAP Air Portugal",
                        "price": 80.0 + i, "currency": "EUR", "departure_time": f"{6 + i}:05",
                        "notes": None, "segments": [{"flight_number": f"TP{100 + i}",
                                                     "aircraft": "A320"},
                                                    {"flight_number": f"TP{200 + i}",
                                                     "aircraft": "A321"}]}
                       for i in range(n)], "count": n}


def test_a_list_is_one_line_per_item_with_constants_said_once() -> None:
    text = render_observation(offers(3), SCHEMA)
    assert text.splitlines() == [
        'offers (3; all: airline_name="TAP Air Portugal" currency=EUR):',
        "- offer_id=OF-0 price=80.0 departure_time=6:05 segments.flight_number=TP100,TP200",
        "- offer_id=OF-1 price=81.0 departure_time=7:05 segments.flight_number=TP101,TP201",
        "- offer_id=OF-2 price=82.0 departure_time=8:05 segments.flight_number=TP102,TP202",
        "count: 3",
    ]  # nulls and nested noise (aircraft) dropped, nested ids kept


def test_long_lists_are_cut_with_a_count() -> None:
    text = render_observation(offers(20), SCHEMA, max_items=5)
    lines = text.splitlines()
    assert sum(line.startswith("- ") for line in lines) == 5
    assert "… 15 more" in lines


def test_ids_are_kept_beyond_the_field_cap() -> None:
    text = render_observation(offers(3), SCHEMA, max_fields=1)
    assert "offer_id=OF-2" in text and "segments.flight_number=TP102,TP202" in text
    assert "departure_time" not in text  # the cap applies to the rest


def test_objects_are_key_value_lines_nested_objects_inline() -> None:
    body = {"booking_id": "K7QX2M", "status": "confirmed", "cancelled_at": None,
            "offer": {"offer_id": "OF-1", "price": 81.0}, "passengers": [
                {"first_name": "Ana", "last_name": "Silva"}]}
    assert render_observation(body).splitlines() == [
        "booking_id: K7QX2M", "status: confirmed", "offer: offer_id=OF-1 price=81.0",
        "passengers (1):", "- first_name=Ana last_name=Silva"]


def test_an_empty_result_list_says_none_nested_empties_are_dropped() -> None:
    text = render_observation({"offers": [], "count": 0, "meta": {"tags": []}}, SCHEMA)
    assert text.splitlines() == ["offers (0): none", "count: 0"]


def test_without_schema_and_odd_bodies() -> None:
    assert render_observation(None) == ""
    assert render_observation("plain text") == "plain text"
    assert render_observation([]) == "(no items)"
    assert render_observation({}) == "(empty object)"
    assert render_observation(["LIS", "MAD"]) == "2 items: LIS, MAD"
    assert render_observation([[1, 2], {"a": 1}]).startswith("2 items:")


def test_max_chars_is_respected() -> None:
    for limit in (200, 600, 1500):
        assert len(render_observation(offers(50), SCHEMA,
                                      options=RenderOptions(max_chars=limit))) <= limit


def _bodies(services: DemoServices) -> list[tuple[str, Any]]:
    reset_state(services.state_dir, today=TODAY)
    f, h = services.flights_url, services.hotels_url
    with httpx.Client(headers={"X-API-Key": DEMO_API_KEY}) as c:
        search = c.get(f"{f}/offers", params={"origin": "LHR", "destination": "JFK",
                                              "departure_date": "2026-12-20", "limit": 50}).json()
        offer = search["offers"][0]
        booking = c.post(f"{f}/bookings", json={
            "offer_id": offer["offer_id"], "contact_email": "a@example.com",
            "passengers": [{"first_name": "Ana", "last_name": "Silva",
                            "birth_date": "1990-04-12"}]}).json()
        hotels = c.get(f"{h}/hotels", params={"city": "Lisbon", "check_in": "2026-12-20",
                                               "check_out": "2026-12-23"}).json()
        hotel = c.get(f"{h}/hotels/{hotels['hotels'][0]['hotel_id']}",
                      params={"check_in": "2026-12-20", "check_out": "2026-12-23"}).json()
        return [("search_flight_offers", search), ("get_flight_offer", offer),
                ("get_flight_booking", c.get(f"{f}/bookings/{booking['booking_id']}").json()),
                ("list_airports", c.get(f"{f}/airports").json()),
                ("search_hotels", hotels), ("get_hotel", hotel)]


def test_real_demo_responses_are_shorter_and_keep_every_shown_id(
        grounding_services: DemoServices) -> None:
    ts = service_toolset(grounding_services)
    total_json = total_text = 0
    for name, body in _bodies(grounding_services):
        tool = ts.get(name)
        assert tool is not None
        text = render_observation(body, tool.response_schema)
        total_json += len(json.dumps(body))
        total_text += len(text)
        words = set(tokens(text))
        items = next((v for v in body.values() if isinstance(v, list)), None)
        first = [body, body.get("offer") or {}]
        first += items[:8] if items and isinstance(items[0], dict) else []
        for item in first:  # every id of every item shown is there, as a whole word
            for key in ("offer_id", "flight_number", "booking_id", "hotel_id", "room_id",
                        "code"):
                value = item.get(key) if isinstance(item, dict) else None
                if isinstance(value, str):
                    assert value.casefold() in words, (name, key, value)
    assert total_text < 0.6 * total_json, (total_text, total_json)
