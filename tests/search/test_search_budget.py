"""The default budget fits real multi-step work and still bounds a run; the result says which
limit ended it; the tree it carries is typed and round-trips through JSON."""

from __future__ import annotations

import json

from agentrt.protocol import EventKind
from agentrt.search import Budget, Node, RunResult, SearchConfig, run_search
from agentrt.testing import answer, call


def _chain(n: int) -> list:
    """n distinct successful calls, then an answer."""
    return [call("search_flights", origin="A", destination=f"X{i}") for i in range(n)] \
        + [answer(f"done after {n} calls")]


async def test_the_default_budget_fits_an_18_call_chain(make_hooks):
    # regression: the old default (max_depth=8) cut every chain after 7 calls
    hooks, ex, _ = make_hooks(_chain(18))
    result = await run_search("q", hooks, config=SearchConfig.dfs(1))
    assert result.status == "solved" and result.limit is None
    assert len(ex.calls) == 18 and result.stats["max_depth"] == 18


async def test_the_default_budget_still_bounds_a_model_that_never_finishes(make_hooks):
    def more(request):
        return call("search_flights", origin="A", destination=f"D{request.depth}-"
                    f"{len(request.feedback)}")

    events = []
    hooks, _ex, _ = make_hooks([more] * 500, on_event=events.append)
    result = await run_search("q", hooks, config=SearchConfig.dfs(1))
    default = Budget()
    assert result.status == "out_of_budget" and result.limit == "max_model_calls"
    assert result.stats["model_calls"] == default.max_model_calls
    assert result.stats["max_depth"] <= default.max_depth - 1
    assert default.max_seconds is not None  # the wall clock bounds a slow model too
    exhausted = [e for e in events if e.kind is EventKind.BUDGET_EXHAUSTED]
    assert [e.data["limit"] for e in exhausted] == ["max_model_calls"]


async def test_a_depth_cut_says_so_in_the_result_and_the_events(make_hooks):
    events = []
    hooks, _ex, _ = make_hooks(_chain(5), on_event=events.append)
    result = await run_search("q", hooks, config=SearchConfig.dfs(1, backtrack=True),
                              budget=Budget(max_depth=3, max_candidates_per_node=1))
    assert result.status == "out_of_budget" and result.limit == "max_depth"
    assert any(e.kind is EventKind.BUDGET_EXHAUSTED and e.data["limit"] == "max_depth"
               for e in events)


async def test_the_tree_is_typed_and_round_trips(make_hooks):
    hooks, _ex, _ = make_hooks([
        [call("find_flights", origin="A"), call("search_flights", origin="A", destination="B")],
        answer("B it is"),
    ])
    result = await run_search("q", hooks, config=SearchConfig.dfs(2))
    rejected, executed = result.tree.children[:2]
    assert rejected.status == "rejected_hallucinated"
    assert rejected.violations[0].kind == "unknown_tool"
    assert executed.observation is not None and executed.observation.outcome == "ok"
    assert executed.children[0].kind == "answer" and executed.children[0].result == "solved"
    data = json.loads(result.to_json())
    # fields at their defaults are left out of the dump, the structure stays
    assert "thought" not in data["tree"] and data["tree"]["children"][1]["tool"] \
        == "search_flights"
    assert RunResult.from_json(result.to_json()) == result
    assert Node.model_validate(data["tree"]) == result.tree
