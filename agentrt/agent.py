"""Agent stage: `Agent` ties a backend, a toolset, the executor and the search together.

```python
agent = Agent(backend, Toolset.from_spec("specs/flights.yaml"), policy="allow")
result = await agent.run("Find the cheapest flight from LHR to CDG on 2026-12-01")
print(result.status, result.answer)
```

An `Agent` holds configuration and one long-lived executor: every run builds its own search
state and gets a view of that executor (its own policy and, if given, credentials) over one
shared HTTP client — one connection pool and one OAuth2 token cache for every run — so many
runs may share one agent, backend and toolset concurrently (the executor side:
:mod:`agentrt.agent_executor`). A service opens the agent at startup and closes it at shutdown:

```python
async with Agent(backend, toolset, policy="allow") as agent:   # or: await agent.aclose()
    results = await asyncio.gather(*(agent.run(q) for q in queries))
```
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentrt._log import get_logger
from agentrt.agent_executor import AgentExecutors, CallExecutor
from agentrt.backends.base import Backend, Sampling
from agentrt.errors import ConfigError
from agentrt.grounding.identifiers import GroundingPlan
from agentrt.grounding.session import RunGrounding, plan_for
from agentrt.prompts import build_messages, system_prompt
from agentrt.protocol import (
    CALL_ONLY,
    FINISH,
    FINISH_TOOL,
    Candidate,
    EventKind,
    PolicyMode,
    SearchEvent,
    maybe_await,
)
from agentrt.result_scrub import ResultScrubber
from agentrt.search import (
    Budget,
    Hooks,
    Mode,
    RunResult,
    SearchConfig,
    StepRequest,
    ToolFacts,
    run_search,
)
from agentrt.search.steps import AnswerCheck, Compensate
from agentrt.trace import log_event, logs_events

if TYPE_CHECKING:
    import httpx

    from agentrt.executor.auth import Credentials, Secret
    from agentrt.executor.policy import ConfirmCallback, Policy
    from agentrt.toolset import Tool, Toolset

__all__ = ["Agent", "AgentConfig", "CallExecutor", "compensation_arguments"]

_log = get_logger(__name__)
EventCallback = Callable[[SearchEvent], Any]
_DEFAULT_SAMPLING = Sampling()
#: how many offered-tool subsets keep their rendered tools between runs
_TOOLS_CACHE_SIZE = 256
#: id-like argument names a compensation may take, and the response keys that can fill them
_ID_KEYS = ("id", "reference", "booking_id", "booking_reference", "reservation_id")


def compensation_arguments(parameters: Mapping[str, Any], arguments: Any, body: Any
                           ) -> dict[str, Any]:
    """Arguments for a compensating call: each of its parameters filled from the committed
    call's response body (same name first, then an id-like key for an id-like parameter),
    else from the committed call's own arguments."""
    props = parameters.get("properties") or {}
    body_map = body if isinstance(body, Mapping) else {}
    args_map = arguments if isinstance(arguments, Mapping) else {}
    out: dict[str, Any] = {}
    for name in props:
        if name in body_map:
            out[name] = body_map[name]
        elif name in args_map:
            out[name] = args_map[name]
        elif name.lower() in _ID_KEYS or name.lower().endswith(("_id", "id", "reference")):
            for key in _ID_KEYS:
                if key in body_map:
                    out[name] = body_map[key]
                    break
    return out


def resolve_search(search: Mode | SearchConfig, k: int | None, backend: Backend | None = None
                   ) -> SearchConfig:
    """The search configuration for ``search`` (a preset name or a config) and ``k``."""
    if isinstance(search, SearchConfig):
        return search
    if k is None and search == "dfs" and backend is not None \
            and not getattr(getattr(backend, "capabilities", None), "native_n", True):
        # Without native n, k candidates cost k full generations up front. Expand lazily
        # instead: one candidate per request, the next one only when it failed (the node is
        # asked again with the feedback, up to the budget's max_candidates_per_node).
        k = 1
    try:
        return SearchConfig.named(search, k)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


