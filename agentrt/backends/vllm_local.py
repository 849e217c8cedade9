"""Backends stage: vLLM in-process (``agentrt[vllm]``), the fine-tuned-local-model case on a GPU.

One ``vllm.LLM`` per backend, created on first use. A request is one ``LLM.chat`` call with
``SamplingParams(n=k, seed=..., structured_outputs=StructuredOutputsParams(json=constraint))``:
the k siblings share the prompt prefix in vLLM's prefix cache. An optional LoRA adapter
(``LoRARequest``) serves a fine-tuned adapter on top of the base model. ``vllm`` is imported
lazily; without it a :class:`~agentrt.errors.ConfigError` names the extra to install. The
blocking engine calls run in a worker thread, one at a time.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from agentrt.backends.base import Candidate, Capabilities, Message, Sampling
from agentrt.backends.parsing import parse_text
from agentrt.backends.prompting import step_messages
from agentrt.errors import BackendError, ConfigError

__all__ = ["VLLMLocalBackend", "import_vllm"]


def import_vllm() -> ModuleType:
    """``import vllm``, or a ConfigError naming the extra."""
    try:
        import vllm
    except ImportError as exc:
        raise ConfigError("the vllm-local backend needs vLLM (a GPU host): "
                          "pip install 'agentrt[vllm]'") from exc
    return vllm


class VLLMLocalBackend:
    """Runs a model with vLLM inside this process.

    ``model`` is a Hugging Face id or a local directory; ``lora_path`` an adapter directory
    (enables LoRA on the engine); ``llm_kwargs`` go to ``vllm.LLM`` (e.g.
    ``gpu_memory_utilization``, ``max_model_len``). ``llm`` injects a ready engine.
    """

    def __init__(self, model: str, *, lora_path: str | None = None, lora_name: str | None = None,
                 llm: Any = None, llm_kwargs: dict[str, Any] | None = None) -> None:
        if not model:
            raise ConfigError("vllm-local needs a model: vllm-local:MODEL[@lora=/path]")
        self.model = model
        self.lora_path = lora_path
        self.lora_name = lora_name or ("adapter" if lora_path else None)
        self.name = f"vllm-local:{model}" + (f"@lora={lora_path}" if lora_path else "")
        self.capabilities = Capabilities(native_n=True, grammar=True, tool_call_format="json")
        self._llm = llm
        self._llm_kwargs = dict(llm_kwargs or {})
        self._lock = asyncio.Lock()

    def _engine(self) -> Any:
        if self._llm is None:
            vllm = import_vllm()
            kwargs = {"model": self.model, **self._llm_kwargs}
            if self.lora_path:
                kwargs.setdefault("enable_lora", True)
            self._llm = vllm.LLM(**kwargs)
        return self._llm

    def build_request(self, messages: Sequence[Message], *, tools: Sequence[dict[str, Any]],
                      n: int, sampling: Sampling, seed: int,
                      constraint: dict[str, Any] | None) -> dict[str, Any]:
        """The keyword arguments of the ``LLM.chat`` call (public so tests can inspect it)."""
        vllm = import_vllm()
        from vllm.sampling_params import StructuredOutputsParams

        structured = (StructuredOutputsParams(json=constraint) if constraint is not None
                      else StructuredOutputsParams(json_object=True))
        params = vllm.SamplingParams(
            n=n, seed=seed, temperature=sampling.temperature, top_p=sampling.top_p,
            max_tokens=sampling.max_tokens, structured_outputs=structured)
        request: dict[str, Any] = {"messages": step_messages(messages, tools),
                                   "sampling_params": params, "use_tqdm": False}
        if self.lora_path:
            from vllm.lora.request import LoRARequest

            request["lora_request"] = LoRARequest(self.lora_name, 1, self.lora_path)
        return request

    async def propose(self, messages: Sequence[Message], *, tools: Sequence[dict[str, Any]],
                      n: int = 1, sampling: Sampling | None = None,
                      constraint: dict[str, Any] | None = None) -> list[Candidate]:
        """``n`` candidates from one ``LLM.chat`` call (vLLM samples them natively)."""
        n = max(1, n)
        sampling = sampling or Sampling()
        seed = sampling.seed if sampling.seed is not None else random.randrange(2**31)
        request = self.build_request(messages, tools=tools, n=n, sampling=sampling, seed=seed,
                                     constraint=constraint)
        async with self._lock:
            try:
                outputs = await asyncio.to_thread(lambda: self._engine().chat(**request))
            except ConfigError:
                raise
            except Exception as exc:  # the engine's failures are ours: a typed error
                raise BackendError(f"vLLM failed: {type(exc).__name__}: {exc}",
                                   backend=self.name) from exc
        if not outputs:
            raise BackendError("vLLM returned no output", backend=self.name)
        first = outputs[0]
        prompt_tokens = len(getattr(first, "prompt_token_ids", None) or ())
        cached = getattr(first, "num_cached_tokens", None)
        candidates = []
        for index, completion in enumerate(getattr(first, "outputs", ())):
            meta = {"backend": self.name, "seed": seed, "index": index,
                    "finish_reason": getattr(completion, "finish_reason", None),
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": len(getattr(completion, "token_ids", None) or ()),
                    "cached_prompt_tokens": cached}
            candidates.append(parse_text(getattr(completion, "text", ""), tools=tools,
                                         meta=meta))
        return candidates[:n]

    async def aclose(self) -> None:
        """Drop the engine (vLLM frees GPU memory when it is garbage-collected)."""
        self._llm = None
