"""Grounding against the demo's reference solver, over a real socket: the oracle's answers to
all 52 tasks must pass the answer check (0 false refusals), its calls must pass the argument
check (0 false ungrounded), and deliberately wrong answers must be refused."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from agentrt.grounding import (
    GroundingPlan,
    Provenance,
    check_answer,
    check_arguments,
    extract_facts,
    invented_people,
    is_decline,
    is_question,
)
from agentrt.grounding.session import RunGrounding, plan_for
from agentrt.grounding.superlatives import contradicted
from agentrt_demo import DemoServices
from agentrt_demo.tasks import load_tasks
from tests.grounding.conftest import TODAY
from tests.grounding.oracle_calls import OracleRun, run_oracle, service_toolset

TASKS = load_tasks(today=TODAY)


@pytest.fixture(scope="module")
def runs(grounding_services: DemoServices) -> Iterator[dict[str, OracleRun]]:
    ts = service_toolset(grounding_services)
    yield {t.id: run_oracle(t, grounding_services, ts) for t in TASKS}


def ledger_of(request: str, run: OracleRun) -> Provenance:
    led = Provenance.from_request(request)
    for node, call in enumerate(run.calls, 1):
        if call.ok:
            led = led.with_observation(call.tool, call.body, node=node)
    return led


def test_all_52_tasks_are_covered() -> None:
    assert len(TASKS) == 52


def changes_of(run: OracleRun, grounding_services: DemoServices) -> int:
    """The oracle's successful calls that change something (rule 4 of the answer check)."""
    ts = service_toolset(grounding_services)
    return sum(1 for call in run.calls if call.ok and ts.get(call.tool).side_effect != "safe")


def test_oracle_answers_are_never_refused(runs: dict[str, OracleRun],
                                          grounding_services: DemoServices) -> None:
    refused = []
    for task in TASKS:
        run = runs[task.id]
        assert run.passed, (task.id, run.answer)  # the checker agrees these are right
        verdict = check_answer(run.answer, task.request, ledger_of(task.request, run),
                               made_calls=len(run.calls),
                               changes_made=changes_of(run, grounding_services))
        if not verdict.accepted:
            refused.append((task.id, verdict.note))
        # nor does a right answer ever call something the cheapest or earliest that isn't
        wrong = contradicted(run.answer, ledger_of(task.request, run))
        if wrong is not None:
            refused.append((task.id, str(wrong)))
    assert refused == []


def test_the_oracles_booking_answers_without_the_booking_are_refused(
        runs: dict[str, OracleRun], grounding_services: DemoServices) -> None:
    """Rule 4: the same answers on a path where the booking or cancellation did not happen
    (the policy held it back: only the look-ups' results are on the path) claim what was not
    done."""
    ts = service_toolset(grounding_services)
    refused = 0
    for task in TASKS:
        run = runs[task.id]
        if not task.expect.get("flight_bookings") and not task.expect.get("cancelled"):
            continue
        reads = [c for c in run.calls if ts.get(c.tool).side_effect == "safe"]
        led = ledger_of(task.request, OracleRun(answer=run.answer, calls=reads, passed=False))
        verdict = check_answer(run.answer, task.request, led, made_calls=len(reads),
                               changes_made=0)
        assert not verdict.accepted, (task.id, run.answer)
        refused += verdict.reason == "unbacked_claim"
    assert refused >= 2  # the rest name a booking reference no read returned: rule 1


def test_oracle_calls_are_never_ungrounded(runs: dict[str, OracleRun],
                                           grounding_services: DemoServices) -> None:
    ts = service_toolset(grounding_services)
    plan = GroundingPlan(ts.tools)
    flagged, checked, caught, people = [], 0, 0, 0
    for task in TASKS:
        led = Provenance.from_request(task.request)
        for node, call in enumerate(runs[task.id].calls, 1):
            tool = ts.get(call.tool)
            assert tool is not None
            for v in check_arguments(tool, call.arguments, led, plan=plan):
                flagged.append((task.id, call.tool, v.message))
            for v in invented_people(tool, call.arguments, led):  # names, e-mails: the user's
                flagged.append((task.id, call.tool, v.message))
            people += tool.side_effect == "unsafe"
            for arg in plan.rules(tool.name):  # the same call with an invented id
                if arg in call.arguments:
                    checked += 1
                    invented = {**call.arguments, arg: "ZZ9Q8W"}
                    got = check_arguments(tool, invented, led, plan=plan)
                    caught += [v.path for v in got] == [f"$.{arg}"]
            if call.ok:
                led = led.with_observation(call.tool, call.body, node=node)
    assert flagged == []
    assert people >= 20  # the oracle's bookings: every passenger and contact from the request
    assert checked >= 30  # bookings, cancels, airport look-ups: the check really ran
    assert caught == checked


def facts_of(answer: str, kind: str) -> list[str]:
    return [f.text for f in extract_facts(answer) if f.kind == kind]


