"""Search stage: the options that make one engine behave as ``dfs`` (ours), ``dfsdt`` or ``react``.

The three modes share one implementation so that comparisons measure the algorithm, not the
plumbing; each flag below is one of the differences between agentrt's search and ToolBench's.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Mode", "SearchConfig"]

Mode = Literal["dfs", "dfsdt", "react"]


class SearchConfig(BaseModel):
    """How the tree is searched. Use the presets :meth:`dfs`, :meth:`dfsdt`, :meth:`react`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: Mode = "dfs"
    #: candidates per node: sampled together (``batch``) or one request per sibling
    k: int = Field(default=3, ge=1, le=16)
    #: ask for k candidates in one request (n=k); False: k sequential requests (ToolBench)
    batch: bool = True
    #: check every call against the toolset before any I/O; False: send whatever the model wrote
    validate_calls: bool = True
    #: reject a call identical to one that already failed in this run, or to an earlier sibling
    memo_failures: bool = True
    #: a failing outcome prunes the branch; False: the error is shown and the chain goes on
    prune_on_failure: bool = True
    #: back up on dead ends and give-ups; False: one chain (ReAct)
    backtrack: bool = True
    #: candidates tried at one node before backing up (None: the budget's limit)
    max_children: int | None = Field(default=None, ge=1)
    #: when backing up past a committed side effect, invoke its compensating operation
    compensate: bool = True
    #: a node whose model proposed only refused repeats this many times is a dead end (the
    #: search backs up instead of asking again); None: only the per-node limit applies
    max_repeats: int | None = Field(default=3, ge=1)
    #: after a refused repeat, ask once for an answer only (the data it wanted is on the path;
    #: small models otherwise propose the same call again instead of answering)
    answer_after_repeat: bool = True
    #: after the policy refused a side effect (``denied``: guard, deny, a person declining),
    #: ask once for an answer only: proposing another change the policy will refuse is wasted,
    #: and the user is owed what was found or a question for what is missing
    answer_after_denial: bool = True
    #: likewise after a call is refused for a value only the user can give (who a booking is
    #: for, a contact): the next request at that node asks the model to answer — with a
    #: question for what is missing — instead of re-proposing the call with other invented
    #: values
    answer_after_ask_user: bool = True
    #: a run that ends without an answer after such refusals ends ``needs_input``, its answer
    #: the runtime's question for those values (:mod:`agentrt.search.ask`)
    ask_when_stuck: bool = True
    #: after a successful read that holds what an information request asks about (the run's
    #: grounding decides: :meth:`~agentrt.grounding.session.RunGrounding.answered`), the next
    #: request asks for an answer only — at most this many times a run (0: never). A small
    #: model that has the answer in hand otherwise goes on calling; a refused answer (facts
    #: from nowhere, an echo) lets the node ask again with every tool
    answer_after_lookup: int = Field(default=2, ge=0)
    #: after an answer is refused because the request's work is not done (nothing changed
    #: yet, a value it gives unused: the run's grounding decides), the next request at that
    #: node allows only a call, once — a small model otherwise answers the same again
    call_after_unfinished: bool = True

    @classmethod
    def dfs(cls, k: int = 3, **options: object) -> SearchConfig:
        """agentrt's search: k candidates per request, checked before I/O, failures pruned."""
        return cls.model_validate({"mode": "dfs", "k": k, **options})

    @classmethod
    def dfsdt(cls, k: int = 2, **options: object) -> SearchConfig:
        """ToolBench's DFSDT: sequential siblings, no validation, no failure memo, API errors
        shown but never pruned; backs up only on give-up and the depth limit. ``k`` is
        ToolBench's tree width (``DFS_woFilter_w2``: 2)."""
        return cls.model_validate({
            "mode": "dfsdt", "k": k, "batch": False, "validate_calls": False,
            "memo_failures": False, "prune_on_failure": False, "max_children": k, **options})

    @classmethod
    def react(cls, **options: object) -> SearchConfig:
        """ReAct: one chain, no backtracking, no validation."""
        return cls.model_validate({
            "mode": "react", "k": 1, "batch": False, "validate_calls": False,
            "memo_failures": False, "prune_on_failure": False, "backtrack": False, **options})

    @classmethod
    def named(cls, mode: str, k: int | None = None) -> SearchConfig:
        """The preset called ``mode`` (``dfs``, ``dfsdt``, ``react``)."""
        if mode == "dfs":
            return cls.dfs(k if k is not None else 3)
        if mode == "dfsdt":
            return cls.dfsdt(k if k is not None else 2)
        if mode == "react":
            return cls.react()
        raise ValueError(f"unknown search mode {mode!r}: use 'dfs', 'dfsdt' or 'react'")
