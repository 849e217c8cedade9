"""Executor stage: the `Observation` — how one call ended, in a form the search reasons about."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentrt.protocol import FAILING, NOT_SENT, Outcome, SideEffect, observation_text
from agentrt.validation import Violation


@dataclass(frozen=True, slots=True, kw_only=True)
class Observation:
    """The single outcome of one proposed call. Contains no secrets, by construction."""

    tool: str
    arguments: dict[str, Any] | str
    outcome: Outcome
    status_code: int | None = None
    #: the parsed JSON body (or text), trimmed to the executor's cap
    body: Any = None
    truncated: bool = False
    attempts: int = 0
    elapsed: float = 0.0
    violations: tuple[Violation, ...] = ()
    #: one line for the model and for people: why it failed, what to change
    message: str = ""
    method: str = ""
    #: the request URL with credentials removed
    url: str = ""
    idempotency_key: str | None = None
    side_effect: SideEffect = "safe"
    #: the body as compact text for the model (``agentrt.grounding.render_observation``);
    #: None: the model is shown the body as JSON. The body itself stays in the trace.
    view: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"

    @property
    def committed(self) -> bool:
        """True when an unsafe call certainly (ok) happened on the server."""
        return self.ok and self.side_effect == "unsafe"

    def to_model_text(self, limit: int = 2000) -> str:
        """What the model is shown: outcome, status, message, the (trimmed) body or its view."""
        return observation_text(self.to_dict(), limit)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tool": self.tool,
            "arguments": self.arguments,
            "outcome": self.outcome,
            "status_code": self.status_code,
            "body": self.body,
            "truncated": self.truncated,
            "attempts": self.attempts,
            "elapsed": round(self.elapsed, 6),
            "violations": [v.to_dict() for v in self.violations],
            "message": self.message,
            "method": self.method,
            "url": self.url,
            "idempotency_key": self.idempotency_key,
            "side_effect": self.side_effect,
            **({"view": self.view} if self.view is not None else {}),
        }


__all__ = ["FAILING", "NOT_SENT", "Observation", "Outcome"]
