"""Backends stage: what ``agentrt finetune`` says about a LoRA adapter for decoding with it —
the ``decoding`` section of the ``training.json`` beside the adapter file.

* ``call_style``: ``tagged`` (calls in the chat template's ``<tool_call>`` form) or ``bare``
  (the JSON object alone), see :mod:`agentrt.backends.native`;
* ``call_bias``: for tagged calls, the calibrated ``<tool_call>`` logit bias
  (:mod:`agentrt.training.calibrate`).

A missing or unreadable manifest means the defaults (tagged, no bias): an adapter from
elsewhere loads as it is.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agentrt.backends.native import CALL_STYLES

__all__ = ["adapter_call_bias", "adapter_call_style", "adapter_decoding"]


def adapter_decoding(lora_path: Path | None) -> dict[str, Any]:
    """The ``decoding`` section of the adapter's ``training.json``; empty when there is none."""
    if lora_path is None:
        return {}
    try:
        manifest = json.loads((lora_path.parent / "training.json").read_text(encoding="utf-8"))
        decoding = manifest.get("decoding", {})
    except (OSError, ValueError, TypeError, AttributeError):
        return {}
    return dict(decoding) if isinstance(decoding, dict) else {}


def adapter_call_bias(lora_path: Path | None) -> float:
    """The ``decoding.call_bias`` that ``agentrt finetune`` measured for an adapter, else 0."""
    try:
        return float(adapter_decoding(lora_path).get("call_bias", 0.0))
    except (TypeError, ValueError):
        return 0.0


def adapter_call_style(lora_path: Path | None) -> str:
    """The call style an adapter was trained on (``decoding.call_style``), else ``tagged``."""
    style = adapter_decoding(lora_path).get("call_style", "tagged")
    return style if style in CALL_STYLES else "tagged"
