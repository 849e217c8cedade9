"""The baselines on the same engine: how dfsdt and react differ from dfs on the same script."""

from __future__ import annotations

from agentrt.search import Budget, SearchConfig, dfs, dfsdt, react, run_search
from agentrt.testing import answer, call, give_up

from .conftest import obs

FAIL_X = {"get_offer": lambda a: obs("get_offer", a, "client_error", status=404,
                                     message="no such offer")
          if a["offer_id"] == "X" else obs("get_offer", a, body={"price": 1})}


def script():
    """A hallucinated call, a failing call, the same failing call again, then success."""
    return [
        call("find_offer", offer_id="X"),
        call("get_offer", offer_id="X"),
        call("get_offer", offer_id="X"),
        call("get_offer", offer_id="Y"),
        answer("price 1"),
    ]


async def test_dfs_sends_nothing_invalid_and_no_repeat(make_hooks):
    hooks, ex, _ = make_hooks(script(), FAIL_X)
    result = await dfs("q", hooks, k=1)
    assert result.status == "solved"
    assert ex.calls == [("get_offer", {"offer_id": "X"}), ("get_offer", {"offer_id": "Y"})]
    assert result.stats["executed_invalid"] == 0
    assert result.stats["rejected_hallucinated"] == 1
    assert result.stats["rejected_duplicate"] == 1


async def test_dfsdt_executes_everything_and_never_prunes_on_errors(make_hooks):
    hooks, ex, requests = make_hooks(script(), FAIL_X)
    result = await dfsdt("q", hooks, k=2)
    assert result.status == "solved"
    # the hallucinated call went to the executor (which refused it), the failure was repeated
    assert [n for n, _ in ex.calls] == ["find_offer", "get_offer", "get_offer", "get_offer"]
    assert result.stats["executed_invalid"] == 1
    assert result.stats["hallucinated"] == 1
    assert result.stats["rejected_hallucinated"] == 0 and result.stats["rejected_duplicate"] == 0
    assert result.calls[0].outcome == "rejected"
    # errors are observations on a growing chain: the answer sits 4 steps deep
    assert len(result.path) == 6
    assert all(r.n == 1 for r in requests)


async def test_dfsdt_samples_siblings_sequentially_with_earlier_ones_listed(make_hooks):
    hooks, _ex, requests = make_hooks([
        call("search_flights", origin="A", destination="B"),
        give_up(),
        call("search_flights", origin="A", destination="C"),
        answer("C"),
    ])
    result = await dfsdt("q", hooks, k=2)
    assert result.status == "solved"
    assert [r.n for r in requests] == [1, 1, 1, 1]
    assert requests[2].node == 0
    assert any(f.kind == "dead_end" and f.arguments["destination"] == "B"
               for f in requests[2].feedback)


async def test_dfsdt_width_limits_siblings(make_hooks):
    hooks, _ex, requests = make_hooks([
        call("search_flights", origin="A", destination="B"), give_up(),
        call("search_flights", origin="A", destination="C"), give_up(),
        call("search_flights", origin="A", destination="D"), answer("never"),
    ])
    result = await dfsdt("q", hooks, k=2)
    assert result.status == "gave_up"
    assert len(requests) == 4


async def test_dfsdt_depth_prune(make_hooks):
    def deeper(request):
        return call("search_flights", origin="A", destination=f"D{request.depth}")

    hooks, _ex, _ = make_hooks([deeper] * 40)
    result = await run_search("q", hooks, config=SearchConfig.dfsdt(1),
                              budget=Budget(max_depth=4))
    assert result.stats["max_depth"] == 3
    assert result.status == "out_of_budget" and result.limit == "max_depth"


async def test_react_is_one_chain(make_hooks):
    hooks, _ex, requests = make_hooks(script(), FAIL_X)
    result = await react("q", hooks)
    assert result.status == "solved"
    assert result.stats["executed_invalid"] == 1
    assert all(r.n == 1 for r in requests)


async def test_react_give_up_ends_the_run(make_hooks):
    hooks, _ex, requests = make_hooks([
        call("search_flights", origin="A", destination="B"),
        give_up(),
        answer("never asked"),
    ])
    result = await react("q", hooks)
    assert result.status == "gave_up"
    assert len(requests) == 2


async def test_same_script_dfs_backtracks_where_react_cannot(make_hooks):
    steps = [
        [call("search_flights", origin="A", destination="B"),
         call("search_flights", origin="A", destination="C")],
        give_up(),
        answer("via C"),
    ]
    hooks, _, _ = make_hooks(list(steps))
    assert (await dfs("q", hooks, k=2)).status == "solved"
    hooks, _, _ = make_hooks(list(steps))
    assert (await react("q", hooks)).status == "gave_up"
