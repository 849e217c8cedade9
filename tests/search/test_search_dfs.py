"""The dfs search over injected callables: one test per branch of the algorithm."""

from __future__ import annotations

import itertools

from agentrt.search import Budget, SearchConfig, dfs, run_search
from agentrt.testing import answer, call, call_raw, give_up, unparseable

from .conftest import obs


def statuses(result, kind=None):
    """Status of every non-root node, in id order."""
    return sorted((n.id, n.status, n.result) for n in result.tree.walk()
                  if n.kind != "root" and (kind is None or n.kind == kind))


async def test_straight_path_solves(make_hooks):
    hooks, ex, requests = make_hooks([
        call("search_flights", "look", origin="LHR", destination="CDG"),
        answer("AF1 at 120 EUR"),
    ])
    result = await dfs("cheapest LHR-CDG", hooks, k=1)
    assert result.status == "solved"
    assert result.answer == "AF1 at 120 EUR"
    assert ex.calls == [("search_flights", {"origin": "LHR", "destination": "CDG"})]
    assert result.stats["model_calls"] == 2
    assert result.stats["executed"] == 1 and result.stats["executed_invalid"] == 0
    assert [c.on_path for c in result.calls] == [True]
    assert result.path == [0, 1, 2]
    # the second request saw the first step and its observation on the path
    assert requests[1].path[0].tool == "search_flights"
    assert requests[1].path[0].observation.ok


async def test_hallucinated_tool_is_rejected_without_io_and_shown(make_hooks):
    hooks, ex, _requests = make_hooks([
        [call("find_flights", origin="LHR"), call("search_flights", origin="LHR",
                                                   destination="CDG")],
        answer("found"),
    ])
    result = await dfs("q", hooks, k=2)
    assert result.status == "solved"
    assert ex.calls == [("search_flights", {"origin": "LHR", "destination": "CDG"})]
    assert result.stats["rejected_hallucinated"] == 1
    assert result.stats["hallucinated"] == 1
    assert result.stats["executed_invalid"] == 0
    assert statuses(result)[0][1] == "rejected_hallucinated"
    node = result.tree.children[0]
    assert node.violations[0].kind == "unknown_tool"


async def test_invalid_arguments_then_repair(make_hooks):
    hooks, ex, requests = make_hooks([
        call("search_flights", origin="LHR"),                       # missing destination
        call("search_flights", origin="LHR", destination="CDG"),    # repaired
        answer("ok"),
    ])
    result = await dfs("q", hooks, k=1)
    assert result.status == "solved"
    assert result.stats["rejected_invalid"] == 1
    assert len(ex.calls) == 1
    # the violation reached the model on the next attempt at the same node
    fb = requests[1].feedback
    assert fb and fb[0].kind == "rejected" and "destination is required" in fb[0].violations[0]
    assert requests[1].node == 0


async def test_malformed_arguments_string_is_invalid(make_hooks):
    hooks, ex, _ = make_hooks([call_raw("search_flights", "{origin: LHR"), give_up(), give_up()])
    result = await run_search("q", hooks, config=SearchConfig.dfs(1),
                              budget=Budget(max_candidates_per_node=3))
    assert ex.calls == []
    assert result.stats["rejected_invalid"] == 1
    assert result.status == "gave_up"


async def test_failing_api_prunes_and_next_attempt_must_differ(make_hooks):
    responses = {"get_offer": lambda a: obs("get_offer", a, "client_error", status=404,
                                            message="no such offer")
                 if a["offer_id"] == "X" else obs("get_offer", a, body={"price": 1})}
    hooks, ex, requests = make_hooks([
        call("get_offer", offer_id="X"),
        call("get_offer", offer_id="X"),      # identical to a failed call: rejected, no I/O
        call("get_offer", offer_id="Y"),
        answer("price 1"),
    ], responses)
    result = await dfs("q", hooks, k=1)
    assert result.status == "solved"
    assert ex.calls == [("get_offer", {"offer_id": "X"}), ("get_offer", {"offer_id": "Y"})]
    assert result.stats["rejected_duplicate"] == 1
    assert result.stats["executed_failed"] == 1
    # the failure was shown at the node (diversity note), and the failed node is pruned
    assert any(f.kind == "failed" and "no such offer" in f.text for f in requests[1].feedback)
    assert statuses(result)[0] == (1, "accepted", "failed")
    dup = [n for n in statuses(result) if n[1] == "rejected_duplicate"]
    assert len(dup) == 1


