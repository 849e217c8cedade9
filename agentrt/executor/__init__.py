"""Executor stage: validated tool calls sent over HTTP safely — policy, auth, retries, outcomes."""

from agentrt.executor.auth import AuthError, Credentials
from agentrt.executor.executor import Executor, ToolsetLike
from agentrt.executor.observation import FAILING, NOT_SENT, Observation, Outcome
from agentrt.executor.policy import Decision, Policy, PolicyMode, RequestDescription
from agentrt.executor.redact import DEFAULT_REDACTOR, Redactor, redact_processor, scrub
from agentrt.retrying import RetryPolicy

__all__ = [
    "DEFAULT_REDACTOR",
    "FAILING",
    "NOT_SENT",
    "AuthError",
    "Credentials",
    "Decision",
    "Executor",
    "Observation",
    "Outcome",
    "Policy",
    "PolicyMode",
    "Redactor",
    "RequestDescription",
    "RetryPolicy",
    "ToolsetLike",
    "redact_processor",
    "scrub",
]
