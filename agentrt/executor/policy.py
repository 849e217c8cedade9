"""Executor stage: the side-effect policy — may this non-safe call go out? allow / deny / confirm
/ guard.

Applies to every call whose side effect is not ``safe`` (idempotent PUT/DELETE too: cancelling a
booking is a side effect). ``confirm`` hands the exact request (method, URL without secrets,
body) to a callback — sync or async — that answers True or False; a callback that raises, or a
missing callback, means no (fail closed).

``guard`` decides on provenance (:mod:`agentrt.grounding.trust`): a call whose consequential
arguments (recipients, e-mails, names, amounts, accounts, messages) all come from the user's
request and whose references come from results looked up for it goes out unattended; any other
is asked about (with the concerns, when a callback is attached) or refused with the reason —
which argument, where its value came from. The provenance of the call being decided is handed
over by :class:`agentrt.executor.guard.GuardedExecutor` (:data:`GUARD_ASSESSMENT`); an executor
used without one has none, and every non-safe call is then treated as not cleared.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from agentrt._log import get_logger
from agentrt.errors import ConfigError
from agentrt.protocol import maybe_await

if TYPE_CHECKING:
    from agentrt.grounding.trust import Assessment

__all__ = ["GUARD_ASSESSMENT", "MODES", "ConfirmCallback", "Decision", "Policy", "PolicyMode",
           "RequestDescription"]

PolicyMode = Literal["allow", "deny", "confirm", "guard"]
MODES: tuple[str, ...] = ("allow", "deny", "confirm", "guard")
_log = get_logger("agentrt.executor.policy")
#: the provenance of the call now being decided (set by ``GuardedExecutor`` around each call)
GUARD_ASSESSMENT: ContextVar[Assessment | None] = ContextVar("agentrt_guard_assessment",
                                                             default=None)
_NO_PROVENANCE = ("the guard policy has no provenance for this call (the executor runs "
                  "without the run's guard)")


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestDescription:
    """The exact request a non-safe call would send, as shown to a person (no secrets)."""

    tool: str
    method: str
    url: str
    side_effect: str
    body: Any = None
    idempotency_key: str | None = None
    #: why the guard did not clear it (one line per argument); empty otherwise
    concerns: tuple[str, ...] = ()

    def to_text(self) -> str:
        """One readable line, e.g. ``POST http://…/bookings {"flight": "AF1"}`` (and, under
        ``guard``, the concerns below it)."""
        import json

        body = "" if self.body is None else " " + json.dumps(self.body, ensure_ascii=False,
                                                             default=str)
        text = f"{self.method} {self.url}{body}  [{self.tool}, {self.side_effect}]"
        return text + "".join(f"\n  ! {c}" for c in self.concerns)


ConfirmCallback = Callable[[RequestDescription], bool | Awaitable[bool]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """The policy's answer for one call."""

    allowed: bool
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    """A run's side-effect policy. Build with `Policy.allow()`, `Policy.deny()`,
    `Policy.confirm(callback)`, `Policy.guard(callback=None)` or
    `Policy.from_value("allow" | "deny" | "confirm" | "guard" | callable)`.
    """

    mode: PolicyMode = "deny"
    callback: ConfirmCallback | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"unknown policy {self.mode!r}: use {_choices()}")

    @classmethod
    def allow(cls) -> Policy:
        """Every call may go out."""
        return cls(mode="allow")

    @classmethod
    def deny(cls) -> Policy:
        """No non-safe call goes out."""
        return cls(mode="deny")

    @classmethod
    def confirm(cls, callback: ConfirmCallback | None = None) -> Policy:
        """Each non-safe call goes out only if ``callback(description)`` answers True."""
        return cls(mode="confirm", callback=callback)

    @classmethod
    def guard(cls, callback: ConfirmCallback | None = None) -> Policy:
        """Calls the provenance clears go out; the others are asked about (``callback``) or
        refused with the reason."""
        return cls(mode="guard", callback=callback)

    @classmethod
    def from_value(cls, value: Policy | str | ConfirmCallback | None,
                   *, default: PolicyMode = "deny") -> Policy:
        """A policy from a string, a callable (confirm), an existing policy, or None (default)."""
        if value is None:
            return cls(mode=default)
        if isinstance(value, Policy):
            return value
        if isinstance(value, str):
            mode = value.strip().lower()
            if mode not in MODES:
                raise ConfigError(f"unknown policy {value!r}: use {_choices()}")
            return cls(mode=mode)  # type: ignore[arg-type]
        if callable(value):
            return cls(mode="confirm", callback=value)
        raise ConfigError(f"a policy must be a string, a callable or a Policy, not {value!r}")

    def with_callback(self, callback: ConfirmCallback) -> Policy:
        """The same mode with a confirmation callback attached (the REPL attaches its prompt)."""
        return Policy(mode=self.mode, callback=callback)

    async def decide(self, request: RequestDescription) -> Decision:
        """Whether ``request`` may be sent. Safe calls are never asked about."""
        if request.side_effect == "safe" or self.mode == "allow":
            return Decision(allowed=True)
        if self.mode == "deny":
            return Decision(allowed=False,
                            reason=f"the run's policy denies {request.side_effect} calls")
        if self.mode == "guard":
            assessment = GUARD_ASSESSMENT.get()
            if assessment is not None and assessment.tool == request.tool and assessment.cleared:
                return Decision(allowed=True)
            reason = (_NO_PROVENANCE if assessment is None or assessment.tool != request.tool
                      else assessment.reason())
            concerns = (tuple(a.describe() for a in assessment.concerns)
                        if assessment is not None and assessment.tool == request.tool
                        else (_NO_PROVENANCE,))
            _log.info("policy.guard_held", tool=request.tool,
                      arguments=[a.argument for a in assessment.concerns] if assessment else [],
                      origins=[a.origin for a in assessment.concerns] if assessment else [])
            if self.callback is None:
                return Decision(allowed=False, reason=f"the guard policy held it back: {reason}")
            request = replace(request, concerns=concerns)
            decided = await self._ask(request)
            if decided.allowed:
                return decided
            return Decision(allowed=False, reason=f"the guard policy held it back and it was "
                                                  f"not confirmed: {reason}")
        return await self._ask(request)

    async def _ask(self, request: RequestDescription) -> Decision:
        if self.callback is None:
            return Decision(allowed=False, reason="confirmation needed but nobody to ask")
        try:
            answer: Any = await maybe_await(self.callback(request))
        except Exception as exc:  # a broken callback must not let the call through
            _log.warning("policy.callback_failed", tool=request.tool, error=type(exc).__name__)
            return Decision(allowed=False, reason="the confirmation callback failed")
        if answer is True:
            return Decision(allowed=True)
        return Decision(allowed=False, reason="the call was not confirmed")


def _choices() -> str:
    return ", ".join(repr(m) for m in MODES[:-1]) + f" or {MODES[-1]!r}"
