"""The shipped GGUF (Qwen2.5-Coder-0.5B): the training tokenizer gives llama.cpp's token ids on a
native-format step — ``<tool_call>`` whole, as the embedded backend feeds it — and the training
text ends in the template's own reply turn. Loads the tokenizer from the 0.5 GB file (~50 s)."""

from __future__ import annotations

import pytest

from agentrt.backends.native import ChatTemplate, native_messages
from tests.training.tiny_model import trajectory

pytestmark = [pytest.mark.model, pytest.mark.slow]
pytest.importorskip("transformers", reason="needs the train extra: pip install 'agentrt[train]'")
pytest.importorskip("gguf", reason="needs the train extra: pip install 'agentrt[train]'")
pytest.importorskip("llama_cpp", reason="needs llama-cpp-python: pip install 'agentrt[embedded]'")


def test_training_tokens_are_llama_cpps_on_the_shipped_model() -> None:
    from agentrt.training.base import inspect_base, load_tokenizer
    from agentrt.training.examples import step_text
    from agentrt.training.pipeline import check_tokenizer
    from agentrt.training.records import TrainingRecord

    info = inspect_base(None)
    assert (info.architecture, info.eot, info.n_layers) == ("qwen2", "<|im_end|>", 24)
    tokenizer = load_tokenizer(info)
    assert len(tokenizer.encode("<tool_call>")) == 1 and len(tokenizer.encode("</tool_call>")) == 1
    template = ChatTemplate(info.chat_template)
    texts = []
    for raw in trajectory():
        record = TrainingRecord.model_validate(raw)
        text = step_text(template, record, eot=info.eot)
        turn = template.render(native_messages([*record.messages, record.reply]),
                               tools=record.tools[:1], add_generation_prompt=False)
        assert turn.startswith(text.prompt + text.target)  # the template's own reply turn
        texts.append(text.prompt + text.target)
    assert check_tokenizer(info, tokenizer, texts) == 2