class AgentConfig(BaseModel):
    """The settings of an agent's runs — data, so they load from a file
    (:meth:`from_file`) and round-trip to JSON; the objects an agent works with (backend,
    toolset, executor, credentials, callbacks) are passed to :class:`Agent` itself.

    ``search``: ``"dfs"`` (ours), ``"dfsdt"`` or ``"react"`` (baselines), or a
    :class:`SearchConfig`; ``k`` the candidates per request (``None``: for dfs 3 in one request
    when the backend samples ``n`` natively, else 1 with lazy re-expansion; 2 for dfsdt).
    ``policy``: what happens to unsafe calls (``"guard"`` unless set: see
    :mod:`agentrt.executor.guard`). ``instructions`` are
    appended to the system prompt (e.g. today's date). Toolsets larger than ``max_tools`` offer
    the model the ``retrieve_k`` tools most relevant to the query. ``base_urls``: where the
    APIs live when not at their spec's ``servers`` (one URL, or service name → URL).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    search: Mode | SearchConfig = "dfs"
    k: int | None = Field(default=None, ge=1, le=16)
    budget: Budget = Field(default_factory=Budget)
    policy: PolicyMode = "guard"
    sampling: Sampling | None = None
    instructions: str = ""
    #: the characters of an observation shown to the model
    observation_chars: int = Field(default=1200, ge=100)
    max_tools: int = Field(default=16, ge=1)
    retrieve_k: int = Field(default=8, ge=1)
    #: offer tools with ``"strict": true`` (vLLM enforces their arguments by grammar)
    strict_tools: bool = False
    base_urls: str | dict[str, str] | None = None
    #: a store of solved runs (JSONL, see :mod:`agentrt.demonstrations`): the one most like
    #: each request is shown in the system prompt as a worked example; None: no examples
    demonstrations: str | None = None
    #: grounding (each switchable, so its effect can be measured): identifier arguments must
    #: come from the request or an earlier result (else ``rejected_ungrounded``, nothing sent)
    ground_arguments: bool = True
    #: facts in a final answer (references, prices, times, codes) must appear in a result or
    #: the request; an answer without any call to a request that needs data is refused
    ground_answers: bool = True
    #: with ``ground_answers``: a request naming two things to act on (a flight *and* a hotel)
    #: is not answered after one (grounding/coverage.py). Off by default: measured on the demo,
    #: the 0.5B adapter rarely completes the second part and its search then abandons, and
    #: compensates, the first booking
    require_coverage: bool = False
    #: with ``ground_answers``: an answer reporting an action is refused once a run while the
    #: request gives a date, reference or code that no call on the path took and no result
    #: holds (the check-out date of a trip, a second passenger's birth date:
    #: grounding/leftover.py)
    ground_leftovers: bool = True
    #: with ``ground_arguments``: a change on an item that its list beats on what the request
    #: asks for (the cheapest, earliest, best-rated, fastest) is refused once a run before it
    #: is sent, naming the better item (grounding/superlatives.py)
    ground_superlatives: bool = True
    #: response bodies shown to the model as compact, schema-guided text instead of JSON
    compact_observations: bool = True

    @classmethod
    def from_file(cls, path: str | Path) -> AgentConfig:
        """Load a JSON file (``.json``) or a YAML file (any other suffix)."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read agent config {path}: {exc.strerror}") from None
        if path.suffix.lower() == ".json":
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"agent config {path} is not valid JSON: {exc}") from None
        else:
            import yaml  # a dependency (the spec loader reads YAML), imported when used

            try:
                data = yaml.safe_load(text)
            except yaml.YAMLError as exc:
                raise ConfigError(f"agent config {path} is not valid YAML: {exc}") from None
        if data is not None and not isinstance(data, Mapping):
            raise ConfigError(f"agent config {path} must be a mapping of settings")
        return cls.load(data, source=str(path))

    @classmethod
    def load(cls, data: Any, *, source: str = "agent config") -> AgentConfig:
        """Validate ``data`` (a mapping), raising :class:`ConfigError` with every problem."""
        try:
            return cls.model_validate(data if data is not None else {})
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}"
                                 for e in exc.errors())
            raise ConfigError(f"{source}: {problems}") from None


