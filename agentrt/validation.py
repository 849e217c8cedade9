"""Validation stage: a proposed call (name + arguments) → every violation, at once.

Checks are JSON Schema 2020-12 validators (jsonschema), compiled once per tool and cached; no
JSON Schema rule is re-implemented here. This module only turns jsonschema's errors into
`Violation` values whose messages a small model can read and act on.

The verdict "valid" — the common case, asked for every call and every response — comes from
jsonschema-rs (a core dependency: openapi-spec-validator's fast backend) where a schema uses
only keywords both libraries read alike (`_rs_validator`: no ``format``, ``pattern``,
``$ref``, ``multipleOf``, ``uniqueItems``, ``unevaluated*``…); anything it calls invalid, any
value it cannot take, and every other schema go to jsonschema, which alone writes the
violations.
"""

from __future__ import annotations

import difflib
import json
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

ViolationKind = Literal[
    "unknown_tool",
    "malformed_arguments",
    "unknown_argument",
    "missing_required",
    "type",
    "enum",
    "format",
    "pattern",
    "bounds",
    "schema",
    "duplicate_failure",
    "ungrounded",  # an identifier that appears in no earlier result nor the request
]

_KIND_BY_KEYWORD: dict[str, ViolationKind] = {
    "required": "missing_required",
    "additionalProperties": "unknown_argument",
    "unevaluatedProperties": "unknown_argument",
    "type": "type",
    "enum": "enum",
    "const": "enum",
    "format": "format",
    "pattern": "pattern",
    **{k: "bounds" for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
                             "minLength", "maxLength", "minItems", "maxItems", "multipleOf",
                             "minProperties", "maxProperties", "uniqueItems")},
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Violation:
    """One reason a proposed call is not acceptable.

    ``path`` is a JSON path into the arguments (``$.passengers[0].birth_date``); ``message`` is
    written for the model to read and repair the call.
    """

    kind: ViolationKind
    path: str
    message: str
    #: for unknown_tool: the nearest real tool names
    suggestions: tuple[str, ...] = ()
    #: only the user can supply the value (e.g. who a booking is for): no other call helps
    ask_user: bool = False

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind, "path": self.path, "message": self.message}
        if self.suggestions:
            d["suggestions"] = list(self.suggestions)
        if self.ask_user:
            d["ask_user"] = True
        return d


def json_path(parts: Iterable[Any]) -> str:
    out = "$"
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out


def parse_arguments(arguments: Any) -> tuple[dict[str, Any] | None, Violation | None]:
    """Arguments as a model emits them (dict, JSON string, None) → dict, or a violation."""
    if arguments is None or arguments == "":
        return {}, None
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except json.JSONDecodeError as exc:
            return None, Violation(kind="malformed_arguments", path="$",
                                   message=f"arguments are not valid JSON ({exc.msg} at "
                                           f"position {exc.pos}); send a JSON object")
    if not isinstance(arguments, Mapping):
        return None, Violation(kind="malformed_arguments", path="$",
                               message=f"arguments must be a JSON object, not "
                                       f"{type(arguments).__name__}")
    return dict(arguments), None


def unknown_tool(name: str, known: Iterable[str]) -> Violation:
    names = list(known)
    near = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    lowered = name.lower()
    near += [n for n in names if lowered and (lowered in n.lower() or n.lower() in lowered)
             and n not in near][: 3 - len(near)]
    hint = f"; did you mean {', '.join(near)}?" if near else ""
    return Violation(kind="unknown_tool", path="$.name",
                     message=f"there is no tool named {name!r}{hint}",
                     suggestions=tuple(near))


#: keywords whose meaning jsonschema and jsonschema-rs may read differently (formats are checked
#: by jsonschema's format checker only, regex dialects differ, references resolve differently,
#: float arithmetic and equality edge cases): a schema using any of them is checked by
#: jsonschema alone
_RS_UNSAFE = frozenset({
    "format", "pattern", "patternProperties", "$ref", "$dynamicRef", "$recursiveRef", "$id",
    "$anchor", "$dynamicAnchor", "$recursiveAnchor", "$schema", "$vocabulary", "multipleOf",
    "uniqueItems", "unevaluatedProperties", "unevaluatedItems", "contentEncoding",
    "contentMediaType", "contentSchema", "dependentSchemas", "dependencies", "propertyNames"})
#: keywords holding one subschema, and those holding a list or a name → subschema map of them
_ONE_SCHEMA = ("items", "additionalProperties", "not", "contains", "if", "then", "else",
               "additionalItems")
_SCHEMA_LIST = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_MAP = ("properties", "$defs", "definitions")


