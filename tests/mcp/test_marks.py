"""The standard marks for consequential operations: precedence between x-agentrt-side-effect,
x-openai-isConsequential and the method; MCP annotations both ways; `agentrt tools` shows
each class and its source."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentrt.cli import main
from agentrt.errors import SpecError
from agentrt.toolset import Toolset
from agentrt.toolset.marks import from_mcp_tool, from_operation, mcp_annotations

OK = {"200": {"description": "ok"}}


def _spec(ops: dict[str, dict[str, Any]]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for op_id, extra in ops.items():
        method = extra.pop("method")
        paths[f"/{op_id}"] = {method: {"operationId": op_id, "responses": OK, **extra}}
    return {"openapi": "3.1.0", "info": {"title": "T", "version": "1"},
            "servers": [{"url": "http://127.0.0.1:9"}], "paths": paths}


SPEC = _spec({
    "plain_get": {"method": "get"},
    "plain_post": {"method": "post"},
    "plain_delete": {"method": "delete"},
    "consequential_get": {"method": "get", "x-openai-isConsequential": True},
    "consequential_delete": {"method": "delete", "x-openai-isConsequential": True},
    "inconsequential_post": {"method": "post", "x-openai-isConsequential": False},
    "ours_wins": {"method": "post", "x-openai-isConsequential": False,
                  "x-agentrt-side-effect": "unsafe"},
    "ours_safe": {"method": "get", "x-openai-isConsequential": True,
                  "x-agentrt-side-effect": "safe"},
})
EXPECTED = {
    "plain_get": ("safe", "method GET"),
    "plain_post": ("unsafe", "method POST"),
    "plain_delete": ("idempotent", "method DELETE"),
    "consequential_get": ("unsafe", "x-openai-isConsequential"),
    "consequential_delete": ("idempotent", "x-openai-isConsequential"),
    "inconsequential_post": ("safe", "x-openai-isConsequential"),
    "ours_wins": ("unsafe", "x-agentrt-side-effect"),
    "ours_safe": ("safe", "x-agentrt-side-effect"),
}


def test_precedence_of_the_marks() -> None:
    ts = Toolset.from_spec(SPEC)
    assert {t.name: (t.side_effect, t.side_effect_source) for t in ts} == EXPECTED


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_a_malformed_consequential_mark_is_a_spec_error(value: Any) -> None:
    if value is None:
        assert from_operation("POST", {"x-openai-isConsequential": None}) == (
            "unsafe", "method POST")  # absent-as-null: the method decides
        return
    with pytest.raises(SpecError) as info:
        from_operation("POST", {"x-openai-isConsequential": value}, pointer="#/paths/~1a/post")
    assert info.value.pointer == "#/paths/~1a/post/x-openai-isConsequential"


@pytest.mark.parametrize(("annotations", "meta", "expected"), [
    (None, None, ("unsafe", "mcp: no annotations")),
    ({}, {}, ("unsafe", "mcp: no annotations")),
    ({"title": "only a title"}, None, ("unsafe", "mcp: no annotations")),
    ({"readOnlyHint": True}, None, ("safe", "mcp readOnlyHint")),
    ({"readOnlyHint": True, "destructiveHint": True}, None, ("safe", "mcp readOnlyHint")),
    ({"readOnlyHint": False, "idempotentHint": True}, None,
     ("idempotent", "mcp idempotentHint")),
    ({"destructiveHint": False}, None, ("unsafe", "mcp annotations")),
    ({"readOnlyHint": True}, {"x-agentrt-side-effect": "unsafe"},
     ("unsafe", "_meta x-agentrt-side-effect")),
    ({"readOnlyHint": True}, {"x-agentrt-side-effect": "bogus"}, ("safe", "mcp readOnlyHint")),
])
def test_mcp_annotations_to_classes(annotations: Any, meta: Any,
                                    expected: tuple[str, str]) -> None:
    assert from_mcp_tool(annotations, meta) == expected


@pytest.mark.parametrize("side_effect", ["safe", "idempotent", "unsafe"])
def test_classes_to_annotations_and_back(side_effect: Any) -> None:
    hints = mcp_annotations(side_effect)
    assert from_mcp_tool(hints, None)[0] == side_effect
    assert hints["readOnlyHint"] is (side_effect == "safe")


def test_tools_command_shows_class_and_source(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "marks.yaml"
    spec.write_text(yaml.safe_dump(SPEC))
    assert main(["tools", str(spec)]) == 0
    lines = {line.split()[0] if not line.startswith(("!", "~")) else line.split()[1]: line
             for line in capsys.readouterr().out.splitlines() if "(" in line and "/" in line}
    assert "safe (x-openai-isConsequential)" in lines["inconsequential_post"]
    assert lines["consequential_get"].startswith("! ")
    assert "unsafe (x-agentrt-side-effect)" in lines["ours_wins"]
    assert "safe (method GET)" in lines["plain_get"]
    assert main(["tools", str(spec), "--json"]) == 0
    listed = {t["name"]: (t["side_effect"], t["side_effect_source"])
              for t in json.loads(capsys.readouterr().out)}
    assert listed == EXPECTED


def test_tools_command_lists_an_mcp_server(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    notes = Path(__file__).with_name("notes_server.py")
    log = tmp_path / "log"
    assert main(["tools", "--mcp", f"{sys.executable} {notes} {log}", "--json"]) == 0
    listed = {t["name"]: t for t in json.loads(capsys.readouterr().out)}
    assert listed["append_line"]["side_effect"] == "unsafe"
    assert listed["append_line"]["side_effect_source"] == "mcp: no annotations"
    assert listed["read_note"]["kind"] == "mcp"
    assert main(["tools"]) == 2 and "--mcp" in capsys.readouterr().err
