"""A change on an item that its list beats on what the request asks for (the cheapest, the
earliest, the best-rated) is refused once a run before it is sent, naming the better item:
the rule on ledgers, in a run's grounding, and over a socket against the demo flights API."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest

from agentrt.agent import Agent
from agentrt.grounding.provenance import Provenance
from agentrt.grounding.session import RunGrounding, plan_for
from agentrt.grounding.superlatives import unchosen
from agentrt.testing import ScriptedBackend, answer, call
from agentrt.toolset import Toolset
from agentrt_demo import DemoServices, demo_credentials
from agentrt_demo.specs import spec_path

from .conftest import TODAY
from .doubles import Obs, Step

CHEAPEST = ("Book the cheapest economy flight from LIS to MAD on 2026-12-19 for Ana Silva "
            "(born 1990-04-12), email ana.silva@example.com.")
#: sorted by departure time (how the 0.5B adapter searches): the cheaper offer comes second
OFFERS = {"offers": [
    {"offer_id": "TP550-20261219-Y", "flight_number": "TP550", "departure_time": "11:45",
     "arrival_time": "14:00", "stops": 0, "price": 84.99, "total_price": 84.99,
     "segments": [{"flight_number": "TP550", "departure": "2026-12-19T11:45"}]},
    {"offer_id": "IB317-20261219-Y", "flight_number": "IB317", "departure_time": "21:50",
     "arrival_time": "00:05", "stops": 0, "price": 75.99, "total_price": 75.99,
     "segments": [{"flight_number": "IB317", "departure": "2026-12-19T21:50"}]}], "count": 2}
#: hotels with their cheapest room nested (the demo's search_hotels shape)
HOTELS = {"hotels": [
    {"hotel_id": "ROM-03", "name": "Station Suites Rome", "rating": 2.5,
     "cheapest_room": {"room_id": "ROM-03-DBL", "nightly_rate": 92.67, "total_price": 278.0}},
    {"hotel_id": "ROM-02", "name": "Residence Old Town Rome", "rating": 3.8,
     "cheapest_room": {"room_id": "ROM-02-DBL", "nightly_rate": 130.33, "total_price": 391.0}},
], "count": 2}


def _ledger(request: str, tool: str, body: Any) -> Provenance:
    return Provenance.from_request(request).with_observation(tool, body, node=1)


def test_the_first_offer_is_not_the_cheapest() -> None:
    led = _ledger(CHEAPEST, "search_flight_offers", OFFERS)
    worse = unchosen(["TP550-20261219-Y"], CHEAPEST, led)
    assert worse is not None
    assert (worse.word, worse.field, worse.have, worse.best) == ("cheapest", "price", 84.99,
                                                                 75.99)
    assert worse.better == "IB317-20261219-Y" and worse.label == "flight_number IB317"
    assert unchosen(["IB317-20261219-Y"], CHEAPEST, led) is None  # the cheapest: as asked


def test_earliest_best_rated_and_the_first_superlative_written() -> None:
    earliest = CHEAPEST.replace("the cheapest", "the earliest")
    led = _ledger(earliest, "search_flight_offers", OFFERS)
    worse = unchosen(["IB317-20261219-Y"], earliest, led)
    assert worse is not None and (worse.field, worse.better) == ("departure_time",
                                                                 "TP550-20261219-Y")
    assert unchosen(["TP550-20261219-Y"], earliest, led) is None
    # the hotel is the list's item (its room id nested in it); "best-rated" is written first,
    # so the cheaper room of the worse-rated hotel does not win
    rome = ("Book a room at the best-rated hotel in Rome for 2 guests from 2027-01-17 to "
            "2027-01-20 (cheapest room there that fits us).")
    led = _ledger(rome, "search_hotels", HOTELS)
    worse = unchosen(["ROM-03-DBL"], rome, led)
    assert worse is not None and (worse.word, worse.field) == ("best-rated", "rating")
    assert worse.better == "ROM-02-DBL" and worse.label == "name Residence Old Town Rome"
    assert unchosen(["ROM-02-DBL"], rome, led) is None
    cheap = "Book the cheapest hotel room in Rome from 2027-01-17 to 2027-01-20."
    assert unchosen(["ROM-03-DBL"], cheap, _ledger(cheap, "search_hotels", HOTELS)) is None
    # a superlative about another thing written first does not decide for this list: the
    # hotel's is the one whose noun names it
    trip = ("Book the cheapest flight from LIS to FCO on 2027-01-17 and a room at the "
            "best-rated hotel in Rome until 2027-01-20.")
    worse = unchosen(["ROM-03-DBL"], trip, _ledger(trip, "search_hotels", HOTELS))
    assert worse is not None and worse.word == "best-rated"


@pytest.mark.parametrize(("request_text", "value", "body"), [
    # no superlative asked: any offer is a choice the request allows
    ("Book a flight from LIS to MAD on 2026-12-19.", "TP550-20261219-Y", OFFERS),
    # the user named the offer: theirs to choose
    ("Book the cheapest fare, offer TP550-20261219-Y, for Ana.", "TP550-20261219-Y", OFFERS),
    # one offer: nothing to compare with
    (CHEAPEST, "TP550-20261219-Y", {"offers": OFFERS["offers"][:1]}),
    # a tie on price is the cheapest too
    (CHEAPEST, "TP550-20261219-Y", {"offers": [
        OFFERS["offers"][0], {**OFFERS["offers"][1], "price": 84.99, "total_price": 84.99}]}),
    # a value read from no list
    (CHEAPEST, "TP550-20261219-Y", {"offer": OFFERS["offers"][0]}),
])
def test_choices_the_results_do_not_contradict(request_text: str, value: str,
                                               body: Any) -> None:
    led = _ledger(request_text, "search_flight_offers", body)
    assert unchosen([value], request_text, led) is None


@pytest.fixture(scope="module")
def toolset() -> Toolset:
    return Toolset.from_spec(spec_path("flights"))


def test_the_run_refuses_the_change_once_and_counts_it(toolset: Toolset) -> None:
    search = Step(1, "search_flight_offers", Obs(OFFERS),
                  {"origin": "LIS", "destination": "MAD", "departure_date": "2026-12-19"})
    booking = {"offer_id": "TP550-20261219-Y", "contact_email": "ana.silva@example.com",
               "passengers": [{"first_name": "Ana", "last_name": "Silva",
                               "birth_date": "1990-04-12"}]}
    run = RunGrounding(CHEAPEST, toolset, plan_for(toolset))
    [v] = run.ground_call("create_flight_booking", booking, [search])
    assert v.kind == "ungrounded" and v.path == "$.offer_id"
    assert '"IB317-20261219-Y" (flight_number IB317)' in v.message and "75.99" in v.message
    assert run.fired == {"calls_refused_superlative": 1}
    # the request may want the cheapest of a kind the list does not show: the second time,
    # the model's choice stands
    assert run.ground_call("create_flight_booking", booking, [search]) == []
    off = RunGrounding(CHEAPEST, toolset, plan_for(toolset), superlatives=False)
    assert off.ground_call("create_flight_booking", booking, [search]) == []
    # reads are never held by it
    assert RunGrounding(CHEAPEST, toolset, plan_for(toolset)).ground_call(
        "get_flight_offer", {"offer_id": "TP550-20261219-Y"}, [search]) == []


_OFFER = re.compile(r"\b([A-Z0-9]{2}\d{2,4}-\d{8}-[A-Z])\b")


def _first_offer_model(day: str, seen: list[str]) -> Any:
    """A model that searches in departure order, books the first offer it read — the one the
    refusal names instead when a note names one — and reports the booking."""
    def model(messages: Sequence[dict[str, Any]], tools: Any, n: int) -> Any:
        text = "\n".join(str(m.get("content") or "") for m in messages)
        seen.append(text)
        offers = list(dict.fromkeys(_OFFER.findall(text)))
        booked = re.findall(r"booking_id\W+([A-Z0-9]{6})", text)
        if not offers:
            return call("search_flight_offers", origin="LIS", destination="MAD",
                        departure_date=day, sort="departure_time", limit=5)
        if booked:
            return answer(f"Booked, reference {booked[-1]}.")
        named = re.findall(r'while "([^"]+)" \(', text)
        return call("create_flight_booking", offer_id=named[-1] if named else offers[0],
                    passengers=[{"first_name": "Ana", "last_name": "Silva",
                                 "birth_date": "1990-04-12"}],
                    contact_email="ana.silva@example.com")
    return model


async def test_over_a_socket_the_first_offer_is_not_booked_for_the_cheapest(
        grounding_services: DemoServices) -> None:
    """The demo flights API on loopback, searched in departure order: booking the first offer
    for "the cheapest" is refused before it is sent, the note names the cheapest offer of the
    results, and that one is booked."""
    day = (TODAY + timedelta(days=26)).isoformat()
    request = (f"Book the cheapest economy flight from LIS to MAD on {day} for Ana Silva "
               "(born 1990-04-12), email ana.silva@example.com.")
    flights = Toolset.from_spec(spec_path("flights"), base_url=grounding_services.flights_url)
    seen: list[str] = []
    async with Agent(ScriptedBackend(_first_offer_model(day, seen)), flights, policy="allow",
                     credentials=demo_credentials(flights, grounding_services.api_key)) as agent:
        result = await agent.run(request)
    assert result.status == "solved"
    [offers] = [n.observation.body["offers"] for n in _nodes(result.tree)
                if n.tool == "search_flight_offers" and n.observation is not None]
    cheapest = min(offers, key=lambda o: o["price"])
    assert offers[0]["offer_id"] != cheapest["offer_id"]  # departure order: the rule matters
    [booking] = [c for c in result.calls if c.tool == "create_flight_booking"]
    assert booking.arguments["offer_id"] == cheapest["offer_id"]
    assert result.stats["calls_refused_superlative"] == 1
    assert result.stats["rejected_ungrounded"] == 1 and result.stats["executed_ungrounded"] == 0
    assert any(f'while "{cheapest["offer_id"]}"' in t for t in seen)


def _nodes(node: Any) -> Any:
    yield node
    for child in node.children:
        yield from _nodes(child)
