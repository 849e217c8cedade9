"""Executor stage: secret redaction — re-exported from :mod:`agentrt.redaction`, the low module
that logging, traces and the executor share (one process-wide ``DEFAULT_REDACTOR``)."""

from agentrt.redaction import *  # noqa: F403
from agentrt.redaction import __all__  # noqa: F401
