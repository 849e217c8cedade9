"""The demo's model: the embedded default with the demo's fine-tuned LoRA adapter.

The adapter (``data/adapter/adapter.gguf``) was trained by ``agentrt finetune`` on
``agentrt synth`` trajectories of generated demo requests (never the 52 evaluation tasks);
``data/adapter/training.json`` says how (generator seed, teacher, examples, steps, loss
curve, commit) and holds the file's sha256, which is checked before the adapter is used.

``agentrt demo``, ``agentrt eval`` and the REPL's demo world turn the model string
``embedded`` into ``embedded@lora=<the adapter>``; ``embedded:base`` is the stock model, and
any other string is left alone. The adapter was trained on prompts without worked examples,
so with it the demo commands use no demonstrations unless asked.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from agentrt.backends.model_files import sha256_of
from agentrt.errors import ConfigError

__all__ = ["ADAPTER", "MANIFEST", "demo_model", "shipped_adapter", "uses_adapter"]

ADAPTER_DIR = Path(__file__).with_name("data") / "adapter"
ADAPTER = ADAPTER_DIR / "adapter.gguf"
MANIFEST = ADAPTER_DIR / "training.json"


@lru_cache(maxsize=4)
def _verified(path: Path, manifest: Path, stamp: tuple[int, int]) -> Path:
    try:
        expected = json.loads(manifest.read_text(encoding="utf-8"))["artifacts"]["gguf"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{manifest} does not describe the demo adapter: {exc}") from exc
    if stamp[0] != expected.get("bytes") or sha256_of(path) != expected.get("sha256"):
        raise ConfigError(f"{path} does not match its manifest {manifest} (size or sha256): "
                          "reinstall agentrt or use --model embedded:base")
    return path


def shipped_adapter(path: Path = ADAPTER, manifest: Path = MANIFEST) -> Path | None:
    """The shipped adapter, verified against its manifest; None when none ships."""
    if not path.is_file():
        return None
    st = path.stat()
    return _verified(path, manifest, (st.st_size, st.st_mtime_ns))


def demo_model(text: str, *, adapter: Path | None = None) -> str:
    """The model string the demo commands load for ``text`` (module docstring)."""
    if text.strip() != "embedded":
        return text
    found = adapter if adapter is not None else shipped_adapter()
    return f"embedded@lora={found}" if found is not None else text


def uses_adapter(text: str) -> bool:
    """Whether a model string carries a LoRA adapter (then no worked examples by default)."""
    return "@lora=" in text
