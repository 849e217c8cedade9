"""Grounding stage: one run's grounding — the hooks the search calls for calls and answers,
and the compact text of observations — over the provenance of the current path.

The search hands each hook the path of executed steps (anything with ``node``, ``tool`` and an
``observation`` that has ``ok`` and ``body``). Ledgers are built incrementally and cached per
path prefix, so a sibling or a child costs one observation's indexing, not the whole path's.
Only successful observations ground values: an error body quotes the bad value back.
"""

from __future__ import annotations

import json
import re
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from agentrt.grounding.answers import check_answer, is_decline, is_question, says_cannot
from agentrt.grounding.check import UNGROUNDED, check_arguments, identifier_values, invented_people
from agentrt.grounding.conditions import response_enums, unmet, unmet_item
from agentrt.grounding.coverage import (
    ACTION_STEMS,
    request_kinds,
    resources,
    strip_negated_actions,
    tool_kind,
    uncovered,
)
from agentrt.grounding.identifiers import GroundingPlan, read_spec_grounding
from agentrt.grounding.leftover import leftovers, skipped
from agentrt.grounding.provenance import Provenance
from agentrt.grounding.render import RenderOptions, render_observation
from agentrt.grounding.roles import tool_marks
from agentrt.grounding.superlatives import contradicted, unchosen
from agentrt.grounding.trust import is_free_text
from agentrt.grounding.values import extract_facts
from agentrt.toolset import Toolset
from agentrt.validation import Violation

__all__ = ["RunGrounding", "asks_for_action", "plan_for"]

_ACTION = re.compile(rf"\b{ACTION_STEMS}\w*", re.IGNORECASE)
_CAMEL = re.compile(r"[a-z][A-Z]")
#: answer rules whose refusal means work is left that needs a call
_UNFINISHED = frozenset(("no_change", "leftover", "coverage"))
#: toolset → its response enums (conditions.py); toolsets are immutable
_ENUMS: weakref.WeakKeyDictionary[Toolset, dict[str, frozenset[str]]] = \
    weakref.WeakKeyDictionary()


def asks_for_action(request: str) -> str | None:
    """The action verb of a request that asks for a side effect (book, cancel, send …), with
    negated ones ("do not book anything") left out; None for look-ups and small talk."""
    match = _ACTION.search(strip_negated_actions(request))
    return match.group(0).lower() if match else None


def plan_for(toolset: Toolset, *, strict: bool = False) -> GroundingPlan:
    """The grounding plan of a toolset: links and ``x-agentrt-grounded`` marks read from each
    spec's document, inference where the spec is silent. ``strict``: a link naming an unknown
    operation or parameter raises :class:`~agentrt.errors.SpecError` with its pointer."""
    specs = [read_spec_grounding(spec.document, source=spec.source, strict=strict)
             for spec in toolset.specs if spec.document]
    return GroundingPlan(toolset.tools, specs)