async def test_duplicate_of_failed_call_rejected_on_another_branch(make_hooks):
    """The failure memo is run-wide: a different branch may not repeat the failed call."""
    responses = {"get_offer": lambda a: obs("get_offer", a, "server_error", status=503)}
    hooks, ex, _ = make_hooks([
        call("search_flights", origin="A", destination="B"),
        call("get_offer", offer_id="X"),      # fails
        give_up(),                            # back to the root
        call("search_flights", origin="A", destination="C"),
        call("get_offer", offer_id="X"),      # same as the failed call: rejected
        answer("nothing"),
    ], responses)
    result = await dfs("q", hooks, k=1)
    assert result.status == "solved"
    assert ex.count("get_offer") == 1
    assert result.stats["rejected_duplicate"] == 1


async def test_sibling_dead_end_is_not_repeated_and_batch_duplicates_dropped(make_hooks):
    hooks, ex, requests = make_hooks([
        [call("search_flights", origin="A", destination="B"),
         call("search_flights", origin="A", destination="B"),   # same as its sibling
         call("search_flights", origin="A", destination="C")],
        give_up(),          # under A-B: dead end
        answer("A-C"),      # under A-C
    ])
    result = await dfs("q", hooks, k=3)
    assert result.status == "solved"
    assert [a["destination"] for _, a in ex.calls] == ["B", "C"]
    assert result.stats["rejected_duplicate"] == 1
    assert result.stats["model_calls"] == 3
    assert requests[0].n == 3


async def test_give_up_backs_up_to_parent(make_hooks):
    hooks, _ex, _requests = make_hooks([
        [call("search_flights", origin="A", destination="B"),
         call("search_flights", origin="A", destination="C")],
        give_up("stuck"),
        answer("via C"),
    ])
    result = await dfs("q", hooks, k=2)
    assert result.status == "solved" and result.answer == "via C"
    nodes = result.tree.index()
    assert nodes[1].result == "dead_end"
    assert nodes[2].result == "solved"
    assert result.calls[0].on_path is False and result.calls[1].on_path is True


async def test_give_up_at_root_restarts_then_exhausts(make_hooks):
    hooks, _ex, requests = make_hooks([give_up(), give_up(), give_up()])
    result = await run_search("q", hooks, config=SearchConfig.dfs(1),
                              budget=Budget(max_candidates_per_node=3))
    assert result.status == "gave_up"
    assert result.answer is None
    assert len(requests) == 3
    assert any(f.kind == "gave_up" for f in requests[1].feedback)


async def test_unparseable_is_rejected_and_counted(make_hooks):
    hooks, _ex, requests = make_hooks([unparseable(), answer("fine")])
    result = await dfs("q", hooks, k=1)
    assert result.status == "solved"
    assert result.stats["rejected_unparseable"] == 1
    assert requests[1].feedback[0].violations == ("no JSON step found",)


async def test_budget_model_calls(make_hooks):
    steps = [call("search_flights", origin="A", destination=f"X{i}") for i in range(10)]
    hooks, _ex, _ = make_hooks(steps)
    result = await run_search("q", hooks, config=SearchConfig.dfs(1),
                              budget=Budget(max_model_calls=3, max_depth=20))
    assert result.status == "out_of_budget"
    assert result.limit == "max_model_calls"
    assert result.stats["model_calls"] == 3
    # the best partial result is the deepest successful chain
    assert len(result.path) == 4 and all(c.on_path for c in result.calls)


