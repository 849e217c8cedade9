"""Side effects in the search: at most once per identical request, no speculative alternatives
after a commit, compensation when backing up past one, refusals by policy."""

from __future__ import annotations

from agentrt.search import Budget, SearchConfig, dfs, run_search
from agentrt.testing import answer, call, give_up

from .conftest import obs

BOOK = {"offer_id": "O1", "passenger": "Ada"}


def booking(arguments):
    return obs("book_flight", arguments, status=201, body={"booking_id": "BK1", "status": "ok"})


def compensator(executor):
    async def compensate(tool, arguments, observation):
        if tool != "book_flight":
            return None
        args = {"booking_id": observation.body["booking_id"]}
        return "cancel_booking", args, await executor.execute("cancel_booking", args)

    return compensate


async def test_identical_side_effect_attempted_twice_is_executed_once(make_hooks):
    hooks, ex, requests = make_hooks([
        call("book_flight", **BOOK),
        call("book_flight", **BOOK),   # the model repeats the booking: refused, not sent
        answer("booked BK1"),
    ], {"book_flight": booking})
    result = await dfs("book", hooks, k=1)
    assert result.status == "solved"
    assert ex.count("book_flight") == 1
    assert result.stats["rejected_duplicate"] == 1
    assert "never sent twice" in requests[2].feedback[0].violations[0]
    assert [s.state for s in result.side_effects] == ["committed"]
    assert result.side_effects[0].backed_up_past is False
    assert result.side_effects[0].body == {"booking_id": "BK1", "status": "ok"}


async def test_identical_side_effects_in_one_batch_sent_once(make_hooks):
    hooks, ex, _ = make_hooks([
        [call("book_flight", **BOOK), call("book_flight", **BOOK)],
        answer("booked"),
    ], {"book_flight": booking})
    result = await dfs("book", hooks, k=2)
    assert ex.count("book_flight") == 1
    assert result.status == "solved"


async def test_lost_side_effect_is_never_resent(make_hooks):
    lost = {"book_flight": lambda a: obs("book_flight", a, "lost", status=None,
                                         message="sent, answer lost")}
    hooks, ex, _ = make_hooks([
        call("book_flight", **BOOK),
        call("book_flight", **BOOK),
        answer("could not confirm the booking"),
    ], lost)
    result = await dfs("book", hooks, k=1)
    assert ex.count("book_flight") == 1
    assert [s.state for s in result.side_effects] == ["lost"]
    assert result.side_effects[0].backed_up_past is True   # the answer does not build on it


async def test_no_speculative_alternative_after_commit_without_compensation(make_hooks):
    hooks, ex, _ = make_hooks([
        [call("send_email", to="a@x"), call("send_email", to="b@x")],
        give_up(),      # below the committed email: stuck
        answer("never reached"),
    ])
    result = await dfs("email", hooks, k=2)
    assert ex.count("send_email") == 1        # the sibling was NOT tried
    assert result.status == "gave_up"
    assert "no compensating operation" in result.reason
    effect = result.side_effects[0]
    assert effect.state == "committed" and effect.backed_up_past is True


async def test_backing_up_past_commit_compensates_then_tries_alternative(make_hooks):
    hooks, ex, _ = make_hooks([
        [call("book_flight", **BOOK), call("book_flight", offer_id="O2", passenger="Ada")],
        give_up(),      # below the first booking: stuck -> cancel it, then try O2
        answer("booked O2"),
    ], {"book_flight": booking})
    hooks = type(hooks)(**{**{f: getattr(hooks, f) for f in hooks.__dataclass_fields__},
                           "compensate": compensator(ex)})
    result = await dfs("book", hooks, k=2)
    assert result.status == "solved" and result.answer == "booked O2"
    assert [n for n, _ in ex.calls] == ["book_flight", "cancel_booking", "book_flight"]
    assert ex.calls[1][1] == {"booking_id": "BK1"}
    first, second = result.side_effects
    assert first.state == "compensated" and first.backed_up_past is True
    assert first.compensation["tool"] == "cancel_booking"
    assert second.state == "committed" and second.backed_up_past is False
    assert result.stats["compensations"] == 1
    assert [c.compensation for c in result.calls] == [False, True, False]


async def test_compensation_disabled_stops_the_run(make_hooks):
    hooks, ex, _ = make_hooks([
        [call("book_flight", **BOOK), call("book_flight", offer_id="O2", passenger="Ada")],
        give_up(),
    ], {"book_flight": booking})
    hooks = type(hooks)(**{**{f: getattr(hooks, f) for f in hooks.__dataclass_fields__},
                           "compensate": compensator(ex)})
    result = await run_search("book", hooks, config=SearchConfig.dfs(2, compensate=False))
    assert ex.count("book_flight") == 1 and ex.count("cancel_booking") == 0
    assert result.status == "gave_up"


async def test_failed_compensation_stops_the_run(make_hooks):
    responses = {"book_flight": booking,
                 "cancel_booking": lambda a: obs("cancel_booking", a, "server_error")}
    hooks, ex, _ = make_hooks([
        [call("book_flight", **BOOK), call("book_flight", offer_id="O2", passenger="Ada")],
        give_up(),
    ], responses)
    hooks = type(hooks)(**{**{f: getattr(hooks, f) for f in hooks.__dataclass_fields__},
                           "compensate": compensator(ex)})
    result = await dfs("book", hooks, k=2)
    assert result.status == "gave_up"
    assert ex.count("book_flight") == 1
    assert result.side_effects[0].state == "compensation_failed"


async def test_denied_side_effect_ends_refused(make_hooks):
    denied = {"book_flight": lambda a: obs("book_flight", a, "denied", status=None,
                                           message="the run's policy denies unsafe calls")}
    hooks, _ex, requests = make_hooks([call("book_flight", **BOOK), give_up()], denied)
    result = await run_search("book", hooks, config=SearchConfig.dfs(1),
                              budget=Budget(max_candidates_per_node=2))
    assert result.status == "refused"
    assert result.side_effects == []
    assert "policy" in requests[1].feedback[0].text
