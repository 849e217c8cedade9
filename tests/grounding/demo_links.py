"""The OpenAPI links the demo specs should declare (issue 11: "the demo specs declare their
links"): (path, method, status) → the response's ``links``. Copy them into specs/*.yaml;
`test_demo_links` proves they are read without a warning and ground every id argument."""

from __future__ import annotations

import copy
from typing import Any

from agentrt_demo.specs import load_spec as load_demo_doc


def _booking(get: str, cancel: str) -> dict[str, Any]:
    by_id = {"booking_id": "$response.body#/booking_id"}
    return {"GetBooking": {"operationId": get, "parameters": dict(by_id)},
            "CancelBooking": {"operationId": cancel, "parameters": dict(by_id)}}


FLIGHT_LINKS: dict[tuple[str, str, str], dict[str, Any]] = {
    ("/airports", "get", "200"): {
        "GetAirport": {"operationId": "get_airport",
                       "parameters": {"code": "$response.body#/airports/0/code"}}},
    ("/offers", "get", "200"): {
        "GetOffer": {"operationId": "get_flight_offer",
                     "parameters": {"offer_id": "$response.body#/offers/0/offer_id"}},
        "BookOffer": {"operationId": "create_flight_booking",
                      "requestBody": {"offer_id": "$response.body#/offers/0/offer_id"}}},
    ("/offers/{offer_id}", "get", "200"): {
        "BookOffer": {"operationId": "create_flight_booking",
                      "requestBody": {"offer_id": "$response.body#/offer_id"}}},
    ("/bookings", "post", "201"): _booking("get_flight_booking", "cancel_flight_booking"),
    ("/bookings/{booking_id}", "get", "200"): {
        "CancelBooking": _booking("get_flight_booking", "cancel_flight_booking")["CancelBooking"]},
}
HOTEL_LINKS: dict[tuple[str, str, str], dict[str, Any]] = {
    ("/hotels", "get", "200"): {
        "GetHotel": {"operationId": "get_hotel",
                     "parameters": {"hotel_id": "$response.body#/hotels/0/hotel_id"}},
        "BookRoom": {"operationId": "create_hotel_booking", "requestBody": {
            "room_id": "$response.body#/hotels/0/cheapest_room/room_id"}}},
    ("/hotels/{hotel_id}", "get", "200"): {
        "BookRoom": {"operationId": "create_hotel_booking",
                     "requestBody": {"room_id": "$response.body#/rooms/0/room_id"}}},
    ("/bookings", "post", "201"): _booking("get_hotel_booking", "cancel_hotel_booking"),
    ("/bookings/{booking_id}", "get", "200"): {
        "CancelBooking": _booking("get_hotel_booking", "cancel_hotel_booking")["CancelBooking"]},
}


def with_links(name: str) -> dict[str, Any]:
    """The demo spec ``name`` ("flights"/"hotels") with its links added."""
    doc = copy.deepcopy(load_demo_doc(name))
    for (path, method, status), links in (FLIGHT_LINKS if name == "flights"
                                          else HOTEL_LINKS).items():
        doc["paths"][path][method]["responses"][status]["links"] = copy.deepcopy(links)
    return doc
