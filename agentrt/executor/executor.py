"""Executor stage: one validated tool call → policy → auth → HTTP with retries → `Observation`.

Nothing is sent unless the call names a real tool, its arguments validate, the request's origin
is allowed and (for a non-safe call) the run's policy says yes. Unsafe calls carry an
``Idempotency-Key`` that stays the same across retries; an unsafe call whose answer was lost is
reported as ``lost``, never as a plain failure. Secrets are kept out of observations and logs.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import http.cookiejar
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import httpx

from agentrt._log import get_logger
from agentrt.executor.auth import Authenticator, AuthError, Credentials, Secret
from agentrt.executor.observation import Observation, Outcome
from agentrt.executor.policy import Policy, RequestDescription
from agentrt.executor.redact import DEFAULT_REDACTOR, Redactor
from agentrt.executor.request import BuildError, PreparedRequest, build_request, origin_of
from agentrt.retrying import MAYBE_SENT, TIMEOUTS, RetryPolicy, certainly_not_sent, retry_call
from agentrt.toolset.servers import effective_base_url
from agentrt.toolset.tool import Tool
from agentrt.validation import Violation

__all__ = ["Executor", "ToolsetLike"]

_log = get_logger("agentrt.executor")
#: After an earlier attempt may have gone through, these answers do not settle what happened.
_UNSETTLED_4XX = frozenset({408, 409, 425, 429})


class ToolsetLike(Protocol):
    """What the executor needs from a toolset."""

    def get(self, name: str) -> Tool | None: ...
    def validate(self, name: str, arguments: dict[str, Any] | str) -> list[Violation]: ...
    def response_violations(self, name: str, status_code: int, body: Any) -> list[Violation]: ...

    @property
    def tools(self) -> tuple[Tool, ...]: ...


@dataclass(slots=True, kw_only=True)
class _Answer:
    status_code: int
    headers: httpx.Headers
    content: bytes
    truncated: bool


@dataclass(slots=True, kw_only=True)
class _Tries:
    """What happened across the attempts of one call."""

    count: int = 0
    maybe_delivered: bool = False
    results: list[_Answer | BaseException] = field(default_factory=list)



def _no_cookie_jar() -> http.cookiejar.CookieJar:
    """A cookie jar that keeps nothing (its policy accepts no domain)."""
    return http.cookiejar.CookieJar(policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))


class _KeptNone(httpx.Cookies):
    """The cookies of the executor's own client: a response's ``Set-Cookie`` is never read.
    Its jar (:func:`_no_cookie_jar`) would refuse every cookie anyway; this spares every
    response httpx's urllib compatibility objects and the jar's policy walk, which only end
    in that refusal."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


def _keep_no_cookies(client: httpx.AsyncClient) -> None:
    """Give ``client`` (made with ``cookies=_no_cookie_jar()``) cookies that skip reading
    responses. httpx keeps them in ``_cookies`` (its ``cookies`` setter copies them into a
    plain :class:`httpx.Cookies`); on an httpx without it the jar still keeps nothing."""
    cookies = getattr(client, "_cookies", None)
    if type(cookies) is httpx.Cookies:
        client._cookies = _KeptNone(cookies.jar)


