"""Base stage: secret redaction — for log events (a structlog processor), traces and exports.

A `Redactor` knows the secret *values* in use (credentials, fetched OAuth2 tokens, and the
encoded forms they take on the wire) and replaces every occurrence of them in any string, dict,
list or tuple; it also blanks the value of any key that looks like a credential
(``authorization``, ``api_key``, ``client_secret`` …) whatever the value is.

It sits at the bottom of the pipeline (standard library only) because every stage that lets
data out uses it: the executor registers its secrets in its own redactor and in the
process-wide `DEFAULT_REDACTOR`; logging (`agentrt._log`, `agentrt.logsetup`) adds
`redact_processor`; traces and exports call `scrub` without holding an executor.
`agentrt.executor.redact` re-exports these names for compatibility.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterable, MutableMapping
from typing import Any
from urllib.parse import quote, quote_plus

__all__ = [
    "DEFAULT_REDACTOR",
    "MIN_SECRET_LENGTH",
    "REDACTED",
    "Redactor",
    "redact_processor",
    "scrub",
    "secret_key",
    "wire_forms",
]

REDACTED = "[REDACTED]"

#: Keys whose values are blanked wherever they appear (compared case-insensitively, with
#: ``-`` and ``_`` ignored).
_SECRET_KEY = re.compile(
    r"(authorization|cookie|password|passwd|secret|token|apikey|credential|privatekey|"
    r"sessionid|xapikey|bearer)",
    re.IGNORECASE,
)
#: The words of `_SECRET_KEY`, for a substring pre-check of a whole serialised value (one
#: ``in`` test per word is far cheaper than a case-insensitive alternation over long text).
_SECRET_WORDS = ("authorization", "cookie", "password", "passwd", "secret", "token", "apikey",
                 "credential", "privatekey", "sessionid", "xapikey", "bearer")
#: Above this many secret forms one compiled alternation beats one substring test each.
_SUBSTRING_SECRETS = 24
#: Keys that look credential-ish but are known to carry no secret.
_PUBLIC_KEYS = frozenset({"tokenurl", "tokentype", "idempotencykey", "maxtokens", "tokens",
                          "prompttokens", "completiontokens", "totaltokens"})
#: Secrets shorter than this are not substituted inside strings (they would blank out common
#: words); they are still blanked under credential-ish keys.
MIN_SECRET_LENGTH = 4


def _norm_key(key: str) -> str:
    return key.replace("-", "").replace("_", "").lower()


def secret_key(key: object) -> bool:
    """True when ``key`` names something that holds a credential."""
    if not isinstance(key, str):
        return False
    norm = _norm_key(key)
    return norm not in _PUBLIC_KEYS and bool(_SECRET_KEY.search(norm))


def wire_forms(secret: str) -> set[str]:
    """The forms a secret value takes in URLs, headers and bodies."""
    forms = {secret, quote(secret, safe=""), quote_plus(secret), quote(secret)}
    forms.add(base64.b64encode(secret.encode()).decode())
    return {f for f in forms if len(f) >= MIN_SECRET_LENGTH}


def _in_json(secret: str) -> str:
    """``secret`` as it appears inside a JSON string (json.dumps and pydantic escape alike:
    ``"``, ``\\`` and control characters)."""
    return json.dumps(secret, ensure_ascii=False)[1:-1]


class Redactor:
    """Replaces known secret values, and values under credential-ish keys, with ``[REDACTED]``."""

    def __init__(self, secrets: Iterable[str] = (), *, parent: Redactor | None = None) -> None:
        self._lock = threading.Lock()
        self._secrets: frozenset[str] = frozenset()
        #: the secrets as given (their wire forms are in ``_secrets``)
        self._added: frozenset[str] = frozenset()
        self._pattern: re.Pattern[str] | None = None
        #: what a secret looks like inside a JSON text (``\\`` and ``"`` escaped): the forms
        #: the pre-check of a serialised value looks for, and their alternation
        self._probes: frozenset[str] = frozenset()
        self._probe_pattern: re.Pattern[str] | None = None
        self._parent = parent
        self.add(*secrets)

    def add(self, *secrets: str) -> None:
        """Register secret values (and their URL/base64 encodings)."""
        fresh = [s for s in secrets if isinstance(s, str) and s and s not in self._added]
        if not fresh:
            return  # the common case: an executor registers its secrets on every call
        new: set[str] = set()
        for s in fresh:
            new |= wire_forms(s)
        with self._lock:
            self._added = self._added | frozenset(fresh)
            if new <= self._secrets:
                return
            secrets = self._secrets | new
            # longest first so that a secret containing another is replaced whole
            alts = sorted(secrets, key=len, reverse=True)
            pattern = re.compile("|".join(re.escape(a) for a in alts))
            probes = secrets | {_in_json(f) for f in secrets}
            self._probe_pattern = re.compile("|".join(
                re.escape(a) for a in sorted(probes, key=len, reverse=True)))
            self._probes, self._pattern, self._secrets = probes, pattern, secrets
        if self._parent is not None:
            self._parent.add(*fresh)

    @property
    def secrets(self) -> frozenset[str]:
        return self._secrets

    def scrub_text(self, text: str) -> str:
        """``text`` with every known secret replaced."""
        pattern = self._pattern
        if pattern is None or not text or not self._has_secret(text):
            return text
        return pattern.sub(REDACTED, text)

    def _has_secret(self, text: str) -> bool:
        """Whether ``text`` holds a known secret, as written or as a JSON string writes it
        (a secret with a ``"`` or ``\\`` in it is escaped in a serialised value)."""
        probes = self._probes
        if len(probes) <= _SUBSTRING_SECRETS:
            return any(s in text for s in probes)
        pattern = self._probe_pattern
        return pattern is not None and pattern.search(text) is not None

    def clean_text(self, text: str) -> bool:
        """True when ``text`` (e.g. a value serialised to JSON) holds no known secret and no
        credential-ish word at all — then nothing in the value it came from needs redacting.
        Linear in the text: one substring test per secret form and per credential word."""
        if self._has_secret(text):
            return False
        norm = text.replace("-", "").replace("_", "").lower()
        return not any(word in norm for word in _SECRET_WORDS)

    def scrub(self, value: Any) -> Any:
        """A copy of ``value`` (str, bytes, dict, list, tuple, nested) with secrets removed."""
        if isinstance(value, (dict, list)) and self._clean(value):
            return value  # nothing to redact: skip the walk (the common case)
        return self._scrub(value)

    def _clean(self, value: Any) -> bool:
        try:
            text = json.dumps(value, ensure_ascii=False)
        except (TypeError, ValueError):
            return False
        return self.clean_text(text)

    def _scrub(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.scrub_text(value)
        if isinstance(value, (bytes, bytearray)):
            return self.scrub_text(bytes(value).decode("utf-8", "replace")).encode()
        if isinstance(value, dict):
            return {
                k: (REDACTED if secret_key(k) and v not in (None, "") else self._scrub(v))
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self._scrub(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self._scrub(v) for v in value)
        return value

    def __call__(self, logger: Any, method_name: str,
                 event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        """A structlog processor: scrubs every field of the event."""
        for key in list(event_dict):
            value = event_dict[key]
            if secret_key(key) and value not in (None, ""):
                event_dict[key] = REDACTED
            else:
                event_dict[key] = self.scrub(value)
        return event_dict


#: The process-wide redactor every executor also registers its secrets with.
DEFAULT_REDACTOR = Redactor()


def scrub(value: Any) -> Any:
    """Remove every secret any executor in this process knows of from ``value``."""
    return DEFAULT_REDACTOR.scrub(value)


def redact_processor(logger: Any, method_name: str,
                     event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor using `DEFAULT_REDACTOR`; put it before the renderer."""
    return DEFAULT_REDACTOR(logger, method_name, event_dict)