async def test_budget_depth_in_steps(make_hooks):
    steps = [call("search_flights", origin="A", destination=f"X{i}") for i in range(10)]
    hooks, ex, _ = make_hooks(steps)
    result = await run_search("q", hooks, config=SearchConfig.dfs(1, backtrack=False),
                              budget=Budget(max_depth=3, max_candidates_per_node=1))
    assert len(ex.calls) == 2       # the third step may only finish: no wasted call
    assert result.stats["max_depth"] == 2
    assert result.status in ("gave_up", "out_of_budget")


async def test_depth_limit_everywhere_is_out_of_budget(make_hooks):
    def always_call(request):
        return call("search_flights", origin="A", destination=f"D{request.depth}-{request.n}")

    hooks, _ex, _ = make_hooks([always_call] * 50)
    result = await run_search("q", hooks, config=SearchConfig.dfs(1),
                              budget=Budget(max_depth=2, max_candidates_per_node=1))
    assert result.status == "out_of_budget"
    assert result.limit == "max_depth"


async def test_budget_wall_time_with_fake_clock(make_hooks):
    ticks = itertools.count(0, 10)    # every clock read advances 10 s
    steps = [call("search_flights", origin="A", destination=f"X{i}") for i in range(10)]
    hooks, _ex, _ = make_hooks(steps)
    result = await run_search("q", hooks, config=SearchConfig.dfs(1),
                              budget=Budget(max_seconds=45, max_depth=20),
                              clock=lambda: float(next(ticks)))
    assert result.status == "out_of_budget"
    assert result.limit == "max_seconds"


async def test_budget_wall_time_cancels_a_hanging_model(make_hooks):
    import asyncio

    async def hang(request):
        await asyncio.sleep(30)

    hooks, _, _ = make_hooks([])
    hooks = type(hooks)(propose=hang, execute=hooks.execute, check=hooks.check)
    result = await run_search("q", hooks, budget=Budget(max_seconds=0.2))
    assert result.status == "out_of_budget"
    assert result.limit == "max_seconds"


async def test_budget_executed_calls(make_hooks):
    steps = [call("search_flights", origin="A", destination=f"X{i}") for i in range(10)]
    hooks, ex, _ = make_hooks(steps)
    result = await run_search("q", hooks, config=SearchConfig.dfs(1),
                              budget=Budget(max_executed=2, max_depth=20))
    assert len(ex.calls) == 2
    assert result.limit == "max_executed"


async def test_answer_check_rejects_then_accepts(make_hooks):
    def must_cite_reference(text, result):
        assert result.status == "solved"  # the result as it would be
        return None if "REF" in text else "the answer must mention the booking reference"

    hooks, _ex, requests = make_hooks([
        call("search_flights", origin="A", destination="B"),
        answer("booked"),
        answer("booked, REF ABC123"),
    ], answer_check=must_cite_reference)
    result = await dfs("q", hooks, k=1)
    assert result.status == "solved" and "ABC123" in result.answer
    assert result.stats["answers_rejected"] == 1
    fb = requests[2].feedback
    assert fb[0].kind == "answer_rejected" and "booking reference" in fb[0].text
    rejected = [n for n in statuses(result) if n[1] == "rejected_answer"]
    assert len(rejected) == 1


async def test_async_answer_check(make_hooks):
    async def never(text, result):
        return "no"

    hooks, _, _ = make_hooks([answer("a"), answer("b")], answer_check=never)
    result = await run_search("q", hooks, config=SearchConfig.dfs(1),
                              budget=Budget(max_candidates_per_node=2))
    assert result.status == "gave_up"
    assert result.stats["answers_rejected"] == 2


async def test_events_are_emitted(make_hooks):
    events = []
    hooks, _, _ = make_hooks([[call("nope"), call("search_flights", origin="A",
                                                  destination="B")], answer("x")],
                             on_event=events.append)
    await dfs("q", hooks, k=2)
    kinds = [e.kind for e in events]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    for kind in ("expanded", "candidate_rejected", "call_executed", "answer"):
        assert kind in kinds
    rejected = next(e for e in events if e.kind == "candidate_rejected")
    assert rejected.data["status"] == "rejected_hallucinated"


