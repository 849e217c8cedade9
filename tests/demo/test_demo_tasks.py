"""The demo task set and its checker: a scripted correct run passes every task, wrong runs fail."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest

from agentrt_demo import DEMO_API_KEY, DemoServices
from agentrt_demo.oracle import oracle_runner
from agentrt_demo.task_model import CATEGORIES
from agentrt_demo.tasks import check_task, load_tasks, reset_state, run_task

TASKS = load_tasks()
IDS = [t.id for t in TASKS]
BOOKING = {"book_cheapest", "book_earliest", "book_nonstop", "hotel", "flight_and_hotel", "multi_passenger"}


def test_task_set_shape() -> None:
    assert len(TASKS) >= 40
    assert len(set(IDS)) == len(IDS)
    counts = Counter(t.category for t in TASKS)
    assert set(counts) == set(CATEGORIES)
    assert all(n >= 3 for n in counts.values()), counts
    assert all("{date" not in t.request for t in TASKS)  # templates resolved
    assert all(t.expect.get("facts") for t in TASKS)  # every task checks its answer too


@pytest.mark.parametrize("task", TASKS, ids=IDS)
def test_correct_calls_pass(task, services: DemoServices) -> None:  # type: ignore[no-untyped-def]
    result = run_task(task, oracle_runner(task), services=services)
    assert result.passed, (result.reasons, result.answer)


def _has_choice(task, services: DemoServices) -> bool:  # type: ignore[no-untyped-def]
    """Whether a worse offer than the right one exists (else "wrong_offer" cannot be wrong)."""
    reset_state(services.state_dir, task)
    with httpx.Client(headers={"X-API-Key": DEMO_API_KEY}) as c:
        for spec in task.expect.get("flight_bookings", []):
            r = c.get(f"{services.flights_url}/offers", params={
                "origin": spec["origin"], "destination": spec["destination"],
                "departure_date": spec["date"], "nonstop_only": str(bool(spec.get("nonstop"))).lower()})
            if r.json()["count"] < 2:
                return False
    return True


@pytest.mark.parametrize("task", TASKS, ids=IDS)
def test_wrong_calls_fail(task, services: DemoServices) -> None:  # type: ignore[no-untyped-def]
    mistakes = ["extra_booking", "silent"]
    if task.category in {"book_cheapest", "book_earliest", "book_nonstop", "hotel"} and _has_choice(
            task, services):
        mistakes.append("wrong_offer")
    if task.category == "multi_passenger":
        mistakes.append("wrong_passengers")
    if task.expect.get("cancelled"):
        mistakes.append("skip_cancel")
    for mistake in mistakes:
        result = run_task(task, oracle_runner(task, mistake=mistake), services=services)
        assert not result.passed, (mistake, result.answer)


def test_checker_alone_rejects_doing_nothing(services: DemoServices) -> None:
    task = next(t for t in TASKS if t.category == "flight_and_hotel")
    reset_state(services.state_dir, task)
    result = check_task(task, "All booked!", services.state_dir)
    assert not result.passed
    assert any("expected 1 new flight booking" in r for r in result.reasons)
    assert any("expected 1 new hotel booking" in r for r in result.reasons)


async def test_run_task_with_async_runner_and_own_services() -> None:
    task = next(t for t in TASKS if t.id == "lookup-airport-lis")

    async def runner(request: str, flights_url: str, hotels_url: str) -> str:
        assert "LIS" in request and flights_url.startswith("http://127.0.0.1:")
        return "LIS is Humberto Delgado Airport."

    from agentrt_demo.tasks import arun_task
    result = await arun_task(task, runner)
    assert result.passed and result.seconds >= 0
