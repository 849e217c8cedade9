"""Backends stage: an OpenAI-compatible chat-completions backend over httpx.

Speaks to vLLM's server (``vllm serve``), llama.cpp's servers and any peer. Two request modes:

* ``tools`` — native tool calling: ``tools`` (each ``"strict": true`` when a constraint is
  given, so vLLM enforces the arguments), ``tool_choice`` auto / required / a named tool;
  calls come back in ``tool_calls`` (or in the content when the server has no tool parser).
* ``json`` — the tools are described in the system turn and the model writes one step object,
  decoded under the constraint: vLLM ``structured_outputs: {"json": schema}``, OpenAI
  ``response_format: {"type": "json_schema", ...}``, llama-cpp-python
  ``response_format: {"type": "json_object", "schema": ...}`` (never the removed ``guided_*``).

``n`` is sent as is; a server that returns fewer choices than asked (llama.cpp ignores ``n``)
gets the rest as further requests with distinct seeds, and is remembered as such. Transport
failures and 429/502/503/504 are retried with the shared `agentrt.retrying` loop (bounded
attempts and time, ``Retry-After`` honoured on 429/503), then raised as
:class:`~agentrt.errors.BackendError`; the decision uses exception types and status codes only.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal

import httpx

from agentrt._log import get_logger
from agentrt.backends.base import Candidate, Capabilities, Message, Sampling
from agentrt.backends.parsing import parse_message
from agentrt.backends.prompting import step_messages
from agentrt.errors import BackendError, ConfigError
from agentrt.retrying import RetryPolicy, retry_call

__all__ = ["DEFAULT_RETRY", "OpenAIBackend"]

log = get_logger(__name__)

Flavour = Literal["openai", "vllm", "llamacpp"]
Mode = Literal["tools", "json"]

#: The backend's default: a model request is slow, so waits and the whole-call bound are longer
#: than the executor's. Any `RetryPolicy` may be passed instead.
DEFAULT_RETRY = RetryPolicy(attempts=3, backoff=0.5, max_wait=8.0, jitter=0.5, max_elapsed=180.0)


def _server_message(response: httpx.Response) -> str:
    """The error text a server put in its body (OpenAI, vLLM, FastAPI shapes), shortened."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300].strip()
    if isinstance(body, Mapping):
        err = body.get("error", body.get("detail", body.get("message", body)))
        if isinstance(err, Mapping):
            err = err.get("message", err)
        return str(err)[:300]
    return str(body)[:300]


