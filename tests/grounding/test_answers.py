"""Grounded answers: facts without a source are refused; declines and questions pass."""

from __future__ import annotations

import pytest

from agentrt.grounding import Provenance, check_answer, is_decline, is_question
from agentrt.grounding.answers import echoes_request, request_needs_data

REQUEST = "Book the cheapest economy flight from LIS to MAD on 2026-12-16 for Ana Silva."
SEARCH = {"offers": [{"offer_id": "IB317-20261216-Y", "flight_number": "IB317", "price": 75.99,
                      "departure_time": "21:50", "arrival_time": "00:05"}], "count": 1}
BOOKED = {"booking_id": "FP7XXY", "status": "confirmed", "total_price": 75.99,
          "offer": SEARCH["offers"][0]}  # type: ignore[index]


def path() -> Provenance:
    return Provenance.from_request(REQUEST).with_observation(
        "search_flight_offers", SEARCH, node=1).with_observation("create_flight_booking",
                                                                 BOOKED, node=2)


@pytest.mark.parametrize("answer", [
    "Booked IB317 for 75.99 EUR per person, booking reference FP7XXY.",
    "Done: flight IB317 LIS→MAD on 2026-12-16 at 21:50, €75.99, ref fp7xxy.",
    "Your flight leaves at 9:50 pm on 16 December 2026 and costs 76 EUR.",  # 12 h, rounded
    "Booked for two: 151.98 EUR in total.",  # 2 × 75.99
    "Your booking is confirmed.",  # no concrete facts
])
def test_grounded_answers_pass(answer: str) -> None:
    verdict = check_answer(answer, REQUEST, path(), made_calls=2)
    assert verdict.accepted, verdict.note
    assert verdict.status == "accepted" and verdict.note == ""


@pytest.mark.parametrize(("answer", "missing"), [
    ("Booked IB317, booking reference BK-7Q2X9.", ["BK-7Q2X9"]),
    ("Booked, reference ABC123.", ["ABC123"]),
    ("Booked, reference KQWERT.", ["KQWERT"]),
    ("The flight costs €412.50.", ["€412.50"]),
    ("It costs 75.98 EUR.", ["75.98 EUR"]),
    ("It departs at 14:05.", ["14:05"]),
    ("It departs on 2026-12-22.", ["2026-12-22"]),
    ("Your flight is TP1234 from OPO.", ["TP1234", "OPO"]),
])
def test_invented_facts_are_refused(answer: str, missing: list[str]) -> None:
    verdict = check_answer(answer, REQUEST, path(), made_calls=2)
    assert not verdict.accepted
    assert verdict.status == "rejected_ungrounded" and verdict.reason == "ungrounded_facts"
    assert [f.text for f in verdict.missing] == missing
    assert verdict.note.startswith("you have not looked this up yet: " + missing[0])


def test_the_note_lists_what_is_missing_and_what_to_do() -> None:
    verdict = check_answer("Booked TP1234 for €412.50, reference BK-7Q2X9.", REQUEST,
                           Provenance.from_request(REQUEST), made_calls=0)
    assert verdict.note == (
        "you have not looked this up yet: TP1234 (flight number), €412.50 (amount), BK-7Q2X9 "
        "(reference) appear in no result and not in the request; you have not called any "
        "tool: call one that returns them, then answer with the values it returned (or leave "
        "them out)")
    assert verdict.to_dict()["missing"][0] == {"kind": "flight", "text": "TP1234"}


def test_facts_from_the_request_are_grounded() -> None:
    led = Provenance.from_request("Please cancel my flight booking Q7K2MX.")
    led = led.with_observation("cancel_flight_booking", {"booking_id": "Q7K2MX",
                                                         "status": "cancelled"})
    assert check_answer("Booking Q7K2MX is cancelled.", "Please cancel my flight booking Q7K2MX.",
                        led, made_calls=1).accepted


