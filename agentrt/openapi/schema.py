"""Spec stage: schemas → self-contained JSON Schema 2020-12.

``$ref`` targets are found with :mod:`referencing` (same-document, other files, URLs); the
compiler only decides *what to do* with a resolved target: inline it, or — when it is part of
a cycle (a tree of categories, a linked list) or too large to copy — keep one copy under local
``$defs`` and point at it. Results are memoised per target, so shared sub-schemas cost one
compilation and recursion never runs away. OpenAPI 3.0 / Swagger 2.0 dialect features are
rewritten on the way (``nullable``, ``x-nullable``, ``example``, boolean
``exclusiveMinimum``/``exclusiveMaximum``, ``type: file``, tuple ``items``).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from typing import Any
from urllib.parse import urldefrag, urljoin

import referencing
import referencing.exceptions
from referencing.jsonschema import DRAFT202012

from agentrt.errors import SpecError

# keywords whose value is a schema / a map of schemas / a list of schemas
_SCHEMA_KEYS = ("additionalProperties", "items", "not", "if", "then", "else", "contains",
                "propertyNames", "unevaluatedProperties", "unevaluatedItems", "additionalItems")
_MAP_KEYS = ("properties", "patternProperties", "dependentSchemas")
_LIST_KEYS = ("allOf", "anyOf", "oneOf", "prefixItems")
# OpenAPI-only or tool-irrelevant keywords dropped from the output
_DROP = {"discriminator", "xml", "externalDocs", "example", "nullable", "x-nullable",
         "definitions", "$defs", "$schema", "$id", "id"}
_ANNOTATIONS = {"description", "title", "summary", "examples", "default", "deprecated",
                "readOnly", "writeOnly", "$comment"}
#: a ref target whose compiled form has more nodes than this goes to $defs, not inline
INLINE_LIMIT = 300


def escape_pointer_token(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _count(node: Any) -> int:
    if isinstance(node, dict):
        return 1 + sum(_count(v) for v in node.values())
    if isinstance(node, list):
        return 1 + sum(_count(v) for v in node)
    return 1


class SchemaCompiler:
    """Compiles the schemas of one document. Inline expansions and ``$defs`` bodies are
    computed once per document; :meth:`scope` gives a per-operation view that knows which
    ``$defs`` that operation's schemas need."""

    def __init__(self, doc: dict[str, Any], base_uri: str, *, source: str, version: str,
                 retrieve: Callable[[str], Any], warn: Callable[[str, str], None]) -> None:
        self.source = source
        self.version = version
        self.base_uri = base_uri
        self.warn = warn

        def _retrieve(uri: str) -> referencing.Resource[Any]:
            return DRAFT202012.create_resource(retrieve(uri))

        root = DRAFT202012.create_resource(doc)
        self.registry: referencing.Registry[Any] = referencing.Registry(
            retrieve=_retrieve).with_resource(base_uri, root)  # type: ignore[call-arg]
        self.resolver = self.registry.resolver(base_uri=base_uri)
        self.defs: dict[str, Any] = {}          # def name -> compiled body (document-wide)
        self._def_names: dict[str, str] = {}    # target uri -> def name
        self._memo: dict[str, Any] = {}         # target uri -> compiled inline form
        self._stack: list[str] = []
        self._pending: list[tuple[str, Any, Any, str]] = []
        self._def_refs: dict[str, set[str]] = {}

    def scope(self) -> SchemaScope:
        return SchemaScope(self)

    def lookup(self, ref: str, resolver: Any, base: str, pointer: str) -> tuple[Any, Any, str]:
        """Resolve ``ref`` → (contents, resolver for nested refs, absolute URI)."""
        uri = urljoin(base, ref)
        try:
            resolved = resolver.lookup(ref)
        except SpecError:
            raise
        except referencing.exceptions.Unresolvable as exc:
            raise SpecError(f"cannot resolve $ref {ref!r} ({type(exc).__name__})",
                            source=self.source, pointer=pointer) from None
        except Exception as exc:  # a retrieve failure surfaces wrapped by referencing
            cause = exc.__cause__ if isinstance(exc.__cause__, SpecError) else None
            if cause is not None:
                raise SpecError(f"cannot resolve $ref {ref!r}: {cause}", source=self.source,
                                pointer=pointer) from None
            raise SpecError(f"cannot resolve $ref {ref!r} ({exc})", source=self.source,
                            pointer=pointer) from None
        return resolved.contents, resolved.resolver, uri

    def deref(self, node: Any, pointer: str, *, max_hops: int = 50) -> tuple[Any, str]:
        """Follow ``$ref`` chains of non-schema objects (parameters, responses, bodies)."""
        resolver, base, hops = self.resolver, self.base_uri, 0
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            hops += 1
            if hops > max_hops:
                raise SpecError("$ref chain too long or cyclic", source=self.source,
                                pointer=pointer)
            node, resolver, uri = self.lookup(node["$ref"], resolver, base, pointer)
            base = urldefrag(uri)[0]
        return node, pointer

    # -- compiling ------------------------------------------------------------------------
    def compile(self, schema: Any, pointer: str) -> Any:
        """Compile a schema found at ``pointer`` of the root document."""
        try:
            out = self._node(schema, self.resolver, self.base_uri, pointer)
            while self._pending:
                uri, contents, resolver, ptr = self._pending.pop()
                self._stack.append(uri)
                try:
                    self.defs[self._def_names[uri]] = self._node(
                        contents, resolver, urldefrag(uri)[0], ptr)
                finally:
                    self._stack.pop()
        except RecursionError:
            raise SpecError("schema nested too deeply", source=self.source,
                            pointer=pointer) from None
        return out

    def refs_of(self, node: Any, out: set[str]) -> set[str]:
        """Names of ``#/$defs/...`` targets that ``node`` needs, transitively."""
        for name in _local_refs(node):
            if name not in out:
                out.add(name)
                if name not in self._def_refs:
                    self._def_refs[name] = set(_local_refs(self.defs.get(name)))
                for sub in self._def_refs[name]:
                    if sub not in out:
                        self.refs_of({"$ref": f"#/$defs/{sub}"}, out)
        return out

    def _def_ref(self, uri: str, contents: Any, resolver: Any, pointer: str) -> dict[str, Any]:
        name = self._def_names.get(uri)
        if name is None:
            frag = urldefrag(uri)[1]
            base = re.sub(r"[^A-Za-z0-9_.-]", "_", frag.rsplit("/", 1)[-1] or "Schema")
            name, i = base, 2
            while name in self.defs:
                name, i = f"{base}_{i}", i + 1
            self._def_names[uri] = name
            self.defs[name] = {}  # placeholder, filled from _pending
            self._pending.append((uri, contents, resolver, pointer))
        return {"$ref": f"#/$defs/{name}"}

    def _ref(self, node: dict[str, Any], resolver: Any, base: str, pointer: str) -> Any:
        contents, sub_resolver, uri = self.lookup(node["$ref"], resolver, base, pointer)
        target_ptr = "#" + urldefrag(uri)[1] if uri.startswith(self.base_uri + "#") else uri
        if uri in self._memo:
            out: Any = self._memo[uri]
        elif uri in self._def_names and self._stack:
            out = {"$ref": f"#/$defs/{self._def_names[uri]}"}
        elif uri in self._stack:
            out = self._def_ref(uri, contents, sub_resolver, target_ptr)
        else:
            self._stack.append(uri)
            try:
                out = self._node(contents, sub_resolver, urldefrag(uri)[0], target_ptr)
            finally:
                self._stack.pop()
            if uri in self._def_names and self._stack:  # it turned out to be recursive
                # (at the top of a schema the one-level expansion is kept: a recursive request
                # body still shows its properties, deeper levels point into $defs)
                out = {"$ref": f"#/$defs/{self._def_names[uri]}"}
            elif uri not in self._def_names and _count(out) > INLINE_LIMIT:
                ref = self._def_ref(uri, contents, sub_resolver, target_ptr)
                self._pending.pop()  # already compiled: store it directly
                self.defs[self._def_names[uri]] = out
                out = ref
            if uri not in self._def_names or not self._stack:
                self._memo[uri] = out
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        if not siblings or self.version != "3.1":
            return out
        extra = self._node(siblings, resolver, base, pointer)
        if set(extra) <= _ANNOTATIONS and "$ref" not in out:
            return {**out, **extra}
        return {"allOf": [out, extra]}

    def _node(self, node: Any, resolver: Any, base: str, pointer: str) -> Any:
        if isinstance(node, bool):
            return node
        if not isinstance(node, dict):
            raise SpecError(f"a schema must be an object, not {type(node).__name__}",
                            source=self.source, pointer=pointer)
        if isinstance(node.get("$ref"), str):
            return self._ref(node, resolver, base, pointer)
        out: dict[str, Any] = {}
        legacy = self.version != "3.1"
        for key, value in node.items():
            kp = f"{pointer}/{escape_pointer_token(key)}"
            if key in _DROP or key.startswith("x-"):
                continue
            if key in _MAP_KEYS and isinstance(value, dict):
                out[key] = {k: self._node(v, resolver, base, f"{kp}/{escape_pointer_token(k)}")
                            for k, v in value.items()}
            elif key in _LIST_KEYS and isinstance(value, list):
                out[key] = [self._node(v, resolver, base, f"{kp}/{i}")
                            for i, v in enumerate(value)]
            elif key == "items" and isinstance(value, list):  # draft-4 tuple form
                out["prefixItems"] = [self._node(v, resolver, base, f"{kp}/{i}")
                                      for i, v in enumerate(value)]
            elif key in _SCHEMA_KEYS and isinstance(value, (dict, bool)):
                out[key] = self._node(value, resolver, base, kp)
            elif key == "pattern":
                if isinstance(value, str) and _regex_ok(value):
                    out[key] = value
                else:
                    self.warn(kp, f"invalid regular expression {value!r} dropped")
            else:
                out[key] = value
        if "example" in node and "examples" not in node:
            out["examples"] = [node["example"]]
        if legacy:
            _legacy_bounds(out, node)
            if out.get("type") == "file":
                out["type"], out["format"] = "string", "binary"
            if node.get("nullable") is True or node.get("x-nullable") is True:
                out = _nullable(out)
        if "required" in out and not (isinstance(out["required"], list)
                                      and all(isinstance(r, str) for r in out["required"])):
            self.warn(f"{pointer}/required", "'required' must be a list of names; dropped")
            del out["required"]
        _check_default(out, pointer, self.warn)
        return out


