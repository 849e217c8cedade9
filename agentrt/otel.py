"""Trace stage: agentrt runs as OpenTelemetry spans, following the GenAI semantic conventions.

```python
from agentrt.otel import OtelTracer
otel = OtelTracer()                              # the global tracer provider, or pass one
agent = Agent(otel.backend(backend), toolset, on_event=otel)
```

One span per run (``invoke_agent agentrt``), one per model request (``chat MODEL``: model,
candidates asked and returned, token usage when the backend reports it) and one per executed
tool call (``execute_tool NAME``: tool name, outcome, HTTP status, side-effect class), the
model and tool spans children of their run's span. Built on the `SearchEvent` stream an
agent's ``on_event`` already gets, so the agent needs no change; wrapping the backend with
:meth:`OtelTracer.backend` is what gives model spans their exact timing and token counts
(without it each ``expanded`` event still becomes a ``chat`` span, without usage).

What is never recorded: credentials (the executor never puts them in events), request or
answer text, call arguments and response bodies. ``capture_content=True`` adds the request,
the answer and the call arguments (scrubbed of known secrets) as ``agentrt.*`` attributes.

A tool span starts where the step before it ended (the previous event of the run, or the end
of the model request that proposed it) — the sink sees each call when it has finished — so
it also covers the few microseconds of validation and grounding before the request was sent.

Concurrent runs may share one `OtelTracer`: each run's span is kept in a context variable of
the task that runs it. Needs ``agentrt[otel]``.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agentrt.errors import ConfigError
from agentrt.protocol import FAILING, EventKind, SearchEvent
from agentrt.redaction import DEFAULT_REDACTOR

__all__ = ["OtelTracer"]

_TRACER_NAME = "agentrt"


@dataclass(slots=True)
class _Run:
    span: Any
    context: Any
    last_ns: int
    model_spans: bool = False
    calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    models: set[str] = field(default_factory=set)


_current: contextvars.ContextVar[_Run | None] = contextvars.ContextVar("agentrt_otel_run",
                                                                       default=None)


def _require() -> Any:
    try:
        from opentelemetry import trace
    except ImportError:
        raise ConfigError("OpenTelemetry is not installed: pip install 'agentrt[otel]'") \
            from None
    return trace


class OtelTracer:
    """An ``on_event`` sink (call it with each `SearchEvent`) that records spans.

    ``tracer_provider``: where spans go (default: OpenTelemetry's global provider).
    ``agent_name`` names the run spans; ``capture_content`` see the module docstring.
    """

    def __init__(self, tracer_provider: Any = None, *, agent_name: str = "agentrt",
                 capture_content: bool = False) -> None:
        trace = _require()
        self._trace = trace
        self.tracer = trace.get_tracer(_TRACER_NAME, tracer_provider=tracer_provider)
        self.agent_name = agent_name
        self.capture_content = capture_content

    # -- the event sink -------------------------------------------------------------------
    def __call__(self, event: SearchEvent) -> None:
        now = time.time_ns()
        if event.kind is EventKind.RUN_STARTED:
            self._start_run(event, now)
            return
        run = _current.get()
        if run is None:
            return
        if event.kind is EventKind.CALL_EXECUTED:
            self._tool_span(run, event, now)
        elif event.kind is EventKind.EXPANDED and not run.model_spans:
            span = self.tracer.start_span(
                "chat", context=run.context, start_time=run.last_ns,
                attributes={"gen_ai.operation.name": "chat",
                            "gen_ai.request.choice.count": int(event.data.get("n", 1)),
                            "agentrt.candidates": int(event.data.get("candidates", 0)),
                            "agentrt.node": event.node})
            span.end(end_time=now)
        elif event.kind is EventKind.RUN_FINISHED:
            self._end_run(run, event, now)
            _current.set(None)
            return
        run.last_ns = now

    def _start_run(self, event: SearchEvent, now: int) -> None:
        attrs: dict[str, Any] = {"gen_ai.operation.name": "invoke_agent",
                                 "gen_ai.agent.name": self.agent_name,
                                 "agentrt.search.mode": str(event.data.get("mode", ""))}
        if self.capture_content:
            attrs["agentrt.query"] = DEFAULT_REDACTOR.scrub_text(str(event.data.get("query")))
        span = self.tracer.start_span(f"invoke_agent {self.agent_name}", start_time=now,
                                      attributes=attrs)
        context = self._trace.set_span_in_context(span)
        _current.set(_Run(span=span, context=context, last_ns=now))

    def _tool_span(self, run: _Run, event: SearchEvent, now: int) -> None:
        data = event.data
        tool = str(data.get("tool") or "")
        outcome = str(data.get("outcome") or "")
        attrs: dict[str, Any] = {"gen_ai.operation.name": "execute_tool",
                                 "gen_ai.tool.name": tool, "gen_ai.tool.type": "function",
                                 "gen_ai.tool.call.id": f"call_{event.node}",
                                 "agentrt.outcome": outcome, "agentrt.node": event.node}
        if data.get("status_code") is not None:
            attrs["http.response.status_code"] = int(data["status_code"])
        if outcome in FAILING:
            attrs["error.type"] = outcome
        if self.capture_content:
            attrs["agentrt.arguments"] = str(DEFAULT_REDACTOR.scrub(data.get("arguments")))
        span = self.tracer.start_span(f"execute_tool {tool}", context=run.context,
                                      start_time=run.last_ns, attributes=attrs)
        if outcome in FAILING:
            span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, outcome))
        span.end(end_time=now)
        run.calls += 1

    def _end_run(self, run: _Run, event: SearchEvent, now: int) -> None:
        status = str(event.data.get("status") or "")
        span = run.span
        span.set_attribute("agentrt.status", status)
        span.set_attribute("agentrt.calls", run.calls)
        if run.models:
            span.set_attribute("gen_ai.request.model", sorted(run.models)[0])
        if run.tokens_in or run.tokens_out:
            span.set_attribute("gen_ai.usage.input_tokens", run.tokens_in)
            span.set_attribute("gen_ai.usage.output_tokens", run.tokens_out)
        stats = event.data.get("stats") or {}
        for key in ("model_calls", "executed", "nodes"):
            if isinstance(stats.get(key), int):
                span.set_attribute(f"agentrt.stats.{key}", stats[key])
        if self.capture_content and event.data.get("answer") is not None:
            span.set_attribute("agentrt.answer",
                               DEFAULT_REDACTOR.scrub_text(str(event.data["answer"])))
        if status != "solved":
            span.set_attribute("error.type", status)
            span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, status))
        span.end(end_time=now)

    # -- model spans with usage -----------------------------------------------------------
    def backend(self, backend: Any) -> Any:
        """``backend`` with every ``propose`` recorded as a ``chat`` span of its run."""
        return _TracedBackend(backend, self)


class _TracedBackend:
    """A backend whose requests become spans; every other attribute is the backend's."""

    def __init__(self, inner: Any, otel: OtelTracer) -> None:
        self._inner = inner
        self._otel = otel

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def propose(self, messages: Sequence[Any], *, tools: Sequence[dict[str, Any]],
                      n: int = 1, **options: Any) -> Any:
        otel, run = self._otel, _current.get()
        model = str(getattr(self._inner, "name", "") or "")
        attrs: dict[str, Any] = {"gen_ai.operation.name": "chat",
                                 "gen_ai.provider.name": "agentrt",
                                 "gen_ai.request.model": model,
                                 "gen_ai.request.choice.count": n}
        if run is not None:
            run.model_spans = True
            run.models.add(model)
        span = otel.tracer.start_span(f"chat {model}".strip(),
                                      context=run.context if run else None, attributes=attrs)
        try:
            candidates = await self._inner.propose(messages, tools=tools, n=n, **options)
        except BaseException as exc:
            span.set_attribute("error.type", type(exc).__name__)
            span.set_status(otel._trace.Status(otel._trace.StatusCode.ERROR,
                                               type(exc).__name__))
            span.end()
            raise
        meta = candidates[0].meta if candidates else {}
        tokens_in, tokens_out = meta.get("prompt_tokens"), meta.get("completion_tokens")
        if isinstance(tokens_in, int):
            span.set_attribute("gen_ai.usage.input_tokens", tokens_in)
        if isinstance(tokens_out, int):
            span.set_attribute("gen_ai.usage.output_tokens", tokens_out)
        reasons = [str(c.meta["finish_reason"]) for c in candidates
                   if c.meta.get("finish_reason")]
        if reasons:
            span.set_attribute("gen_ai.response.finish_reasons", reasons)
        span.set_attribute("agentrt.candidates", len(candidates))
        end = time.time_ns()
        span.end(end_time=end)
        if run is not None:
            run.tokens_in += tokens_in if isinstance(tokens_in, int) else 0
            run.tokens_out += tokens_out if isinstance(tokens_out, int) else 0
            run.last_ns = end
        return candidates