async def test_repeating_a_call_already_on_the_path_is_a_loop(make_hooks):
    """Seen with the 0.5B model: the same successful lookup proposed again at every level."""
    same = call("search_flights", origin="A", destination="B")
    hooks, ex, requests = make_hooks([same, same, answer("AF1")])
    result = await dfs("q", hooks, k=1)
    assert result.status == "solved"
    assert len(ex.calls) == 1
    assert result.stats["rejected_duplicate"] == 1
    assert "already made in this conversation" in requests[2].feedback[0].violations[0]


async def test_a_node_that_only_repeats_is_a_dead_end(make_hooks):
    """Diversity enforced, not asked for: after ``max_repeats`` refused repeats at one node
    the search backs up instead of asking the model again; the repeat is never sent."""
    first = call("search_flights", origin="A", destination="B")
    other = call("search_flights", origin="A", destination="C")
    # below the first search the model repeats it three times: that node is given up (not
    # asked a fourth time); back at the root the repeat is refused once more, then a
    # different call is made and answered
    hooks, ex, requests = make_hooks([first, first, first, first, first, other,
                                      answer("done")])
    result = await dfs("q", hooks, k=1, config=SearchConfig.dfs(1, max_repeats=3))
    assert result.status == "solved"
    assert [args["destination"] for _, args in ex.calls] == ["B", "C"]
    assert result.stats["repeat_dead_ends"] == 1
    assert result.stats["rejected_duplicate"] == 4
    assert [r.node for r in requests].count(1) == 3  # node 1 was asked exactly max_repeats times


async def test_after_a_repeat_the_model_is_asked_for_an_answer_only(make_hooks):
    """The data the model wants again is on the path: the request after a refused repeat
    allows only an answer (a grammar backend enforces it), once; then it asks normally."""
    first = call("search_flights", origin="A", destination="B")
    hooks, ex, requests = make_hooks([first, first, answer("AF1 at 10:00")])
    result = await dfs("q", hooks, k=1)
    assert result.status == "solved" and result.answer == "AF1 at 10:00"
    assert [r.answer_only for r in requests] == [False, False, True]
    assert result.stats["answer_only_requests"] == 1 and len(ex.calls) == 1
    off = await dfs("q", make_hooks([first, first, answer("x")])[0], k=1,
                    config=SearchConfig.dfs(1, answer_after_repeat=False))
    assert off.stats["answer_only_requests"] == 0


async def test_after_a_denied_side_effect_the_model_is_asked_for_an_answer_only(make_hooks):
    """A change the policy refused (guard, deny, a person declining) is not retried in other
    forms by default: the next request at that node allows only an answer, once, and its note
    tells the model to report what it found or ask for what is missing."""
    from agentrt.prompts import build_messages

    search = call("search_flights", origin="A", destination="B")
    book = call("book_flight", offer_id="AF1", passenger="John Doe")
    denied = obs("book_flight", {}, "denied", status=None,
                 message="passenger='John Doe' comes from nowhere")
    hooks, ex, requests = make_hooks([search, book, answer("AF1 costs 80 EUR"), book],
                                     responses={"book_flight": denied})
    result = await dfs("cheapest A to B?", hooks, k=1)
    assert result.status == "solved" and result.answer == "AF1 costs 80 EUR"
    assert [r.answer_only for r in requests] == [False, False, True]
    assert result.stats["answer_only_requests"] == 1 and ex.count("book_flight") == 1
    note = build_messages(requests[2], system="s", native=True)[-1]["content"]
    assert "without changing anything" in note and "denied" in note
    off_hooks, _, off_requests = make_hooks([search, book, answer("x")],
                                            responses={"book_flight": denied})
    await dfs("q", off_hooks, k=1, config=SearchConfig.dfs(1, answer_after_denial=False))
    assert [r.answer_only for r in off_requests] == [False, False, False]