class OpenAIBackend:
    """Chat completions against an OpenAI-compatible server (see the module docstring).

    ``client`` is an injected :class:`httpx.AsyncClient` (tests pass one with a
    ``MockTransport``); without one the backend owns a client and closes it in :meth:`aclose`.
    ``model=None`` uses the first model the server lists.
    """

    def __init__(self, base_url: str, model: str | None = None, *, flavour: Flavour = "openai",
                 mode: Mode | None = None, tool_choice: str = "required",
                 client: httpx.AsyncClient | None = None, api_key: str | None = None,
                 timeout_s: float = 120.0, connect_timeout_s: float = 5.0,
                 retry: RetryPolicy | None = None,
                 sleep: Callable[[float], Awaitable[None]] | None = None) -> None:
        if flavour not in ("openai", "vllm", "llamacpp"):
            raise ConfigError(f"unknown flavour {flavour!r}: use openai, vllm or llamacpp")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.flavour: Flavour = flavour
        self.mode: Mode = mode or ("json" if flavour == "llamacpp" else "tools")
        if self.mode not in ("tools", "json"):
            raise ConfigError(f"unknown mode {self.mode!r}: use tools or json")
        self.tool_choice = tool_choice
        self.name = f"{flavour}:{self.base_url}#{model or ''}"
        self.retry = retry or DEFAULT_RETRY
        self._sleep = sleep
        self._timeout = httpx.Timeout(timeout_s, connect=connect_timeout_s)
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=self._timeout)
        #: None until known: does the server return n choices for one request?
        self.honours_n: bool | None = True if flavour == "vllm" else None
        self.requests = 0
        self.capabilities = Capabilities(native_n=flavour == "vllm", grammar=True,
                                         tool_call_format="openai" if self.mode == "tools"
                                         else "json")

    # -- HTTP -----------------------------------------------------------------------------
    async def _send(self, method: str, url: str, payload: Any = None) -> httpx.Response:
        attempts = 0

        async def attempt() -> httpx.Response | httpx.HTTPError:
            nonlocal attempts
            attempts += 1
            self.requests += 1
            try:
                return await self._client.request(
                    method, url, json=payload, headers=self._headers, timeout=self._timeout)
            except httpx.HTTPError as exc:  # a value: `retry_call` decides on its type
                return exc

        result = await retry_call(attempt, self.retry, sleep=self._sleep)
        tried = f"{attempts} attempt{'s' if attempts != 1 else ''}"
        if isinstance(result, httpx.TimeoutException):
            raise BackendError(f"{url}: the model server did not answer in time "
                               f"({type(result).__name__}, {tried})",
                               backend=self.name) from result
        if isinstance(result, httpx.ConnectError):
            raise BackendError(f"cannot connect to the model server at {self.base_url} "
                               f"({result}); is it running?", backend=self.name) from result
        if isinstance(result, httpx.HTTPError):
            raise BackendError(f"{url}: {type(result).__name__}: {result}",
                               backend=self.name) from result
        if result.status_code in self.retry.statuses:
            code = result.status_code
            raise BackendError(f"{url}: HTTP {code} after {tried}: {_server_message(result)}",
                               backend=self.name, status_code=code)
        return result

    async def _json(self, method: str, path: str, payload: Any = None) -> Any:
        url = f"{self.base_url}{path}"
        response = await self._send(method, url, payload)
        if response.status_code >= 400:
            hint = ""
            if response.status_code == 404 and self.model:
                hint = f" (is {self.model!r} the served model name? see {self.base_url}/models)"
            raise BackendError(f"{url}: HTTP {response.status_code}: "
                               f"{_server_message(response)}{hint}", backend=self.name,
                               status_code=response.status_code)
        try:
            return response.json()
        except ValueError as exc:
            raise BackendError(f"{url}: the reply is not JSON: {response.text[:200]!r}",
                               backend=self.name, status_code=response.status_code) from exc

    async def list_models(self) -> list[str]:
        """The model ids the server serves (``GET /v1/models``)."""
        body = await self._json("GET", "/models")
        data = body.get("data") if isinstance(body, Mapping) else None
        if not isinstance(data, list):
            raise BackendError(f"{self.base_url}/models: unexpected reply {str(body)[:200]}",
                               backend=self.name)
        return [str(m.get("id")) for m in data if isinstance(m, Mapping)]

    async def check(self) -> list[str]:
        """Health check: ``/health`` (where the server has one) then ``/v1/models``.

        Raises :class:`BackendError` saying whether the server is down, not ready, or does not
        serve ``model``. Returns the served model ids; fills in ``model`` when it was None.
        """
        root = self.base_url.removesuffix("/v1")
        response = await self._send("GET", f"{root}/health")
        if response.status_code >= 500:
            raise BackendError(f"{root}/health: the model server is not ready "
                               f"(HTTP {response.status_code})", backend=self.name,
                               status_code=response.status_code)
        models = await self.list_models()
        if self.model is None and models:
            self.model = models[0]
        elif self.model not in models:
            raise BackendError(f"{self.base_url} does not serve model {self.model!r}; it serves: "
                               f"{', '.join(models) or 'nothing'}", backend=self.name)
        return models

    # -- requests -------------------------------------------------------------------------
    def build_request(self, messages: Sequence[Message], *, tools: Sequence[dict[str, Any]],
                      n: int, sampling: Sampling, seed: int,
                      constraint: dict[str, Any] | None) -> dict[str, Any]:
        """The JSON body of one ``/chat/completions`` request (public for tests and logs)."""
        body: dict[str, Any] = {
            "model": self.model, "n": n, "seed": seed, "temperature": sampling.temperature,
            "top_p": sampling.top_p, "max_tokens": sampling.max_tokens, "stream": False,
        }
        if self.mode == "tools":
            body["messages"] = list(messages)
            if tools:
                body["tools"] = [_strict(t) if constraint is not None else t for t in tools]
                choice = self.tool_choice
                body["tool_choice"] = choice if choice in ("auto", "required", "none") else {
                    "type": "function", "function": {"name": choice}}
            return body
        body["messages"] = step_messages(messages, tools)
        if self.flavour == "vllm":
            body["structured_outputs"] = ({"json": constraint} if constraint is not None
                                          else {"json_object": True})
        elif self.flavour == "llamacpp":
            body["response_format"] = {"type": "json_object", **(
                {"schema": constraint} if constraint is not None else {})}
        else:
            body["response_format"] = ({"type": "json_schema", "json_schema": {
                "name": "step", "schema": constraint, "strict": True}}
                if constraint is not None else {"type": "json_object"})
        return body

    async def _complete(self, body: dict[str, Any], tools: Sequence[dict[str, Any]]
                        ) -> list[Candidate]:
        reply = await self._json("POST", "/chat/completions", body)
        choices = reply.get("choices") if isinstance(reply, Mapping) else None
        if not isinstance(choices, list) or not choices:
            raise BackendError(f"{self.base_url}/chat/completions: the reply has no choices: "
                               f"{str(reply)[:200]}", backend=self.name)
        usage = reply.get("usage") if isinstance(reply.get("usage"), Mapping) else {}
        details = usage.get("prompt_tokens_details")
        cached = details.get("cached_tokens") if isinstance(details, Mapping) else None
        out = []
        for choice in choices:
            choice = choice if isinstance(choice, Mapping) else {}
            meta = {"backend": self.name, "seed": body["seed"], "index": choice.get("index"),
                    "finish_reason": choice.get("finish_reason"),
                    "prompt_tokens": usage.get("prompt_tokens"),
                    "completion_tokens": usage.get("completion_tokens"),
                    "cached_prompt_tokens": cached}
            cand = parse_message(choice.get("message"), tools=tools, meta=meta)
            if cand.kind == "unparseable" and choice.get("finish_reason") == "length":
                cand = Candidate(kind="unparseable", thought=cand.thought, raw=cand.raw,
                                 meta=cand.meta, error=f"{cand.error} (cut off at max_tokens)")
            out.append(cand)
        return out

    async def propose(self, messages: Sequence[Message], *, tools: Sequence[dict[str, Any]],
                      n: int = 1, sampling: Sampling | None = None,
                      constraint: dict[str, Any] | None = None) -> list[Candidate]:
        """Up to ``n`` candidate steps: one request with ``n``, topped up if it is ignored."""
        n = max(1, n)
        sampling = sampling or Sampling()
        if self.model is None:
            await self.check()
        seed = sampling.seed if sampling.seed is not None else random.randrange(2**31)
        ask = n if self.honours_n is not False else 1
        def request(count: int, request_seed: int) -> dict[str, Any]:
            return self.build_request(messages, tools=tools, n=count, sampling=sampling,
                                      seed=request_seed, constraint=constraint)

        candidates = await self._complete(request(ask, seed), tools)
        if ask > 1:
            self.honours_n = len(candidates) >= ask
            if not self.honours_n:
                log.info("backend.n_ignored", backend=self.name, asked=ask, got=len(candidates))
        extra = 0
        while len(candidates) < n:
            extra += 1  # distinct seeds, so a deterministic server still gives new samples
            candidates.extend(await self._complete(request(1, seed + extra), tools))
        return candidates[:n]

    async def aclose(self) -> None:
        """Close the HTTP client if this backend created it."""
        if self._owns_client:
            await self._client.aclose()


def _strict(tool: dict[str, Any]) -> dict[str, Any]:
    """The tool with ``"strict": true`` so vLLM (and OpenAI) enforce its argument schema."""
    fn = tool.get("function")
    if not isinstance(fn, Mapping):
        return tool
    return {**tool, "function": {**fn, "strict": True}}
