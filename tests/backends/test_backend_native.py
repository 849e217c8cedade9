"""The native tool-call format: chat-template rendering, message normalisation, the call schema."""

from __future__ import annotations

import json

import pytest

from agentrt.backends.native import (
    ChatTemplate,
    native_call_schema,
    native_messages,
    render_prompt,
)
from agentrt.errors import BackendError
from agentrt.protocol import FINISH_TOOL

# The tool-calling part of Qwen2.5's template (the shipped GGUF's), enough to check rendering.
QWEN_LIKE = (
    "{%- if tools %}<|im_start|>system\n{{ messages[0]['content'] }}\n<tools>"
    "{%- for tool in tools %}\n{{ tool | tojson }}{%- endfor %}\n</tools>\n"
    "<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>"
    "<|im_end|>\n{%- endif %}"
    "{%- for message in messages %}"
    "{%- if message.role == 'user' or (message.role == 'assistant' and not message.tool_calls) %}"
    "<|im_start|>{{ message.role }}\n{{ message.content }}{{ '<|im_end|>\\n' }}"
    "{%- elif message.role == 'assistant' %}<|im_start|>assistant"
    "{%- for tc in message.tool_calls %}\n<tool_call>\n{\"name\": \"{{ tc.function.name }}\", "
    "\"arguments\": {{ tc.function.arguments | tojson }}}\n</tool_call>{%- endfor %}"
    "{{ '<|im_end|>\\n' }}"
    "{%- elif message.role == 'tool' %}<|im_start|>user\n<tool_response>\n{{ message.content }}"
    "\n</tool_response>{{ '<|im_end|>\\n' }}{%- endif %}{%- endfor %}"
    "{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{%- endif %}"
)

TOOL = {"type": "function", "function": {
    "name": "get_airport", "description": "One airport by IATA code.",
    "parameters": {"type": "object", "properties": {"code": {"type": "string"}},
                   "required": ["code"]}}}


def test_template_renders_tools_calls_and_results() -> None:
    template = ChatTemplate(QWEN_LIKE)
    assert template.supports_tools
    messages = [
        {"role": "system", "content": "rules"},
        {"role": "user", "content": "Name of LIS?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "get_airport", "arguments": '{"code": "LIS"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "name: Humberto Delgado"},
    ]
    text = render_prompt(template, messages, [TOOL, FINISH_TOOL])
    assert '"name": "get_airport"' in text and "finish" not in text  # finish is no tool here
    # arguments rendered as an object (tojson of a dict), not a JSON string inside a string
    assert '"arguments": {"code": "LIS"}' in text
    assert "<tool_response>\nname: Humberto Delgado\n</tool_response>" in text
    assert text.endswith("<|im_start|>assistant\n")


def test_finish_call_becomes_plain_answer_turn() -> None:
    out = native_messages([{"role": "assistant", "content": None, "tool_calls": [
        {"id": "c", "type": "function", "function": {
            "name": "finish",
            "arguments": json.dumps({"return_type": "give_answer", "final_answer": "It is X."})}}]}])
    assert out == [{"role": "assistant", "content": "It is X."}]


def test_template_without_tools_is_reported() -> None:
    assert not ChatTemplate("{% for m in messages %}{{ m.content }}{% endfor %}").supports_tools


def test_broken_templates_are_typed_errors() -> None:
    with pytest.raises(BackendError, match="does not compile"):
        ChatTemplate("{% for m in messages %}")
    failing = ChatTemplate("{{ raise_exception('no system role') }}")
    with pytest.raises(BackendError, match="no system role"):
        failing.render([{"role": "user", "content": "x"}])


def test_call_schema_drops_thought_and_finish() -> None:
    step = {"anyOf": [
        {"type": "object", "properties": {
            "thought": {"type": "string"}, "name": {"const": "get_airport"},
            "arguments": {"type": "object"}}, "required": ["thought", "name", "arguments"]},
        {"type": "object", "properties": {
            "thought": {"type": "string"}, "name": {"const": "finish"},
            "arguments": {"type": "object"}}, "required": ["thought", "name", "arguments"]},
    ], "$defs": {"x": {"type": "string"}}}
    schema = native_call_schema(step)
    assert schema is not None
    (branch,) = schema["anyOf"]
    assert list(branch["properties"]) == ["name", "arguments"]
    assert branch["required"] == ["name", "arguments"]
    assert schema["$defs"] == {"x": {"type": "string"}}
    only_finish = {"anyOf": [step["anyOf"][1]]}
    assert native_call_schema(only_finish) is None
    assert native_call_schema(None) is None


def test_bare_call_style_turns_calls_into_the_assistants_text() -> None:
    calls = [{"id": "c1", "type": "function",
              "function": {"name": "get_airport", "arguments": '{"code": "LIS"}'}},
             {"id": "c2", "type": "function",
              "function": {"name": "get_airport", "arguments": {"code": "MAD"}}}]
    msg = {"role": "assistant", "content": "thinking", "tool_calls": calls}
    [tagged] = native_messages([msg])
    assert tagged["tool_calls"][0]["function"]["arguments"] == {"code": "LIS"}
    [bare] = native_messages([msg], bare_calls=True)
    assert "tool_calls" not in bare
    assert bare["content"] == ('{"name": "get_airport", "arguments": {"code": "LIS"}}\n'
                               '{"name": "get_airport", "arguments": {"code": "MAD"}}')
    finish = {"role": "assistant", "content": None, "tool_calls": [
        {"id": "f", "type": "function",
         "function": {"name": "finish", "arguments": {"final_answer": "done"}}}]}
    assert native_messages([finish], bare_calls=True)[0]["content"] == "done"
