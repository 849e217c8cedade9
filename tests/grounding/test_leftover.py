"""What a request for action gives that nothing on the path used: an answer reporting the action
is refused once while such a value is left (grounding/leftover.py)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest

from agentrt.agent import Agent
from agentrt.grounding.leftover import leftovers
from agentrt.grounding.provenance import Provenance
from agentrt.grounding.session import RunGrounding, plan_for
from agentrt.testing import ScriptedBackend, answer, call
from agentrt.toolset import Toolset
from agentrt_demo import DemoServices, demo_credentials
from agentrt_demo.specs import spec_path

from .conftest import TODAY
from .doubles import Obs, Step

MULTI = ("Book the cheapest economy flight from LIS to MAD on 2026-12-19 for two people: Ana "
         "Silva (born 1990-04-12) and Joao Silva (born 1988-11-03). Email ana.silva@example.com.")
ANA = {"first_name": "Ana", "last_name": "Silva", "birth_date": "1990-04-12"}
JOAO = {"first_name": "Joao", "last_name": "Silva", "birth_date": "1988-11-03"}
SEARCH = {"origin": "LIS", "destination": "MAD", "departure_date": "2026-12-19"}


def ledger_of(request: str, path: Sequence[Step]) -> Provenance:
    ledger = Provenance.from_request(request)
    for step in path:
        if step.observation.ok:
            ledger = ledger.with_observation(step.tool, step.observation.body, node=step.node)
    return ledger


def multi_path(*people: dict[str, str]) -> list[Step]:
    search = Step(1, "search_flight_offers", Obs({"offers": [
        {"offer_id": "TP1-20261219-Y", "price": 80.0, "departure_date": "2026-12-19"}]}), SEARCH)
    book = Step(2, "create_flight_booking", Obs({"booking_id": "K7QX2M"}, "unsafe"),
                {"offer_id": "TP1-20261219-Y", "passengers": list(people),
                 "contact_email": "ana.silva@example.com"})
    return [search, book]


def test_a_second_passengers_birth_date_is_left_over() -> None:
    half = multi_path(ANA)
    assert leftovers(MULTI, half, ledger_of(MULTI, half)) == ["1988-11-03"]
    whole = multi_path(ANA, JOAO)
    assert leftovers(MULTI, whole, ledger_of(MULTI, whole)) == []


def test_a_second_reference_and_a_check_out_date_are_left_over() -> None:
    request = "My trip is off. Cancel flight booking B8N2KD and hotel booking HBR6XW2Q."
    path = [Step(1, "cancel_flight_booking", Obs({"status": "cancelled"}, "unsafe"),
                 {"booking_id": "B8N2KD"})]
    assert leftovers(request, path, ledger_of(request, path)) == ["HBR6XW2Q"]
    trip = ("Book the cheapest economy flight from LIS to MAD on 2026-12-19 and the cheapest "
            "hotel room in Madrid from 2026-12-19 to 2026-12-22 for Ana Silva.")
    path = multi_path(ANA)
    assert leftovers(trip, path, ledger_of(trip, path)) == ["2026-12-22"]


def test_a_value_a_result_holds_or_a_failed_call_took_is_not_left_over() -> None:
    request = "Cancel booking ZX9P4L and rebook on AF1234."
    failed = Step(1, "cancel_flight_booking", Obs({"message": "no"}, "unsafe", ok=False),
                  {"booking_id": "ZX9P4L"})  # tried: the answer may report the failure
    seen = Step(2, "get_booking", Obs({"flight_number": "AF1234"}))
    path = [failed, seen]
    assert leftovers(request, path, ledger_of(request, path)) == []


def test_amounts_and_times_are_conditions_not_leftovers() -> None:
    request = "Book the cheapest flight LIS to MAD leaving after 10:00, under 300 EUR, for Ana."
    path = multi_path(ANA)
    assert leftovers(request, path, ledger_of(request, path)) == []


@pytest.fixture(scope="module")
def toolset() -> Toolset:
    return Toolset.merge(Toolset.from_spec(spec_path("flights")),
                         Toolset.from_spec(spec_path("hotels")))


def test_the_run_refuses_a_half_done_report_once(toolset: Toolset) -> None:
    run = RunGrounding(MULTI, toolset, plan_for(toolset))
    half = multi_path(ANA)
    note = run.ground_answer("Booked flight TP1 for Ana Silva, reference K7QX2M.", half)
    assert note is not None and "1988-11-03" in note and note.startswith("not finished yet?")
    assert run.fired == {"answers_refused_leftover": 1}
    # once a run: the model may know the value was context only
    assert run.ground_answer("Booked flight TP1 for Ana Silva, reference K7QX2M.", half) is None
    # an answer saying the rest cannot be done is never held here
    fresh = RunGrounding(MULTI, toolset, plan_for(toolset))
    assert fresh.ground_answer("Booked K7QX2M for Ana Silva; I could not book Joao Silva.",
                               half) is None
    # switched off
    off = RunGrounding(MULTI, toolset, plan_for(toolset), leftovers=False)
    assert off.ground_answer("Booked flight TP1 for Ana Silva, reference K7QX2M.", half) is None


def test_a_look_up_is_not_held(toolset: Toolset) -> None:
    request = "What time does the first flight from MAD to BCN leave on 2026-12-19 and 2026-12-20?"
    run = RunGrounding(request, toolset, plan_for(toolset))
    path = [Step(1, "search_flight_offers", Obs({"offers": [
        {"flight_number": "IB1", "departure_time": "07:05"}]}),
        {"origin": "MAD", "destination": "BCN", "departure_date": "2026-12-19"})]
    assert run.ground_answer("IB1 leaves at 07:05.", path) is None
    assert run.fired == {}


_OFFER = re.compile(r"[A-Z0-9]{2}\d{1,4}-\d{8}-Y")


def test_a_change_skipping_a_listed_person_is_refused_before_it_is_sent(
        toolset: Toolset) -> None:
    run = RunGrounding(MULTI, toolset, plan_for(toolset))
    [search, _] = multi_path(ANA)
    one = {"offer_id": "TP1-20261219-Y", "passengers": [ANA],
           "contact_email": "ana.silva@example.com"}
    [v] = run.ground_call("create_flight_booking", one, [search])
    assert v.kind == "ungrounded" and v.path == "$.passengers" and '"1988-11-03"' in v.message
    both = {**one, "passengers": [ANA, JOAO]}
    assert run.ground_call("create_flight_booking", both, [search]) == []
    off = RunGrounding(MULTI, toolset, plan_for(toolset), leftovers=False)
    assert off.ground_call("create_flight_booking", one, [search]) == []
    # a trip: the hotel's check-out date comes before the traveller, outside what the flight
    # booking reads — not held here (the answer rule sees it)
    trip = ("Book the cheapest economy flight from LIS to MAD on 2026-12-19 and the cheapest "
            "hotel room in Madrid from 2026-12-19 to 2026-12-22. Traveller: Ana Silva (born "
            "1990-04-12), email ana.silva@example.com.")
    assert RunGrounding(trip, toolset, plan_for(toolset)).ground_call(
        "create_flight_booking", one, [search]) == []


def _model(day: str, seen: list[str]) -> Any:
    """A model that searches, books Ana alone, books Joao when a note names his birth date,
    and reports the last booking."""
    def model(messages: Sequence[dict[str, Any]], tools: Any, n: int) -> Any:
        text = "\n".join(str(m.get("content") or "") for m in messages)
        seen.append(text)
        offers = _OFFER.findall(text)
        booked = re.findall(r"booking_id\W+([A-Z0-9]{6})", text)
        if not offers:
            return call("search_flight_offers", origin="LIS", destination="MAD",
                        departure_date=day, limit=3)
        if '"1988-11-03" among the values' in text and not booked:
            return call("create_flight_booking", offer_id=offers[0], passengers=[ANA, JOAO],
                        contact_email="ana.silva@example.com")
        if "1988-11-03, and no call" in text and len(booked) < 2:
            return call("create_flight_booking", offer_id=offers[0], passengers=[JOAO],
                        contact_email="ana.silva@example.com")
        if not booked:
            return call("create_flight_booking", offer_id=offers[0], passengers=[ANA],
                        contact_email="ana.silva@example.com")
        return answer(f"Booked {offers[0].split('-')[0]}, reference {booked[-1]}.")
    return model


#: Joao named after the e-mail: outside what a booking for Ana reads from the request
LATER = ("for Ana Silva (born 1990-04-12), email ana.silva@example.com, and the same flight for "
         "her brother Joao Silva (born 1988-11-03).")


async def _run(services: DemoServices, days: int, who: str, seen: list[str],
               backend: ScriptedBackend | None = None) -> Any:
    """Book "the cheapest economy flight from LIS to MAD" ``days`` after the demo's today
    ``who`` through the scripted model, against the demo flights API on loopback."""
    day = (TODAY + timedelta(days=days)).isoformat()
    request = f"Book the cheapest economy flight from LIS to MAD on {day} {who}"
    flights = Toolset.from_spec(spec_path("flights"), base_url=services.flights_url)
    async with Agent(backend or ScriptedBackend(_model(day, seen)), flights, policy="allow",
                     credentials=demo_credentials(flights, services.api_key)) as agent:
        return await agent.run(request)


async def test_over_a_socket_a_booking_that_skips_a_listed_passenger_is_never_sent(
        grounding_services: DemoServices) -> None:
    """The demo flights API on loopback: booking Ana of "Ana (born …) and Joao (born …).
    Email …" is refused before it is sent; the repaired call books both."""
    seen: list[str] = []
    result = await _run(grounding_services, 24, "for two people: Ana Silva (born 1990-04-12) "
                        "and Joao Silva (born 1988-11-03). Email ana.silva@example.com.", seen)
    assert result.status == "solved"
    assert result.stats["rejected_ungrounded"] == 1 and result.stats["executed_ungrounded"] == 0
    [booking] = [c for c in result.calls if c.tool == "create_flight_booking"]
    assert [p["first_name"] for p in booking.arguments["passengers"]] == ["Ana", "Joao"]


