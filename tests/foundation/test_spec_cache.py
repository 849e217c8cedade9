"""Loaded documents are cached by content hash, in memory and on disk; what cannot be trusted
(a corrupt entry, another user's directory, a document with outside references) is not used."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from agentrt.openapi import SpecCache, load_spec
from agentrt.openapi import cache as cache_mod
from agentrt.openapi.checks import validator_backend


def document(n: int = 3, title: str = "t") -> dict[str, Any]:
    return {"openapi": "3.1.0", "info": {"title": title, "version": "1"},
            "paths": {f"/r{i}/{{id}}": {"get": {
                "operationId": f"get_r{i}",
                "parameters": [{"name": "id", "in": "path", "required": True,
                                "schema": {"type": "string"}}],
                "responses": {"200": {"description": "ok", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/R"}}}}}}} for i in range(n)},
            "components": {"schemas": {"R": {"type": "object", "properties": {
                "name": {"type": "string"}}}}}}


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "api.json"
    path.write_text(json.dumps(document()), encoding="utf-8")
    return path


def entries(directory: Path) -> list[Path]:
    return sorted((directory / "specs").glob("*.pickle"))


def test_hit_in_memory_then_on_disk(tmp_path: Path, spec_file: Path) -> None:
    store = SpecCache(tmp_path / "cache")
    first = load_spec(spec_file, cache=store)
    assert store.misses == 1 and len(entries(tmp_path / "cache")) == 1
    again = load_spec(spec_file, cache=store)
    assert store.hits == {"memory": 1, "disk": 0} and again == first
    fresh = SpecCache(tmp_path / "cache")  # a new process: only the disk
    from_disk = load_spec(spec_file, cache=fresh)
    assert fresh.hits == {"memory": 0, "disk": 1} and from_disk == first
    assert from_disk.source == str(spec_file)
    assert [op.operation_id for op in from_disk.operations] == ["get_r0", "get_r1", "get_r2"]


def test_the_key_follows_the_content_and_the_options(tmp_path: Path, spec_file: Path) -> None:
    store = SpecCache(tmp_path / "cache")
    load_spec(spec_file, cache=store)
    load_spec(spec_file, cache=store, strict=True)  # other options: another entry
    spec_file.write_text(json.dumps(document(4)), encoding="utf-8")  # edited: a miss
    edited = load_spec(spec_file, cache=store)
    assert store.misses == 3 and len(edited.operations) == 4
    assert len(entries(tmp_path / "cache")) == 3
    copy = tmp_path / "copy.json"  # the same content elsewhere: a hit, under its own name
    copy.write_text(spec_file.read_text(encoding="utf-8"), encoding="utf-8")
    assert load_spec(copy, cache=store).source == str(copy) and store.hits["memory"] == 1


def test_a_mapping_is_keyed_by_its_content(tmp_path: Path) -> None:
    store = SpecCache(tmp_path / "cache")
    load_spec(document(), cache=store)
    load_spec(document(), cache=store)
    assert store.hits["memory"] == 1
    load_spec(document(title="other"), cache=store)
    assert store.misses == 2


@pytest.mark.parametrize("garbage", [b"", b"not a pickle", b"\x80\x05\x95truncated"])
def test_a_corrupt_entry_is_ignored_and_replaced(tmp_path: Path, spec_file: Path,
                                                 garbage: bytes) -> None:
    load_spec(spec_file, cache=SpecCache(tmp_path / "cache"))
    [entry] = entries(tmp_path / "cache")
    entry.write_bytes(garbage)
    store = SpecCache(tmp_path / "cache")
    spec = load_spec(spec_file, cache=store)
    assert store.misses == 1 and len(spec.operations) == 3
    assert entry.read_bytes() != garbage  # rewritten with a good entry
    assert SpecCache(tmp_path / "cache").get(entry.stem) is not None


def test_an_entry_under_another_key_is_not_served(tmp_path: Path, spec_file: Path) -> None:
    store = SpecCache(tmp_path / "cache")
    load_spec(spec_file, cache=store)
    [entry] = entries(tmp_path / "cache")
    other = load_spec(document(5), cache=False)
    import pickle

    entry.write_bytes(pickle.dumps(("another-key", other)))
    fresh = SpecCache(tmp_path / "cache")
    assert len(load_spec(spec_file, cache=fresh).operations) == 3 and fresh.misses == 1


def test_outside_references_are_never_cached(tmp_path: Path) -> None:
    (tmp_path / "schemas.json").write_text(json.dumps({"R": {"type": "object"}}),
                                           encoding="utf-8")
    doc = document()
    doc["components"]["schemas"]["R"] = {"$ref": "schemas.json#/R"}
    path = tmp_path / "api.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    store = SpecCache(tmp_path / "cache")
    load_spec(path, cache=store)
    load_spec(path, cache=store)
    assert store.misses == 2 and entries(tmp_path / "cache") == []


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_a_directory_others_can_write_is_not_used(tmp_path: Path, spec_file: Path) -> None:
    directory = tmp_path / "shared"
    (directory / "specs").mkdir(parents=True)
    os.chmod(directory, 0o777)
    store = SpecCache(directory)
    load_spec(spec_file, cache=store)
    assert entries(directory) == []  # nothing written (nor read) there
    assert load_spec(spec_file, cache=store) is not None and store.hits["memory"] == 1


def test_where_the_cache_lives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTRT_CACHE_DIR", str(tmp_path / "explicit"))
    assert cache_mod.cache_dir() == tmp_path / "explicit"
    monkeypatch.setenv("AGENTRT_CACHE_DIR", "off")
    assert cache_mod.cache_dir() is None and cache_mod.default_cache().directory is None
    monkeypatch.delenv("AGENTRT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_mod.cache_dir() == tmp_path / "xdg" / "agentrt"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/is/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_mod.cache_dir() == tmp_path / "home" / ".cache" / "agentrt"


def test_the_default_cache_follows_the_environment(tmp_path: Path, spec_file: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTRT_CACHE_DIR", str(tmp_path / "env-cache"))
    load_spec(spec_file)
    assert len(entries(tmp_path / "env-cache")) == 1
    assert load_spec(spec_file, cache=False) == load_spec(spec_file)


def test_the_validator_backend_is_chosen_on_purpose() -> None:
    import importlib.util

    expected = "jsonschema-rs" if importlib.util.find_spec("jsonschema_rs") else "jsonschema"
    if os.environ.get("OPENAPI_SPEC_VALIDATOR_SCHEMA_VALIDATOR_BACKEND") == "jsonschema":
        expected = "jsonschema"
    assert validator_backend() == expected
    from agentrt.openapi.checks import _validator_class

    checker = type(_validator_class("3.1").schema_validator).__name__
    assert (checker == "JsonschemaRsValidatorWrapper") == (expected == "jsonschema-rs")
