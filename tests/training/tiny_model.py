"""A tiny randomly initialised Qwen2 model written as a GGUF file (the gguf package, no download),
and a two-step trajectory in the ``agentrt.step/1`` record format — the test bed of the
training tests: the same architecture, tokenizer kind and chat-template shape as the shipped
Qwen2.5-Coder GGUF, small enough that training it takes seconds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# A compact template of the Qwen2.5 kind, written the way Qwen's is (text in expressions, so
# trim_blocks cannot eat a newline): tools in the system turn, <tool_call> replies,
# <tool_response> results, <|im_end|> ends every turn.
TEMPLATE = r"""
{%- if tools %}{{- '<|im_start|>system\n' + messages[0]['content'] + '\n<tools>' }}
{%- for tool in tools %}{{- '\n' }}{{- tool | tojson }}{%- endfor %}
{{- '\n</tools><|im_end|>\n' }}
{%- endif %}
{%- for message in messages %}
{%- if message.role == 'user' or (message.role == 'system' and not loop.first)
      or (message.role == 'assistant' and not message.tool_calls) %}
{{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>\n' }}
{%- elif message.role == 'assistant' %}
{{- '<|im_start|>' + message.role }}
{%- if message.content %}{{- '\n' + message.content }}{%- endif %}
{%- for tc in message.tool_calls %}{%- set f = tc.function %}
{{- '\n<tool_call>\n{"name": "' + f.name + '", "arguments": ' }}{{- f.arguments | tojson }}
{{- '}\n</tool_call>' }}
{%- endfor %}{{- '<|im_end|>\n' }}
{%- elif message.role == 'tool' %}
{{- '<|im_start|>user\n<tool_response>\n' + message.content + '\n</tool_response><|im_end|>\n' }}
{%- endif %}{%- endfor %}
{%- if add_generation_prompt %}{{- '<|im_start|>assistant\n' }}{%- endif %}
"""

CONTROL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
USER_DEFINED = ["<tool_call>", "</tool_call>"]
MERGES = [("Ġ", "t"), ("Ġ", "a"), ("e", "r"), ("i", "n"), ("o", "n"), ("Ġt", "he"),
          ("h", "e"), ("a", "r"), ("Ġ", "f"), ("Ġ", "s")]


def _byte_chars() -> list[str]:
    """GPT-2's byte → printable character table (byte-level BPE)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    table = dict(zip(bs, cs, strict=True))
    return [chr(table[b]) for b in range(256)]


def vocabulary() -> tuple[list[str], list[int], list[str]]:
    """Tokens, their GGUF token types and the merges."""
    tokens = _byte_chars()
    for a, b in MERGES:
        if a + b not in tokens:
            tokens.append(a + b)
    types = [1] * len(tokens) + [3] * len(CONTROL) + [4] * len(USER_DEFINED)
    tokens += CONTROL + USER_DEFINED
    return tokens, types, [f"{a} {b}" for a, b in MERGES]


def write_tiny_gguf(path: Path, *, hidden: int = 64, layers: int = 2, heads: int = 4,
                    kv_heads: int = 2, ffn: int = 128, seed: int = 0) -> Path:
    """A random Qwen2 with the tiny sizes given, all tensors float32."""
    import gguf
    import numpy as np

    rng = np.random.default_rng(seed)
    tokens, types, merges = vocabulary()
    vocab = len(tokens)
    kv_dim = hidden // heads * kv_heads
    w = gguf.GGUFWriter(str(path), arch="qwen2")
    w.add_type(gguf.GGUFType.MODEL)
    w.add_name("tiny qwen2")
    w.add_block_count(layers)
    w.add_context_length(1024)
    w.add_embedding_length(hidden)
    w.add_feed_forward_length(ffn)
    w.add_head_count(heads)
    w.add_head_count_kv(kv_heads)
    w.add_rope_freq_base(1_000_000.0)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_eos_token_id(tokens.index("<|im_end|>"))
    w.add_bos_token_id(tokens.index("<|endoftext|>"))
    w.add_pad_token_id(tokens.index("<|endoftext|>"))
    w.add_add_bos_token(False)
    w.add_chat_template(TEMPLATE)

    def t(*shape: int, scale: float = 0.08) -> Any:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    w.add_tensor("token_embd.weight", t(vocab, hidden, scale=0.5))
    w.add_tensor("output_norm.weight", np.ones(hidden, dtype=np.float32))
    w.add_tensor("output.weight", t(vocab, hidden, scale=0.2))
    for i in range(layers):
        p = f"blk.{i}."
        w.add_tensor(p + "attn_norm.weight", np.ones(hidden, dtype=np.float32))
        w.add_tensor(p + "attn_q.weight", t(hidden, hidden))
        w.add_tensor(p + "attn_q.bias", t(hidden, scale=0.02))
        w.add_tensor(p + "attn_k.weight", t(kv_dim, hidden))
        w.add_tensor(p + "attn_k.bias", t(kv_dim, scale=0.02))
        w.add_tensor(p + "attn_v.weight", t(kv_dim, hidden))
        w.add_tensor(p + "attn_v.bias", t(kv_dim, scale=0.02))
        w.add_tensor(p + "attn_output.weight", t(hidden, hidden))
        w.add_tensor(p + "ffn_norm.weight", np.ones(hidden, dtype=np.float32))
        w.add_tensor(p + "ffn_gate.weight", t(ffn, hidden))
        w.add_tensor(p + "ffn_up.weight", t(ffn, hidden))
        w.add_tensor(p + "ffn_down.weight", t(hidden, ffn))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


TOOL = {"type": "function", "function": {
    "name": "get_airport", "description": "One airport by code.",
    "parameters": {"type": "object", "properties": {"code": {"type": "string"}},
                   "required": ["code"]}}}
FINISH_TOOL = {"type": "function", "function": {
    "name": "finish", "description": "End with an answer.",
    "parameters": {"type": "object", "properties": {
        "return_type": {"type": "string"}, "final_answer": {"type": "string"}}}}}
SYSTEM = "Use the tools."
QUERY = "Name of LIS?"
CALL_ARGS = {"code": "LIS"}
RESULT = "name: Lisbon"
ANSWER = "It is Lisbon."


def trajectory() -> list[dict[str, Any]]:
    """Two records of one solved run: a call, then the answer after its result."""
    call = {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function",
         "function": {"name": "get_airport", "arguments": json.dumps(CALL_ARGS)}}]}
    first = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUERY}]
    second = [*first, call, {"role": "tool", "tool_call_id": "call_1", "content": RESULT}]
    common = {"format": "agentrt.step/1", "tools": [TOOL, FINISH_TOOL],
              "tool_call_format": "native", "steps": 2,
              "provenance": {"task_id": "t1", "teacher": "test", "seed": 0}}
    return [
        {**common, "messages": first, "reply": call, "kind": "call", "step": 0},
        {**common, "messages": second, "kind": "answer", "step": 1,
         "reply": {"role": "assistant", "content": ANSWER}},
    ]


def write_records(path: Path, records: list[dict[str, Any]] | None = None) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in (records or trajectory())),
                    encoding="utf-8")
    return path
