"""Spec stage: read an OpenAPI document from a path, a URL (httpx) or a dict."""

from __future__ import annotations

import copy
import itertools
import json
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import yaml

from agentrt.errors import SpecError

_dict_ids = itertools.count(1)
#: libyaml's loader when PyYAML was built with it (several times faster on large documents)
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_text(text: str, source: str) -> Any:
    """Parse JSON or YAML text; a syntax error becomes a SpecError with line and column."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return yaml.load(text, Loader=_YAML_LOADER)  # a safe loader, C or Python
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        raise SpecError(f"not valid YAML or JSON ({exc.problem} at {where})",
                        source=source) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"not valid YAML or JSON ({exc})", source=source) from None


def is_url(text: str) -> bool:
    return urlsplit(text).scheme in ("http", "https")


def fetch_url(url: str, *, client: httpx.Client | None = None, timeout: float = 30.0) -> str:
    """GET a document over HTTP; failures become SpecError naming the URL."""
    try:
        if client is not None:
            resp = client.get(url)
        else:
            with httpx.Client(timeout=timeout, follow_redirects=True) as c:
                resp = c.get(url)
    except httpx.HTTPError as exc:
        raise SpecError(f"could not fetch ({type(exc).__name__}: {exc})", source=url) from None
    if resp.status_code != 200:
        raise SpecError(f"could not fetch (HTTP {resp.status_code})", source=url)
    return resp.text


def read_text(source: str | Path, *, client: httpx.Client | None = None
              ) -> tuple[str, str, str]:
    """Return ``(text, base_uri, display_name)`` for a path or URL, not parsed yet."""
    if isinstance(source, str) and is_url(source):
        return fetch_url(source, client=client), source, source
    path = Path(source).expanduser()
    name = str(source)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError("no such file", source=name) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read ({exc})", source=name) from None
    return text, path.resolve().as_uri(), name


def parse_document(text: str, name: str) -> dict[str, Any]:
    """:func:`parse_text`, refusing anything but an object at the top."""
    doc = parse_text(text, name)
    if not isinstance(doc, dict):
        raise SpecError(f"the document is a {type(doc).__name__}, not an object", source=name)
    return doc


def read_source(
    source: str | Path | Mapping[str, Any], *, client: httpx.Client | None = None
) -> tuple[dict[str, Any], str, str]:
    """Return ``(document, base_uri, display_name)`` for a path, URL or mapping."""
    if isinstance(source, Mapping):
        return copy.deepcopy(dict(source)), f"urn:agentrt:dict:{next(_dict_ids)}", "<dict>"
    text, uri, name = read_text(source, client=client)
    return parse_document(text, name), uri, name


def mapping_bytes(source: Mapping[str, Any]) -> bytes | None:
    """A faithful serialisation of a document given as a mapping, for its cache key (equal
    bytes mean an equal document: ``200`` and ``"200"`` differ, as do tuples and lists), or
    None when it cannot be serialised."""
    try:
        return pickle.dumps(dict(source), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # anything unpicklable in it: not cached
        return None


def retrieve_uri(uri: str, *, client: httpx.Client | None = None) -> Any:
    """Load a document that a ``$ref`` points into (file:// or http(s)://)."""
    parts = urlsplit(uri)
    if parts.scheme == "file":
        from urllib.request import url2pathname

        path = Path(url2pathname(parts.path))
        try:
            return parse_text(path.read_text(encoding="utf-8"), str(path))
        except OSError as exc:
            raise SpecError(f"cannot read referenced file ({exc})", source=str(path)) from None
    if parts.scheme in ("http", "https"):
        return parse_text(fetch_url(uri, client=client), uri)
    raise SpecError(f"cannot retrieve reference target {uri!r}", source=uri)
