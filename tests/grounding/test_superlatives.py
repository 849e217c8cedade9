"""An answer that calls something the cheapest or earliest must name the cheapest or earliest
of the list it read: the contradiction, the answers that pass, and the run refusing it once."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from agentrt.grounding import Provenance
from agentrt.grounding.answers import is_decline
from agentrt.grounding.superlatives import contradicted

REQUEST = "How much is the cheapest economy flight from Lisbon (LIS) to Madrid (MAD) on 2026-12-23?"
#: what the fine-tuned 0.5B read: sorted by departure time, so the cheaper offer comes second
OFFERS = {"offers": [
    {"offer_id": "TP550-20261223-Y", "flight_number": "TP550", "departure_time": "11:45",
     "arrival_time": "14:00", "price": 84.99, "total_price": 84.99},
    {"offer_id": "IB317-20261223-Y", "flight_number": "IB317", "departure_time": "21:50",
     "arrival_time": "00:05", "price": 75.99, "total_price": 75.99}], "count": 2}


def ledger() -> Provenance:
    return Provenance.from_request(REQUEST).with_observation("search_flight_offers", OFFERS,
                                                             node=1)


@pytest.mark.parametrize(("answer", "smaller", "item"), [
    ("The cheapest economy flight is TP550, departing at 11:45, for 84.99 EUR.", "75.99",
     "flight_number=IB317"),
    ("TP550 has the lowest fare: €84.99.", "75.99", "flight_number=IB317"),
    ("The earliest flight is IB317 at 21:50.", "11:45", "flight_number=TP550"),
])
def test_a_superlative_the_list_contradicts(answer: str, smaller: str, item: str) -> None:
    wrong = contradicted(answer, ledger())
    assert wrong is not None and (wrong.smaller, wrong.item) == (smaller, item)


@pytest.mark.parametrize("answer", [
    "The cheapest economy flight is IB317, departing at 21:50, for 75.99 EUR.",
    "The earliest flight is TP550: it leaves at 11:45 and lands at 14:00.",  # 14:00 is not
    "TP550 leaves at 11:45 for 84.99 EUR.",                 # no superlative: nothing to check
    "The cheapest flight costs 151.98 EUR for two.",        # derived: read from no list
    "The first name on the booking is Ana; TP550 costs 84.99 EUR.",  # "first name"
])
def test_answers_the_list_agrees_with_pass(answer: str) -> None:
    assert contradicted(answer, ledger()) is None


def test_one_offer_has_no_competition() -> None:
    single = {"offers": [OFFERS["offers"][0]], "count": 1}
    led = Provenance.from_request(REQUEST).with_observation("search_flight_offers", single,
                                                            node=1)
    assert contradicted("The cheapest is TP550 for 84.99 EUR.", led) is None


def test_the_run_refuses_it_once(demo_toolset: object) -> None:
    from agentrt.grounding.session import RunGrounding, plan_for

    run = RunGrounding(REQUEST, demo_toolset, plan_for(demo_toolset))  # type: ignore[arg-type]
    step = SimpleNamespace(node=1, tool="search_flight_offers", observation=SimpleNamespace(
        ok=True, body=OFFERS, side_effect="safe"))
    wrong = "The cheapest economy flight is TP550, departing at 11:45, for 84.99 EUR."
    note = run.ground_answer(wrong, [step])
    assert note is not None and "75.99 (flight_number=IB317)" in note
    # the request may want the cheapest of a kind the list does not show: the second time
    # the model says so, it stands
    assert run.ground_answer(wrong, [step]) is None


@pytest.mark.parametrize("text", [
    "Sorry, there are no economy seats available from PRG to MAD on 2027-01-02.",
    "There are no direct flights that day.",
    "No business class fares under 60 EUR, so nothing was booked.",
])
def test_no_kind_of_thing_available_is_a_decline(text: str) -> None:
    assert is_decline(text)


def test_an_answer_naming_a_tool_is_refused_and_the_stuck_question_needs_an_asked_action(
        demo_toolset: object) -> None:
    from agentrt.grounding.session import RunGrounding, plan_for

    run = RunGrounding(REQUEST, demo_toolset, plan_for(demo_toolset))  # type: ignore[arg-type]
    step = SimpleNamespace(node=1, tool="search_flight_offers", observation=SimpleNamespace(
        ok=True, body=OFFERS, side_effect="safe"))
    # seen from the fine-tuned 0.5B: the runtime's talk about tools handed to the user
    note = run.ground_answer("What is missing in the search_flight_offers call is a booking "
                             "reference.", [step])
    assert note is not None and "search_flight_offers" in note
    assert run.tools_named("IB317 is the cheapest at 75.99 EUR; search again tomorrow.") == []
    # a look-up asks for no booking: a made-up guest there is no question for the user
    assert not run.asked_for("create_hotel_booking")
    book = RunGrounding("Book me a nice hotel for next weekend.", demo_toolset,  # type: ignore[arg-type]
                        plan_for(demo_toolset))  # type: ignore[arg-type]
    assert book.asked_for("create_hotel_booking") and not book.asked_for("cancel_hotel_booking")
