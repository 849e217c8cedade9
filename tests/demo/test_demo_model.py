"""The demo's model string: ``embedded`` gains the shipped adapter (verified by sha256),
``embedded:base`` and every other string stay as they are."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from agentrt.errors import ConfigError
from agentrt_demo.model import demo_model, shipped_adapter, uses_adapter


def _adapter(tmp_path: Path, payload: bytes = b"GGUF adapter bytes") -> tuple[Path, Path]:
    adapter, manifest = tmp_path / "adapter.gguf", tmp_path / "training.json"
    adapter.write_bytes(payload)
    manifest.write_text(json.dumps({"artifacts": {"gguf": {
        "bytes": len(payload), "sha256": hashlib.sha256(payload).hexdigest()}}}))
    return adapter, manifest


def test_embedded_gains_the_adapter_and_nothing_else_does(tmp_path: Path) -> None:
    adapter, manifest = _adapter(tmp_path)
    assert shipped_adapter(adapter, manifest) == adapter
    assert demo_model("embedded", adapter=adapter) == f"embedded@lora={adapter}"
    for other in ("embedded:base", "embedded:/m.gguf", "vllm:http://h:8000/v1#m",
                  f"embedded@lora={tmp_path}/x.gguf"):
        assert demo_model(other, adapter=adapter) == other
    assert uses_adapter(demo_model("embedded", adapter=adapter))
    assert not uses_adapter("embedded:base")


def test_a_missing_adapter_leaves_the_stock_model(tmp_path: Path) -> None:
    assert shipped_adapter(tmp_path / "none.gguf", tmp_path / "none.json") is None


def test_a_changed_adapter_is_refused(tmp_path: Path) -> None:
    adapter, manifest = _adapter(tmp_path)
    adapter.write_bytes(b"GGUF adapter bytez")  # same size, other bytes
    with pytest.raises(ConfigError, match="does not match its manifest"):
        shipped_adapter(adapter, manifest)


def test_the_shipped_adapter_matches_its_manifest() -> None:
    from agentrt_demo.model import ADAPTER, MANIFEST

    if not ADAPTER.is_file():
        pytest.skip("no demo adapter ships in this tree")
    assert shipped_adapter() == ADAPTER
    manifest = json.loads(MANIFEST.read_text())
    assert manifest["format"] == "agentrt.finetune/1"
    assert manifest["data"]["records"] > 0 and manifest["training"]["steps"] > 0
