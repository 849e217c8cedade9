"""Property tests over the real corpus: generated arguments validate; arguments broken in one
way are rejected with that way's violation kind.

hypothesis-jsonschema builds strategies from the tools' own argument schemas. The biggest
Amadeus request bodies (order creation, several hundred schema nodes) take tens of seconds per
strategy, so the per-tool tests take tools up to a size cap; `bench/` covers the rest.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from agentrt import Toolset
from tests.conftest import corpus_files

SIZE_CAP = 6000  # characters of JSON schema


def _toolset() -> Toolset | None:
    files = corpus_files()
    return Toolset.from_specs(files) if files else None


TS = _toolset()
#: left out on purpose, with the reason
EXCLUDED = {
    # its contact email carries `pattern: ...@...\\\\.` (a literal backslash) beside
    # `format: email`: no value satisfies both, generation is unsatisfiable (a spec bug)
    "createBooking": "unsatisfiable schema",
    # unanchored patterns with length bounds: hypothesis needs ~20 s per strategy
    "get-itinerary-price-metrics": "slow strategy",
}
TOOLS = [t for t in (TS.tools if TS else ())
         if len(json.dumps(t.parameters)) <= SIZE_CAP and t.name not in EXCLUDED]
needs_corpus = pytest.mark.skipif(TS is None, reason="shared corpus (../shared) not present")
SETTINGS = settings(max_examples=15, deadline=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))


def test_most_corpus_tools_are_covered() -> None:
    if TS is None:
        pytest.skip("shared corpus (../shared) not present")
    # 35 of the 54 tools today; the rest are order/booking bodies of 6k+ characters
    assert len(TOOLS) >= 33, (len(TOOLS), len(TS.tools))


@needs_corpus
@pytest.mark.parametrize("name", [t.name for t in TOOLS])
def test_generated_arguments_validate(name: str) -> None:
    assert TS is not None
    tool = TS.get(name)
    assert tool is not None

    @SETTINGS
    @given(from_schema(tool.parameters))
    def check(args: dict[str, Any]) -> None:
        assert TS.validate(name, args) == [], args

    check()


def _mutations(schema: dict[str, Any], args: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Ways to break exactly one rule of the top-level argument schema."""
    out: list[tuple[str, dict[str, Any]]] = [("unknown_argument", {**args, "zz_not_a_param": 1})]
    props = schema.get("properties", {})
    for req in schema.get("required", []):
        broken = copy.deepcopy(args)
        broken.pop(req, None)
        out.append(("missing_required", broken))
    for key, sub in props.items():
        if not isinstance(sub, dict):
            continue
        if sub.get("type") == "string" and "enum" not in sub:
            out.append(("type", {**args, key: 12345}))
        if isinstance(sub.get("enum"), list):
            out.append(("enum", {**args, key: "zz-not-in-enum"}))
        if sub.get("type") == "string" and sub.get("format") == "date":
            out.append(("format", {**args, key: "31/12/2026"}))
        if sub.get("type") == "string" and "pattern" in sub and "enum" not in sub:
            out.append(("pattern", {**args, key: "\u0000!"}))
        if sub.get("type") == "integer" and "minimum" in sub:
            out.append(("bounds", {**args, key: sub["minimum"] - 1}))
    return out


@needs_corpus
@pytest.mark.parametrize("name", [t.name for t in TOOLS])
def test_one_broken_rule_is_reported_with_its_kind(name: str) -> None:
    assert TS is not None
    tool = TS.get(name)
    assert tool is not None

    @SETTINGS
    @given(from_schema(tool.parameters), st.data())
    def check(args: dict[str, Any], data: st.DataObject) -> None:
        options = _mutations(tool.parameters, args)
        kind, broken = data.draw(st.sampled_from(options))
        kinds = {v.kind for v in TS.validate(name, broken)}
        assert kind in kinds, (kind, broken, kinds)

    check()
