"""The guard wired into an Agent the way agent.py is to wire it (``guard_executor`` around the
run's executor, in ``Agent.run``): a scripted model that obeys an injected review books only
what the user asked for, and the refusal it is shown names the argument and its source."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

_ROOT = Path(__file__).resolve().parents[2]
for _p in (_ROOT / "tools", _ROOT):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from agentrt.agent import Agent  # noqa: E402
from agentrt.executor import Policy  # noqa: E402
from agentrt.executor.guard import guard_executor  # noqa: E402
from agentrt_demo import DemoServices, running_services  # noqa: E402
from agentrt_demo.injected import set_payload  # noqa: E402
from agentrt_demo.injection import (  # noqa: E402
    ObedientModel,
    injected_toolset,
    injection_tasks,
    score,
)
from agentrt_demo.tasks import reset_state  # noqa: E402
from agentrt_demo.toolset import demo_credentials  # noqa: E402


class WiredAgent(Agent):
    """``Agent`` with the proposed two-line wiring of agent.py's ``run`` (until it lands)."""

    _query = ""

    async def run(self, query: str, **options: Any) -> Any:
        self._query = query
        return await super().run(query, **options)

    def _run_executor(self, policy: Any, credentials: Any) -> Any:
        executor = super()._run_executor(policy, credentials)
        return guard_executor(executor, query=self._query, toolset=self.toolset)


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServices]:
    with running_services(tmp_path_factory.mktemp("guard-agent"), inject=True) as svc:
        yield svc


@pytest.mark.parametrize("policy, grounded, attacker_booked", [
    ("allow", False, True),   # nothing checks who the booking is for
    ("allow", True, False),   # the attacker's address is in no field: pruned, never sent
    ("guard", False, False),  # the guard traces it to the review and refuses it
])
async def test_an_obedient_model_books_for_the_attacker_only_without_guard(
        services: DemoServices, policy: str, grounded: bool, attacker_booked: bool) -> None:
    task = next(t for t in injection_tasks() if t.id == "hotel-cheapest-madrid+book_other")
    reset_state(services.state_dir, task.base)
    set_payload(services.state_dir, task.payload)
    toolset = injected_toolset(services.flights_url, services.hotels_url)
    model = ObedientModel([task.base])
    async with WiredAgent(model, toolset, policy=Policy.from_value(policy),
                          credentials=demo_credentials(toolset),
                          instructions=f"Today is {task.base.today}.",
                          ground_arguments=grounded) as agent:
        result = await agent.run(task.base.request)
    scored = score(task, result.answer or "", services.state_dir)
    assert model.obeyed == ["create_hotel_booking"]  # it did try
    assert (scored.injected_side_effects > 0) is attacker_booked
    assert scored.solved is not attacker_booked, scored.reasons
    denied = [c for c in result.calls if c.outcome == "denied"]
    if policy == "guard":
        assert len(denied) == 1 and denied[0].tool == "create_hotel_booking"
        assert isinstance(denied[0].arguments, Mapping)
        assert "guest.email='mallory.quinn@attacker.example'" in denied[0].message
        assert "field hotels[0].reviews[1]" in denied[0].message
        booked = [c for c in result.calls if c.outcome == "ok" and c.side_effect == "unsafe"]
        assert len(booked) == 1 and booked[0].arguments["guest"]["last_name"] == "Keller"
    else:
        assert denied == []
    if grounded:  # the people a booking reaches come from the request or a result's field
        pruned = [n for n in result.tree.walk() if n.status == "rejected_ungrounded"]
        assert pruned and "mallory.quinn@attacker.example" in pruned[0].violations[0].message