def test_no_call_at_all_is_refused_even_without_invented_facts() -> None:
    request = "What is the full name of the airport with IATA code LIS?"
    verdict = check_answer("LIS is Humberto Delgado Airport.", request,
                           Provenance.from_request(request), made_calls=0)
    assert not verdict.accepted and verdict.reason == "no_calls"
    assert verdict.note.startswith("you have not looked this up yet: no tool was called")
    cancel = "Please cancel my flight booking Q7K2MX."
    assert not check_answer("Your booking Q7K2MX is cancelled. Anything else?", cancel,
                            Provenance.from_request(cancel), made_calls=0).accepted


@pytest.mark.parametrize("answer", [
    "Sorry, this cannot be done: nothing is available, so I booked nothing.",
    "I can't do that: no tool can book trains.",
    "Could you tell me the date of the flight?",
    "Which of the Paris airports do you mean, CDG or ORY?",  # codes from... the request
])
def test_declines_and_questions_without_calls_pass(answer: str) -> None:
    request = "Book me a flight from Lisbon to Paris CDG or ORY."
    assert check_answer(answer, request, Provenance.from_request(request), made_calls=0).accepted


def test_a_decline_with_an_invented_fact_is_still_refused() -> None:
    request = "Book me a flight from Lisbon to Madrid tomorrow."
    verdict = check_answer("Sorry, flight TP1234 is sold out.", request,
                           Provenance.from_request(request), made_calls=0)
    assert not verdict.accepted and [f.text for f in verdict.missing] == ["TP1234"]


def test_small_talk_needs_no_call() -> None:
    assert not request_needs_data("Hello there!")
    assert check_answer("Hello! I can help with flights and hotels.", "Hello there!",
                        Provenance.from_request("Hello there!"), made_calls=0).accepted
    assert request_needs_data("How much is a flight to Madrid?")
    # the caller may decide instead
    assert not check_answer("Hi.", "Hello there!", Provenance(), made_calls=0,
                            needs_data=True).accepted


def test_a_ledger_without_the_request_still_grounds_request_facts() -> None:
    request = "Cancel booking ZX9P4L."
    led = Provenance().with_observation("cancel_flight_booking", {"status": "cancelled"})
    assert check_answer("ZX9P4L is cancelled.", request, led, made_calls=1).accepted


@pytest.mark.parametrize(("text", "decline", "question"), [
    ("Sorry, this cannot be done: nothing is available, so I booked nothing.", True, False),
    ("No flights are available, so nothing was booked.", True, False),
    ("Could you tell me the missing details (dates, names, reference)?", False, True),
    ("Your booking is cancelled. Anything else?", False, False),
    ("Unfortunately I cancelled your booking.", False, False),
    ("Done! Booked.", False, False),
])
def test_decline_and_question_detection(text: str, decline: bool, question: bool) -> None:
    assert (is_decline(text), is_question(text)) == (decline, question)


def test_an_answer_that_parrots_the_runtimes_own_note_is_refused() -> None:
    # seen from the 0.5B model in the demo: after two refusals it "answered" with the note
    first = check_answer("Booked, references WWTPFC and HBKUHHMA.", REQUEST,
                         Provenance.from_request(REQUEST), made_calls=0)
    second = check_answer("Done.", REQUEST, Provenance.from_request(REQUEST), made_calls=0,
                          needs_data=True)
    for note in (first.note, second.note,
                 "no tool was called, so this answer can only be guessed",
                 # seen from the fine-tuned 0.5B, after a made-up passenger was refused
                 "What is missing from the booking reference is the offer_id, which is not in "
                 "the user's request. Ask the user for it."):
        verdict = check_answer(note, REQUEST, path(), made_calls=2)
        assert not verdict.accepted and verdict.reason == "echoes_feedback"
        again = check_answer(verdict.note, REQUEST, path(), made_calls=2)
        assert again.reason == "echoes_feedback"  # nor its own note
    # a decline in the model's own words still passes
    assert check_answer("Sorry, I cannot book this flight.", REQUEST,
                        Provenance.from_request(REQUEST), made_calls=0).accepted


