"""Spec stage: a cache of loaded, validated documents keyed by their content hash — in memory
and on disk in the user cache directory — so loading the same document again skips parsing,
openapi-spec-validator and ``$ref`` resolution.

The key is the SHA-256 of the document's bytes together with everything else the result depends
on: the loader's options (``strict``), the cache format, the versions of openapi-spec-validator
and jsonschema-rs, and a fingerprint (size, mtime) of this package's own modules, so upgrading
or editing the loader never serves an old result. Only documents that needed nothing outside
themselves are stored (a ``$ref`` into another file or URL could change without the document
changing).

Where: ``$AGENTRT_CACHE_DIR`` if set (``off``, ``0`` or empty: no disk cache), else
``$XDG_CACHE_HOME/agentrt``, else ``~/.cache/agentrt``; entries live under ``specs/``. A
directory that is not the user's own, or that others may write to, is not used (entries are
pickles: whoever can write them could run code in this process). An entry that cannot be read —
truncated, corrupt, from another version — is ignored (and removed), never an error.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import stat
import tempfile
import threading
from collections import OrderedDict
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["SpecCache", "cache_dir", "default_cache"]

#: bump when the pickled `Spec` layout changes incompatibly
CACHE_FORMAT = "agentrt-spec-cache/1"
_MEMORY_ENTRIES = 32
_OFF = frozenset({"", "0", "off", "false", "no", "none"})


def cache_dir() -> Path | None:
    """The on-disk cache directory (see the module docstring), or None when disabled."""
    explicit = os.environ.get("AGENTRT_CACHE_DIR")
    if explicit is not None:
        return None if explicit.strip().lower() in _OFF else Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "agentrt"


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "-"


def _fingerprint() -> str:
    """The versions and the loader's own modules the cached result depends on."""
    parts = [CACHE_FORMAT, _version("openapi-spec-validator"), _version("jsonschema-rs"),
             _version("jsonschema")]
    here = Path(__file__).parent
    for module in sorted(here.glob("*.py")):
        with contextlib.suppress(OSError):
            st = module.stat()
            parts.append(f"{module.name}:{st.st_size}:{st.st_mtime_ns}")
    return "\n".join(parts)


class SpecCache:
    """Loaded documents by content key: an in-memory LRU of ``memory`` entries in front of an
    optional directory of pickles. Thread-safe; every failure to read or write the disk is
    treated as a miss."""

    def __init__(self, directory: Path | str | None, *, memory: int = _MEMORY_ENTRIES) -> None:
        self.directory = Path(directory) if directory is not None else None
        self._memory: OrderedDict[str, Any] = OrderedDict()
        self._size = memory
        self._lock = threading.Lock()
        self._salt: str | None = None
        #: counters, for tests and benchmarks
        self.hits = {"memory": 0, "disk": 0}
        self.misses = 0

    def key(self, content: bytes, *options: str) -> str:
        """The cache key of a document's bytes loaded with ``options``."""
        if self._salt is None:
            self._salt = _fingerprint()
        digest = hashlib.sha256()
        for part in (self._salt, *options):
            digest.update(part.encode())
            digest.update(b"\0")
        digest.update(content)
        return digest.hexdigest()

    def get(self, key: str) -> Any | None:
        """The value stored under ``key``, or None."""
        with self._lock:
            if key in self._memory:
                self._memory.move_to_end(key)
                self.hits["memory"] += 1
                return self._memory[key]
        value = self._read(key)
        if value is None:
            self.misses += 1
            return None
        self.hits["disk"] += 1
        self._remember(key, value)
        return value

    def put(self, key: str, value: Any) -> None:
        """Store ``value`` in memory and (best effort) on disk."""
        self._remember(key, value)
        self._write(key, value)

    def clear_memory(self) -> None:
        with self._lock:
            self._memory.clear()

    def _remember(self, key: str, value: Any) -> None:
        with self._lock:
            self._memory[key] = value
            self._memory.move_to_end(key)
            while len(self._memory) > self._size:
                self._memory.popitem(last=False)

    def _entries(self, create: bool) -> Path | None:
        """The entries directory if it is safe to use (ours, not writable by others)."""
        if self.directory is None:
            return None
        path = self.directory / "specs"
        try:
            if create:
                path.mkdir(parents=True, exist_ok=True, mode=0o700)
            for d in (self.directory, path):
                st = d.stat()
                if not stat.S_ISDIR(st.st_mode):
                    return None
                if hasattr(os, "getuid") and st.st_uid != os.getuid():
                    return None
                if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                    return None
        except OSError:
            return None
        return path

    def _read(self, key: str) -> Any | None:
        entries = self._entries(create=False)
        if entries is None:
            return None
        file = entries / f"{key}.pickle"
        try:
            data = file.read_bytes()
        except OSError:
            return None
        try:
            stored_key, value = pickle.loads(data)
            if stored_key != key:
                raise ValueError("key mismatch")
        except Exception:  # corrupt, truncated or foreign: a miss, and not kept around
            with contextlib.suppress(OSError):
                file.unlink()
            return None
        return value

    def _write(self, key: str, value: Any) -> None:
        entries = self._entries(create=True)
        if entries is None:
            return
        try:
            data = pickle.dumps((key, value), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # an unpicklable document (odd YAML types): memory only
            return
        tmp = None
        try:  # written whole, then renamed: a reader never sees half an entry
            fd, tmp = tempfile.mkstemp(dir=entries, prefix=".tmp-", suffix=".pickle")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, entries / f"{key}.pickle")
            tmp = None
        except OSError:
            pass
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)


_default: SpecCache | None = None
_default_dir: Path | None = None
_default_lock = threading.Lock()


def default_cache() -> SpecCache:
    """The process-wide cache for the directory :func:`cache_dir` names now (a change of
    ``AGENTRT_CACHE_DIR`` / ``XDG_CACHE_HOME`` takes effect on the next load)."""
    global _default, _default_dir
    directory = cache_dir()
    with _default_lock:
        if _default is None or directory != _default_dir:
            _default, _default_dir = SpecCache(directory), directory
        return _default