async def test_a_run_stuck_on_what_only_the_user_can_give_ends_with_the_runtimes_question(
        make_hooks):
    """No accepted answer after ask_user refusals: the run ends needs_input, its answer a
    question naming the refused paths; nothing was sent for them. Without such refusals, or
    with ask_when_stuck=False, a stuck run still gives up without an answer."""
    from agentrt.validation import Violation

    search = call("search_flights", origin="A", destination="B")
    book = call("book_flight", offer_id="AF1", passenger="John Doe")

    def ground(tool, arguments, path):
        if tool != "book_flight":
            return []
        return [Violation(kind="ungrounded", path=f"$.passengers[0].{k}", ask_user=True,
                          message=f"{k} is nobody's: ask the user")
                for k in ("first_name", "last_name")] + [Violation(
                    kind="ungrounded", path="$.contact_email", ask_user=True, message="m")]

    hooks, ex, _ = make_hooks([search, book], ground=ground)
    result = await dfs("book a flight A to B", hooks, k=1)
    assert result.status == "needs_input" and result.answer is not None
    assert result.missing == ["passengers.first_name", "passengers.last_name", "contact_email"]
    assert result.answer.endswith("?") and \
        "passengers (first name, last name); contact email" in result.answer
    assert ex.count("book_flight") == 0 and "only the user can give" in result.reason
    assert type(result).from_json(result.to_json()).missing == result.missing

    plain, _, _ = make_hooks([search, book])            # nothing refused: it just gave up
    stuck = await dfs("book a flight A to B", plain, k=1)
    assert stuck.status != "needs_input" and stuck.missing == []
    off, _, _ = make_hooks([search, book], ground=ground)
    kept = await dfs("q", off, k=1, config=SearchConfig.dfs(1, ask_when_stuck=False))
    assert kept.status == "gave_up" and kept.answer is None
    # refusals of a call the request does not ask for (a booking in a look-up) ask nothing
    lookup, _, _ = make_hooks([search, book], ground=ground, asked_for=lambda tool: False)
    looked = await dfs("what does A to B cost?", lookup, k=1)
    assert looked.status == "gave_up" and looked.answer is None


async def test_a_refused_call_proposed_again_at_the_node_is_a_repeat(make_hooks):
    """A call the checks refused here (invalid, ungrounded) is not checked and refused in the
    same way again and again: a second proposal of it is a repeat, and repeats end the node."""
    from agentrt.validation import Violation

    invented = call("cancel_booking", booking_id="ZZ9999")

    def ground(tool, arguments, path):
        if arguments.get("booking_id") == "ZZ9999":
            return [Violation(kind="ungrounded", path="$.booking_id", message="invented")]
        return []

    hooks, ex, _ = make_hooks([invented, invented, invented, invented, invented],
                              ground=ground)
    result = await dfs("cancel my booking", hooks, k=1,
                       config=SearchConfig.dfs(1, max_repeats=2))
    assert ex.calls == []
    assert result.stats["rejected_ungrounded"] == 1
    assert result.stats["rejected_duplicate"] == 2 and result.stats["repeat_dead_ends"] == 1
    assert result.stats["model_calls"] == 3  # then the node is a dead end


async def test_a_call_refused_for_what_only_the_user_can_give_asks_for_an_answer(make_hooks):
    """When grounding refuses a call for a value only the user can supply (who a booking is
    for), the next request at that node allows only an answer, with a note to ask the user;
    with answer_after_ask_user=False the model may propose calls again."""
    from agentrt.prompts import build_messages
    from agentrt.validation import Violation

    search = call("search_flights", origin="A", destination="B")
    book = call("book_flight", offer_id="AF1", passenger="John Doe")

    def ground(tool, arguments, path):
        if tool == "book_flight":
            return [Violation(kind="ungrounded", path="$.passenger", ask_user=True,
                              message="passenger 'John Doe' is nobody's: ask the user")]
        return []

    question = answer("Who is travelling? Please give the passenger's name.")
    hooks, ex, requests = make_hooks([search, book, question], ground=ground)
    result = await dfs("book a flight A to B", hooks, k=1)
    assert result.status == "solved" and "?" in (result.answer or "")
    assert [r.answer_only for r in requests] == [False, False, True]
    assert ex.count("book_flight") == 0
    note = build_messages(requests[2], system="s", native=True)[-1]["content"]
    assert "ask them for what is missing" in note
    assert Violation(kind="ungrounded", path="$", message="m", ask_user=True).to_dict()[
        "ask_user"] is True
    off_hooks, _, off_requests = make_hooks([search, book, question], ground=ground)
    await dfs("q", off_hooks, k=1, config=SearchConfig.dfs(1, answer_after_ask_user=False))
    assert [r.answer_only for r in off_requests] == [False, False, False]


