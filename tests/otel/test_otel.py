"""OpenTelemetry spans of agent runs (agentrt.otel), read back from the SDK's in-memory
exporter: one run span, model spans with usage, tool spans with outcomes — and no secrets,
no prompt text unless asked for."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentrt.agent import Agent
from agentrt.otel import OtelTracer
from agentrt.protocol import Candidate
from agentrt.testing import ScriptedBackend, answer, call
from agentrt.toolset import Toolset
from agentrt_demo import DEMO_API_KEY, DemoServices, running_services, spec_path

TODAY = date(2026, 6, 1)
QUERY = "Book the first flight from LIS to MAD for Ana Silva (secret-ish text)"
PAX = {"first_name": "Ana", "last_name": "Silva", "birth_date": "1990-04-12"}


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServices]:
    with running_services(tmp_path_factory.mktemp("otel-state"), today=TODAY) as svc:
        yield svc


@pytest.fixture
def spans() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def _steps(offer_id: Any) -> list[Any]:
    day = (TODAY + timedelta(days=20)).isoformat()
    usage = {"prompt_tokens": 120, "completion_tokens": 30, "finish_reason": "tool_calls"}
    return [
        Candidate.from_call("search_flight_offers", {"origin": "LIS", "destination": "MAD",
                                                      "departure_date": day}, meta=usage),
        call("get_flight_booking", booking_id="ZZZZZZ"),
        call("create_flight_booking", offer_id=offer_id, passengers=[PAX],
             contact_email="ana@example.com"),
        answer("Booked."),
    ]


def _first_offer(services: DemoServices) -> str:
    import httpx

    day = (TODAY + timedelta(days=20)).isoformat()
    r = httpx.get(f"{services.flights_url}/offers", headers={"X-API-Key": DEMO_API_KEY},
                  params={"origin": "LIS", "destination": "MAD", "departure_date": day})
    return str(r.json()["offers"][0]["offer_id"])


async def _run(services: DemoServices, otel: OtelTracer, *, wrap: bool) -> Any:
    ts = Toolset.from_spec(spec_path("flights"), base_url=services.flights_url)
    backend = ScriptedBackend(_steps(_first_offer(services)))
    agent = Agent(otel.backend(backend) if wrap else backend, ts, policy="allow",
                  credentials={"ApiKeyAuth": DEMO_API_KEY}, search="react",
                  ground_arguments=False, ground_answers=False, on_event=otel)
    async with agent:
        return await agent.run(QUERY)


def _by_op(spans: tuple[ReadableSpan, ...]) -> dict[str, list[ReadableSpan]]:
    out: dict[str, list[ReadableSpan]] = {}
    for s in spans:
        out.setdefault(str((s.attributes or {})["gen_ai.operation.name"]), []).append(s)
    return out


async def test_run_model_and_tool_spans(services: DemoServices,
                                        spans: tuple[TracerProvider, InMemorySpanExporter]
                                        ) -> None:
    provider, exporter = spans
    result = await _run(services, OtelTracer(provider), wrap=True)
    assert result.solved
    ops = _by_op(exporter.get_finished_spans())
    (run,) = ops["invoke_agent"]
    assert run.name == "invoke_agent agentrt"
    assert run.attributes["agentrt.status"] == "solved"
    assert run.attributes["gen_ai.request.model"] == "scripted"
    assert run.attributes["gen_ai.usage.input_tokens"] == 120
    assert run.attributes["gen_ai.usage.output_tokens"] == 30
    assert len(ops["chat"]) == result.stats["model_calls"] == 4
    first = ops["chat"][0]
    assert first.name == "chat scripted" and first.attributes["gen_ai.usage.input_tokens"] == 120
    assert first.attributes["gen_ai.response.finish_reasons"] == ("tool_calls",)
    tools = [(s.attributes["gen_ai.tool.name"], s.attributes["agentrt.outcome"])
             for s in ops["execute_tool"]]
    assert tools == [("search_flight_offers", "ok"), ("get_flight_booking", "client_error"),
                     ("create_flight_booking", "ok")]
    failed = ops["execute_tool"][1]
    assert failed.attributes["error.type"] == "client_error"
    assert failed.attributes["http.response.status_code"] == 404
    assert failed.status.status_code.name == "ERROR"
    for child in ops["chat"] + ops["execute_tool"]:
        assert child.parent is not None and child.parent.span_id == run.context.span_id
        assert child.context.trace_id == run.context.trace_id
        assert run.start_time <= child.start_time <= child.end_time <= run.end_time
    # a tool span starts after the model request that proposed it ended
    assert ops["execute_tool"][0].start_time >= ops["chat"][0].end_time
    texts = [str(v) for s in exporter.get_finished_spans() for v in (s.attributes or {}).values()]
    assert not any(DEMO_API_KEY in t or "Ana" in t or "LIS" in t or "secret-ish" in t
                   for t in texts), "no secrets, prompt text or arguments by default"


async def test_without_the_backend_wrapper_expansions_are_chat_spans(
        services: DemoServices, spans: tuple[TracerProvider, InMemorySpanExporter]) -> None:
    provider, exporter = spans
    await _run(services, OtelTracer(provider), wrap=False)
    ops = _by_op(exporter.get_finished_spans())
    assert len(ops["chat"]) == 4 and len(ops["execute_tool"]) == 3
    assert "gen_ai.usage.input_tokens" not in ops["invoke_agent"][0].attributes


async def test_capture_content_is_opt_in(services: DemoServices,
                                         spans: tuple[TracerProvider, InMemorySpanExporter]
                                         ) -> None:
    provider, exporter = spans
    await _run(services, OtelTracer(provider, capture_content=True), wrap=True)
    ops = _by_op(exporter.get_finished_spans())
    run = ops["invoke_agent"][0]
    assert run.attributes["agentrt.query"] == QUERY and run.attributes["agentrt.answer"] == "Booked."
    assert "LIS" in ops["execute_tool"][0].attributes["agentrt.arguments"]
    assert all(DEMO_API_KEY not in str(v) for s in exporter.get_finished_spans()
               for v in (s.attributes or {}).values())


async def test_concurrent_runs_keep_their_own_spans(
        services: DemoServices, spans: tuple[TracerProvider, InMemorySpanExporter]) -> None:
    provider, exporter = spans
    otel = OtelTracer(provider)
    await asyncio.gather(*(_run(services, otel, wrap=True) for _ in range(3)))
    ops = _by_op(exporter.get_finished_spans())
    runs = {s.context.span_id for s in ops["invoke_agent"]}
    assert len(runs) == 3
    per_run: dict[int, int] = {}
    for s in ops["execute_tool"]:
        assert s.parent is not None and s.parent.span_id in runs
        per_run[s.parent.span_id] = per_run.get(s.parent.span_id, 0) + 1
    assert sorted(per_run.values()) == [3, 3, 3]


def test_missing_sdk_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from agentrt.errors import ConfigError

    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    with pytest.raises(ConfigError, match=r"agentrt\[otel\]"):
        OtelTracer()
