"""Agent stage, executors: the executor an :class:`~agentrt.agent.Agent` shares by its runs,
and how a run's calls reach it.

An agent without an injected executor opens one :class:`~agentrt.executor.Executor` per event
loop on first use (an HTTP client belongs to the loop it was used in) and shares it by every run
in that loop: one connection pool and one OAuth2 token cache. A run with its own policy or
credentials gets a :meth:`~agentrt.executor.Executor.view` of it over the same client. The
executor is closed by :meth:`AgentExecutors.aclose` (``async with agent``), or, for callers who
never close, when its loop shuts down (an async generator that ``asyncio.run`` finalises). An
injected executor is shared by every run and never closed by the agent.

A call the search has just validated is sent as ``prevalidated`` (:class:`_CheckedCalls`), so
the same arguments are not validated twice on their way from the model to the wire.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    import httpx

    from agentrt.agent import AgentConfig
    from agentrt.backends.base import Backend
    from agentrt.executor import Executor
    from agentrt.executor.auth import Credentials, Secret
    from agentrt.executor.observation import Observation
    from agentrt.executor.policy import ConfirmCallback, Policy
    from agentrt.grounding.identifiers import GroundingPlan
    from agentrt.grounding.session import RunGrounding
    from agentrt.protocol import PolicyMode
    from agentrt.toolset import Toolset

__all__ = ["AgentExecutors", "CallExecutor"]

_Self = TypeVar("_Self", bound="AgentExecutors")


class CallExecutor(Protocol):
    """What a run needs of an executor: ``await execute(name, arguments) -> Observation``."""

    async def execute(self, name: str, arguments: Any) -> Observation: ...


class AgentExecutors:
    """The executor side of :class:`~agentrt.agent.Agent` (its base class): the executors it
    opened, one per event loop, their lifetime, and each run's view of them."""

    # set by Agent.__init__
    config: AgentConfig
    backend: Backend
    toolset: Toolset
    policy: PolicyMode | Policy | ConfirmCallback
    executor: CallExecutor | None
    credentials: Credentials | Mapping[str, Secret] | None
    transport: httpx.AsyncBaseTransport | None
    _plan: GroundingPlan | None

    def __init__(self) -> None:
        #: the executors the agent opened, by the event loop their clients belong to (one,
        #: unless run_sync is called from several threads at once)
        self._opened: dict[asyncio.AbstractEventLoop, Executor] = {}
        #: per loop, an async generator that closes that loop's executor when the loop shuts
        #: down (``asyncio.run`` finalises async generators) — for callers who never close
        self._closers: dict[asyncio.AbstractEventLoop, AsyncGenerator[None, None]] = {}
        self._opened_lock = threading.Lock()
        self._trust: bool | None = None

    # -- lifetime -----------------------------------------------------------------------------
    async def __aenter__(self: _Self) -> _Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the executor (its HTTP client) the agent opened in this event loop; an
        injected one is left alone. A later run opens a new one."""
        loop = asyncio.get_running_loop()
        with self._opened_lock:
            executor = self._opened.pop(loop, None)
            closer = self._closers.pop(loop, None)
        if closer is not None:
            await closer.aclose()  # its finally closes the executor
        elif executor is not None:
            await executor.aclose()

    async def _closing(self, executor: Executor) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            with self._opened_lock:
                for loop in [lp for lp, ex in self._opened.items() if ex is executor]:
                    del self._opened[loop]
                    self._closers.pop(loop, None)
            await executor.aclose()

    async def _close_with_loop(self) -> None:
        """Tie the executor opened in this loop to the loop's shutdown (once per loop)."""
        loop = asyncio.get_running_loop()
        executor = self._opened.get(loop)
        if executor is None or loop in self._closers:
            return
        closer = self._closers[loop] = self._closing(executor)
        await closer.__anext__()

    @property
    def shared_executor(self) -> Executor | None:
        """The executor this agent opened and shares by its runs in the running event loop
        (outside one: the last one opened and not closed); None before the first run, after
        :meth:`aclose`, and with an injected executor."""
        with self._opened_lock:
            try:
                return self._opened.get(asyncio.get_running_loop())
            except RuntimeError:
                return next(reversed(self._opened.values()), None)

    def _open_executor(self) -> Executor:
        """The agent's own executor, opened on first use in this event loop. An HTTP client
        belongs to the loop it was used in: a run in another loop (e.g. successive
        :meth:`run_sync` calls, each closing its own) gets a fresh one."""
        loop = asyncio.get_running_loop()
        executor = self._opened.get(loop)
        if executor is not None:
            return executor
        from agentrt.executor import Executor  # the network stage, imported when used

        with self._opened_lock:
            for dead in [lp for lp in self._opened if lp.is_closed()]:
                del self._opened[dead]  # its loop is gone: nothing can close it any more
                self._closers.pop(dead, None)
            executor = self._opened.get(loop)
            if executor is None:
                executor = self._opened[loop] = Executor(
                    self.toolset, credentials=self.credentials, policy=self.policy,
                    base_urls=self.config.base_urls, transport=self.transport)
        return executor

    # -- a run's executor ---------------------------------------------------------------------
    def _run_executor(self, policy: PolicyMode | Policy | ConfirmCallback | None,
                      credentials: Credentials | Mapping[str, Secret] | None) -> CallExecutor:
        """The injected executor, else a view of the agent's own with this run's policy and
        credentials (the agent's when not given)."""
        if self.executor is not None:
            return self.executor
        shared = self._open_executor()
        if policy is None and credentials is None:
            return shared
        return shared.view(policy=policy, credentials=credentials)

    def _guarded(self, executor: CallExecutor, query: str) -> CallExecutor:
        """Under the ``guard`` policy, the run's executor keeps the provenance of every
        argument (:mod:`agentrt.executor.guard`); any other policy needs none."""
        if getattr(getattr(executor, "policy", None), "mode", None) != "guard":
            return executor
        from agentrt.executor.guard import GuardedExecutor, guard_executor

        if isinstance(executor, GuardedExecutor):  # already (e.g. an injected one)
            return executor
        return guard_executor(executor, query=query, toolset=self.toolset,
                              plan=self._plan)

    def _trusts_checks(self) -> bool:
        """Whether the executor validates with this agent's toolset, so that a call the search
        has checked need not be checked again (an injected stranger validates as it likes)."""
        if self.executor is None:
            return True
        if self._trust is None:  # decided once: the executor and the toolset stay
            from agentrt.executor import Executor

            self._trust = isinstance(self.executor, Executor) \
                and self.executor.toolset is self.toolset
        return self._trust

    def _checks(self) -> _CheckedCalls | None:
        """A run's argument check that remembers what passed, when the executor trusts it."""
        return _CheckedCalls(self.toolset) if self._trusts_checks() else None

    def _viewing(self, executor: CallExecutor, grounding: RunGrounding | None,
                 checked: _CheckedCalls | None = None) -> Callable[[str, Any], Awaitable[Any]]:
        """``executor.execute``, every observation shown to the run's grounding, ok bodies given
        their compact view for the model. A call the run's check has just passed is sent as
        ``prevalidated`` (validated once on its way from the model to the wire)."""
        compact = self.config.compact_observations and getattr(
            getattr(self.backend, "capabilities", None), "compact_observations", True)

        async def send(name: str, arguments: Any) -> Any:
            if checked is not None and checked.passed(name, arguments):
                return await executor.execute(  # type: ignore[call-arg]
                    name, arguments, prevalidated=True)
            return await executor.execute(name, arguments)

        if grounding is None:
            return send

        async def execute(name: str, arguments: Any) -> Any:
            obs = await send(name, arguments)
            grounding.observed(obs)
            if compact and getattr(obs, "ok", False) and getattr(obs, "body", None) is not None:
                view = grounding.view(name, obs.body)
                if view is not None and hasattr(obs, "__dataclass_fields__"):
                    obs = replace(obs, view=view)
            return obs

        return execute


class _CheckedCalls:
    """One run's argument check (the search's ``check`` hook) remembering which calls passed,
    so that the executor is told not to validate the very same arguments again. A call is
    known by the identity of its arguments object (the search hands the checked object to
    ``execute``) and its tool name; anything else is validated by the executor as usual."""

    __slots__ = ("_passed", "_toolset")

    def __init__(self, toolset: Toolset) -> None:
        self._toolset = toolset
        self._passed: dict[int, tuple[str, Any]] = {}

    def check(self, name: str, arguments: Any) -> list[Any]:
        violations = self._toolset.validate(name, arguments)
        if not violations and isinstance(arguments, Mapping):
            self._passed[id(arguments)] = (name, arguments)  # held: the id stays unique
        return violations

    def passed(self, name: str, arguments: Any) -> bool:
        entry = self._passed.get(id(arguments))
        return entry is not None and entry[0] == name and entry[1] is arguments