class RunGrounding:
    """The grounding of one run of ``query`` over ``toolset`` (see the module docstring)."""

    def __init__(self, query: str, toolset: Toolset, plan: GroundingPlan, *,
                 render: RenderOptions | None = None, coverage: bool = True,
                 leftovers: bool = True, superlatives: bool = True) -> None:
        self.query = query
        self.toolset = toolset
        self.plan = plan
        #: whether a request naming two resources must have both acted on (coverage.py)
        self.coverage = coverage
        #: whether an answer reporting an action is refused (once) while the request gives
        #: values nothing on the path used (leftover.py)
        self.leftovers = leftovers
        self.leftover_refused = False
        #: answers refused, by rule (``answers_refused_<rule>``: facts, tool_name,
        #: superlative, category, decline, no_change, leftover, coverage)
        self.fired: dict[str, int] = {}
        self._unfinished = False
        self._resources: dict[str, tuple[str, ...]] | None = None  # read when first needed
        self._tool_names: re.Pattern[str] | bool | None = None     # likewise
        self._enums: dict[str, frozenset[str]] | None = None         # likewise
        #: an answer granting a category the results deny was refused (once a run)
        self.condition_refused = False
        self.render_options = render or RenderOptions()
        self._root = Provenance.from_request(query)
        self._ledgers: dict[tuple[int, ...], Provenance] = {(): self._root}
        #: an action was attempted but not carried out by the runtime's doing (the policy or
        #: the person said no, its answer was lost): reporting that is a fine answer
        self.action_blocked = False
        #: a decline of a question was refused once in this run (the results held an answer)
        self.decline_refused = False
        #: a cheapest/earliest claim the results contradict was refused once in this run
        self.superlative_refused = False
        #: whether a change on an item the list beats on the request's superlative is refused
        #: (once a run: superlatives.unchosen), and whether it was
        self.superlatives = superlatives
        self.choice_refused = False

    def observed(self, observation: Any) -> None:
        """Every executed call's observation (pruned branches included) passes through here."""
        if getattr(observation, "outcome", "") in ("denied", "lost"):
            self.action_blocked = True

    def ledger(self, path: Sequence[Any]) -> Provenance:
        """The provenance of values on ``path`` (the request plus its ok observations)."""
        key = tuple(step.node for step in path)
        cached = self._ledgers.get(key)
        if cached is not None:
            return cached
        parent = self.ledger(path[:-1])
        last = path[-1]
        obs = last.observation
        ledger = (parent.with_observation(last.tool, getattr(obs, "body", None), node=last.node)
                  if getattr(obs, "ok", False) else parent)
        self._ledgers[key] = ledger
        return ledger

    def _tool(self, name: str) -> Any:
        return self.toolset.get(name)

    # -- the search's hooks ---------------------------------------------------------------------
    def ground_call(self, tool: str, arguments: Any, path: Sequence[Any]) -> list[Violation]:
        """``ungrounded`` violations of ``tool(arguments)`` after ``path`` ([] when grounded)."""
        if tool not in self.toolset or not isinstance(arguments, Mapping):
            return []
        spec_tool, ledger = self._tool(tool), self.ledger(path)
        out = check_arguments(spec_tool, arguments, ledger, plan=self.plan)
        if spec_tool.side_effect == "safe":  # the hot path: no marks looked up for reads
            return out
        # and who a change reaches must not be made up
        marks = tool_marks(self.toolset, spec_tool).consequential
        out += invented_people(spec_tool, arguments, ledger, marks=marks)
        if self.leftovers:  # nor leave out a person the request lists among those it takes
            out += skipped(spec_tool, arguments, self.query, path, ledger, marks=marks)
        # nor the item it acts on be of another kind than the request asks for
        ids = identifier_values(spec_tool, arguments, plan=self.plan)
        miss = unmet_item([v for _, v in ids], self.query, ledger, self.enums()) if ids else None
        if miss is not None:
            value, what = miss
            where = next(w for w, v in ids if v == value)
            out.append(Violation(
                kind=UNGROUNDED, path=where,
                message=f"{json.dumps(value)} is one with {what.field} {what.seen[0]} in the "
                        f"results above, and the user asked for {what.value.replace('_', ' ')}:"
                        f" pick one with {what.field} {what.value}, or search again with "
                        f"{what.field}={what.value} if a tool takes it — or, if none exists, "
                        "say so"))
        elif ids and self.superlatives and not self.choice_refused:
            # nor, the first time in a run, be another item than the cheapest (earliest,
            # best-rated …) of the list it was read from, when the request asks for that one
            worse = unchosen([v for _, v in ids], self.query, ledger)
            if worse is not None:
                self.choice_refused = True
                self.fired["calls_refused_superlative"] = \
                    self.fired.get("calls_refused_superlative", 0) + 1
                where = next(w for w, v in ids if v == worse.value)
                instead = (f"{json.dumps(worse.better)} ({worse.label})" if worse.label
                           else json.dumps(worse.better)) if worse.better is not None \
                    else worse.label or "another item"
                out.append(Violation(
                    kind=UNGROUNDED, path=where,
                    message=f"the user asked for the {worse.word}, and {json.dumps(worse.value)}"
                            f" has {worse.field} {worse.have} while {instead} in the same "
                            f"results has {worse.field} {worse.best}: use that one — or, if "
                            "the request's conditions rule it out, the best one that fits "
                            "them"))
        return out

    def enums(self) -> dict[str, frozenset[str]]:
        """The category fields of the toolset's responses (:mod:`~agentrt.grounding.conditions`),
        read once per toolset (it is immutable) and shared by its runs."""
        if self._enums is None:
            self._enums = _ENUMS.get(self.toolset)
            if self._enums is None:
                self._enums = _ENUMS[self.toolset] = response_enums(
                    t.response_schema for t in self.toolset.tools)
        return self._enums

    def asked_for(self, tool: str) -> bool:
        """Whether the request asks for what ``tool`` does: it asks for an action, and the
        tool's kind (create, remove: :func:`~agentrt.grounding.coverage.tool_kind`) is one it
        names, where both can be told."""
        if asks_for_action(self.query) is None:
            return False
        kind, kinds = tool_kind(tool), request_kinds(self.query)
        return kind is None or not kinds or kind in kinds

    def ground_answer(self, answer: str, path: Sequence[Any]) -> str | None:
        """A note for the model when ``answer`` states facts found nowhere — or names one of
        the tools (:meth:`tools_named`) — or, the first time
        in a run, calls something the cheapest or earliest that the results show is not
        (:mod:`~agentrt.grounding.superlatives`) — or, the first time in a run, grants a
        category the request asks for that the results deny (business class, economy read:
        :mod:`~agentrt.grounding.conditions`) — or, the first time in a run, declines (or
        asks back) a question (no action asked) that a result on the path holds data
        for — or reports on a
        request for an action (book, cancel, …) that no successful call has carried out, or
        only part of (a flight booked, the hotel the request also asked for not:
        :mod:`~agentrt.grounding.coverage`), or, the first time in a run, while the request
        gives a value nothing on the path used (:mod:`~agentrt.grounding.leftover`), unless
        it declines or asks a question — else None. Each refusal is counted by its rule in
        :attr:`fired`."""
        refused = self._answer_note(answer, path)
        if refused is None:
            return None
        rule, note = refused
        self._unfinished = rule in _UNFINISHED
        self.fired[f"answers_refused_{rule}"] = self.fired.get(f"answers_refused_{rule}", 0) + 1
        return note

    def unfinished(self) -> bool:
        """Whether the last refused answer left the request's work undone (nothing changed
        yet, a value unused, a part not covered): what is left needs a call. Read once."""
        left, self._unfinished = self._unfinished, False
        return left

    def _answer_note(self, answer: str, path: Sequence[Any]) -> tuple[str, str] | None:
        made = sum(1 for step in path if getattr(step.observation, "ok", False))
        done = [step.tool for step in path if getattr(step.observation, "ok", False)
                and getattr(step.observation, "side_effect", "safe") != "safe"]
        changes = len(done)
        ledger = self.ledger(path)
        verdict = check_answer(answer, self.query, ledger, made_calls=made,
                               untrusted=self.free_texts(ledger), changes_made=changes)
        if not verdict.accepted:
            return "facts", verdict.note
        named = self.tools_named(answer)
        if named:
            return "tool_name", (f"your answer names {', '.join(named)}: that is a tool for you to call, the "
                    "user sees none — call it if the request needs it, or answer in plain words "
                    "with what the results show (or that it cannot be done)")
        if not self.superlative_refused:
            wrong = contradicted(answer, ledger)
            if wrong is not None:  # once: the request may want the cheapest of a kind
                self.superlative_refused = True
                return "superlative", (f"your answer calls {wrong.stated} the {wrong.word.lower()}, but the "
                        f"results above list a smaller value: {wrong.smaller} "
                        f"({wrong.item}); answer with what the results show — or, if the "
                        "request's conditions rule that one out, say which condition does")
        declines = is_decline(answer)
        if not self.condition_refused and not declines:
            miss = unmet(answer, self.query, ledger, self.enums())
            if miss is not None:  # once: the model may know better than the schema
                self.condition_refused = True
                return "category", (f"your answer says {miss.value.replace('_', ' ')}, but the results "
                        f"above hold {miss.field} {', '.join(miss.seen)} only: look it up "
                        f"with {miss.field}={miss.value} if a tool takes it — or say that "
                        "none was found")
        verb = asks_for_action(self.query)
        if not verb and not self.decline_refused and not self.action_blocked \
                and (declines or is_question(answer)) and _holds_results(path):
            self.decline_refused = True  # once: a second "cannot" (or question) is meant
            return "decline", ("the results above hold what the user asked about: answer the question "
                    "from them (names, codes, times, prices) instead of declining or asking "
                    "the user — or, if none fits what was asked, say which part does not fit")
        if not verb or self.action_blocked or declines or is_question(answer):
            return None
        if changes == 0:
            return "no_change", (f"nothing has been done yet: the user asked you to {verb}, and no call that "
                    "changes anything has succeeded; call the tool that does it with the values "
                    "from the results above — or, if it cannot be done, say why")
        if self.leftovers and not self.leftover_refused and not says_cannot(answer):
            left = leftovers(self.query, path, ledger)
            if left:  # once: a date may be context only
                self.leftover_refused = True
                return "leftover", (f"not finished yet? the user's request also gives {', '.join(left)}, "
                        "and no call so far has used it: if the request needs it (another "
                        "item, a second booking, a date), make the call that uses it — or, if "
                        "it cannot be done, say so in your answer")
        if not self.coverage:
            return None
        if self._resources is None:
            self._resources = resources(self.toolset.tools)
        left = uncovered(self.query, self._resources, done)
        if left and not says_cannot(answer):  # "… but no hotel is available" reports the rest
            what = "; ".join(f"{word} ({' or '.join(names)})" for word, names in left.items())
            return "coverage", (f"not finished yet: the user also asked for {what}, and no such call has "
                    "succeeded; look up what it needs and make that call too — or, if it "
                    "cannot be done, say so in your answer")
        return None

    def answered(self, path: Sequence[Any]) -> bool:
        """Whether ``path`` holds what an information request asks about: the request asks
        for no action, the last step is a successful read, and every concrete fact the request
        names (codes, dates, references) appears in a result on the path — or, naming none,
        the read returned data. The search then asks for the answer before any further call
        (``answer_after_lookup``); the answer is still checked like any other."""
        if not path or asks_for_action(self.query) is not None:
            return False
        obs = path[-1].observation
        if not getattr(obs, "ok", False) or getattr(obs, "side_effect", "safe") != "safe":
            return False
        facts = extract_facts(self.query)  # remembered by the grounding's fact reader
        if not facts:
            return _holds_results(path)
        ledger = self.ledger(path)
        return all(any(src.kind == "observation" for src in ledger.fact_sources(fact))
                   for fact in facts)

    def tools_named(self, answer: str) -> list[str]:
        """The toolset's operation names (``search_flight_offers``, ``getBooking``: those with
        an underscore or an inner capital, not plain words) that ``answer`` writes — an
        answer addressed to the model's tools, not the user."""
        if self._tool_names is None:
            names = [n for n in self.toolset.names if "_" in n or _CAMEL.search(n)]
            self._tool_names = re.compile(
                r"(?<![\w.])(?:" + "|".join(re.escape(n) for n in sorted(names, key=len,
                                                                         reverse=True))
                + r")(?![\w])") if names else False
        if not self._tool_names:
            return []
        return list(dict.fromkeys(self._tool_names.findall(answer)))

    @staticmethod
    def free_texts(ledger: Provenance) -> list[str]:
        """The free text (reviews, descriptions, notes: text written by third parties) of the
        results on a path, in order (:func:`~agentrt.grounding.trust.is_free_text`)."""
        return [leaf.value for leaf in ledger.leaves()
                if isinstance(leaf.value, str) and is_free_text(leaf.source.path or "",
                                                                leaf.value)]

    # -- observations ---------------------------------------------------------------------------
    def view(self, tool: str, body: Any) -> str | None:
        """The compact text of a successful response body (None: show it as JSON); free text
        in it is delimited and labelled as returned by ``tool``."""
        if body is None or tool not in self.toolset:
            return None
        return render_observation(body, self._tool(tool).response_schema,
                                  options=self.render_options, tool=tool)


def _holds_results(path: Sequence[Any]) -> bool:
    """Whether the last successful, safe call on ``path`` returned data: a list with an item,
    or an object with a value outside lists (an empty search result does not count)."""
    for step in reversed(path):
        obs = step.observation
        if not getattr(obs, "ok", False) or getattr(obs, "side_effect", "safe") != "safe":
            continue
        return _has_data(getattr(obs, "body", None))
    return False


def _has_data(body: Any, depth: int = 0) -> bool:
    if isinstance(body, list):
        return bool(body)
    if isinstance(body, Mapping) and depth < 4:
        lists = [v for v in body.values() if isinstance(v, list)]
        if lists:  # a result list decides: {"offers": [], "count": 0} holds nothing
            return any(lists)
        return any(_has_data(v, depth + 1) if isinstance(v, Mapping) else
                   v not in (None, "", False) for v in body.values())
    return body not in (None, "", False)
