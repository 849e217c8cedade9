"""Spec stage: validate a document with openapi-spec-validator and sort its findings.

The JSON Schema backend is chosen here, not by whatever happens to be installed or set in the
environment: jsonschema-rs when it can be imported (on a generated 1,000-operation document
about 7x faster than the pure-Python jsonschema backend, which takes ~10 s), else jsonschema.
``OPENAPI_SPEC_VALIDATOR_SCHEMA_VALIDATOR_BACKEND=jsonschema`` still forces the Python one.

Findings confined to one schema keyword that the loader can repair (an invalid ``pattern``, a
``default`` or ``example`` of the wrong type) are returned as warnings in lenient mode — real
public documents, Amadeus' among them, carry such slips — everything else is a SpecError.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from typing import Any

from openapi_spec_validator import (
    OpenAPIV2SpecValidator,
    OpenAPIV30SpecValidator,
    OpenAPIV31SpecValidator,
)
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from agentrt.errors import SpecError
from agentrt.openapi.schema import escape_pointer_token


class ValidatorCrash(SpecError):
    """openapi-spec-validator itself failed (typically an unresolvable ``$ref``); the loader
    then walks the document to report the exact pointer."""


_REPAIRABLE_KEYWORDS = {"pattern", "default", "example", "examples"}


_VALIDATORS: dict[str, Any] = {"2.0": OpenAPIV2SpecValidator, "3.0": OpenAPIV30SpecValidator,
                               "3.1": OpenAPIV31SpecValidator}


@functools.cache
def validator_backend() -> str:
    """``"jsonschema-rs"`` or ``"jsonschema"``: the backend documents are validated with."""
    forced = os.environ.get("OPENAPI_SPEC_VALIDATOR_SCHEMA_VALIDATOR_BACKEND", "")
    if forced.strip().lower() == "jsonschema":
        return "jsonschema"
    return "jsonschema-rs" if importlib.util.find_spec("jsonschema_rs") else "jsonschema"


@functools.cache
def _validator_class(version: str) -> Any:
    """openapi-spec-validator's class for ``version`` with its schema validator built by the
    chosen backend (older openapi-spec-validator releases, without backends: the class as is).
    """
    base = _VALIDATORS[version]
    try:
        from openapi_spec_validator.schemas import get_schema_content
        from openapi_spec_validator.schemas.backend import (
            jsonschema as py_backend,
        )
        from openapi_spec_validator.schemas.backend import (
            jsonschema_rs as rs_backend,
        )
    except ImportError:
        return base
    schema = get_schema_content(version)
    make = rs_backend.create_validator if validator_backend() == "jsonschema-rs" \
        else py_backend.create_validator
    try:
        checker = make(dict(schema))
    except Exception:  # a backend that cannot build this schema: openapi-spec-validator's own
        return base
    return type(base.__name__, (base,), {"schema_validator": checker})


def detect_version(doc: dict[str, Any], source: str) -> str:
    if "swagger" in doc:
        if str(doc["swagger"]) != "2.0":
            raise SpecError(f"unsupported swagger version {doc['swagger']!r}", source=source,
                            pointer="#/swagger")
        return "2.0"
    version = doc.get("openapi")
    if not isinstance(version, str):
        raise SpecError("not an OpenAPI document (no 'openapi' or 'swagger' field)",
                        source=source)
    if version.startswith("3.0"):
        return "3.0"
    if version.startswith("3.1"):
        return "3.1"
    raise SpecError(f"unsupported OpenAPI version {version!r}", source=source,
                    pointer="#/openapi")


def pointer_of(path: Any) -> str:
    return "#" + "".join(f"/{escape_pointer_token(str(p))}" for p in path)


def validate_document(doc: dict[str, Any], *, version: str, source: str, base_uri: str,
                      strict: bool) -> list[tuple[str, str]]:
    """Validate; return repairable findings as ``(pointer, reason)``; raise on the rest."""
    cls = _validator_class(version)
    findings: list[tuple[str, str]] = []
    try:
        errors = list(cls(doc, base_uri=base_uri).iter_errors())
    except RecursionError:
        raise SpecError("document is nested too deeply or has an unresolvable cycle",
                        source=source) from None
    except SpecError:
        raise
    except Exception as exc:  # the validator resolves refs itself and may fail doing so
        raise ValidatorCrash(f"validation failed: {type(exc).__name__}: {str(exc)[:300]}",
                             source=source) from None
    for err in errors:
        path = list(getattr(err, "absolute_path", []) or [])
        pointer = pointer_of(path)
        reason = str(getattr(err, "message", err)).splitlines()[0]
        repairable = bool(path) and str(path[-1]) in _REPAIRABLE_KEYWORDS
        schema = getattr(err, "schema", None)
        # a default checked against its own schema is reported without a path
        if not path and isinstance(schema, dict) and "default" in schema \
                and getattr(err, "instance", object()) == schema.get("default"):
            repairable, reason = True, f"default {schema['default']!r}: {reason}"
        if strict or not repairable or not isinstance(err, OpenAPIValidationError):
            raise SpecError(f"invalid {('Swagger ' if version == '2.0' else 'OpenAPI ')}"
                            f"{version} document: {reason}", source=source, pointer=pointer)
        findings.append((pointer, reason))
    return findings