async def test_a_read_that_answers_the_request_makes_the_answer_due(make_hooks):
    """The run's grounding says the path's results hold what the request asks about: the
    next request allows only an answer — at most ``answer_after_lookup`` times a run; a
    refused answer lets the node ask again with every tool."""
    look = call("search_flights", origin="HND", destination="LIS")
    seen: list[int] = []

    def answered(path):
        seen.append(len(path))
        return path[-1].tool == "search_flights"

    hooks, ex, requests = make_hooks([look, answer("AF1 leaves HND at 10:00")],
                                     answered=answered)
    result = await dfs("Which flights leave HND for LIS?", hooks, k=1)
    assert result.status == "solved" and len(ex.calls) == 1
    assert [r.answer_only for r in requests] == [False, True]
    assert result.stats["answer_after_lookup"] == 1 == result.stats["answer_only_requests"]
    assert seen == [1]
    # refused answers: the node asks again normally; the cap holds across the run
    again = call("search_flights", origin="NRT", destination="LIS")
    refuse = iter(["you have not looked this up yet", None, None])
    hooks, ex, requests = make_hooks(
        [look, answer("made up"), again, answer("x"), call("search_flights", origin="KIX", destination="LIS"),
         answer("y")], answered=answered, ground_answer=lambda a, p: next(refuse))
    result = await dfs("q", hooks, k=1, config=SearchConfig.dfs(1, answer_after_lookup=1))
    assert [r.answer_only for r in requests][:3] == [False, True, False]
    assert result.stats["answer_after_lookup"] == 1
    off_hooks, _, off_requests = make_hooks([look, answer("z")], answered=answered)
    await dfs("q", off_hooks, k=1, config=SearchConfig.dfs(1, answer_after_lookup=0))
    assert [r.answer_only for r in off_requests] == [False, False]


async def test_an_answer_refused_for_work_left_makes_the_next_request_call_only(make_hooks):
    """The run's grounding refuses an answer and says work is left (a value unused, nothing
    changed): the next request at that node allows only a call, once; a refusal for other
    reasons (facts from nowhere) leaves the next request free."""
    book = call("book_flight", offer_id="O1", passenger="Ada")
    notes = iter(["not finished yet? the request also gives 2026-12-22", None])
    left = iter([True, False])
    hooks, ex, requests = make_hooks(
        [book, answer("Booked."), call("book_flight", offer_id="O2", passenger="Ada"),
         answer("Booked both.")],
        ground_answer=lambda a, p: next(notes), call_due=lambda: next(left))
    result = await dfs("Book O1 and O2 for Ada", hooks, k=1)
    assert result.status == "solved" and len(ex.calls) == 2
    assert [r.call_only for r in requests] == [False, False, True, False]
    assert result.stats["call_only_requests"] == 1
    # work not left: no call-only request; switched off: none either
    facts = iter(["you have not looked this up yet", None])
    hooks, _, requests = make_hooks([book, answer("made up"), answer("Booked.")],
                                    ground_answer=lambda a, p: next(facts),
                                    call_due=lambda: False)
    await dfs("Book O1 for Ada", hooks, k=1)
    assert [r.call_only for r in requests] == [False, False, False]
    notes = iter(["not finished yet?", None])
    hooks, _, requests = make_hooks([book, answer("Booked."), answer("Booked.")],
                                    ground_answer=lambda a, p: next(notes),
                                    call_due=lambda: True)
    await dfs("Book O1 for Ada", hooks, k=1,
              config=SearchConfig.dfs(1, call_after_unfinished=False))
    assert [r.call_only for r in requests] == [False, False, False]
