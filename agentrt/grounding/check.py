"""Grounding stage: check a proposed call's identifier-like arguments against the path's
provenance — an invented id is an ``ungrounded`` violation, pruned before any request is sent.

Rules:

- only the arguments a :class:`~agentrt.grounding.identifiers.GroundingRule` names are
  checked (links, ``x-agentrt-grounded``, or the documented inference); each scalar at that
  argument path (every item of an array) must have a source in the request or in an earlier
  successful observation (:meth:`Provenance.source`); ``None``, ``""`` and booleans are not
  checked (a missing value is validation's business);
- the violation's message names the value, the values that *are* allowed (the candidates:
  values seen at the linked response field, else at fields of the same name, else at bare
  ``id`` fields under a parent of that name — ``hotels[].id`` for ``hotel_id``; newest
  first, at most :data:`MAX_SHOWN`; then request words that fit the schema) and what to do:
  ``offer_id "OF-123" appears in no earlier result and not in the request; use one of: OF-9,
  OF-12, … (or call search_flight_offers first)``;
- who a side effect reaches is checked the same way (:func:`invented_people`): in a call that
  changes something, a person's name or a contact (e-mail, phone: the roles of
  :func:`~agentrt.grounding.roles.argument_role`) must be written in the request or appear in
  an earlier result — a passenger or recipient the model made up ("John Doe") is
  ``ungrounded``, and the message tells the model to ask the user instead;
- :func:`allowed_values` lists, per argument, every value a grammar may offer: the
  candidates, the request's words and facts, and — when the argument's schema constrains the
  form (pattern, format, integer) — every observed scalar of that form; each value is valid
  for the argument's schema (checked with jsonschema). An empty list means no grounded value
  exists yet (the tool cannot be called usefully); a missing argument means "no constraint".
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any, cast

from agentrt.grounding.identifiers import (
    GroundingPlan,
    GroundingRule,
    qualified_name,
    rules_for,
)
from agentrt.grounding.provenance import Provenance
from agentrt.grounding.roles import CONTACT_WHY, NAME_WHY, argument_role, leaves, schema_at
from agentrt.grounding.values import extract_facts
from agentrt.toolset.tool import Tool
from agentrt.validation import ArgumentValidator, Violation, ViolationKind, parse_arguments

__all__ = ["MAX_ALLOWED", "MAX_SHOWN", "UNGROUNDED", "allowed_values", "candidates",
           "check_arguments", "deref_defs", "identifier_values", "invented_people"]

#: the violation kind (add "ungrounded" to `agentrt.validation.ViolationKind`; until then the
#: string is cast)
UNGROUNDED: ViolationKind = cast("ViolationKind", "ungrounded")
#: candidate values named in a message
MAX_SHOWN = 8
#: values per argument in :func:`allowed_values`
MAX_ALLOWED = 256

_validators: dict[str, ArgumentValidator] = {}
_WORD = re.compile(r"[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)*")


def _rules(tool: Tool, plan: GroundingPlan | None) -> Mapping[str, GroundingRule]:
    if plan is not None and tool.name in plan.tools:
        return plan.rules(tool.name)
    return rules_for(tool)


def _values_at(args: Any, path: str, prefix: str = "$") -> Iterator[tuple[str, Any]]:
    """(JSON path, value) for every value at an argument path (``a.b``, ``a[].b``, ``a[]``)."""
    if not path:
        yield prefix, args
        return
    head, _, rest = path.partition(".")
    many = head.endswith("[]")
    name = head[:-2] if many else head
    if not isinstance(args, Mapping) or name not in args:
        return
    value, here = args[name], f"{prefix}.{name}"
    if many:
        if isinstance(value, list):
            for i, item in enumerate(value):
                yield from _values_at(item, rest, f"{here}[{i}]")
        return
    yield from _values_at(value, rest, here)


def _subschema(tool: Tool, path: str) -> dict[str, Any] | None:
    node: Any = tool.parameters
    root = tool.parameters
    for part in path.split("."):
        many = part.endswith("[]")
        name = part[:-2] if many else part
        node = deref_defs(root, node)
        props = node.get("properties") if isinstance(node, Mapping) else None
        if not isinstance(props, Mapping) or name not in props:
            return None
        node = deref_defs(root, props[name])
        if many:
            node = deref_defs(root, node.get("items") if isinstance(node, Mapping) else None)
    if not isinstance(node, Mapping):
        return None
    out = dict(node)
    if "$defs" in root:
        out.setdefault("$defs", root["$defs"])
    return out


def deref_defs(root: Mapping[str, Any], node: Any) -> Any:
    """``node``, or the ``$defs`` entry of ``root`` its local ``$ref`` points to (the toolset
    carries a schema's shared definitions there)."""
    if isinstance(node, Mapping) and isinstance(node.get("$ref"), str) \
            and node["$ref"].startswith("#/$defs/"):
        return (root.get("$defs") or {}).get(node["$ref"][8:], node)
    return node


def _validator(tool: Tool, path: str) -> ArgumentValidator | None:
    key = f"{tool.service.source}\x00{tool.name}\x00{path}\x00{id(tool.parameters)}"
    v = _validators.get(key)
    if v is None:
        schema = _subschema(tool, path)
        if schema is None:
            return None
        if len(_validators) > 4096:
            _validators.clear()
        v = _validators[key] = ArgumentValidator(schema)
    return v


def _norm(value: Any) -> str:
    return value.strip().casefold() if isinstance(value, str) else json.dumps(value)


def candidates(tool: Tool, argument: str, ledger: Provenance, *,
               plan: GroundingPlan | None = None,
               rule: GroundingRule | None = None) -> list[Any]:
    """Observed values that fit ``argument`` of ``tool``, newest first (no request values)."""
    rule = rule or _rules(tool, plan).get(argument)
    if rule is None:
        return []
    found: list[Any] = []
    for link in rule.links:
        tools = plan.tools_for_operation(link.operation) if plan is not None else ()
        leaf = link.field.rsplit(".", 1)[-1].removesuffix("[]") if link.field else ""
        if not leaf:
            continue
        for name in tools or (None,):
            found += [fv.value for fv in ledger.field_values(leaf, tool=name,
                                                             path=link.field or None)]
    if not found:
        for name in rule.fields:
            found += [fv.value for fv in ledger.field_values(name)]
    if not found:  # {"hotels": [{"id": …}]} for an argument hotel_id
        leaf = rule.fields[0] if rule.fields else ""
        bare = leaf.rsplit("_", 1)[-1] if "_" in leaf else ""
        if bare:
            found += [fv.value for fv in ledger.field_values(bare)
                      if qualified_name(fv.source.path or "") == leaf]
    validator = _validator(tool, argument)
    out: dict[str, Any] = {}
    for value in reversed(found):
        if isinstance(value, (dict, list)) or value is None or isinstance(value, bool):
            continue
        key = _norm(value)
        if key in out:
            continue
        if validator is not None and validator.violations(value):
            continue
        out[key] = value
    return list(out.values())


def _request_values(tool: Tool, argument: str, ledger: Provenance) -> list[Any]:
    """Words and facts of the request that are valid for the argument's schema."""
    if not ledger.request:
        return []
    validator = _validator(tool, argument)
    schema = _subschema(tool, argument) or {}
    types = schema.get("type")
    types = {types} if isinstance(types, str) else set(types or ())
    constrained = bool(schema.get("pattern") or schema.get("format") or "integer" in types)
    words: list[Any] = []
    for f in extract_facts(ledger.request):
        words.append(f.text)
    for m in _WORD.finditer(ledger.request):
        w = m.group(0)
        if constrained or (any(c.isdigit() for c in w) and any(c.isalpha() for c in w)) \
                or (w.isupper() and len(w) >= 2):
            words.append(w)
            if w.isdigit() and "integer" in types:
                words.append(int(w))
    out: dict[str, Any] = {}
    for w in words:
        key = _norm(w)
        if key in out or (validator is not None and validator.violations(w)):
            continue
        out[key] = w
    return list(out.values())


def _message(argument: str, value: Any, cands: list[Any], rule: GroundingRule) -> str:
    shown = ", ".join(str(c) for c in cands[:MAX_SHOWN])
    more = ", …" if len(cands) > MAX_SHOWN else ""
    head = f"{argument} {json.dumps(value, ensure_ascii=False)} appears in no earlier result " \
           "and not in the request"
    makers = ", ".join(rule.producers[:3])
    if cands:
        first = f" (or call {makers} first)" if makers else ""
        return f"{head}; use one of: {shown}{more}{first}"
    if makers and not rule.lookable:  # only a change makes one: an existing one is the user's
        return (f"{head}; it cannot be looked up: ask the user for it (only if they asked for "
                f"a new one, call {makers} first)")
    if makers:
        return f"{head}; no {argument} has been seen yet: call {makers} first to get one"
    return f"{head}; use a value from the request or from a result (look it up first)"


def check_arguments(tool: Tool, arguments: Any, ledger: Provenance, *,
                    plan: GroundingPlan | None = None) -> list[Violation]:
    """``ungrounded`` violations of a proposed call (``[]`` when every identifier-like value
    has a source). Malformed arguments are validation's business: they give ``[]`` here."""
    args, problem = parse_arguments(arguments)
    if problem is not None or args is None:
        return []
    out: list[Violation] = []
    for argument, rule in _rules(tool, plan).items():
        for where, value in _values_at(args, argument):
            if value is None or value == "" or isinstance(value, (bool, dict, list)):
                continue
            if ledger.source(value) is not None:
                continue
            cands = candidates(tool, argument, ledger, plan=plan, rule=rule)
            cands += [v for v in _request_values(tool, argument, ledger)
                      if _norm(v) not in {_norm(c) for c in cands}]
            out.append(Violation(kind=UNGROUNDED, path=where,
                                 message=_message(argument, value, cands, rule),
                                 suggestions=tuple(str(c) for c in cands[:MAX_SHOWN]),
                                 # nothing seen, nothing to look it up with: the user's to give
                                 ask_user=not cands and bool(rule.producers)
                                 and not rule.lookable and tool.side_effect != "safe"))
    return out


def identifier_values(tool: Tool, arguments: Any, *, plan: GroundingPlan | None = None
                      ) -> list[tuple[str, Any]]:
    """(JSON path, value) of every identifier-like scalar in ``arguments`` (the arguments the
    grounding rules name)."""
    args, problem = parse_arguments(arguments)
    if problem is not None or args is None:
        return []
    return [(where, value) for argument in _rules(tool, plan)
            for where, value in _values_at(args, argument)
            if isinstance(value, (str, int)) and not isinstance(value, bool) and value != ""]


#: the roles (:func:`~agentrt.grounding.roles.argument_role`'s "why") of who a change reaches
_PEOPLE_WHY = frozenset((NAME_WHY, CONTACT_WHY))


def invented_people(tool: Tool, arguments: Any, ledger: Provenance, *,
                    marks: Mapping[str, bool] | None = None) -> list[Violation]:
    """``ungrounded`` violations for the people a call that changes something would reach —
    names and contacts found neither in the request nor in an earlier result (``[]`` for safe
    tools and when every one has a source). ``marks``: the spec's ``x-agentrt-consequential``
    by property name, which decides where present."""
    if tool.side_effect == "safe":
        return []
    args, problem = parse_arguments(arguments)
    if problem is not None or not isinstance(args, Mapping):
        return []
    out: list[Violation] = []
    for path, value in leaves(args):
        if not isinstance(value, str) or not value.strip():
            continue
        role, why = argument_role(path, value, schema_at(tool.parameters, path), marks=marks)
        if role != "consequential" or why not in _PEOPLE_WHY or ledger.source(value) is not None:
            continue
        out.append(Violation(
            kind=UNGROUNDED, path=f"$.{path}",
            message=f"{path} {json.dumps(value, ensure_ascii=False)} is {why} written "
                    "neither in the user's request nor in a result's fields: never invent who a "
                    "booking or message is for; ask the user for it", ask_user=True))
    return out


def allowed_values(tool: Tool, ledger: Provenance, *, plan: GroundingPlan | None = None,
                   limit: int = MAX_ALLOWED) -> dict[str, list[Any]]:
    """Per grounded argument of ``tool``, the values a grammar may allow (an enum), newest
    first, each valid for the argument's schema; ``[]``: nothing grounded yet."""
    out: dict[str, list[Any]] = {}
    for argument, rule in _rules(tool, plan).items():
        values = candidates(tool, argument, ledger, plan=plan, rule=rule)
        values += _request_values(tool, argument, ledger)
        schema = _subschema(tool, argument) or {}
        types = schema.get("type")
        constrained = bool(schema.get("pattern") or schema.get("format")) or (
            types == "integer" or (isinstance(types, list) and "integer" in types))
        validator = _validator(tool, argument)
        if constrained and validator is not None:
            for leaf in reversed(ledger.leaves()):
                v = leaf.value
                if isinstance(v, bool) or not isinstance(v, (str, int)):
                    continue
                if isinstance(v, str) and len(v) > 200:
                    continue
                if not validator.violations(v):
                    values.append(v)
                if len(values) > 4 * limit:
                    break
        seen: dict[str, Any] = {}
        for v in values:
            seen.setdefault(_norm(v), v)
            if len(seen) >= limit:
                break
        out[argument] = list(seen.values())
    return out
