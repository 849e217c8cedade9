"""A read that holds what a look-up asks about makes the answer due; a question back to the
user when the results hold the answer is refused once, like a decline."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from agentrt.grounding.session import RunGrounding, plan_for

AIRPORT = {"code": "HND", "name": "Tokyo Haneda Airport", "city": "Tokyo", "country": "JP"}


def step(tool: str, body: Any, *, node: int = 1, ok: bool = True,
         side_effect: str = "safe") -> SimpleNamespace:
    return SimpleNamespace(node=node, tool=tool, observation=SimpleNamespace(
        ok=ok, body=body, side_effect=side_effect))


def run_for(query: str, toolset: Any) -> RunGrounding:
    return RunGrounding(query, toolset, plan_for(toolset))


def test_a_read_holding_the_requests_facts_answers_it(demo_toolset: Any) -> None:
    run = run_for("What is the full name of the airport with IATA code HND?", demo_toolset)
    assert run.answered([step("get_airport", AIRPORT)])
    # a read that does not hold the code the request names (a flight search to elsewhere)
    # (node ids are a run's: each path below is a different branch)
    empty = step("search_flight_offers", {"offers": [], "count": 0}, node=2)
    assert not run.answered([empty])
    # the code read later on the same path: now it holds it
    assert run.answered([empty, step("get_airport", AIRPORT, node=3)])
    assert not run.answered([step("get_airport", AIRPORT, node=4, ok=False)])  # failed
    assert not run.answered([])


def test_no_facts_named_needs_data_and_an_action_never_answers_early(demo_toolset: Any) -> None:
    paris = run_for("Which airports serve Paris? Give their IATA codes.", demo_toolset)
    found = {"airports": [{"code": "CDG", "name": "Paris Charles de Gaulle Airport"}]}
    assert paris.answered([step("list_airports", found)])
    assert not paris.answered([step("list_airports", {"airports": []}, node=2)])
    book = run_for("Book the cheapest flight from HND to LIS on 2026-12-20 for Ana Silva.",
                   demo_toolset)
    assert not book.answered([step("get_airport", AIRPORT)])  # asked to act: not done yet
    # a change made is no read
    lookup = run_for("What is the status of booking K7QX2M?", demo_toolset)
    assert not lookup.answered([step("cancel_flight_booking", {"reference": "K7QX2M"},
                                     side_effect="unsafe")])


def test_asking_back_when_the_results_hold_the_answer_is_refused_once(demo_toolset: Any) -> None:
    # seen from the fine-tuned 0.5B: get_airport answered, then it asked the user the question
    run = run_for("What is the full name of the airport with IATA code HND?", demo_toolset)
    path = [step("get_airport", AIRPORT)]
    question = "What is the full name of the airport in Haneda, Japan?"
    note = run.ground_answer(question, path)
    assert note is not None and "instead of declining or asking" in note
    assert run.ground_answer(question, path) is None  # once: a second question is meant
    fresh = run_for("What is the full name of the airport with IATA code HND?", demo_toolset)
    assert fresh.ground_answer("HND is Tokyo Haneda Airport.", path) is None
