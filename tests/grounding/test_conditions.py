"""An answer granting a category the request asks for (business class) while the results hold
only another (economy) is refused once; negations, declines and longer values pass."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from agentrt.grounding import Provenance
from agentrt.grounding.conditions import response_enums, unmet
from agentrt.grounding.session import RunGrounding, plan_for

REQUEST = ("How much is the cheapest business class seat from Frankfurt (FRA) to Singapore "
           "(SIN) on 2027-02-01? Only look it up.")
#: what the fine-tuned 0.5B read: it searched without the cabin and got economy offers
OFFERS = {"offers": [
    {"offer_id": "LH582-20270201-Y", "flight_number": "LH582", "cabin": "economy",
     "price": 760.99},
    {"offer_id": "SQ25-20270201-Y", "flight_number": "SQ25", "cabin": "economy",
     "price": 812.99}], "count": 2}
SCHEMA = {"type": "object", "properties": {"offers": {"type": "array", "items": {
    "type": "object", "properties": {
        "cabin": {"$ref": "#/$defs/Cabin"}, "price": {"type": "number"},
        "status": {"type": "string", "enum": ["confirmed", "cancelled"]},
        "currency": {"type": "string", "enum": ["EUR"]}}}}},
    "$defs": {"Cabin": {"type": "string",
                        "enum": ["economy", "premium_economy", "business", "first"]}}}


def ledger(body: Any = OFFERS) -> Provenance:
    return Provenance.from_request(REQUEST).with_observation("search_flight_offers", body,
                                                             node=1)


def test_enum_fields_are_read_from_the_response_schemas() -> None:
    enums = response_enums([SCHEMA, None, {"type": "string"}])
    assert enums["cabin"] == {"economy", "premium_economy", "business", "first"}
    assert enums["status"] == {"confirmed", "cancelled"}
    assert "currency" not in enums  # one value: no category to contradict


def test_a_granted_category_the_results_deny() -> None:
    miss = unmet("The cheapest business class flight is LH582 for 760.99 EUR.", REQUEST,
                 ledger(), response_enums([SCHEMA]))
    assert miss is not None and (miss.field, miss.value, miss.seen) == (
        "cabin", "business", ("economy",))


@pytest.mark.parametrize(("answer", "body", "request_text"), [
    ("There are no business class seats on that day.", OFFERS, REQUEST),   # a negation
    ("LH582 costs 760.99 EUR.", OFFERS, REQUEST),                           # grants nothing
    ("The cheapest business seat is LH582 for 2,760.99 EUR.",
     {"offers": [{**OFFERS["offers"][0], "cabin": "business"}]}, REQUEST),  # the results agree
    ("The cheapest premium economy seat is LH582.",
     {"offers": [{**OFFERS["offers"][0], "cabin": "premium_economy"}]},
     REQUEST.replace("business class", "premium economy")),  # 'economy' is not counted again
    ("The cheapest business seat is LH582.", {"count": 0}, REQUEST),  # no cabin on the path
    ("The cheapest business seat is LH582.", OFFERS,
     "How much is the cheapest seat from FRA to SIN on 2027-02-01?"),  # the request asks none
])
def test_answers_that_pass(answer: str, body: Any, request_text: str) -> None:
    led = Provenance.from_request(request_text).with_observation("search_flight_offers", body,
                                                                 node=1)
    assert unmet(answer, request_text, led, response_enums([SCHEMA])) is None


def test_the_run_refuses_it_once(demo_toolset: Any) -> None:
    run = RunGrounding(REQUEST, demo_toolset, plan_for(demo_toolset))
    step = SimpleNamespace(node=1, tool="search_flight_offers", observation=SimpleNamespace(
        ok=True, body=OFFERS, side_effect="safe"))
    wrong = "The cheapest business class flight is LH582, for 760.99 EUR."
    note = run.ground_answer(wrong, [step])
    assert note is not None and "cabin economy only" in note and "cabin=business" in note
    assert run.ground_answer(wrong, [step]) is None  # once: the model may know better


def test_a_change_on_an_item_of_another_category_is_refused_before_it_is_sent(
        demo_toolset: Any) -> None:
    book = ("Book two business class seats on the cheapest business flight from FRA to SIN "
            "on 2027-02-01 for Ben Carter (born 1979-02-28). Email ben.carter@example.com.")
    run = RunGrounding(book, demo_toolset, plan_for(demo_toolset))
    step = SimpleNamespace(node=1, tool="search_flight_offers", observation=SimpleNamespace(
        ok=True, body=OFFERS, side_effect="safe"))
    args = {"offer_id": "LH582-20270201-Y", "passengers": [
        {"first_name": "Ben", "last_name": "Carter", "birth_date": "1979-02-28"}],
        "contact_email": "ben.carter@example.com"}
    [v] = run.ground_call("create_flight_booking", args, [step])
    assert v.kind == "ungrounded" and v.path == "$.offer_id"
    assert "cabin economy" in v.message and "cabin=business" in v.message
    business = {"offers": [{**OFFERS["offers"][0], "cabin": "business"}], "count": 1}
    ok = SimpleNamespace(node=2, tool="search_flight_offers", observation=SimpleNamespace(
        ok=True, body=business, side_effect="safe"))
    assert run.ground_call("create_flight_booking", args, [ok]) == []
    # "the first flight" names no cabin ('first' is an ordinary word too)
    first = RunGrounding(book.replace("business class seats on the cheapest business flight",
                                      "seats on the first flight"),
                         demo_toolset, plan_for(demo_toolset))
    assert first.ground_call("create_flight_booking", args, [step]) == []
