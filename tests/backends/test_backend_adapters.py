"""What an adapter's training.json tells the embedded backend: call style and bias, with safe
defaults for an adapter that has no manifest or a broken one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentrt.backends import EmbeddedBackend
from agentrt.backends.adapters import adapter_call_bias, adapter_call_style, adapter_decoding


def _adapter(tmp_path: Path, manifest: str | None) -> Path:
    path = tmp_path / "adapter.gguf"
    path.write_bytes(b"GGUF")
    if manifest is not None:
        (tmp_path / "training.json").write_text(manifest, encoding="utf-8")
    return path


def test_the_manifest_decides_style_and_bias(tmp_path: Path) -> None:
    path = _adapter(tmp_path, json.dumps({"decoding": {"call_style": "bare", "call_bias": 2.5}}))
    assert adapter_decoding(path) == {"call_style": "bare", "call_bias": 2.5}
    assert adapter_call_style(path) == "bare" and adapter_call_bias(path) == 2.5
    be = EmbeddedBackend(lora_path=path)  # nothing is loaded before the first step
    assert be.call_style == "bare" and be.call_bias == 2.5
    assert EmbeddedBackend(lora_path=path, call_style="tagged").call_style == "tagged"


@pytest.mark.parametrize("manifest", [None, "{not json", '{"decoding": "bare"}',
                                      '{"decoding": {"call_style": "fenced", "call_bias": "x"}}'])
def test_no_or_a_broken_manifest_means_the_defaults(tmp_path: Path, manifest: str | None
                                                    ) -> None:
    path = _adapter(tmp_path, manifest)
    assert adapter_call_style(path) == "tagged" and adapter_call_bias(path) == 0.0
    assert adapter_call_style(None) == "tagged" and adapter_decoding(None) == {}
