"""A third-party-style MCP server written with the SDK's FastMCP (not agentrt): a notes store.

Run as ``python notes_server.py LOG``: every tool call that reaches it appends the tool's name
to LOG, so a test can prove a refused call never arrived. Its tools carry the three kinds of
marks: read-only, idempotent, and none at all.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mcp.server.fastmcp import FastMCP
from mcp.types import ToolAnnotations

LOG = Path(sys.argv[1])
app = FastMCP("notes")
NOTES: dict[str, str] = {"welcome": "hello from the notes server"}


def _record(name: str) -> None:
    with LOG.open("a", encoding="utf-8") as fh:
        fh.write(name + "\n")


@app.tool(annotations=ToolAnnotations(readOnlyHint=True))
def list_notes(prefix: str = "") -> dict[str, list[str]]:
    """List the keys of the stored notes, optionally only those starting with prefix."""
    _record("list_notes")
    return {"keys": sorted(k for k in NOTES if k.startswith(prefix))}


@app.tool(annotations=ToolAnnotations(readOnlyHint=True))
def read_note(key: str) -> dict[str, str]:
    """Read one note by its key."""
    _record("read_note")
    if key not in NOTES:
        raise ValueError(f"no note {key!r}")
    return {"key": key, "text": NOTES[key]}


@app.tool(annotations=ToolAnnotations(readOnlyHint=False, destructiveHint=True,
                                      idempotentHint=True))
def put_note(key: str, text: str) -> dict[str, str]:
    """Store a note under a key, replacing any note already there."""
    _record("put_note")
    NOTES[key] = text
    return {"key": key, "stored": "yes"}


@app.tool()
def append_line(key: str, line: str) -> dict[str, str]:
    """Append a line to a note (creating it): not idempotent, and unannotated."""
    _record("append_line")
    NOTES[key] = (NOTES.get(key, "") + "\n" + line).strip()
    return {"key": key, "text": NOTES[key]}


if __name__ == "__main__":
    app.run()