class SchemaScope:
    """The schemas of one operation: compiles through the document's compiler and knows
    which document-wide ``$defs`` they need."""

    def __init__(self, compiler: SchemaCompiler) -> None:
        self.c = compiler
        self._needed: set[str] = set()

    def compile(self, schema: Any, pointer: str) -> Any:
        out = self.c.compile(schema, pointer)
        self.c.refs_of(out, self._needed)
        return out

    @property
    def defs(self) -> dict[str, Any]:
        return {name: self.c.defs[name] for name in sorted(self._needed)}


def _local_refs(node: Any) -> list[str]:
    found: list[str] = []
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            ref = cur.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                found.append(ref[len("#/$defs/"):])
            stack.extend(v for v in cur.values() if isinstance(v, (dict, list)))
        elif isinstance(cur, list):
            stack.extend(v for v in cur if isinstance(v, (dict, list)))
    return found


def _regex_ok(pattern: str) -> bool:
    # ECMA-262 and Python differ; refuse what Python cannot compile and the common
    # mistake of a range quantifier written with a dash ({1-2}), which never matches.
    if re.search(r"\{\d+-\d+\}", pattern):
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # "possible nested set" in [[...]]
        try:
            re.compile(pattern)
        except re.error:
            return False
    return True


def _legacy_bounds(out: dict[str, Any], node: dict[str, Any]) -> None:
    for excl, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        flag = node.get(excl)
        if isinstance(flag, bool):
            out.pop(excl, None)
            if flag and bound in node:
                out[excl] = node[bound]
                out.pop(bound, None)


def _nullable(out: dict[str, Any]) -> dict[str, Any]:
    t = out.get("type")
    if isinstance(t, str):
        out["type"] = [t, "null"]
    elif isinstance(t, list):
        if "null" not in t:
            out["type"] = [*t, "null"]
    else:
        return {"anyOf": [out, {"type": "null"}]}
    if isinstance(out.get("enum"), list) and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]
    return out


_PY_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,),
    "array": (list,), "object": (dict,),
}


def _check_default(out: dict[str, Any], pointer: str, warn: Callable[[str, str], None]) -> None:
    """Drop a ``default`` whose type contradicts the schema's own ``type`` (e.g. "false")."""
    if "default" not in out or not isinstance(out.get("type"), str):
        return
    allowed = _PY_TYPES.get(out["type"])
    value = out["default"]
    if allowed is None:
        return
    bad = not isinstance(value, allowed) or (isinstance(value, bool) and out["type"] != "boolean")
    if bad:
        warn(f"{pointer}/default", f"default {value!r} is not of type {out['type']}; dropped")
        del out["default"]