async def test_over_a_socket_the_leftover_note_reaches_the_model_and_is_counted(
        grounding_services: DemoServices) -> None:
    """Joao named after the e-mail (outside what the first booking reads): Ana's booking is
    sent and reported; the report is refused with Joao's birth date named, the model books
    him, the second report stands — and the result counts the rule."""
    seen: list[str] = []
    result = await _run(grounding_services, 25, LATER, seen)
    assert result.status == "solved"
    assert result.stats["answers_refused_leftover"] == 1
    assert any("1988-11-03, and no call so far has used it" in t for t in seen)
    assert [c.tool for c in result.calls].count("create_flight_booking") == 2


async def test_after_the_leftover_refusal_a_grammar_backend_may_only_call(
        grounding_services: DemoServices) -> None:
    """The refusal says work is left: the next request carries the call-only constraint —
    no finish branch, and the native marker that makes the embedded backend open a call —
    and the call-only note; the request after the call is free again."""
    from agentrt.backends.base import Capabilities
    from agentrt.protocol import CALL_ONLY, FINISH

    seen: list[str] = []
    backend = ScriptedBackend(_model((TODAY + timedelta(days=26)).isoformat(), seen),
                              capabilities=Capabilities(grammar=True, tool_call_format="native"))
    result = await _run(grounding_services, 26, LATER, seen, backend)
    assert result.status == "solved" and result.stats["call_only_requests"] == 1
    names = [[(b.get("properties") or {}).get("name", {}).get("const")
              for b in (r.constraint or {}).get("anyOf", [])] for r in backend.requests]
    forced = [i for i, r in enumerate(backend.requests) if (r.constraint or {}).get(CALL_ONLY)]
    assert len(forced) == 1
    [i] = forced
    assert FINISH not in names[i] and "create_flight_booking" in names[i]
    assert FINISH in names[i + 1] and not (backend.requests[i + 1].constraint or {}).get(CALL_ONLY)
    assert "Make the call that is still needed now" in backend.requests[i].text
    assert "Make the call that is still needed now" not in backend.requests[i + 1].text
