"""The fast "valid" verdict (jsonschema-rs, for schemas whose keywords both libraries read alike)
agrees with jsonschema on every value, valid or not: generated from the schemas of the demo
APIs, the scale bench and the real corpus, and arbitrary JSON beside them. Violations are still
jsonschema's own."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from agentrt import Toolset
from agentrt.validation import ArgumentValidator, _rs_safe
from tests.conftest import corpus_files

_ROOT = Path(__file__).resolve().parents[2]
for _p in (_ROOT / "tools", _ROOT / "bench"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

SIZE_CAP = 3000  # characters of JSON schema: generation stays quick
PER_SOURCE = 12


def _schemas() -> list[tuple[str, dict[str, Any]]]:
    from bench_scale import SPEC

    from agentrt_demo.specs import spec_path

    sets = [("bench", Toolset.from_spec(SPEC)),
            ("flights", Toolset.from_spec(spec_path("flights"))),
            ("hotels", Toolset.from_spec(spec_path("hotels")))]
    files = corpus_files()
    if files:
        sets.append(("corpus", Toolset.from_specs(files[:8])))
    out: list[tuple[str, dict[str, Any]]] = []
    for label, ts in sets:
        found = 0
        for tool in ts.tools:
            schemas = [("args", tool.parameters)] + [
                (f"{code}", s) for code, s in tool.responses.items() if isinstance(s, dict)]
            for what, schema in schemas:
                if found < PER_SOURCE and _rs_safe(schema) \
                        and len(json.dumps(schema, default=str)) <= SIZE_CAP:
                    out.append((f"{label}:{tool.name}:{what}", schema))
                    found += 1
    return out


SCHEMAS = _schemas()
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                    | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=8)


def test_the_fast_path_is_taken_only_for_alike_keywords() -> None:
    assert _rs_safe({"type": "object", "properties": {"format": {"type": "string"}},
                     "required": ["format"], "x-note": {"pattern": "ignored"}})
    for unsafe in ({"type": "string", "format": "date"}, {"type": "string", "pattern": "^a"},
                   {"$ref": "#/$defs/a", "$defs": {"a": {}}}, {"multipleOf": 0.1},
                   {"type": "array", "items": {"type": "string", "format": "email"}},
                   {"anyOf": [{"type": "string", "pattern": "x"}]},
                   {"properties": {"a": {"uniqueItems": True}}}):
        assert not _rs_safe(unsafe), unsafe
        assert ArgumentValidator(unsafe)._fast is None
    assert len(SCHEMAS) >= 10 and ArgumentValidator(SCHEMAS[0][1])._fast is not None


@pytest.mark.parametrize(("name", "schema"), SCHEMAS, ids=[n for n, _ in SCHEMAS])
def test_the_fast_verdict_is_jsonschemas(name: str, schema: dict[str, Any]) -> None:
    v = ArgumentValidator(schema)
    assert v._fast is not None

    @settings(max_examples=25, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.one_of(from_schema(schema), JSON))
    def agree(instance: Any) -> None:
        assert v._fast.is_valid(instance) == v._v.is_valid(instance), instance
        assert (v.violations(instance) == []) == v._v.is_valid(instance)

    agree()
