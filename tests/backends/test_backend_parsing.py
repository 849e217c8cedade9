"""Parsing model output into candidates: every shape servers produce, and the known breakages."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentrt.backends.parsing import parse_arguments, parse_message, parse_text
from agentrt.backends.prompting import flatten_messages, step_messages


def test_tool_calls_field_with_json_string_arguments(tools: list[dict[str, Any]]) -> None:
    message = {"role": "assistant", "content": "I'll look that up.", "tool_calls": [{
        "id": "call_1", "type": "function",
        "function": {"name": "search_flights",
                     "arguments": '{"origin": "CDG", "destination": "JFK", "date": "2026-12-01"}'},
    }]}
    cand = parse_message(message, tools=tools)
    assert cand.kind == "call"
    assert cand.call is not None
    assert cand.call.name == "search_flights"
    assert cand.call.arguments == {"origin": "CDG", "destination": "JFK", "date": "2026-12-01"}
    assert cand.call.id == "call_1"
    assert cand.thought == "I'll look that up."
    assert cand.meta["source"] == "tool_calls"
    assert cand.meta["repairs"] == []


def test_double_encoded_arguments_are_decoded(tools: list[dict[str, Any]]) -> None:
    inner = json.dumps({"reference": "ABC123"})
    message = {"tool_calls": [{"function": {"name": "get_booking",
                                            "arguments": json.dumps(inner)}}]}
    cand = parse_message(message, tools=tools)
    assert cand.call is not None
    assert cand.call.arguments == {"reference": "ABC123"}
    assert "double_encoded" in cand.meta["repairs"]


def test_stringified_array_is_decoded_only_where_the_schema_wants_an_array(
        tools: list[dict[str, Any]]) -> None:
    args = {"origin": "[not a list]", "destination": "JFK", "date": "2026-12-01",
            "cabins": '["economy", "business"]'}
    message = {"tool_calls": [{"function": {"name": "search_flights",
                                            "arguments": json.dumps(args)}}]}
    cand = parse_message(message, tools=tools)
    assert cand.call is not None
    assert isinstance(cand.call.arguments, dict)
    assert cand.call.arguments["cabins"] == ["economy", "business"]
    assert cand.call.arguments["origin"] == "[not a list]"  # a string parameter stays a string
    assert cand.meta["repairs"] == ["stringified_list:cabins"]


def test_trailing_text_after_arguments_is_dropped() -> None:
    assert parse_arguments('{"reference": "X1"} and that is all') == {"reference": "X1"}


def test_broken_json_arguments_stay_a_string_for_validation() -> None:
    message = {"tool_calls": [{"function": {"name": "get_booking",
                                            "arguments": '{"reference": "X1'}}]}
    cand = parse_message(message)
    assert cand.kind == "call"
    assert cand.call is not None
    assert cand.call.arguments == '{"reference": "X1'


def test_python_literal_arguments() -> None:
    repairs: list[str] = []
    assert parse_arguments("{'reference': 'X1', 'flag': True}", None, repairs) == {
        "reference": "X1", "flag": True}
    assert repairs == ["python_literal"]


def test_hermes_tags_left_in_content(tools: list[dict[str, Any]]) -> None:
    content = ('<think>The user wants flights.</think>Searching now.\n<tool_call>\n'
               '{"name": "search_flights", "arguments": {"origin": "CDG", "destination": "JFK", '
               '"date": "2026-12-01"}}\n</tool_call>')
    cand = parse_message({"role": "assistant", "content": content, "tool_calls": []}, tools=tools)
    assert cand.kind == "call"
    assert cand.call is not None
    assert cand.call.name == "search_flights"
    assert cand.meta["source"] == "hermes"
    assert cand.thought == "The user wants flights.\nSearching now."


def test_bare_step_object_finish_becomes_answer() -> None:
    text = ('{"thought": "I have it.", "name": "finish", "arguments": '
            '{"return_type": "give_answer", "final_answer": "AF22 at 10:05"}}')
    cand = parse_text(text)
    assert cand.kind == "answer"
    assert cand.answer == "AF22 at 10:05"
    assert cand.thought == "I have it."


def test_give_up() -> None:
    text = '{"thought": "stuck", "name": "finish", "arguments": {"return_type": "give_up_and_restart"}}'
    assert parse_text(text).kind == "give_up"


def test_fenced_json_with_prose_around_it() -> None:
    text = ('Let me check the booking.\n```json\n{"name": "get_booking", '
            '"arguments": {"reference": "ABC123"}}\n```\nHope this helps!')
    cand = parse_text(text)
    assert cand.kind == "call"
    assert cand.call is not None
    assert cand.call.arguments == {"reference": "ABC123"}
    assert cand.meta["source"] == "fence"
    assert cand.thought == "Let me check the booking."


def test_llama3_style_parameters_key_and_trailing_text() -> None:
    cand = parse_text('{"name": "get_booking", "parameters": {"reference": "Z9"}} <|eot_id|>')
    assert cand.call is not None
    assert cand.call.arguments == {"reference": "Z9"}
    assert cand.meta["repairs"] == ["trailing_text"]


def test_toolbench_action_lines() -> None:
    text = 'Thought: find it\nAction: get_booking\nAction Input: {"reference": "Q1"}'
    cand = parse_text(text)
    assert cand.call is not None
    assert (cand.call.name, cand.call.arguments, cand.thought) == (
        "get_booking", {"reference": "Q1"}, "find it")


@pytest.mark.parametrize("text", ["", "   ", "Sure, the flight is at 10:05.",
                                  '{"thought": "no name here"}', "<tool_call>not json</tool_call>",
                                  '{"name": "get_booking", "arguments": {"reference": "X'])
def test_unreadable_output_is_an_unparseable_candidate_not_an_exception(text: str) -> None:
    cand = parse_text(text)
    assert cand.kind == "unparseable"
    assert cand.error
    assert cand.raw == text


def test_finish_without_answer_is_unparseable() -> None:
    cand = parse_text('{"name": "finish", "arguments": {"return_type": "give_answer"}}')
    assert cand.kind == "unparseable"
    assert "final_answer" in (cand.error or "")


def test_message_without_content_or_calls() -> None:
    assert parse_message({"role": "assistant", "content": None}).kind == "unparseable"
    assert parse_message(None).kind == "unparseable"
    cand = parse_message({"tool_calls": [{"function": {"arguments": "{}"}}]})
    assert cand.kind == "unparseable"
    assert "name" in (cand.error or "")


def test_extra_tool_calls_are_noted() -> None:
    call = {"function": {"name": "get_booking", "arguments": '{"reference": "A"}'}}
    cand = parse_message({"tool_calls": [call, call]})
    assert cand.kind == "call"
    assert cand.meta["extra_tool_calls"] == 1


def test_flatten_and_step_messages(tools: list[dict[str, Any]]) -> None:
    convo: list[dict[str, Any]] = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "find my booking ABC"},
        {"role": "assistant", "content": "Looking.", "tool_calls": [{
            "id": "c1", "type": "function",
            "function": {"name": "get_booking", "arguments": '{"reference": "ABC"}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": '{"status": "confirmed"}'},
    ]
    flat = flatten_messages(convo)
    assert flat[2] == {"role": "assistant", "content": json.dumps(
        {"thought": "Looking.", "name": "get_booking", "arguments": {"reference": "ABC"}})}
    assert flat[3] == {"role": "user",
                       "content": 'Observation (get_booking): {"status": "confirmed"}'}
    prompt = step_messages(convo, tools)
    assert [m["role"] for m in prompt] == ["system", "user", "assistant", "user"]
    assert prompt[0]["content"].startswith("Be brief.")
    assert "search_flights" in prompt[0]["content"]
    # the flattened assistant turn parses back into the same call
    back = parse_text(flat[2]["content"])
    assert back.call is not None
    assert back.call.arguments == {"reference": "ABC"}
