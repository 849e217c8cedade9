"""The OpenAI-compatible backend against recorded vLLM-shaped replies (httpx.MockTransport)
and, for the transport itself, a real socket."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from agentrt.backends import OpenAIBackend, RetryPolicy, Sampling
from agentrt.errors import BackendError

BASE = "http://vllm.test:8000/v1"
FAST = RetryPolicy(attempts=3, backoff=0.0, jitter=0.0, max_wait=2.0)

# Recorded from vLLM's /v1/chat/completions (ids shortened); the shape is what matters.
VLLM_TOOL_CALLS = {
    "id": "chatcmpl-9b2e", "object": "chat.completion", "created": 1764060000,
    "model": "qwen-booking",
    "choices": [{
        "index": 0,
        "message": {
            "role": "assistant", "content": None, "refusal": None, "annotations": None,
            "audio": None, "function_call": None, "reasoning_content": None,
            "tool_calls": [{"id": "chatcmpl-tool-41c7", "type": "function", "function": {
                "name": "search_flights",
                "arguments": '{"origin": "CDG", "destination": "JFK", "date": "2026-12-01"}'}}],
        },
        "logprobs": None, "finish_reason": "tool_calls", "stop_reason": None,
    }],
    "service_tier": None, "system_fingerprint": None,
    "usage": {"prompt_tokens": 412, "total_tokens": 447, "completion_tokens": 35,
              "prompt_tokens_details": {"cached_tokens": 384}},
    "prompt_logprobs": None, "kv_transfer_params": None,
}


def _reply(*contents: str | None, finish: str = "stop") -> dict[str, Any]:
    """A vLLM reply whose choices carry ``contents`` and no parsed tool calls."""
    return {**VLLM_TOOL_CALLS, "choices": [{
        "index": i, "message": {"role": "assistant", "content": c, "tool_calls": []},
        "logprobs": None, "finish_reason": finish, "stop_reason": None,
    } for i, c in enumerate(contents)]}


def _step(name: str, arguments: dict[str, Any], thought: str = "t") -> str:
    return json.dumps({"thought": thought, "name": name, "arguments": arguments})


class Recorder:
    """A MockTransport handler that replays responses and records the requests."""

    def __init__(self, *responses: httpx.Response | Exception
                 | Callable[[httpx.Request], httpx.Response]) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests if r.content]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        item = self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]
        if isinstance(item, Exception):
            raise item
        if callable(item):
            return item(request)
        return item


def backend(recorder: Recorder, **kw: Any) -> OpenAIBackend:
    kw.setdefault("flavour", "vllm")
    kw.setdefault("retry", FAST)
    client = httpx.AsyncClient(transport=httpx.MockTransport(recorder))
    return OpenAIBackend(BASE, kw.pop("model", "qwen-booking"), client=client, **kw)


async def test_tool_calls_reply_and_request_shape(messages: list[dict[str, Any]],
                                                  tools: list[dict[str, Any]],
                                                  constraint: dict[str, Any]) -> None:
    rec = Recorder(httpx.Response(200, json=VLLM_TOOL_CALLS))
    be = backend(rec)
    [cand] = await be.propose(messages, tools=tools, n=1, constraint=constraint,
                              sampling=Sampling(seed=7, max_tokens=64))
    assert cand.kind == "call"
    assert cand.call is not None
    assert cand.call.arguments == {"origin": "CDG", "destination": "JFK", "date": "2026-12-01"}
    assert cand.meta["cached_prompt_tokens"] == 384
    assert cand.meta["finish_reason"] == "tool_calls"
    [body] = rec.bodies
    assert rec.requests[0].url == f"{BASE}/chat/completions"
    assert body["model"] == "qwen-booking"
    assert (body["n"], body["seed"], body["max_tokens"]) == (1, 7, 64)
    assert body["tool_choice"] == "required"
    assert all(t["function"]["strict"] is True for t in body["tools"])
    assert body["messages"] == messages
    assert not any(k.startswith("guided_") for k in body)


async def test_without_constraint_tools_are_not_strict(messages: list[dict[str, Any]],
                                                       tools: list[dict[str, Any]]) -> None:
    rec = Recorder(httpx.Response(200, json=VLLM_TOOL_CALLS))
    await backend(rec, tool_choice="search_flights").propose(messages, tools=tools)
    [body] = rec.bodies
    assert "strict" not in body["tools"][0]["function"]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "search_flights"}}


@pytest.mark.parametrize(("flavour", "field", "expected"), [
    ("vllm", "structured_outputs", lambda s: {"json": s}),
    ("openai", "response_format",
     lambda s: {"type": "json_schema", "json_schema": {"name": "step", "schema": s,
                                                       "strict": True}}),
    ("llamacpp", "response_format", lambda s: {"type": "json_object", "schema": s}),
])
async def test_json_mode_request_per_flavour(flavour: str, field: str, expected: Any,
                                             messages: list[dict[str, Any]],
                                             tools: list[dict[str, Any]],
                                             constraint: dict[str, Any]) -> None:
    step = _step("get_booking", {"reference": "ABC123"})
    rec = Recorder(httpx.Response(200, json=_reply(step)))
    [cand] = await backend(rec, flavour=flavour, mode="json").propose(
        messages, tools=tools, constraint=constraint)
    assert cand.call is not None
    assert cand.call.arguments == {"reference": "ABC123"}
    [body] = rec.bodies
    assert body[field] == expected(constraint)
    assert "tools" not in body
    assert body["messages"][0]["role"] == "system"
    assert "get_booking" in body["messages"][0]["content"]


async def test_vllm_n_is_one_request(messages: list[dict[str, Any]],
                                     tools: list[dict[str, Any]]) -> None:
    steps = [_step("get_booking", {"reference": r}) for r in ("A", "B", "C")]
    rec = Recorder(httpx.Response(200, json=_reply(*steps)))
    cands = await backend(rec).propose(messages, tools=tools, n=3)
    assert [c.call.arguments for c in cands if c.call] == [{"reference": r} for r in "ABC"]
    assert len(rec.requests) == 1
    assert rec.bodies[0]["n"] == 3


async def test_n_ignored_falls_back_to_seeded_requests(messages: list[dict[str, Any]],
                                                       tools: list[dict[str, Any]]) -> None:
    counter = iter(range(100))

    def one_choice(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=_reply(_step("get_booking",
                                                     {"reference": str(next(counter))})))

    rec = Recorder(one_choice)
    be = backend(rec, flavour="openai")
    cands = await be.propose(messages, tools=tools, n=3, sampling=Sampling(seed=10))
    assert len(cands) == 3
    assert [b["seed"] for b in rec.bodies] == [10, 11, 12]
    assert [b["n"] for b in rec.bodies] == [3, 1, 1]
    assert be.honours_n is False
    await be.propose(messages, tools=tools, n=2, sampling=Sampling(seed=20))
    assert [b["n"] for b in rec.bodies[3:]] == [1, 1]  # no longer asks for n


async def test_calls_left_in_content_and_broken_json(messages: list[dict[str, Any]],
                                                     tools: list[dict[str, Any]]) -> None:
    hermes = ('<tool_call>\n{"name": "get_booking", "arguments": "{\\"reference\\": \\"Q7\\"}"}\n'
              "</tool_call>")
    broken = '{"thought": "x", "name": "get_booking", "arguments": {"reference": '
    rec = Recorder(httpx.Response(200, json=_reply(hermes, broken, None, "I think it is 42.")))
    cands = await backend(rec).propose(messages, tools=tools, n=4)
    assert cands[0].call is not None
    assert cands[0].call.arguments == {"reference": "Q7"}
    assert cands[0].meta["source"] == "hermes"
    assert [c.kind for c in cands[1:]] == ["unparseable"] * 3
    assert all(c.error for c in cands[1:])


async def test_truncated_reply_says_so(messages: list[dict[str, Any]],
                                       tools: list[dict[str, Any]]) -> None:
    rec = Recorder(httpx.Response(200, json=_reply('{"thought": "long', finish="length")))
    [cand] = await backend(rec).propose(messages, tools=tools)
    assert cand.kind == "unparseable"
    assert "max_tokens" in (cand.error or "")


@pytest.mark.parametrize("reply", [{**VLLM_TOOL_CALLS, "choices": []}, {"object": "error"},
                                   [1, 2]])
async def test_no_choices_is_a_backend_error(reply: Any, messages: list[dict[str, Any]],
                                             tools: list[dict[str, Any]]) -> None:
    rec = Recorder(httpx.Response(200, json=reply))
    with pytest.raises(BackendError, match="no choices"):
        await backend(rec).propose(messages, tools=tools)


async def test_not_json_is_a_backend_error(messages: list[dict[str, Any]],
                                           tools: list[dict[str, Any]]) -> None:
    rec = Recorder(httpx.Response(200, text="<html>proxy error</html>"))
    with pytest.raises(BackendError, match="not JSON"):
        await backend(rec).propose(messages, tools=tools)


async def test_400_is_raised_at_once_with_the_server_message(
        messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> None:
    error = {"object": "error", "type": "BadRequestError", "param": None, "code": 400,
             "message": '"auto" tool choice requires --enable-auto-tool-choice and '
                        "--tool-call-parser to be set"}
    rec = Recorder(httpx.Response(400, json=error))
    with pytest.raises(BackendError, match="enable-auto-tool-choice") as info:
        await backend(rec).propose(messages, tools=tools)
    assert info.value.status_code == 400
    assert len(rec.requests) == 1


async def test_500_is_not_retried(messages: list[dict[str, Any]],
                                  tools: list[dict[str, Any]]) -> None:
    rec = Recorder(httpx.Response(500, json={"error": {"message": "CUDA error"}}))
    with pytest.raises(BackendError, match="CUDA error") as info:
        await backend(rec).propose(messages, tools=tools)
    assert info.value.status_code == 500
    assert len(rec.requests) == 1


async def test_503_then_success_is_retried(messages: list[dict[str, Any]],
                                           tools: list[dict[str, Any]]) -> None:
    rec = Recorder(httpx.Response(503), httpx.Response(429),
                   httpx.Response(200, json=VLLM_TOOL_CALLS))
    [cand] = await backend(rec).propose(messages, tools=tools)
    assert cand.kind == "call"
    assert len(rec.requests) == 3


async def test_persistent_502_gives_up_after_bounded_attempts(
        messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> None:
    rec = Recorder(httpx.Response(502, text="bad gateway"))
    with pytest.raises(BackendError, match="HTTP 502 after 3 attempts") as info:
        await backend(rec).propose(messages, tools=tools)
    assert info.value.status_code == 502
    assert len(rec.requests) == 3


async def test_retry_after_is_honoured_and_a_long_one_is_not_waited(
        messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    rec = Recorder(httpx.Response(429, headers={"Retry-After": "2"}),
                   httpx.Response(503, headers={"Retry-After": "1"}),
                   httpx.Response(200, json=VLLM_TOOL_CALLS))
    [cand] = await backend(rec, sleep=sleep).propose(messages, tools=tools)
    assert cand.kind == "call" and len(rec.requests) == 3
    assert waits == [2.0, 1.0], "the server's Retry-After, not the (zero) backoff"
    waits.clear()
    rec = Recorder(httpx.Response(429, headers={"Retry-After": "3600"}, text="slow down"))
    with pytest.raises(BackendError, match="HTTP 429 after 1 attempt: slow down") as info:
        await backend(rec, sleep=sleep).propose(messages, tools=tools)
    assert info.value.status_code == 429 and len(rec.requests) == 1 and waits == []


def test_one_retry_policy_for_backends_and_executor() -> None:
    from agentrt.backends.openai_http import DEFAULT_RETRY
    from agentrt.executor import RetryPolicy as ExecutorRetryPolicy
    from agentrt.retrying import RetryPolicy as SharedRetryPolicy

    assert RetryPolicy is ExecutorRetryPolicy is SharedRetryPolicy
    assert isinstance(DEFAULT_RETRY, SharedRetryPolicy) and DEFAULT_RETRY.max_elapsed == 180.0


async def test_timeouts_are_retried_then_raised(messages: list[dict[str, Any]],
                                                tools: list[dict[str, Any]]) -> None:
    rec = Recorder(httpx.ReadTimeout("read timed out"))
    with pytest.raises(BackendError, match="did not answer in time"):
        await backend(rec).propose(messages, tools=tools)
    assert len(rec.requests) == 3


async def test_wrong_model_name_hint(messages: list[dict[str, Any]],
                                     tools: list[dict[str, Any]]) -> None:
    error = {"object": "error", "message": "The model `qwen-bookin` does not exist.",
             "type": "NotFoundError", "param": "model", "code": 404}
    rec = Recorder(httpx.Response(404, json=error))
    with pytest.raises(BackendError, match="served model name"):
        await backend(rec, model="qwen-bookin").propose(messages, tools=tools)


async def test_health_check() -> None:
    models = {"object": "list", "data": [{"id": "qwen-booking", "object": "model"},
                                         {"id": "flights-lora", "object": "model"}]}

    def server(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/health":
            return httpx.Response(200)
        return httpx.Response(200, json=models)

    ok = backend(Recorder(server))
    assert await ok.check() == ["qwen-booking", "flights-lora"]
    with pytest.raises(BackendError, match=r"does not serve model 'other'.*flights-lora"):
        await backend(Recorder(server), model="other").check()
    auto = backend(Recorder(server), model=None)
    await auto.check()
    assert auto.model == "qwen-booking"
    with pytest.raises(BackendError, match="not ready"):
        await backend(Recorder(httpx.Response(500))).check()


async def test_server_down_on_a_real_socket() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago and has no listener
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    be = OpenAIBackend(f"http://127.0.0.1:{port}/v1", "m", retry=FAST, connect_timeout_s=1)
    try:
        with pytest.raises(BackendError, match=r"cannot connect.*is it running"):
            await be.check()
        assert be.requests == 3
    finally:
        await be.aclose()
