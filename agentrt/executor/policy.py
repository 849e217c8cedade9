"""Executor stage: the side-effect policy — may this non-safe call go out? allow / deny / confirm.

Applies to every call whose side effect is not ``safe`` (idempotent PUT/DELETE too: cancelling a
booking is a side effect). ``confirm`` hands the exact request (method, URL without secrets,
body) to a callback — sync or async — that answers True or False; a callback that raises, or a
missing callback, means no (fail closed).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from agentrt._log import get_logger
from agentrt.errors import ConfigError
from agentrt.protocol import maybe_await

__all__ = ["ConfirmCallback", "Decision", "Policy", "PolicyMode", "RequestDescription"]

PolicyMode = Literal["allow", "deny", "confirm"]
_log = get_logger("agentrt.executor.policy")


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestDescription:
    """The exact request a non-safe call would send, as shown to a person (no secrets)."""

    tool: str
    method: str
    url: str
    side_effect: str
    body: Any = None
    idempotency_key: str | None = None

    def to_text(self) -> str:
        """One readable line, e.g. ``POST http://…/bookings {"flight": "AF1"}``."""
        import json

        body = "" if self.body is None else " " + json.dumps(self.body, ensure_ascii=False,
                                                             default=str)
        return f"{self.method} {self.url}{body}  [{self.tool}, {self.side_effect}]"


ConfirmCallback = Callable[[RequestDescription], bool | Awaitable[bool]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """The policy's answer for one call."""

    allowed: bool
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    """A run's side-effect policy. Build with `Policy.allow()`, `Policy.deny()`,
    `Policy.confirm(callback)` or `Policy.from_value("allow" | "deny" | "confirm" | callable)`.
    """

    mode: PolicyMode = "deny"
    callback: ConfirmCallback | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.mode not in ("allow", "deny", "confirm"):
            raise ConfigError(f"unknown policy {self.mode!r}: use 'allow', 'deny' or 'confirm'")

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
    def from_value(cls, value: Policy | str | ConfirmCallback | None,
                   *, default: PolicyMode = "deny") -> Policy:
        """A policy from a string, a callable (confirm), an existing policy, or None (default)."""
        if value is None:
            return cls(mode=default)
        if isinstance(value, Policy):
            return value
        if isinstance(value, str):
            mode = value.strip().lower()
            if mode not in ("allow", "deny", "confirm"):
                raise ConfigError(f"unknown policy {value!r}: use 'allow', 'deny' or 'confirm'")
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
