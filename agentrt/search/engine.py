"""Search stage: the engine shared by ``dfs``, ``dfsdt`` and ``react`` — expand, check, act,
prune, back up, within a budget. The algorithm and its side-effect rules are documented in
:mod:`agentrt.search.dfs`; :class:`SearchConfig` flags switch the baseline behaviours.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any

from agentrt.protocol import (
    NOT_SENT,
    BudgetLimit,
    Candidate,
    EventKind,
    RunStatus,
    SearchEvent,
    maybe_await,
)
from agentrt.search.ask import missing_inputs, question_for
from agentrt.search.budget import Budget, Meter
from agentrt.search.config import SearchConfig
from agentrt.search.ledger import Ledger
from agentrt.search.result import RunResult
from agentrt.search.steps import Feedback, Hooks, ObservationLike, Step, StepRequest, ToolFacts
from agentrt.search.tree import Node, ObservationRecord, ViolationRecord, call_key

__all__ = ["run_search"]


class _Stop(Exception):
    """Ends the whole run (budget, react give-up, a committed side effect we may not leave)."""

    def __init__(self, status: RunStatus, reason: str, limit: BudgetLimit | None = None
                 ) -> None:
        super().__init__(reason)
        self.status, self.reason, self.limit = status, reason, limit


#: ``asyncio.timeout`` (Python 3.11+), else None (``asyncio.wait_for``, one task per request)
_timeout = getattr(asyncio, "timeout", None)


def _desc(tool: str | None, arguments: Any) -> str:
    return call_key(tool or "?", arguments).replace(":", "(", 1) + ")"


class _Search:
    def __init__(self, query: str, config: SearchConfig, budget: Budget, hooks: Hooks,
                 clock: Callable[[], float]) -> None:
        self.query, self.config, self.budget, self.hooks = query, config, budget, hooks
        self.meter = Meter(budget, clock)
        self.clock = clock
        self.root = Node.root()
        self.next_id = 1
        self.ledger = Ledger(config.mode, query, self.root)
        self.failed: dict[str, str] = {}          # call key -> why it failed (the memo)
        self.unsafe_sent: dict[str, Any] = {}     # call key -> observation (never re-sent)
        self.answer_due: set[int] = set()         # nodes whose next request is answer-only
        self.call_due: set[int] = set()           # nodes whose next request is call-only
        self.lookup_answers = 0                   # of those, due to a read that answers
        self.keys: dict[int, str] = {}            # node id -> its call key (made once)
        limit = budget.max_candidates_per_node
        self.per_node = min(limit, config.max_children) if config.max_children else limit

    # -- events ------------------------------------------------------------------------------
    async def emit(self, kind: EventKind, node: int, **data: Any) -> None:
        if self.hooks.on_event is not None:
            done = self.hooks.on_event(SearchEvent(kind=kind, node=node, data=data))
            if done is not None and inspect.isawaitable(done):  # an async sink
                await done

    # -- the callables, metered --------------------------------------------------------------
    async def propose(self, node: Node, path: tuple[Step, ...], feedback: list[Feedback],
                      n: int, answer_only: bool = False, call_only: bool = False
                      ) -> list[Candidate]:
        limit = self.meter.exhausted_before_request()
        if limit:
            raise _Stop("out_of_budget", f"budget exhausted: {limit}", limit)
        self.meter.model_calls += 1
        self.ledger.stats["model_calls"] += 1
        request = StepRequest(query=self.query, path=path, feedback=tuple(feedback), n=n,
                              node=node.id, depth=node.depth,
                              tools_used=tuple(dict.fromkeys(s.tool for s in path)),
                              answer_only=answer_only, call_only=call_only)
        started = self.clock()
        remaining = self.meter.remaining_seconds()
        try:
            if _timeout is not None:  # the request runs in this task: no task per request
                async with _timeout(remaining):
                    cands = await self.hooks.propose(request)
            else:
                cands = await asyncio.wait_for(self.hooks.propose(request), remaining)
        except asyncio.TimeoutError:
            raise _Stop("out_of_budget", "budget exhausted: max_seconds (model request)",
                        "max_seconds") from None
        finally:
            self.ledger.timings["model"] += self.clock() - started
        return list(cands)[: max(n, 1)]

    def facts(self, tool: str) -> ToolFacts:
        return self.hooks.facts(tool) if self.hooks.facts else ToolFacts()

    # -- checking ----------------------------------------------------------------------------
    def check(self, child: Node, cand: Candidate, here: set[str], batch: set[str],
              path_keys: frozenset[str] = frozenset(), path: tuple[Step, ...] = ()
              ) -> list[str]:
        """Classify one candidate; return the violation texts when rejected, [] if accepted."""
        stats = self.ledger.stats
        if cand.kind == "unparseable":
            child.status = "rejected_unparseable"
            child.violations = [ViolationRecord(
                kind="malformed", path="$", message=cand.error or "the reply was not a valid step")]
            stats["rejected_unparseable"] += 1
            return [child.violations[0].message]
        if cand.kind != "call":
            child.status = "accepted"
            return []
        key = self.keys[child.id] = call_key(child.tool or "", child.arguments)
        # a repeat first: a call already tried (or refused) here is refused as a repeat, so a
        # model that keeps proposing it reaches the node's repeat limit (a dead end)
        reason = self.duplicate_reason(key, here, batch, path_keys)
        if reason:
            child.status, child.reason = "rejected_duplicate", reason
            child.violations.append(ViolationRecord(kind="duplicate_failure", path="$",
                                                    message=reason))
            stats["rejected_duplicate"] += 1
            return [reason]
        started = self.clock()
        violations = list(self.hooks.check(child.tool or "", child.arguments)) \
            if self.hooks.check else []
        self.ledger.timings["check"] += self.clock() - started
        hallucinated = any(v.kind == "unknown_tool" for v in violations)
        if not violations and self.hooks.ground is not None:
            # grounding: identifiers must come from the request or a result on this path
            ungrounded = list(self.hooks.ground(child.tool or "", child.arguments, path))
            if ungrounded:
                stats["ungrounded"] += 1
                child.violations = [ViolationRecord.model_validate(v.to_dict())
                                    for v in ungrounded]
                if self.config.validate_calls:
                    child.status = "rejected_ungrounded"
                    stats["rejected_ungrounded"] += 1
                    here.add(key)
                    if self.config.answer_after_ask_user and child.parent is not None and any(
                            getattr(v, "ask_user", False) for v in ungrounded):
                        self.answer_due.add(child.parent)  # only the user can give it
                    return [v.message for v in ungrounded]
        if violations:
            stats["hallucinated" if hallucinated else "invalid"] += 1
            child.violations = [ViolationRecord.model_validate(v.to_dict()) for v in violations]
        if violations and self.config.validate_calls:
            child.status = "rejected_hallucinated" if hallucinated else "rejected_invalid"
            stats[child.status] += 1
            here.add(key)
            return [v.message for v in violations]
        batch.add(key)
        child.status = "accepted"
        return []

    def key_of(self, node: int, tool: str, arguments: Any) -> str:
        """The call key of ``node`` (made when it was checked; a node's call never changes)."""
        key = self.keys.get(node)
        if key is None:
            key = self.keys[node] = call_key(tool, arguments)
        return key

    def duplicate_reason(self, key: str, here: set[str], batch: set[str],
                         path_keys: frozenset[str] = frozenset()) -> str:
        if key in self.unsafe_sent:
            obs = self.unsafe_sent[key]
            return (f"this exact request changes data and was already sent in this run "
                    f"(outcome {obs.outcome}); it is never sent twice")
        if not self.config.memo_failures:
            return ""
        if key in self.failed:
            return f"this exact call already failed in this run: {self.failed[key]}"
        if key in here or key in batch:
            return "this exact call was already tried at this point; choose a different action"
        if key in path_keys:  # a loop: the same call again gives the same result
            return ("this exact call was already made in this conversation; use its result "
                    "above, or answer the user if you have what they asked for")
        return ""

    # -- acting ------------------------------------------------------------------------------
    async def execute(self, child: Node) -> ObservationLike:
        limit = self.meter.exhausted_before_call()
        if limit:
            raise _Stop("out_of_budget", f"budget exhausted: {limit}", limit)
        tool, args = child.tool or "", child.arguments
        facts = self.facts(tool)
        self.meter.executed += 1
        started = self.clock()
        obs = await self.hooks.execute(tool, args)
        elapsed = self.clock() - started
        child.elapsed = round(elapsed, 6)
        self.ledger.timings["tools"] += elapsed
        child.observation = ObservationRecord.model_validate(obs.to_dict())
        child.outcome = obs.outcome
        child.side_effect = facts.side_effect
        ungrounded = any(v.kind == "ungrounded" for v in child.violations)
        invalid = any(v.kind != "ungrounded" for v in child.violations) or (
            not self.config.validate_calls and obs.outcome == "rejected")
        self.ledger.record_call(child, obs, invalid=invalid, ungrounded=ungrounded)
        if facts.side_effect == "unsafe" and obs.outcome not in NOT_SENT:
            self.unsafe_sent[self.key_of(child.id, tool, args)] = obs
            record = self.ledger.record_side_effect(child, obs)
            if record is not None:
                await self.emit(EventKind.SIDE_EFFECT, child.id, tool=tool,
                                state=record.state)
        await self.emit(EventKind.CALL_EXECUTED, child.id, tool=tool, arguments=args,
                        outcome=obs.outcome, status_code=obs.status_code, message=obs.message)
        return obs

    async def leave(self, child: Node) -> None:
        """Back up past ``child``: undo its subtree's committed side effects, or stop the run."""
        live = self.ledger.live_commits({n.id for n in child.walk()})
        if not live:
            return
        for record in reversed(live):
            done = None
            if self.config.compensate and self.hooks.compensate is not None:
                obs = self.ledger.observations[record.node]
                done = await self.hooks.compensate(record.tool, record.arguments, obs)
            if done is None:
                raise _Stop("gave_up", f"stopped: backing up would abandon the committed side "
                            f"effect of {record.tool} (node {record.node}), which has no "
                            f"compensating operation")
            tool, args, cobs = done
            self.ledger.record_compensation(record, tool, args, cobs)
            await self.emit(EventKind.COMPENSATED, record.node, tool=tool, outcome=cobs.outcome)
            if not cobs.ok:
                raise _Stop("gave_up", f"stopped: compensating {record.tool} (node "
                            f"{record.node}) with {tool} failed: {cobs.outcome}")

    # -- the search --------------------------------------------------------------------------
    def new_child(self, node: Node, cand: Candidate, sample: int,
                  answer_only: bool = False) -> Node:
        call = cand.call
        # the raw reply is kept only where it is the step: an unreadable one
        raw = cand.raw or "" if cand.kind == "unparseable" else ""
        child = Node(id=self.next_id, parent=node.id, depth=node.depth + 1, kind=cand.kind,
                     thought=cand.thought or "", tool=call.name if call else None,
                     arguments=call.arguments if call else None, answer=cand.answer,
                     raw=raw, request=self.meter.model_calls, sample=sample,
                     answer_only=answer_only)
        self.next_id += 1
        node.children.append(child)
        self.ledger.stats["candidates"] += 1
        return child

    async def expand(self, node: Node, path: tuple[Step, ...]) -> str:
        """Search below ``node``; return ``solved``, ``exhausted``, ``gave_up`` or ``depth``."""
        if node.depth >= self.budget.max_depth:
            node.result = "depth_limit"
            self.ledger.depth_pruned = True
            return "depth"
        feedback: list[Feedback] = []
        here: set[str] = set()
        path_keys = frozenset(self.key_of(s.node, s.tool, s.arguments) for s in path)
        considered = 0
        repeats = 0  # candidates refused as repeats at this node
        answer_next = False  # the last proposal repeated a call: ask for an answer once
        cfg = self.config
        while considered < self.per_node:
            if cfg.max_repeats is not None and repeats >= cfg.max_repeats:
                # the model keeps proposing what it already did: asking again is wasted
                node.result = node.result or "dead_end"
                self.ledger.stats["repeat_dead_ends"] += 1
                return "exhausted"
            n = min(cfg.k if cfg.batch else 1, self.per_node - considered)
            only = (answer_next and cfg.answer_after_repeat) or node.id in self.answer_due
            self.answer_due.discard(node.id)
            must_call = not only and node.id in self.call_due
            self.call_due.discard(node.id)
            cands = await self.propose(node, path, feedback, n, answer_only=only,
                                       call_only=must_call)
            self.ledger.stats["answer_only_requests"] += int(only)
            self.ledger.stats["call_only_requests"] += int(must_call)
            answer_next = False
            considered += max(len(cands), 1)
            batch: set[str] = set()
            accepted: list[tuple[Node, Candidate]] = []
            for i, cand in enumerate(cands):
                child = self.new_child(node, cand, i, answer_only=only)
                problems = self.check(child, cand, here, batch, path_keys, path)
                if child.status == "rejected_duplicate":
                    repeats += 1
                    answer_next = bool(path)  # below the root the results are on the path
                if problems:
                    feedback.append(Feedback(kind="rejected", tool=child.tool,
                                             arguments=child.arguments, text=child.status,
                                             violations=tuple(problems)))
                    await self.emit(EventKind.CANDIDATE_REJECTED, child.id, status=child.status,
                                    tool=child.tool, violations=problems)
                else:
                    accepted.append((child, cand))
            await self.emit(EventKind.EXPANDED, node.id, n=n, candidates=len(cands),
                            accepted=len(accepted))
            if not cands:
                feedback.append(Feedback(kind="rejected", text="empty",
                                         violations=("no step was proposed",)))
            # give-ups go last: any call or answer in the same batch is tried first
            accepted.sort(key=lambda pair: pair[1].kind == "give_up")
            for child, cand in accepted:
                verdict = await self.act(node, child, cand, path, feedback, here)
                if verdict:
                    return verdict
        node.result = node.result or "dead_end"
        return "exhausted"

    async def act(self, node: Node, child: Node, cand: Candidate, path: tuple[Step, ...],
                  feedback: list[Feedback], here: set[str]) -> str:
        """Try one accepted candidate; return a verdict for ``node`` or "" to go on there."""
        if cand.kind == "answer":
            return await self.try_answer(node, child, feedback, path)
        if cand.kind == "give_up":
            child.result = "gave_up"
            if not self.config.backtrack:
                raise _Stop("gave_up", "the model gave up")
            if node.id == self.root.id:
                feedback.append(Feedback(kind="gave_up", text="gave up and restarted"))
                await self.emit(EventKind.BACKTRACKED, node.id,
                                why="give_up_and_restart (restart)")
                return ""
            await self.emit(EventKind.BACKTRACKED, node.id, why="give_up_and_restart")
            return "gave_up"
        key = self.key_of(child.id, child.tool or "", child.arguments)
        reason = self.duplicate_reason(key, set(), set())
        if child.depth >= self.budget.max_depth or reason:
            if reason:  # e.g. an identical unsafe call was sent earlier in this same batch
                child.status, child.reason = "rejected_duplicate", reason
                self.ledger.stats["rejected_duplicate"] += 1
            else:
                child.result, self.ledger.depth_pruned = "depth_limit", True
            feedback.append(Feedback(kind="depth" if not reason else "rejected",
                                     tool=child.tool, arguments=child.arguments,
                                     text=reason or "step limit reached: finish now"))
            return ""
        obs = await self.execute(child)
        here.add(key)
        if obs.outcome == "denied" and self.config.answer_after_denial:
            self.answer_due.add(node.id)  # once: the next request at this node is an answer
        if not obs.ok:
            if self.config.memo_failures:
                self.failed[key] = obs.message or obs.outcome
            if self.config.prune_on_failure:
                child.result = "failed"
                feedback.append(Feedback(kind="failed", tool=child.tool,
                                         arguments=child.arguments,
                                         text=f"{obs.outcome}: {obs.message}".strip(": ")))
                await self.emit(EventKind.BACKTRACKED, node.id,
                                why=f"call failed: {obs.outcome}")
                return ""
        step = Step(node=child.id, thought=child.thought, tool=child.tool or "",
                    arguments=child.arguments, observation=obs)
        if obs.ok and self.lookup_answers < self.config.answer_after_lookup \
                and self.hooks.answered is not None and self.hooks.answered((*path, step)):
            self.lookup_answers += 1  # the answer is in hand: ask for it before more calls
            self.ledger.stats["answer_after_lookup"] += 1
            self.answer_due.add(child.id)
        sub = await self.expand(child, (*path, step))
        if sub == "solved":
            child.result = "solved"
            return "solved"
        if child.result != "depth_limit":
            child.result = "dead_end"
        await self.leave(child)
        if not self.config.backtrack:
            raise _Stop("gave_up", "the chain ended without an answer")
        feedback.append(Feedback(kind="dead_end", tool=child.tool, arguments=child.arguments,
                                 text=f"led nowhere ({sub})"))
        await self.emit(EventKind.BACKTRACKED, node.id,
                        why=f"dead end below node {child.id} ({sub})")
        return ""

    async def try_answer(self, node: Node, child: Node, feedback: list[Feedback],
                         path: tuple[Step, ...] = ()) -> str:
        if self.hooks.ground_answer is not None:
            note = self.hooks.ground_answer(child.answer or "", path)
            if note:
                child.status, child.reason = "rejected_ungrounded", note
                self.ledger.stats["answers_rejected_ungrounded"] += 1
                feedback.append(Feedback(kind="answer_rejected", text=note))
                if self.config.call_after_unfinished and self.hooks.call_due is not None \
                        and self.hooks.call_due():
                    self.call_due.add(node.id)  # once: what is left needs a call, not words
                await self.emit(EventKind.ANSWER_REJECTED, child.id, answer=child.answer,
                                reason=note)
                return ""
        check = self.hooks.answer_check
        if check is not None:
            snapshot = self.ledger.result(status="solved", answer_node=child,
                                          elapsed=self.meter.elapsed(), snapshot=True)
            reason = await maybe_await(check(child.answer or "", snapshot))
            if reason:
                child.status, child.reason = "rejected_answer", str(reason)
                self.ledger.stats["answers_rejected"] += 1
                feedback.append(Feedback(kind="answer_rejected", text=str(reason)))
                await self.emit(EventKind.ANSWER_REJECTED, child.id, answer=child.answer, reason=reason)
                return ""
        child.result = "solved"
        self.ledger.answer_node = child
        await self.emit(EventKind.ANSWER, child.id, answer=child.answer)
        return "solved"

    async def run(self) -> RunResult:
        await self.emit(EventKind.RUN_STARTED, 0, query=self.query, mode=self.config.mode)
        status: RunStatus = "gave_up"
        reason = ""
        limit: BudgetLimit | None = None
        try:
            verdict = await self.expand(self.root, ())
            if verdict == "solved":
                status = "solved"
            elif self.ledger.depth_pruned:
                status, reason, limit = "out_of_budget", "every branch reached the depth " \
                    "limit or failed (max_depth)", "max_depth"
                await self.emit(EventKind.BUDGET_EXHAUSTED, 0, limit=limit)
            else:
                reason = "no candidate led to an answer"
        except _Stop as stop:
            status, reason, limit = stop.status, stop.reason, stop.limit
            if stop.limit:
                await self.emit(EventKind.BUDGET_EXHAUSTED, 0, limit=stop.limit)
        if status != "solved" and self.ledger.denied:
            status, reason = "refused", (reason + "; " if reason else "") + \
                "the policy refused a side effect"
        missing: list[str] = []
        if status in ("gave_up", "out_of_budget") and self.ledger.answer_node is None \
                and self.config.ask_when_stuck:
            missing = missing_inputs(self.root.walk(), self.hooks.asked_for)
            if missing:
                status, reason = "needs_input", (reason + "; " if reason else "") + \
                    "only the user can give " + ", ".join(missing)
        result = self.ledger.result(status=status, reason=reason,
                                    answer_node=self.ledger.answer_node,
                                    elapsed=self.meter.elapsed(), limit=limit)
        if missing:
            result.answer, result.missing = question_for(missing), missing
        await self.emit(EventKind.RUN_FINISHED, 0, status=result.status, answer=result.answer,
                        stats=result.stats)
        return result


async def run_search(query: str, hooks: Hooks, *, config: SearchConfig | None = None,
                     budget: Budget | None = None,
                     clock: Callable[[], float] = time.monotonic) -> RunResult:
    """Run one search for ``query`` over ``hooks`` and return its result (never raises for
    the model's mistakes or the budget; a dead backend's ``BackendError`` propagates)."""
    search = _Search(query, config or SearchConfig.dfs(), budget or Budget(), hooks, clock)
    return await search.run()