class Executor:
    """Executes tool calls of a toolset over HTTP. Use as ``async with Executor(...) as ex``.

    One executor is meant to live as long as the service: its HTTP client keeps a connection
    pool and its authenticator an OAuth2 token cache. :meth:`view` gives a run its own policy
    (and, if it needs them, its own credentials) on top of the same client.

    ``base_urls`` overrides where services live: one URL for every service, or a mapping
    ``{service_name: url}``; an operation that declares its own absolute ``servers`` still goes
    there (`base_url_for`). ``allowed_origins`` (URLs) defaults to the origins of every tool's
    effective base URL, operations' own servers included; a request to any other origin is
    refused unsent.
    ``policy`` (`Policy`, "allow" | "deny" | "confirm", or a confirm callable) decides every
    non-safe call; the default denies them. ``sleep`` replaces `asyncio.sleep` between retries.
    ``client``: an HTTP client to use (never closed here); else the executor opens its own,
    over ``transport`` when given (e.g. `httpx.ASGITransport` for an in-process app), and
    closes it in :meth:`aclose`.
    """

    def __init__(
        self,
        toolset: ToolsetLike,
        *,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        credentials: Credentials | Mapping[str, Secret] | None = None,
        policy: Policy | str | Callable[..., Any] | None = None,
        retry: RetryPolicy | None = None,
        base_urls: str | Mapping[str, str] | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_response_bytes: int = 256_000,
        allowed_origins: Iterable[str] | None = None,
        limits: httpx.Limits | None = None,
        redactor: Redactor | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self.toolset = toolset
        self.policy = Policy.from_value(policy)
        self.retry = retry or RetryPolicy()
        self.max_response_bytes = max_response_bytes
        self.redactor = redactor or Redactor(parent=DEFAULT_REDACTOR)
        self.auth = Authenticator(Credentials.coerce(credentials), self.redactor)
        self._base_urls = base_urls
        self._timeout = timeout
        self._sleep = sleep
        self._owns_client = client is None
        limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=100)
        #: at most a pool's worth of requests in flight: the rest wait here, in O(1), rather
        #: than in httpcore's queue (which costs every finished request a walk over it)
        self._slots = asyncio.Semaphore(limits.max_connections) \
            if client is None and limits.max_connections else None
        self.client = client or httpx.AsyncClient(
            # waiting for a pooled connection is backpressure from this process's own
            # concurrent runs (one client serves them all), not the API being slow
            timeout=timeout if timeout is not None else httpx.Timeout(10.0, connect=5.0,
                                                                       pool=60.0),
            # every pooled connection kept alive: many concurrent runs otherwise reconnect
            limits=limits,
            follow_redirects=False, trust_env=False, transport=transport,
            # one client serves every run (and user) of a service: a Set-Cookie from one run
            # must not ride along on the next; cookie auth is sent per request (auth.py)
            cookies=_no_cookie_jar(),
        )
        if self._owns_client:
            _keep_no_cookies(self.client)
        if allowed_origins is None:
            bases = {self.base_url_for(t) for t in toolset.tools}
            allowed_origins = [b for b in bases if b]
        self.allowed_origins = frozenset(origin_of(o) for o in allowed_origins)

    def view(self, *, policy: Policy | str | Callable[..., Any] | None = None,
             credentials: Credentials | Mapping[str, Secret] | None = None) -> Executor:
        """This executor for one run: the same HTTP client (its connection pool), toolset,
        base URLs, allowed origins, retry policy and — unless ``credentials`` are given —
        authenticator (its OAuth2 token cache); ``policy`` replaces the policy when given.
        A view never closes the client (its :meth:`aclose` does nothing): the executor it
        came from owns it."""
        other = copy.copy(self)
        other._owns_client = False
        if policy is not None:
            other.policy = Policy.from_value(policy)
        if credentials is not None:
            other.redactor = Redactor(parent=self.redactor)
            other.auth = Authenticator(Credentials.coerce(credentials), other.redactor)
        return other

    async def __aenter__(self) -> Executor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client if the executor created it."""
        if self._owns_client:
            await self.client.aclose()

    def base_url_for(self, tool: Tool) -> str:
        """Where ``tool``'s requests go: an operation's own absolute server, else the caller's
        override for its service (a relative operation server resolved against it), else
        the spec's (see `agentrt.toolset.servers`)."""
        override: str | None = None
        if isinstance(self._base_urls, str):
            override = self._base_urls
        elif self._base_urls and tool.service.name in self._base_urls:
            override = self._base_urls[tool.service.name]
        return effective_base_url(tool.service, override)

    async def execute(self, name: str, arguments: Mapping[str, Any] | str, *,
                      idempotency_key: str | None = None,
                      prevalidated: bool = False) -> Observation:
        """Run one proposed call to its single outcome. Never raises for the model's mistakes
        or the server's failures. ``idempotency_key`` re-uses the key of an earlier unsafe call
        (e.g. to settle a ``lost`` one); by default a fresh uuid4 is made.

        ``prevalidated=True`` says the caller has just validated these very arguments with
        this executor's ``toolset.validate(name, arguments)`` and found nothing (the agent's
        search does, for every call it sends): the JSON Schema check is then not repeated.
        Everything else — the tool must exist, the arguments must be an object, the request
        must build, its origin must be allowed, the policy must agree — is still checked.
        Left at False (the default) the executor validates the call itself."""
        start = time.perf_counter()
        if not isinstance(arguments, (str, Mapping)):
            return self._done(
                start, tool=name, arguments=self.redactor.scrub(repr(arguments)),
                outcome="rejected", violations=(Violation(
                    kind="malformed_arguments", path="$",
                    message="arguments must be a JSON object"),),
                message="the call was not sent: arguments must be a JSON object")
        shown_args: dict[str, Any] | str = self.redactor.scrub(
            arguments if isinstance(arguments, str) else dict(arguments))
        base: dict[str, Any] = {"tool": name, "arguments": shown_args}
        tool = self.toolset.get(name)
        violations = [] if prevalidated and tool is not None else self.toolset.validate(
            name, arguments if isinstance(arguments, str) else dict(arguments))
        args: dict[str, Any] = {}
        if not violations and tool is not None:
            try:
                parsed = json.loads(arguments) if isinstance(arguments, str) else arguments
                args = dict(parsed)
            except (ValueError, TypeError):
                violations = [Violation(kind="malformed_arguments", path="$",
                                        message="arguments must be a JSON object")]
        if violations or tool is None:
            violations = violations or [Violation(kind="unknown_tool", path="$",
                                                  message=f"no tool named {name!r}")]
            msg = "the call was not sent: " + "; ".join(v.message for v in violations)
            return self._done(start, **base, outcome="rejected", violations=tuple(violations),
                              message=msg)
        base.update(method=tool.method.upper(), side_effect=tool.side_effect)
        try:
            prepared = build_request(tool, args, base_url=self.base_url_for(tool))
            url = prepared.url
        except BuildError as exc:
            return self._done(start, **base, outcome="rejected", violations=exc.violations,
                              message="the call was not sent: " + str(exc))
        except (httpx.InvalidURL, ValueError) as exc:
            return self._done(start, **base, outcome="rejected",
                              message=f"the call was not sent: bad URL ({exc})")
        base["url"] = self.redactor.scrub_text(str(url))
        if url.scheme not in ("http", "https") or origin_of(url) not in self.allowed_origins:
            return self._done(start, **base, outcome="rejected", message=(
                f"the call was not sent: origin {url.scheme}://{url.host}:{url.port} "
                "is not an allowed origin"))
        key = (idempotency_key or str(uuid.uuid4())) if tool.unsafe else None
        base["idempotency_key"] = key
        if tool.side_effect != "safe":
            decision = await self.policy.decide(RequestDescription(
                tool=name, method=tool.method.upper(), url=base["url"],
                side_effect=tool.side_effect, body=self.redactor.scrub(prepared.body_preview),
                idempotency_key=key))
            if not decision.allowed:
                return self._done(start, **base, outcome="denied",
                                  message=f"not sent: {decision.reason}")
        if key is not None:
            prepared = _with_header(prepared, "Idempotency-Key", key)
        try:
            request = await self._authorised(tool, prepared, url)
        except AuthError as exc:
            return self._done(start, **base, outcome="transport_error",
                              message=f"not sent: {exc}")
        tries = await self._send(request, resend_allowed=not tool.unsafe or key is not None)
        last = tries.results[-1]
        if (isinstance(last, _Answer) and last.status_code == 401
                and self.auth.invalidate(tool)):  # expired OAuth2 token: fetch anew, once
            try:
                request = await self._authorised(tool, prepared)
                more = await self._send(request, resend_allowed=True, retry=RetryPolicy.none())
            except AuthError:
                more = None
            if more is not None:
                tries.count += more.count
                tries.maybe_delivered |= more.maybe_delivered
                tries.results.extend(more.results)
        return self._done(start, **self._observe(base, tool, tries))

    async def _authorised(self, tool: Tool, prepared: PreparedRequest,
                          url: httpx.URL | None = None) -> httpx.Request:
        authed = await self.auth.apply(tool, prepared, self.client)
        same_url = url is not None and authed.query == prepared.query \
            and authed.base_url == prepared.base_url and authed.path == prepared.path
        return authed.to_httpx(self.client, timeout=self._timeout,
                               url=url if same_url else None)

    async def _send(self, request: httpx.Request, *, resend_allowed: bool,
                    retry: RetryPolicy | None = None) -> _Tries:
        tries = _Tries()
        policy = retry or self.retry
        started = time.monotonic()
        first = await self._attempt(request, tries)
        if policy.attempts <= 1 or not policy.should_retry(
                first, resend_allowed=resend_allowed):
            return tries  # the common case: no retry machinery for a call that went through
        if policy.max_elapsed is not None:  # the retry loop's clock starts after the first try
            policy = replace(policy, max_elapsed=max(
                0.0, policy.max_elapsed - (time.monotonic() - started)))
        pending: list[_Answer | BaseException] = [first]

        async def attempt() -> _Answer | BaseException:
            if pending:  # the retry loop's first attempt is the one already made
                return pending.pop()
            return await self._attempt(request, tries)

        await retry_call(attempt, policy, resend_allowed=resend_allowed, sleep=self._sleep)
        return tries

    async def _attempt(self, request: httpx.Request, tries: _Tries) -> _Answer | BaseException:
        tries.count += 1
        result: _Answer | BaseException
        try:
            async with self._slots or contextlib.nullcontext():
                response = await self.client.send(request, stream=True, follow_redirects=False)
                try:
                    result = await self._read(response)
                finally:
                    await response.aclose()
        except httpx.TransportError as exc:
            if not certainly_not_sent(exc):
                tries.maybe_delivered = True
            result = exc
        tries.results.append(result)
        if _log.is_enabled("debug"):  # build (and scrub) the event only when it goes out
            _log.debug("executor.attempt", attempt=tries.count, url=self.redactor.scrub_text(
                str(request.url)), idempotency_key=request.headers.get("idempotency-key"),
                result=(result.status_code if isinstance(result, _Answer)
                        else type(result).__name__))
        return result

    async def _read(self, response: httpx.Response) -> _Answer:
        cap = self.max_response_bytes
        chunks: list[bytes] = []
        size = 0
        truncated = False
        async for chunk in response.aiter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size > cap:
                truncated = True
                break
        content = b"".join(chunks)
        return _Answer(status_code=response.status_code, headers=response.headers,
                       content=content[:cap], truncated=truncated)

    def _observe(self, base: dict[str, Any], tool: Tool, tries: _Tries) -> dict[str, Any]:
        """The fields of the call's observation (all but ``elapsed``)."""
        last = tries.results[-1]
        common = dict(base, attempts=tries.count)
        lost_possible = tool.unsafe and tries.maybe_delivered
        if isinstance(last, BaseException):
            kind = type(last).__name__
            if lost_possible:
                return dict(common, outcome="lost", message=(
                    f"the request may have been carried out but its answer was lost ({kind}); "
                    "do not repeat it blindly: check its effect first"))
            outcome: Outcome = "timeout" if isinstance(last, TIMEOUTS) else "transport_error"
            sent = "it may have been received" if isinstance(last, MAYBE_SENT) else "not sent"
            return dict(common, outcome=outcome,
                        message=f"no answer after {tries.count} attempt(s): {kind} ({sent})")
        body = self._parse(last)
        scrubbed = self.redactor.scrub(body)
        common.update(status_code=last.status_code, body=scrubbed, truncated=last.truncated)
        status = last.status_code
        if lost_possible and (status >= 500 or status in _UNSETTLED_4XX):
            return dict(common, outcome="lost", message=(
                f"an earlier attempt's answer was lost and the last one got {status}: "
                "the request may have been carried out; check its effect first"))
        if 200 <= status < 300:
            note = (f" (body trimmed to {self.max_response_bytes} bytes)"
                    if last.truncated else "")
            if last.truncated:
                return dict(common, outcome="ok", message="ok" + note)
            problems = self.toolset.response_violations(tool.name, status, body)
            if problems:
                return dict(common, outcome="response_invalid",
                            violations=tuple(problems), message=(
                                "the answer does not match the API's response schema: "
                                + "; ".join(self.redactor.scrub_text(v.message)
                                            for v in problems)))
            return dict(common, outcome="ok", message="ok")
        if 300 <= status < 400:
            where = self.redactor.scrub_text(last.headers.get("location", ""))
            return dict(common, outcome="server_error",
                        message=f"redirect ({status} to {where!r}) not followed")
        if status < 500:
            return dict(common, outcome="client_error",
                        message=f"the API refused the call ({status}); read the body")
        return dict(common, outcome="server_error",
                    message=f"the API failed ({status}) after {tries.count} attempt(s)")

    @staticmethod
    def _parse(answer: _Answer) -> Any:
        if not answer.content:
            return None
        text = answer.content.decode("utf-8", "replace")
        ctype = answer.headers.get("content-type", "")
        if not answer.truncated and ("json" in ctype or text[:1] in "{[\""):
            try:
                return json.loads(text)
            except ValueError:
                return text
        return text

    def _done(self, start: float, **fields: Any) -> Observation:
        """The call's observation, its ``elapsed`` counted from ``start`` (an observation is
        frozen: it is made once, with its time)."""
        observation = Observation(**fields, elapsed=time.perf_counter() - start)
        if not _log.is_enabled("info"):
            return observation
        _log.info("executor.call", tool=observation.tool, outcome=observation.outcome,
                  status_code=observation.status_code, attempts=observation.attempts,
                  elapsed=round(observation.elapsed, 6), method=observation.method,
                  url=observation.url, side_effect=observation.side_effect)
        return observation


def _with_header(prepared: PreparedRequest, name: str, value: str) -> PreparedRequest:
    return replace(prepared, extra_headers={**prepared.extra_headers, name: value})