LOOKED_UP = Provenance.from_request(REQUEST).with_observation("search_flight_offers", SEARCH,
                                                              node=1)


@pytest.mark.parametrize("answer", [
    "Booked flight IB317 from LIS to MAD on 2026-12-16 at 21:50 for Ana Silva: 75.99 EUR.",
    "Your seat on IB317 is reserved, 75.99 EUR.",
    "I cancelled it and paid 75.99 EUR.",
])
def test_an_action_claimed_on_a_path_that_changed_nothing_is_refused(answer: str) -> None:
    verdict = check_answer(answer, REQUEST, LOOKED_UP, made_calls=1, changes_made=0)
    assert verdict.reason == "unbacked_claim" and not verdict.accepted
    assert "nothing has been changed" in verdict.note
    # the same words after a booking succeeded, or with rule 4 off (caller does not know)
    assert check_answer(answer, REQUEST, LOOKED_UP, made_calls=2, changes_made=1).accepted
    assert check_answer(answer, REQUEST, LOOKED_UP, made_calls=1).accepted


@pytest.mark.parametrize("answer", [
    "IB317 at 21:50 is the cheapest at 75.99 EUR; nothing was booked.",
    "The cheapest is IB317 for 75.99 EUR. I have not booked it.",
    "IB317 costs 75.99 EUR; it could not be booked: the policy held the booking back.",
])
def test_saying_that_nothing_was_done_passes(answer: str) -> None:
    assert check_answer(answer, REQUEST, LOOKED_UP, made_calls=1, changes_made=0).accepted


def test_a_claim_the_result_itself_makes_passes() -> None:
    status = {"booking_id": "FP7XXY", "status": "cancelled"}
    led = Provenance.from_request("What is the status of booking FP7XXY?").with_observation(
        "get_flight_booking", status, node=1)
    assert check_answer("Booking FP7XXY was canceled.", "What is the status of booking FP7XXY?",
                        led, made_calls=1, changes_made=0).accepted


AIRPORT = "What is the full name of the airport with IATA code CDG?"
AIRPORT_SEEN = Provenance.from_request(AIRPORT).with_observation(
    "get_airport", {"code": "CDG", "name": "Paris Charles de Gaulle Airport", "city": "Paris"},
    node=1)


@pytest.mark.parametrize("answer", [
    AIRPORT,                                                    # the request handed back
    "What is the full name of the airport with code CDG?",
    "The full name of the airport with IATA code CDG is CDG.",  # a tautology
    "CDG: the full name of the airport with the IATA code CDG.",
])
def test_an_answer_that_only_repeats_the_request_is_refused(answer: str) -> None:
    # all three seen from the fine-tuned 0.5B model on lookups after it lost its way
    verdict = check_answer(answer, AIRPORT, AIRPORT_SEEN, made_calls=1)
    assert not verdict.accepted and verdict.reason == "echoes_request"
    assert check_answer(verdict.note, AIRPORT, AIRPORT_SEEN, made_calls=1).reason == \
        "echoes_feedback"  # the note parroted back is refused too


@pytest.mark.parametrize(("request_text", "answer"), [
    (AIRPORT, "CDG is Paris Charles de Gaulle Airport."),
    (AIRPORT, "Sorry, I cannot find the airport with code CDG."),
    ("Book me a flight from Lisbon to Madrid.", "Which date would you like to fly?"),
    ("Book me a flight from Lisbon to Madrid.", "For which date should I book Lisbon to Madrid?"),
    ("Cancel my booking.", "Which booking?"),           # under three content words
    ("Book a flight to Paris for Lea Keller.", "Paris CDG or Paris ORY, Lea?"),
])
def test_answers_and_questions_that_add_something_are_not_echoes(request_text: str,
                                                                  answer: str) -> None:
    assert not echoes_request(answer, request_text)
    verdict = check_answer(answer, request_text, AIRPORT_SEEN if request_text == AIRPORT
                           else Provenance.from_request(request_text), made_calls=1)
    assert verdict.reason != "echoes_request"
