"""One run's grounding (RunGrounding): the hooks the search calls, over the path's provenance,
and the rule that a request for an action is not answered before the action succeeded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from agentrt.grounding.session import RunGrounding, asks_for_action, plan_for
from agentrt.toolset import Toolset
from agentrt_demo.specs import load_spec as load_demo_doc

from .doubles import Step


@dataclass
class Obs:
    outcome: str = "ok"
    body: Any = None
    side_effect: str = "safe"

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


@pytest.fixture(scope="module")
def toolset() -> Toolset:
    return Toolset.from_specs([load_demo_doc("flights"), load_demo_doc("hotels")])


@pytest.mark.parametrize(("request_text", "verb"), [
    ("Book the cheapest flight from LIS to MAD", "book"),
    ("Please cancel my hotel booking HB4MZP9T", "cancel"),
    ("How much is the cheapest flight? Do not book anything.", None),
    ("What is the cheapest fare, and which flight is it? Just tell me, don't book.", None),
    ("Which airports serve Paris?", None),
])
def test_asks_for_action(request_text: str, verb: str | None) -> None:
    assert asks_for_action(request_text) == verb


def test_ids_come_from_the_path_and_answers_from_results(toolset: Toolset) -> None:
    run = RunGrounding("Book the cheapest flight from LIS to MAD on 2026-12-22 for Ana",
                       toolset, plan_for(toolset))
    search = Step(1, "search_flight_offers", Obs(body={"offers": [
        {"offer_id": "TP1-20261222-Y", "price": 89.99}]}),
        {"origin": "LIS", "destination": "MAD", "date": "2026-12-22"})
    offer = {"offer_id": "TP1-20261222-Y", "passengers": [{"first_name": "Ana"}]}
    assert run.ground_call("create_flight_booking", offer, [search]) == []
    [violation] = run.ground_call("create_flight_booking",
                                  {**offer, "offer_id": "XX9-20261222-Y"}, [search])
    assert violation.kind == "ungrounded" and "TP1-20261222-Y" in violation.message
    # an answer before the booking: grounded facts, but the action has not happened
    note = run.ground_answer("The cheapest is TP1 at 89.99 EUR.", [search])
    assert note is not None and note.startswith("nothing has been done yet")
    assert run.ground_answer("Sorry, I cannot book that flight.", [search]) is None
    booked = Step(2, "create_flight_booking",
                  Obs(body={"booking_id": "ABC123"}, side_effect="unsafe"))
    assert run.ground_answer("Booked: ABC123, 89.99 EUR.", [search, booked]) is None
    assert "ZZZ999" in (run.ground_answer("Booked: ZZZ999.", [search, booked]) or "")


def test_a_denied_action_may_be_reported(toolset: Toolset) -> None:
    run = RunGrounding("Book it again", toolset, plan_for(toolset))
    search = [Step(1, "search_flight_offers", Obs(body={"offers": []}))]
    assert run.ground_answer("Not booked.", search) is not None  # nothing tried: refused
    run.observed(Obs(outcome="denied", side_effect="unsafe"))  # the person said no
    assert run.ground_answer("Not booked.", search) is None


def test_a_held_back_booking_reported_as_done_is_refused(toolset: Toolset) -> None:
    """A look-up whose model tried to book anyway (the policy denied it) must not answer
    "Booked …": nothing changed on the path."""
    run = RunGrounding("When does the first flight from LIS to MAD leave on 2026-12-22?",
                       toolset, plan_for(toolset))
    search = [Step(1, "search_flight_offers", Obs(body={"offers": [
        {"offer_id": "TP1-20261222-Y", "flight_number": "TP1", "departure_time": "07:05"}]}))]
    run.observed(Obs(outcome="denied", side_effect="unsafe"))
    note = run.ground_answer("Booked flight TP1 at 07:05 for you.", search)
    assert note is not None and "nothing has been changed" in note
    assert run.ground_answer("The first flight, TP1, leaves at 07:05.", search) is None


def test_compact_view_and_plan_from_the_documents(toolset: Toolset) -> None:
    run = RunGrounding("q", toolset, plan_for(toolset))
    text = run.view("get_airport", {"code": "LIS", "name": "Humberto Delgado Airport",
                                    "city": "Lisbon", "country": "PT"})
    assert text is not None and "Humberto Delgado Airport" in text and "{" not in text
    assert run.view("no_such_tool", {"a": 1}) is None
    rules = plan_for(toolset).rules("create_flight_booking")
    assert rules["offer_id"].reason == "link"  # the demo spec declares its links


def test_a_question_declined_with_the_answer_in_hand_is_refused_once(toolset: Toolset) -> None:
    """A look-up answered "sorry, I cannot" while the last result holds data is refused the
    first time (answer from the results); a second decline is taken as meant. An empty result,
    a request for an action, or no result at all leave a decline alone."""
    question = "Which hotel in Lisbon is cheapest from 2026-12-31 to 2027-01-03, and the total?"
    found = Step(1, "search_hotels", Obs(body={"hotels": [
        {"hotel_id": "LIS-02", "name": "Park Opera Lisbon", "total_price": 402.0}], "count": 1}))
    empty = Step(1, "search_hotels", Obs(body={"hotels": [], "count": 0}))
    sorry = "Sorry, I cannot book a hotel in Lisbon from 2026-12-31 to 2027-01-03."
    run = RunGrounding(question, toolset, plan_for(toolset))
    note = run.ground_answer(sorry, [found])
    assert note is not None and "answer the question from them" in note
    assert run.ground_answer(sorry, [found]) is None  # once per run
    assert run.ground_answer("Park Opera Lisbon, 402.00 EUR in total.", [found]) is None
    fresh = RunGrounding(question, toolset, plan_for(toolset))
    assert fresh.ground_answer(sorry, [empty]) is None
    assert fresh.ground_answer(sorry, []) is None
    booking = RunGrounding("Book the cheapest hotel in Lisbon from 2026-12-31 to 2027-01-03 "
                           "for Ana Silva, ana@example.com.", toolset, plan_for(toolset))
    assert booking.ground_answer(sorry, [found]) is None
