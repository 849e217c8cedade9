"""Executor stage: authentication — the spec's security schemes applied with the caller's secrets.

Supports apiKey (header, query, cookie), HTTP bearer and basic, and OAuth2 client credentials
(token fetched from ``tokenUrl`` with the executor's client, cached until shortly before it
expires, one fetch at a time per scheme). Credentials come from a mapping
``{scheme_name: value}`` or from environment variables the caller names; the model never sees
them, and every value (and every fetched token) is registered with the redactor.
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urljoin

import httpx

from agentrt._log import get_logger
from agentrt.errors import ConfigError, ExecutionError
from agentrt.executor.redact import Redactor
from agentrt.executor.request import PreparedRequest
from agentrt.toolset.tool import Tool

__all__ = ["AuthError", "Authenticator", "Credentials"]

_log = get_logger("agentrt.executor.auth")
Secret = str | Mapping[str, str]


class AuthError(ExecutionError):
    """Credentials could not be obtained (e.g. the OAuth2 token endpoint failed)."""


class Credentials:
    """Secrets per security-scheme name: a string (API key, bearer token, ``user:pass``) or a
    mapping (``{"username", "password"}`` for basic, ``{"client_id", "client_secret",
    "scopes"?, "auth_method"?}`` for OAuth2 client credentials).

    ``env`` names environment variables instead of values: ``{"api_key": "FLIGHTS_KEY"}`` or
    ``{"oauth": {"client_id": "CID_VAR", "client_secret": "SECRET_VAR"}}``; they are read when
    a call needs them (``environ`` defaults to `os.environ`).
    """

    def __init__(self, values: Mapping[str, Secret] | None = None, *,
                 env: Mapping[str, str | Mapping[str, str]] | None = None,
                 environ: Mapping[str, str] | None = None) -> None:
        self._values = dict(values or {})
        self._env = dict(env or {})
        self._environ = environ

    @classmethod
    def coerce(cls, value: Credentials | Mapping[str, Secret] | None) -> Credentials:
        """A `Credentials` from an instance, a plain mapping or None."""
        if value is None:
            return cls()
        if isinstance(value, Credentials):
            return value
        if isinstance(value, Mapping):
            return cls(value)
        raise ConfigError("credentials must be a Credentials or a mapping of scheme -> secret")

    def get(self, scheme: str) -> Secret | None:
        """The secret for ``scheme``, or None when none is configured (or its variable unset)."""
        if scheme in self._values:
            return self._values[scheme]
        spec = self._env.get(scheme)
        environ = os.environ if self._environ is None else self._environ
        if isinstance(spec, str):
            return environ.get(spec)
        if isinstance(spec, Mapping):
            got = {k: environ.get(var) for k, var in spec.items()}
            return None if any(v is None for v in got.values()) else {
                k: v for k, v in got.items() if v is not None}
        return None

    def secret_values(self) -> list[str]:
        """Every secret string currently resolvable (for the redactor)."""
        out: list[str] = []
        for name in {*self._values, *self._env}:
            v = self.get(name)
            if isinstance(v, str):
                out.append(v)
                if ":" in v:
                    out.extend(v.split(":", 1)[1:])
            elif isinstance(v, Mapping):
                out.extend(str(x) for k, x in v.items()
                           if k not in ("username", "client_id", "auth_method", "scopes"))
        return out


@dataclass(slots=True, kw_only=True)
class _Token:
    value: str
    expires_at: float


def _usable(scheme: Mapping[str, Any] | None, secret: Secret | None) -> bool:
    if scheme is None or secret is None:
        return False
    kind = scheme.get("type")
    if kind == "apiKey" or (kind == "http" and str(scheme.get("scheme", "")).lower() == "bearer"):
        return isinstance(secret, str)
    if kind == "http" and str(scheme.get("scheme", "")).lower() == "basic":
        return isinstance(secret, str) or {"username", "password"} <= set(secret)
    if kind == "oauth2":
        if isinstance(secret, str):
            return True
        flows = scheme.get("flows") or {}
        return "clientCredentials" in flows and {"client_id", "client_secret"} <= set(secret)
    return False


class Authenticator:
    """Applies the credentials a tool's security requirement needs to a prepared request."""

    def __init__(self, credentials: Credentials, redactor: Redactor, *,
                 clock: Callable[[], float] = time.monotonic, skew: float = 30.0) -> None:
        self.credentials = credentials
        self.redactor = redactor
        self._clock = clock
        self._skew = skew
        self._tokens: dict[tuple[str, ...], _Token] = {}
        self._locks: dict[tuple[str, ...], asyncio.Lock] = {}
        self.token_fetches = 0
        redactor.add(*credentials.secret_values())

    def requirement(self, tool: Tool) -> dict[str, list[str]] | None:
        """The first security alternative all of whose credentials are available, or None."""
        schemes = tool.service.security_schemes
        for req in tool.security or tool.service.security:
            if req and all(_usable(schemes.get(n), self.credentials.get(n)) for n in req):
                return dict(req)
        return None

    async def apply(self, tool: Tool, prepared: PreparedRequest,
                    client: httpx.AsyncClient) -> PreparedRequest:
        """``prepared`` with credentials added; raises `AuthError` if a token cannot be had."""
        req = self.requirement(tool)
        if req is None:
            if tool.security or tool.service.security:
                _log.debug("auth.no_credentials", tool=tool.name)
            return prepared
        headers: dict[str, str] = {}
        query: list[str] = []
        cookies: list[tuple[str, str]] = []
        for name, scopes in req.items():
            scheme = tool.service.security_schemes[name]
            secret = self.credentials.get(name)
            assert secret is not None
            kind = scheme.get("type")
            if kind == "apiKey":
                value = str(secret)
                self.redactor.add(value)
                where, key = scheme.get("in"), str(scheme.get("name", ""))
                if where == "header":
                    headers[key] = value
                elif where == "query":
                    query.append(f"{quote(key, safe='')}={quote(value, safe='')}")
                elif where == "cookie":
                    cookies.append((quote(key, safe=""), quote(value, safe="")))
            elif kind == "http" and str(scheme.get("scheme", "")).lower() == "basic":
                if isinstance(secret, str):
                    pair = secret
                else:
                    pair = f"{secret['username']}:{secret['password']}"
                encoded = base64.b64encode(pair.encode()).decode()
                self.redactor.add(pair, encoded)
                headers["Authorization"] = f"Basic {encoded}"
            elif kind == "http":
                self.redactor.add(str(secret))
                headers["Authorization"] = f"Bearer {secret}"
            elif kind == "oauth2":
                token = secret if isinstance(secret, str) else await self._token(
                    tool, name, scheme, secret, list(scopes or []), client)
                self.redactor.add(token)
                headers["Authorization"] = f"Bearer {token}"
        return prepared.with_auth(headers=headers, query=tuple(query), cookies=tuple(cookies))

    def invalidate(self, tool: Tool) -> bool:
        """Forget cached OAuth2 tokens used by ``tool`` (after a 401); True if any was cached."""
        req = self.requirement(tool) or {}
        keys = [k for k in self._tokens if k[0] in req]
        for k in keys:
            del self._tokens[k]
        return bool(keys)

    async def _token(self, tool: Tool, name: str, scheme: Mapping[str, Any],
                     secret: Mapping[str, str], scopes: list[str],
                     client: httpx.AsyncClient) -> str:
        flow = scheme["flows"]["clientCredentials"]
        token_url = urljoin(tool.service.base_url.rstrip("/") + "/", str(flow["tokenUrl"]))
        scope_list = scopes or list(str(secret.get("scopes", "")).split())
        key = (name, token_url, secret["client_id"], " ".join(sorted(scope_list)))
        cached = self._tokens.get(key)
        if cached is not None and cached.expires_at > self._clock():
            return cached.value
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._tokens.get(key)  # another task may have fetched it meanwhile
            if cached is not None and cached.expires_at > self._clock():
                return cached.value
            token = await self._fetch(token_url, secret, scope_list, client)
            self._tokens[key] = token
            return token.value

    async def _fetch(self, token_url: str, secret: Mapping[str, str], scopes: list[str],
                     client: httpx.AsyncClient) -> _Token:
        form = {"grant_type": "client_credentials"}
        if scopes:
            form["scope"] = " ".join(scopes)
        headers = {"Accept": "application/json"}
        cid, csecret = secret["client_id"], secret["client_secret"]
        self.redactor.add(csecret)
        if secret.get("auth_method") == "client_secret_post":
            form.update(client_id=cid, client_secret=csecret)
        else:
            pair = f"{quote(cid, safe='')}:{quote(csecret, safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
            self.redactor.add(pair, headers["Authorization"][6:])
        self.token_fetches += 1
        try:
            response = await client.post(token_url, data=form, headers=headers,
                                         follow_redirects=False)
        except httpx.HTTPError as exc:
            raise AuthError(f"OAuth2 token endpoint unreachable ({type(exc).__name__})") from None
        if response.status_code != 200:
            raise AuthError(f"OAuth2 token endpoint answered {response.status_code}")
        try:
            data = response.json()
            access = data["access_token"]
        except (ValueError, KeyError, TypeError):
            raise AuthError("OAuth2 token endpoint answered without an access_token") from None
        if not isinstance(access, str) or not access:
            raise AuthError("OAuth2 token endpoint answered an empty access_token")
        self.redactor.add(access)
        try:
            lifetime = float(data.get("expires_in", 3600))
        except (TypeError, ValueError):
            lifetime = 3600.0
        margin = min(self._skew, lifetime * 0.1)
        _log.debug("auth.token_fetched", token_url=token_url, expires_in=lifetime)
        return _Token(value=access, expires_at=self._clock() + lifetime - margin)