def test_wrong_answers_are_refused(runs: dict[str, OracleRun]) -> None:
    tried = 0
    for task in TASKS:
        run = runs[task.id]
        led = ledger_of(task.request, run)
        n = len(run.calls)
        wrong: list[str] = []
        for ref in facts_of(run.answer, "reference") + facts_of(run.answer, "flight"):
            wrong.append(run.answer.replace(ref, "ZZ9Q8W"))        # invented reference
        for amount in facts_of(run.answer, "amount"):
            wrong.append(run.answer.replace(amount, "9,999.37 EUR"))  # invented price
        wrong.append(f"{run.answer} Your booking reference is BK-7Q2X9.")
        wrong.append(f"{run.answer} The total is €412.53.")
        wrong.append(f"{run.answer} Check-in closes at 04:59 on 2031-02-29.")  # (no such day)
        wrong.append(f"{run.answer} Check-in closes at 04:59 on 2031-03-01.")
        for answer in wrong:
            verdict = check_answer(answer, task.request, led, made_calls=n)
            assert not verdict.accepted, (task.id, answer)
            assert verdict.note.startswith("you have not looked this up yet")
            tried += 1
    assert tried >= 52 * 4




def test_the_oracles_answers_without_its_calls_are_refused(runs: dict[str, OracleRun]) -> None:
    """The same correct answers, made without calling anything, can only be made up."""
    passed_without_calls = []
    for task in TASKS:
        run = runs[task.id]
        if not run.calls:
            continue  # declines and questions: nothing to look up
        verdict = check_answer(run.answer, task.request, Provenance.from_request(task.request),
                               made_calls=0)
        if verdict.accepted:
            passed_without_calls.append((task.id, run.answer))
    assert passed_without_calls == []
    declines = [t for t in TASKS if not runs[t.id].calls]
    assert declines and all(is_decline(runs[t.id].answer) or is_question(runs[t.id].answer)
                            for t in declines)


@dataclass
class _Obs:
    ok: bool
    body: Any
    side_effect: str


@dataclass
class _Step:
    node: int
    tool: str
    observation: _Obs
    arguments: Any = None


def test_the_runs_answer_check_never_refuses_the_oracle(runs: dict[str, OracleRun],
                                                        grounding_services: DemoServices
                                                        ) -> None:
    """The whole answer check of a run (rules 1–4, the action rule, coverage, leftovers) on the
    oracle's own paths: 0 refusals; the trips' answers after the flight alone are refused
    (by coverage, and by the leftover rule with coverage off)."""
    ts = service_toolset(grounding_services)
    refused, partial, leftover = [], 0, 0
    for task in TASKS:
        run = runs[task.id]
        path = [_Step(i, c.tool, _Obs(c.ok, c.body, ts.get(c.tool).side_effect), c.arguments)
                for i, c in enumerate(run.calls, 1)]
        grounding = RunGrounding(task.request, ts, plan_for(ts))
        note = grounding.ground_answer(run.answer, path)
        if note is not None:
            refused.append((task.id, note))
        if task.category == "flight_and_hotel":
            first = next(i for i, s in enumerate(path) if s.tool == "create_flight_booking")
            ref = path[first].observation.body["booking_id"]
            half = f"Booked your flight, reference {ref}."
            cut = RunGrounding(task.request, ts, plan_for(ts), leftovers=False).ground_answer(
                half, path[:first + 1])
            partial += cut is not None and "also asked for hotel" in cut
            # the leftover rule sees it too, coverage off: the hotel's dates were not used
            left = RunGrounding(task.request, ts, plan_for(ts), coverage=False).ground_answer(
                half, path[:first + 1])
            leftover += left is not None and left.startswith("not finished yet?")
    assert refused == []
    assert partial == leftover == sum(t.category == "flight_and_hotel" for t in TASKS) == 4


def test_the_runs_call_check_never_refuses_the_oracle(runs: dict[str, OracleRun],
                                                      grounding_services: DemoServices) -> None:
    """The whole call check of a run (identifiers, people, the item a change acts on being of
    the kind the request asks for) on the oracle's own paths: 0 refusals — and the same
    bookings made on an offer of another cabin than the request names are refused."""
    ts = service_toolset(grounding_services)
    refused, other_cabin = [], 0
    for task in TASKS:
        run = runs[task.id]
        grounding = RunGrounding(task.request, ts, plan_for(ts))
        path: list[_Step] = []
        for i, c in enumerate(run.calls, 1):
            for v in grounding.ground_call(c.tool, c.arguments, path):
                refused.append((task.id, c.tool, v.message))
            path.append(_Step(i, c.tool, _Obs(c.ok, c.body, ts.get(c.tool).side_effect)))
        if "business" in task.request and any(c.tool == "create_flight_booking"
                                              for c in run.calls):
            search = next(s for s in path if s.tool == "search_flight_offers")
            offer = dict(search.observation.body["offers"][0], cabin="economy",
                         offer_id="XX1-20270101-Y")
            fake = _Step(99, "search_flight_offers",
                         _Obs(True, {"offers": [offer], "count": 1}, "safe"))
            got = grounding.ground_call("create_flight_booking",
                                        {"offer_id": "XX1-20270101-Y"}, [fake])
            other_cabin += any("cabin economy" in v.message for v in got)
    assert refused == []
    assert other_cabin >= 1
