"""A secret with a quote or a backslash in it is escaped in a serialised value: the JSON
pre-check of `Redactor.scrub` (and of a run's result) must still see it."""

from __future__ import annotations

import pydantic_core

from agentrt.redaction import REDACTED, Redactor

TRICKY = 'pa\\ss"w0rd-7e1c'


def test_a_secret_with_a_quote_or_backslash_is_scrubbed_from_a_value() -> None:
    red = Redactor([TRICKY])
    assert red.scrub({"note": f"use {TRICKY} here"}) == {"note": f"use {REDACTED} here"}
    assert not red.clean_text(pydantic_core.to_json({"note": TRICKY}).decode())
    assert red.scrub_text(f"x {TRICKY} y") == f"x {REDACTED} y"


def test_many_secrets_use_the_alternation_with_escaped_forms_too() -> None:
    red = Redactor([f"plain-secret-{i:03d}" for i in range(30)] + [TRICKY])
    assert red.scrub({"a": [f"<{TRICKY}>"], "b": "plain-secret-007"}) == {
        "a": [f"<{REDACTED}>"], "b": REDACTED}
    assert red.clean_text('{"a": "nothing here"}')
