"""Grounding stage: values and answers must come from somewhere — the user's request or an
observation on the search path — and observations are rendered so a small model can read them.

One entry point per use (all pure: no I/O, no backend, no search imports):

- :class:`Provenance` (alias :data:`ValueLedger`): where a value came from, per path;
- :func:`read_spec_grounding` + :class:`GroundingPlan`: which arguments of which tools are
  identifier-like (OpenAPI ``links``, ``x-agentrt-grounded``, documented inference);
- :func:`check_arguments` (``ungrounded`` violations), :func:`invented_people` (the same for
  names and contacts a change would reach) and :func:`allowed_values` (enums for grammar
  backends);
- :func:`check_answer`: a final answer's facts against the path (``rejected_ungrounded``);
- :func:`render_observation`: a response body as compact, schema-guided text (free text
  written by third parties delimited ``«…»`` and labelled as data);
- :class:`TrustLedger`: per argument of a proposed call, where its value came from — the
  request, a structured field of a trusted result, untrusted free text, or nowhere — for the
  ``guard`` side-effect policy (:func:`argument_role`, :func:`is_free_text`).
"""

from __future__ import annotations

from agentrt.grounding.answers import (
    AnswerVerdict,
    check_answer,
    is_decline,
    is_question,
    repeated_instructions,
)
from agentrt.grounding.check import (
    UNGROUNDED,
    allowed_values,
    candidates,
    check_arguments,
    invented_people,
)
from agentrt.grounding.identifiers import (
    GROUNDED_EXTENSION,
    GroundingPlan,
    GroundingRule,
    LinkSource,
    SpecGrounding,
    identifier_arguments,
    infer_identifier,
    read_spec_grounding,
    rules_for,
)
from agentrt.grounding.provenance import Provenance, Source, ValueLedger
from agentrt.grounding.render import RenderOptions, render_observation
from agentrt.grounding.trust import (
    CONSEQUENTIAL_EXTENSION,
    FREE_TEXT_EXTENSION,
    ArgumentTrace,
    Assessment,
    TrustLedger,
    argument_role,
    is_free_text,
)
from agentrt.grounding.values import Fact, extract_facts

__all__ = [
    "CONSEQUENTIAL_EXTENSION",
    "FREE_TEXT_EXTENSION",
    "GROUNDED_EXTENSION",
    "UNGROUNDED",
    "AnswerVerdict",
    "ArgumentTrace",
    "Assessment",
    "Fact",
    "GroundingPlan",
    "GroundingRule",
    "LinkSource",
    "Provenance",
    "RenderOptions",
    "Source",
    "SpecGrounding",
    "TrustLedger",
    "ValueLedger",
    "allowed_values",
    "argument_role",
    "candidates",
    "check_answer",
    "check_arguments",
    "extract_facts",
    "identifier_arguments",
    "infer_identifier",
    "invented_people",
    "is_decline",
    "is_free_text",
    "is_question",
    "read_spec_grounding",
    "render_observation",
    "repeated_instructions",
    "rules_for",
]