def _rs_safe(schema: Any, depth: int = 0) -> bool:
    """Whether every keyword of ``schema`` (walked through its subschemas) is one both
    libraries read alike; annotations and unknown keywords (``x-…``, ``nullable``) count as
    alike: both ignore them."""
    if isinstance(schema, bool):
        return True
    if not isinstance(schema, Mapping) or depth > 32:
        return False
    if any(key in _RS_UNSAFE for key in schema):
        return False
    for key in _ONE_SCHEMA:
        if key in schema and not _rs_safe(schema[key], depth + 1):
            return False
    for key in _SCHEMA_LIST:
        subs = schema.get(key)
        if subs is not None and not (isinstance(subs, list)
                                     and all(_rs_safe(sub, depth + 1) for sub in subs)):
            return False
    for key in _SCHEMA_MAP:
        subs = schema.get(key)
        if subs is not None and not (isinstance(subs, Mapping)
                                     and all(_rs_safe(sub, depth + 1) for sub in subs.values())):
            return False
    return True


def _rs_validator(schema: Mapping[str, Any]) -> Any:
    """A jsonschema-rs 2020-12 validator for ``schema`` where it is safe (:func:`_rs_safe`)
    and the library is installed, else None."""
    if not _rs_safe(schema):
        return None
    try:
        import jsonschema_rs
    except ImportError:  # pragma: no cover - a core dependency
        return None
    try:
        return jsonschema_rs.Draft202012Validator(dict(schema))
    except Exception:  # a schema it will not compile: jsonschema alone
        return None


class ArgumentValidator:
    """A compiled validator for one JSON Schema (a tool's arguments or a response)."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.schema = schema
        self._v = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
        #: the fast "valid" verdict (see the module docstring); None: jsonschema decides alone
        self._fast = _rs_validator(schema)

    def violations(self, instance: Any) -> list[Violation]:
        if self._fast is not None:
            try:
                if self._fast.is_valid(instance):
                    return []
            except (ValueError, TypeError, OverflowError):  # not a JSON value it can take
                pass
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # odd regexes in real specs
            if self._v.is_valid(instance):  # the common case: no error objects to build
                return []
            errors = sorted(self._v.iter_errors(instance), key=lambda e: list(e.absolute_path))
        out: list[Violation] = []
        seen: set[tuple[str, str]] = set()
        for err in errors:
            for v in _convert(err):
                if (v.kind, v.path) not in seen:  # one error per missing name, listed once
                    seen.add((v.kind, v.path))
                    out.append(v)
        return out


def _describe_schema(schema: Any) -> str:
    if not isinstance(schema, dict):
        return ""
    bits = []
    if "type" in schema:
        bits.append(str(schema["type"]) if not isinstance(schema["type"], list)
                    else "/".join(map(str, schema["type"])))
    if "format" in schema:
        bits.append(f"format {schema['format']}")
    if "enum" in schema:
        bits.append("one of " + ", ".join(json.dumps(v) for v in schema["enum"][:12]))
    if "pattern" in schema:
        bits.append(f"pattern {schema['pattern']}")
    return f" ({', '.join(bits)})" if bits else ""


def _convert(err: ValidationError) -> list[Violation]:
    keyword = str(err.validator)
    parts = list(err.absolute_path)
    kind = _KIND_BY_KEYWORD.get(keyword, "schema")
    if keyword == "required":
        props = err.schema.get("properties", {}) if isinstance(err.schema, dict) else {}
        present = err.instance if isinstance(err.instance, dict) else {}
        return [Violation(kind="missing_required", path=json_path([*parts, name]),
                          message=f"missing required argument {name!r}"
                                  f"{_describe_schema(props.get(name))}")
                for name in err.validator_value if name not in present]
    if keyword in ("additionalProperties", "unevaluatedProperties"):
        schema = err.schema if isinstance(err.schema, dict) else {}
        allowed = list(schema.get("properties", {}))
        extra = [k for k in (err.instance or {}) if k not in allowed]
        valid = f"; valid arguments: {', '.join(allowed)}" if allowed else ""
        return [Violation(kind="unknown_argument", path=json_path([*parts, k]),
                          message=f"unknown argument {k!r}{valid}") for k in extra]
    if keyword in ("anyOf", "oneOf") and err.context:
        inner = best_match(err.context)
        if inner is not None and list(inner.absolute_path) != parts:
            return _convert(inner)
    where = json_path(parts)
    value = json.dumps(err.instance, default=str)
    if len(value) > 80:
        value = value[:77] + "..."
    if kind == "type":
        msg = f"{where} is {value}, expected {err.validator_value}"
    elif kind == "enum":
        options = err.validator_value if keyword == "enum" else [err.validator_value]
        msg = f"{where} is {value}, must be one of {', '.join(json.dumps(o) for o in options)}"
    elif kind == "format":
        msg = f"{where} is {value}, not a valid {err.validator_value}"
    elif kind == "pattern":
        msg = f"{where} is {value}, must match the pattern {err.validator_value}"
    elif kind == "bounds":
        msg = f"{where} is {value}: {keyword} is {err.validator_value}"
    else:
        msg = f"{where}: {err.message}"
    return [Violation(kind=kind, path=where, message=msg)]
