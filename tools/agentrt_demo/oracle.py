"""Demo tasks, reference solver: a scripted runner that solves a task with plain HTTP calls.

It reads the task's ``expect`` block (so it is no agent) and performs the calls a perfect
agent would make against the public API: the upper bound of the evaluation, and the
"correct sequence of calls" the checker tests use. ``mistake`` makes it deliberately wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import httpx

from agentrt_demo.keys import DEMO_API_KEY
from agentrt_demo.task_model import Task

__all__ = ["Mistake", "oracle_runner"]

Mistake = Literal["wrong_offer", "extra_booking", "silent", "wrong_passengers", "skip_cancel"]
_SORT = {"cheapest": "price", "earliest": "departure_time", "shortest": "duration"}


def _offer(client: httpx.Client, url: str, spec: dict[str, Any], pax: int, worst: bool = False) -> dict[str, Any] | None:
    params = {"origin": spec["origin"], "destination": spec["destination"],
              "departure_date": spec["date"], "passengers": pax,
              "cabin": spec.get("cabin", "economy"), "nonstop_only": str(bool(spec.get("nonstop"))).lower(),
              "sort": _SORT[spec.get("pick", "cheapest")], "limit": 50}
    if "max_price" in spec:
        params["max_price"] = spec["max_price"]
    r = client.get(f"{url}/offers", params=params)
    offers = r.json()["offers"] if r.status_code == 200 else []
    if not offers:
        return None
    return offers[-1] if worst else offers[0]


def _hotel(client: httpx.Client, url: str, spec: dict[str, Any], worst: bool = False) -> dict[str, Any] | None:
    params: dict[str, Any] = {"city": spec["city"], "check_in": spec["check_in"],
                              "check_out": spec["check_out"], "guests": spec.get("guests", 1),
                              "sort": "rating" if spec.get("pick") == "best_rated" else "price",
                              "limit": 50}
    for key in ("min_rating", "max_price_per_night"):
        if key in spec:
            params[key] = spec[key]
    r = client.get(f"{url}/hotels", params=params)
    hotels = r.json()["hotels"] if r.status_code == 200 else []
    return (hotels[-1] if worst else hotels[0]) if hotels else None


def oracle_runner(task: Task, *, mistake: Mistake | None = None,
                  api_key: str = DEMO_API_KEY) -> Callable[[str, str, str], str]:
    """A sync runner ``(request, flights_url, hotels_url) -> answer`` that solves ``task``."""

    def run(_request: str, flights: str, hotels: str) -> str:
        lines: list[str] = []
        exp = task.expect
        with httpx.Client(headers={"X-API-Key": api_key}, timeout=30) as client:
            for ref in exp.get("cancelled", []):
                if mistake == "skip_cancel":
                    continue
                url = hotels if ref.startswith("HB") else flights
                got = client.delete(f"{url}/bookings/{ref}").json()
                number = got.get("offer", {}).get("flight_number", "")
                lines.append(f"Cancelled booking {ref} {number}".strip() + ".")
            for spec in exp.get("flight_bookings", []):
                people = spec["passengers"][:1] if mistake == "wrong_passengers" else spec["passengers"]
                offer = _offer(client, flights, spec, len(spec["passengers"]), worst=mistake == "wrong_offer")
                if offer is None:
                    lines.append("No offer found.")
                    continue
                r = client.post(f"{flights}/bookings", json={
                    "offer_id": offer["offer_id"], "passengers": people, "contact_email": spec["email"]})
                b = r.json()
                lines.append(f"Booked {offer['flight_number']} for {offer['price']} EUR per person,"
                             f" booking reference {b.get('booking_id')}.")
            for spec in exp.get("hotel_bookings", []):
                hotel = _hotel(client, hotels, spec, worst=mistake == "wrong_offer")
                if hotel is None:
                    lines.append("No hotel found.")
                    continue
                r = client.post(f"{hotels}/bookings", json={
                    "room_id": hotel["cheapest_room"]["room_id"], "check_in": spec["check_in"],
                    "check_out": spec["check_out"], "guests": spec.get("guests", 1), "guest": spec["guest"]})
                lines.append(f"Booked {hotel['name']}, reference {r.json().get('booking_id')}.")
            if mistake == "extra_booking":
                offer = _offer(client, flights, {"origin": "LHR", "destination": "JFK",
                                                 "date": task.today.isoformat()}, 1)
                if offer:
                    client.post(f"{flights}/bookings", json={
                        "offer_id": offer["offer_id"], "contact_email": "x@example.com",
                        "passengers": [{"first_name": "X", "last_name": "Y", "birth_date": "1990-01-01"}]})
            for fact in exp.get("facts", []):
                lines.append(_state(client, flights, hotels, fact))
        return "OK." if mistake == "silent" else "\n".join(lines)

    return run


def _state(client: httpx.Client, flights: str, hotels: str, fact: dict[str, Any]) -> str:
    kind = fact["kind"]
    if kind == "airport_name":
        code = fact["code"]
        return f"{code} is {client.get(f'{flights}/airports/{code}').json()['name']}."
    if kind == "contains":
        found = client.get(f"{flights}/airports", params={"query": "Paris"}).json()["airports"]
        codes = " ".join(a["code"] for a in found)
        return f"Airports: {codes}. " + ("Your booking is cancelled." if "cancel" in fact["any"] else "")
    if kind == "flight":
        offer = _offer(client, flights, fact, int(fact.get("pax", 1)))
        if offer is None:
            return "No such flight."
        return (f"Flight {offer['flight_number']} departs at {offer['departure_time']} and costs"
                f" {offer['price']} EUR.")
    if kind == "hotel":
        hotel = _hotel(client, hotels, fact)
        if hotel is None:
            return "No hotel."
        return f"{hotel['name']} costs {hotel['cheapest_room']['total_price']} EUR in total."
    if kind == "negative":
        return "Sorry, this cannot be done: nothing is available, so I booked nothing."
    if kind == "question":
        return "Could you tell me the missing details (dates, names, reference)?"
    return ""  # "refs": the booking lines above already give the references