class Agent(AgentExecutors):
    """A tool-using agent: ``await agent.run(query)`` → :class:`RunResult`.

    ``config`` holds the run settings (:class:`AgentConfig`); its fields may also be given as
    keywords (``Agent(backend, toolset, search="react", budget=Budget(max_depth=12))``), which
    override the config's. ``policy``: ``"allow"``, ``"deny"``, ``"confirm"``, a confirmation
    callback, or an executor ``Policy``. ``executor``: inject one (it is then shared by every
    run and never closed by the agent); otherwise the agent opens one
    :class:`~agentrt.executor.Executor` with ``credentials`` and the config's ``base_urls`` on
    first use, shares its HTTP client by every run (each run gets a
    :meth:`~agentrt.executor.Executor.view` with its policy and credentials) and closes it in
    :meth:`aclose` (``async with Agent(...) as agent``). ``answer_check(answer, result) ->
    None | reason`` may refuse an answer (the search goes on). ``on_event`` sees the search
    live. ``transport``: an `httpx.AsyncBaseTransport` for the agent's own client (e.g.
    `httpx.ASGITransport(app=...)` to call an in-process app).
    """

    def __init__(self, backend: Backend, toolset: Toolset, config: AgentConfig | None = None,
                 *, policy: PolicyMode | Policy | ConfirmCallback | None = None,
                 executor: CallExecutor | None = None,
                 credentials: Credentials | Mapping[str, Secret] | None = None,
                 answer_check: AnswerCheck | None = None, on_event: EventCallback | None = None,
                 transport: httpx.AsyncBaseTransport | None = None,
                 **settings: Any) -> None:
        config = config or AgentConfig()
        # a keyword given as None means "not given" (callers pass optional CLI values through)
        settings = {key: value for key, value in settings.items() if value is not None}
        if isinstance(policy, str):
            settings["policy"] = policy
        if settings:
            config = AgentConfig.load({**config.model_dump(exclude_unset=True), **settings},
                                      source="Agent settings")
        self.config = config
        self.backend = backend
        self.toolset = toolset
        #: the resolved search configuration (the preset, with ``k`` from the backend)
        self.search = resolve_search(config.search, config.k, backend)
        #: the policy for runs that do not name one: an object given here, else the config's
        self.policy: PolicyMode | Policy | ConfirmCallback = \
            config.policy if policy is None or isinstance(policy, str) else policy
        self.executor = executor
        self.credentials = credentials
        #: where the agent's own executor sends requests (None: the network)
        self.transport = transport
        self.answer_check = answer_check
        self.on_event = on_event
        #: the backend's model answers in its own tool-call format (plain-text answers)
        self.native = getattr(getattr(backend, "capabilities", None), "tool_call_format",
                              "") == "native"
        self.system = system_prompt(config.instructions, native=self.native)
        self._plan: GroundingPlan | None = None
        #: offered tool names → (tools as sent to the model, grammar constraint); the toolset
        #: never changes, so every run shares them
        self._tools_cache: dict[tuple[str, ...],
                                tuple[list[dict[str, Any]], dict[str, Any] | None]] = {}
        self._answer_constraint: dict[str, Any] | None = None
        #: the config's sampling at temperature 0 (the first request at a node)
        self._greedy: tuple[Sampling, Sampling] | None = None
        #: scrubs each result; remembers the shared parts (system, example, tools) scrubbed
        self._scrubber = ResultScrubber(_TOOLS_CACHE_SIZE)
        super().__init__()  # the executors it opens (agent_executor)

    @property
    def budget(self) -> Budget:
        return self.config.budget

    # -- running ------------------------------------------------------------------------------
    async def run(self, query: str, *,
                  policy: PolicyMode | Policy | ConfirmCallback | None = None,
                  budget: Budget | None = None,
                  credentials: Credentials | Mapping[str, Secret] | None = None,
                  on_event: EventCallback | None = None) -> RunResult:
        """Answer ``query``; ``policy``/``budget``/``credentials``/``on_event`` override the
        agent's for this run (the HTTP client, its connection pool, stays shared).

        The model's mistakes, failing APIs and exhausted budgets end up in the result; a dead
        backend raises :class:`~agentrt.errors.BackendError`.
        """
        if (policy is not None or credentials is not None) and self.executor is not None:
            raise ConfigError("a per-run policy or credentials need an agent without an "
                              "injected executor (the executor carries its own)")
        demonstration: str | None = None
        if self.config.demonstrations:  # a solved run like this one, as a worked example
            from agentrt.demonstrations import demonstration_for

            demonstration = demonstration_for(self.config.demonstrations, query,
                                              self.toolset.names, native=self.native) or None
        grounding = self._grounding(query)
        executor = self._guarded(self._run_executor(policy, credentials), query)
        await self._close_with_loop()
        checked = self._checks()
        offered = self._offered_names(query)
        hooks = Hooks(
            propose=self._proposer(offered, demonstration),
            execute=self._viewing(executor, grounding, checked),
            check=checked.check if checked is not None else self.toolset.validate,
            facts=self._facts,
            compensate=self._compensator(executor),
            answer_check=self.answer_check,
            on_event=self._events(on_event),
            ground=(grounding.ground_call if grounding and self.config.ground_arguments
                    else None),
            ground_answer=(grounding.ground_answer
                           if grounding and self.config.ground_answers else None),
            asked_for=grounding.asked_for if grounding else None,
            answered=(grounding.answered if grounding and self.config.ground_answers
                      else None),
            call_due=(grounding.unfinished if grounding and self.config.ground_answers
                      else None),
        )
        result = await run_search(query, hooks, config=self.search,
                                  budget=budget or self.budget)
        if grounding is not None and grounding.fired:  # which answer rule refused how often
            result.stats.update(grounding.fired)
        # the trace leaves the process: every secret any executor knows of is scrubbed
        return self._scrubber.finish(result, system=self.system, demonstration=demonstration,
                                     offered=offered, tools=self._result_tools(offered))

    def _result_tools(self, offered: Sequence[str]) -> list[dict[str, Any]]:
        """The tools offered (as the result records them), shared by runs offered the same."""
        key = ("result", *offered)
        cached = self._tools_cache.get(key)
        if cached is None:
            if len(self._tools_cache) >= _TOOLS_CACHE_SIZE:
                self._tools_cache.pop(next(iter(self._tools_cache)))
            cached = self._tools_cache[key] = (
                [*self.toolset.to_openai(names=offered), FINISH_TOOL], None)
        return list(cached[0])

    def run_sync(self, query: str, **options: Any) -> RunResult:
        """:meth:`run` for scripts (the one sync edge); not inside a running event loop. The
        HTTP client this opens is closed before it returns (its event loop ends)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self._run_closing(query, options))
        raise ConfigError("run_sync() was called inside a running event loop: "
                          "use 'await agent.run(...)' there")

    async def _run_closing(self, query: str, options: dict[str, Any]) -> RunResult:
        try:
            return await self.run(query, **options)
        finally:
            await self.aclose()  # this loop ends here, and its client with it

    async def stream(self, query: str, **options: Any) -> AsyncIterator[SearchEvent]:
        """The run's events as they happen; the last one is ``run_finished`` (its ``data``
        holds ``result``, the :class:`RunResult`)."""
        queue: asyncio.Queue[SearchEvent | None] = asyncio.Queue()
        task = asyncio.ensure_future(self.run(query, on_event=queue.put_nowait, **options))
        task.add_done_callback(lambda _t: queue.put_nowait(None))
        try:
            while (event := await queue.get()) is not None:
                if event.kind is not EventKind.RUN_FINISHED:
                    yield event
            result = await task
            yield SearchEvent(kind=EventKind.RUN_FINISHED, node=0,
                              data={"status": result.status, "result": result})
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    # -- the hooks ----------------------------------------------------------------------------
    def _grounding(self, query: str) -> RunGrounding | None:
        cfg = self.config
        if not (cfg.ground_arguments or cfg.ground_answers or cfg.compact_observations):
            return None
        if self._plan is None:  # once per agent: the toolset does not change
            self._plan = plan_for(self.toolset)
            for warning in self._plan.warnings:
                _log.warning("grounding.spec_warning", pointer=warning.pointer,
                             reason=warning.reason)
        return RunGrounding(query, self.toolset, self._plan, coverage=cfg.require_coverage,
                            leftovers=cfg.ground_leftovers,
                            superlatives=cfg.ground_superlatives)

    def _offered_names(self, query: str) -> list[str]:
        names = [t.name for t in self.toolset.tools]
        if len(names) <= self.config.max_tools:
            return names
        return [t.name for t in self.toolset.retrieve(query, k=self.config.retrieve_k)]

    def _proposer(self, offered: Sequence[str], demonstration: str | None = None
                  ) -> Callable[[StepRequest], Awaitable[list[Candidate]]]:
        cache = self._tools_cache
        grammar = bool(getattr(self.backend.capabilities, "grammar", False))

        def tools_for(used: Sequence[str]) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
            names = tuple(dict.fromkeys([*offered, *(u for u in used if u in self.toolset)]))
            if names not in cache:
                tools = [*self.toolset.to_openai(strict=self.config.strict_tools, names=names),
                         FINISH_TOOL]
                constraint = self.toolset.call_schema(names) if grammar else None
                if len(cache) >= _TOOLS_CACHE_SIZE:  # retrieval may offer many subsets
                    cache.pop(next(iter(cache)))
                cache[names] = (tools, constraint)
            return cache[names]

        if grammar and self._answer_constraint is None:
            self._answer_constraint = self.toolset.call_schema([], include_finish=True)
        answer_constraint = self._answer_constraint

        # per constraint: the same, finish left out (the original kept: ids are reused once
        # the tools cache drops one)
        calls_only: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}

        def call_constraint(constraint: dict[str, Any]) -> dict[str, Any]:
            key = id(constraint)
            entry = calls_only.get(key)
            if entry is None or entry[0] is not constraint:
                branches = [b for b in constraint.get("anyOf") or [constraint]
                            if (b.get("properties") or {}).get("name", {}).get("const")
                            != FINISH]
                out = {**constraint, "anyOf": branches} if branches else constraint
                calls_only[key] = (constraint, {**out, CALL_ONLY: True} if self.native else out)
            return calls_only[key][1]

        async def propose(request: StepRequest) -> list[Candidate]:
            tools, constraint = tools_for(request.tools_used)
            if request.answer_only and constraint is not None:
                constraint = answer_constraint  # the same prompt; only an answer may follow
            elif request.call_only and constraint is not None:
                constraint = call_constraint(constraint)  # the same prompt; a call must follow
            messages = build_messages(request, system=self.system,
                                      observation_chars=self.config.observation_chars,
                                      native=self.native, demonstration=demonstration)
            return await self.backend.propose(messages, tools=tools, n=request.n,
                                              sampling=self._sampling(request),
                                              constraint=constraint)

        return propose

    def _sampling(self, request: StepRequest) -> Sampling:
        """The first single-candidate request at a node is greedy (the model's best guess);
        a node asked again (after a rejection or a failure), or asked for several candidates,
        is sampled — greedy decoding would only repeat itself there."""
        sampling = self.config.sampling or _DEFAULT_SAMPLING
        if request.n == 1 and not request.feedback:
            if self._greedy is None or self._greedy[0] is not sampling:  # frozen: made once
                self._greedy = (sampling, replace(sampling, temperature=0.0))
            return self._greedy[1]
        return sampling

    def _facts(self, name: str) -> ToolFacts:
        tool = self.toolset.get(name)
        if tool is None:
            return ToolFacts()
        return ToolFacts(side_effect=tool.side_effect, compensation=tool.compensation)

    def _find(self, name: str) -> Tool | None:
        tool = self.toolset.get(name)
        if tool is not None:
            return tool
        return next((t for t in self.toolset.tools if t.operation_id == name), None)

    def _compensator(self, executor: CallExecutor) -> Compensate:
        async def compensate(tool_name: str, arguments: Any, observation: Any
                             ) -> tuple[str, Any, Any] | None:
            tool = self.toolset.get(tool_name)
            undo = self._find(tool.compensation) if tool and tool.compensation else None
            if undo is None:
                return None
            args = compensation_arguments(undo.parameters, arguments, observation.body)
            if self.toolset.validate(undo.name, args):
                return None
            if self._trusts_checks():  # just validated: not again
                return undo.name, args, await executor.execute(  # type: ignore[call-arg]
                    undo.name, args, prevalidated=True)
            return undo.name, args, await executor.execute(undo.name, args)

        return compensate

    def _events(self, extra: EventCallback | None) -> EventCallback | None:
        sinks = [s for s in (self.on_event, extra) if s is not None]
        if not sinks:  # the log only: a plain call (the search awaits nothing for it), and
            # none at all when the log emits nothing as the run starts (no event is made)
            return log_event if logs_events() else None

        async def emit(event: SearchEvent) -> None:
            log_event(event)
            for sink in sinks:
                await maybe_await(sink(event))

        return emit
