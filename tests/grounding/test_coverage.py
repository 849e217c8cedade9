"""Every part of a request for action is done: resources read from the unsafe tools' names, a
request naming two of them is not answered after one (the run's answer check)."""

from __future__ import annotations

from dataclasses import dataclass

from agentrt.grounding.coverage import resources, uncovered
from agentrt.grounding.session import RunGrounding, plan_for
from agentrt.toolset import Toolset
from agentrt_demo.specs import load_spec

from .doubles import Obs, Step


@dataclass
class Tool:
    name: str
    side_effect: str = "unsafe"


def test_resources_are_the_unsafe_tools_name_words_that_tell_them_apart() -> None:
    table = resources([Tool("createFlightBooking"), Tool("cancel_flight_booking"),
                       Tool("create_hotel_booking"), Tool("sendInvoiceEmail"),
                       Tool("list_hotels", "safe"), Tool("deleteOrder")])
    assert table == {"flight": ("createFlightBooking", "cancel_flight_booking"),
                     "hotel": ("create_hotel_booking",), "invoice": ("sendInvoiceEmail",),
                     "email": ("sendInvoiceEmail",)}
    # a word every unsafe tool shares tells none apart
    assert resources([Tool("create_user_note"), Tool("delete_user_note")]) == {}


def test_only_requests_naming_two_resources_are_held() -> None:
    table = {"flight": ("create_flight_booking",), "hotel": ("create_hotel_booking",)}
    trip = "Book the cheapest flight to Madrid and a hotel room there for two nights."
    assert uncovered(trip, table, ["create_flight_booking"]) == {
        "hotel": ("create_hotel_booking",)}
    assert uncovered(trip, table, ["create_flight_booking", "create_hotel_booking"]) == {}
    assert uncovered("Book the cheapest flight to Madrid.", table, []) == {}
    assert uncovered("Book a flight to Madrid, no hotel needed.", table, []) == {}
    assert uncovered("Book the flights and hotels.", table, ["create_hotel_booking"]) == {
        "flight": ("create_flight_booking",)}
    both = {"flight": ("create_flight_booking", "cancel_flight_booking"),
            "hotel": ("create_hotel_booking", "cancel_hotel_booking")}
    assert uncovered("Cancel flight K7QX2M and hotel HB12345678.", both,
                     ["cancel_flight_booking"]) == {"hotel": ("cancel_hotel_booking",)}


def test_the_run_refuses_an_answer_after_half_the_request() -> None:
    ts = Toolset.from_specs([load_spec("flights"), load_spec("hotels")])
    request = ("Book the cheapest economy flight LIS to MAD on 2026-12-22 and the cheapest "
               "hotel room in Madrid until 2026-12-25 for Ana Silva, ana@example.com.")
    run = RunGrounding(request, ts, plan_for(ts), leftovers=False)  # coverage alone
    search = Step(1, "search_flight_offers", Obs({"offers": [{"offer_id": "TP1-20261222-Y"}]}))
    booked = Step(2, "create_flight_booking", Obs({"booking_id": "K7QX2M"}, "unsafe"))
    note = run.ground_answer("Booked your flight, reference K7QX2M.", [search, booked])
    assert note is not None and note.startswith("not finished yet")
    assert "hotel (create_hotel_booking)" in note  # a request to book: not the cancel tool
    # declining the rest, or the whole done, passes
    assert run.ground_answer("I booked K7QX2M, but I cannot book a hotel: none is available.",
                             [search, booked]) is None
    hotel = Step(3, "create_hotel_booking", Obs({"booking_id": "HB12345678"}, "unsafe"))
    assert run.ground_answer("Booked K7QX2M and HB12345678.", [search, booked, hotel]) is None


def test_the_kind_of_action_asked_for_and_done() -> None:
    from agentrt.grounding.coverage import request_kinds, tool_kind

    assert request_kinds("Book the cheapest flight and send it to me") == {"create"}
    assert request_kinds("Hi, cancel my booking HB12345678.") == {"remove"}  # a noun: no create
    assert request_kinds("Cancel K7QX2M and book the 18:05 flight") == {"create", "remove"}
    assert request_kinds("How much is it? Do not book anything.") == frozenset()
    assert request_kinds("Get me on the cheapest flight") == frozenset()  # unknown: not held
    assert (tool_kind("cancel_flight_booking"), tool_kind("createHotelBooking"),
            tool_kind("search_hotels")) == ("remove", "create", None)


def test_guard_holds_an_action_of_a_kind_the_user_did_not_ask_for() -> None:
    from agentrt.grounding.trust import TrustLedger

    ts = Toolset.from_specs([load_spec("flights"), load_spec("hotels")])
    booking = {"offer_id": "TP1-20261222-Y", "passengers": [], "contact_email": "a@b.c"}
    ledger = TrustLedger("Book the cheapest flight LIS to MAD for Ana Silva, a@b.c.", ts)
    ledger.record("create_flight_booking", booking, {"booking_id": "K7QX2M"}, ok=True)
    held = ledger.assess("cancel_flight_booking", {"booking_id": "K7QX2M"})
    assert not held.cleared and held.concerns == ()
    assert "asks only to create or book" in held.reason()
    ok = TrustLedger("Cancel my flight K7QX2M.", ts).assess("cancel_flight_booking",
                                                            {"booking_id": "K7QX2M"})
    assert ok.cleared and ok.reason() == ""


def test_coverage_is_a_switch_off_in_the_agent_by_default() -> None:
    from agentrt.agent import AgentConfig

    assert AgentConfig().require_coverage is False
    ts = Toolset.from_specs([load_spec("flights"), load_spec("hotels")])
    request = "Book the cheapest flight LIS to MAD and a hotel room in Madrid for Ana Silva."
    booked = Step(1, "create_flight_booking", Obs({"booking_id": "K7QX2M"}, "unsafe"))
    off = RunGrounding(request, ts, plan_for(ts), coverage=False, leftovers=False)
    assert off.ground_answer("Booked your flight, reference K7QX2M.", [booked]) is None
    on = RunGrounding(request, ts, plan_for(ts), leftovers=False)
    assert on.ground_answer("Booked your flight, reference K7QX2M.", [booked]) is not None
