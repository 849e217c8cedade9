"""The provenance of values: request, observation (with its path), or nowhere."""

from __future__ import annotations

import time

from agentrt.grounding import Provenance, Source, ValueLedger
from agentrt.grounding.values import extract_facts

REQUEST = ("Book the cheapest economy flight from LIS to MAD on 2026-12-16 for Ana Silva "
           "(born 1990-04-12), 2 passengers, under 500 EUR. Email ana.silva@example.com.")
OFFERS = {"offers": [
    {"offer_id": "IB317-20261216-Y", "flight_number": "IB317", "price": 75.99,
     "departure_time": "21:50", "segments": [{"departure": "2026-12-16T21:50"}]},
    {"offer_id": "TP550-20261216-Y", "flight_number": "TP550", "price": 84.99,
     "departure_time": "11:45", "segments": [{"departure": "2026-12-16T11:45"}]},
], "count": 2}


def ledger() -> Provenance:
    return Provenance.from_request(REQUEST).with_observation("search_flight_offers", OFFERS,
                                                             node=3)


def test_observation_source_names_node_tool_and_path() -> None:
    assert ledger().source("TP550-20261216-Y") == Source(
        kind="observation", node=3, tool="search_flight_offers", path="offers[1].offer_id")


def test_request_source_wins_over_observations() -> None:
    assert ledger().source("2026-12-16") == Source(kind="request")
    srcs = ledger().sources("2026-12-16")
    assert srcs[0].kind == "request"
    assert {s.path for s in srcs[1:]} == {"offers[0].segments[0].departure",
                                          "offers[1].segments[0].departure"}


def test_made_up_values_have_no_source() -> None:
    led = ledger()
    for invented in ("K7QX2M", "IB318-20261216-Y", 76.0, "22:50", "2026-12-17", "Joao Silva"):
        assert led.source(invented) is None, invented
        assert not led.grounded(invented)


def test_codes_are_case_insensitive_and_whitespace_is_ignored() -> None:
    led = ledger()
    assert led.source(" ib317-20261216-y ") is not None
    assert led.source("lis") == Source(kind="request")


def test_numbers_match_across_forms() -> None:
    led = ledger()
    for form in (75.99, "75.99", "€75.99", "75.99 EUR", "75,99 €"):
        assert led.source(form) is not None, form
    assert led.source(500) == Source(kind="request")
    assert led.source(2) == Source(kind="request")


def test_times_and_dates_inside_datetimes() -> None:
    led = ledger()
    assert led.source("11:45").path == "offers[1].departure_time"  # type: ignore[union-attr]
    assert led.source("7:05") is None


def test_one_word_inside_a_longer_string_is_found() -> None:
    led = Provenance().with_observation("create_booking", {"message": "booking K7QX2M is held"},
                                        node=1)
    assert led.source("K7QX2M") == Source(kind="observation", node=1, tool="create_booking",
                                          path="message")
    assert led.source("K7QX2M held") is None  # several words must be one whole value


def test_phrases_of_the_request() -> None:
    led = Provenance.from_request(REQUEST)
    assert led.in_request("Ana Silva") and led.in_request("ana  silva")
    assert not led.in_request("Silva Ana")


def test_object_keys_with_digits_are_values() -> None:
    led = Provenance().with_observation("rooms", {"rooms": {"LIS-03-DBL": {"free": True}}})
    assert led.source("LIS-03-DBL") is not None
    assert led.source("rooms") is None


def test_with_observation_leaves_the_parent_unchanged() -> None:
    parent = Provenance.from_request(REQUEST)
    child = parent.with_observation("search_flight_offers", OFFERS, node=3)
    sibling = parent.with_observation("get_booking", {"booking_id": "K7QX2M"}, node=4)
    assert parent.source("IB317") is None and len(parent) == 0
    assert child.source("IB317") is not None and child.source("K7QX2M") is None
    assert sibling.source("K7QX2M") is not None and sibling.source("IB317") is None
    assert ValueLedger is Provenance


def test_build_a_whole_path_and_earliest_observation_wins() -> None:
    led = Provenance.build(REQUEST, [("search_flight_offers", 1, OFFERS),
                                     ("get_offer", 2, OFFERS["offers"][0])])  # type: ignore[index]
    assert led.source("IB317-20261216-Y").node == 1  # type: ignore[union-attr]
    assert [s.node for s in led.sources("IB317-20261216-Y")] == [1, 2]
    assert led.observations == (("search_flight_offers", 1), ("get_offer", 2))


def test_field_values_by_name_tool_and_generic_path() -> None:
    led = ledger()
    assert [v.value for v in led.field_values("offer_id")] == ["IB317-20261216-Y",
                                                               "TP550-20261216-Y"]
    assert led.field_values("offer_id", tool="other") == ()
    assert len(led.field_values("offer_id", path="offers[].offer_id")) == 2


def test_fact_sources_and_derived_amounts() -> None:
    led = ledger()
    per_person, = extract_facts("75.99 EUR")
    twice, = extract_facts("151.98 EUR")       # 2 × 75.99: a total for two
    both, = extract_facts("160.98 EUR")        # 75.99 + 84.99
    invented, = extract_facts("151.99 EUR")
    assert led.fact_sources(per_person)
    assert not led.fact_sources(twice) and led.derived_amount(twice)
    assert led.derived_amount(both)
    assert not led.fact_sources(invented) and not led.derived_amount(invented)


def test_counts_and_request_numbers_are_no_operands() -> None:
    led = Provenance.from_request("Book for 2 people on 2026-12-16.").with_observation(
        "search", {"offers": [{"price": 75.99, "seats_left": 12}], "count": 1})
    plus_count, = extract_facts("87.99 EUR")   # 75.99 + 12 seats: not an amount
    plus_day, = extract_facts("91.99 EUR")     # 75.99 + 16 from the date: not either
    assert not led.derived_amount(plus_count) and not led.derived_amount(plus_day)
    priced = Provenance().with_observation("quote", {"label": "EUR 10.50", "n": 3})
    thrice, = extract_facts("31.50 EUR")
    assert priced.derived_amount(thrice)  # an amount written in a string is an operand


def test_index_once_lookups_stay_fast() -> None:
    big = {"offers": [{"offer_id": f"XX{i}-20261216-Y", "price": i + 0.5,
                       "departure_time": f"{i % 24:02d}:{i % 60:02d}"} for i in range(50)]}
    start = time.perf_counter()
    led = Provenance.from_request(REQUEST)
    for node in range(20):  # a 20-step path of 50-offer results
        led = led.with_observation("search", big, node=node)
    built = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(1000):
        assert led.source("XX49-20261216-Y") is not None
        assert led.source("nope-123") is None
    looked = time.perf_counter() - start
    assert built < 5.0 and looked < 2.0, (built, looked)
