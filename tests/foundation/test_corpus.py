"""Every real Amadeus document loads; every tool's argument schema is valid 2020-12."""

from __future__ import annotations

from pathlib import Path

from jsonschema import Draft202012Validator

from agentrt import Toolset, load_spec


def test_every_corpus_document_loads_into_valid_tools(corpus: list[Path]) -> None:
    assert len(corpus) >= 40
    total = 0
    for path in corpus:
        spec = load_spec(path)
        assert spec.operations, path.name
        ts = Toolset.from_spec(spec)
        for tool in ts.tools:
            Draft202012Validator.check_schema(tool.parameters)
            assert tool.parameters["type"] == "object"
            assert 0 < len(tool.name) <= 64 and tool.description
            total += 1
    assert total >= 50


def test_whole_corpus_merges_into_one_toolset_with_unique_names(corpus: list[Path]) -> None:
    ts = Toolset.from_specs(corpus)
    names = [t.name for t in ts.tools]
    assert len(names) == len(set(names))
    Draft202012Validator.check_schema(ts.call_schema())
    assert {t.service.base_url for t in ts.tools} >= {"https://test.api.amadeus.com/v1",
                                                      "https://test.api.amadeus.com/v2"}
    sides = {t.name: t.side_effect for t in ts.tools}
    assert sides["cancelFlightOrder"] == "idempotent"
    assert sides["getFlightOffers"] == "safe"
    assert sides["createFligtOrders"] == "unsafe"
