"""Fixtures for the backend tests: tools in OpenAI format, the step schema, a real llama.cpp server."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentrt.backends.base import FINISH_TOOL

SEARCH_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "search_flights",
        "description": "Search flights between two airports on a date.",
        "parameters": {
            "type": "object",
            "properties": {
                "origin": {"type": "string", "description": "IATA code, e.g. CDG"},
                "destination": {"type": "string", "description": "IATA code, e.g. JFK"},
                "date": {"type": "string", "description": "YYYY-MM-DD"},
                "cabins": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["origin", "destination", "date"],
            "additionalProperties": False,
        },
    },
}

GET_BOOKING_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_booking",
        "description": "Fetch a booking by its reference.",
        "parameters": {
            "type": "object",
            "properties": {"reference": {"type": "string"}},
            "required": ["reference"],
            "additionalProperties": False,
        },
    },
}

TOOLS = [SEARCH_TOOL, GET_BOOKING_TOOL, FINISH_TOOL]


def step_schema(tools: list[dict[str, Any]]) -> dict[str, Any]:
    """The union-of-steps schema, as ``Toolset.call_schema`` builds it (one anyOf branch a tool)."""
    branches = []
    for tool in tools:
        fn = tool["function"]
        branches.append({
            "type": "object",
            "properties": {"thought": {"type": "string"}, "name": {"const": fn["name"]},
                           "arguments": fn["parameters"]},
            "required": ["thought", "name", "arguments"],
            "additionalProperties": False,
        })
    return {"anyOf": branches}


@pytest.fixture
def tools() -> list[dict[str, Any]]:
    return [dict(t) for t in TOOLS]


@pytest.fixture
def constraint() -> dict[str, Any]:
    return step_schema(TOOLS)


@pytest.fixture
def messages() -> list[dict[str, Any]]:
    return [{"role": "user", "content": "Find flights from Paris CDG to New York JFK on "
                                        "2026-12-01."}]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real llama-cpp-python server (``python -m agentrt.backends.llama_server``, i.e.
    ``llama_cpp.server`` loaded safely for this CPU) on loopback serving the default model.

    Yields its ``/v1`` base URL; the model alias is ``qwen-default``.
    """
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python is not installed (pip install 'agentrt[embedded]')")
    for extra in ("uvicorn", "fastapi", "sse_starlette", "starlette_context"):
        if importlib.util.find_spec(extra) is None:
            pytest.skip(f"llama_cpp.server needs {extra} (pip install 'llama-cpp-python[server]')")
    from agentrt.backends.model_files import resolve_model_path

    model = resolve_model_path()
    port = _free_port()
    log = Path(tmp_path_factory.mktemp("llama-server")) / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            # the stock server with the load parameters chosen for this CPU (no AMX crash)
            [sys.executable, "-m", "agentrt.backends.llama_server", "--model", str(model),
             "--model_alias", "qwen-default", "--host", "127.0.0.1", "--port", str(port),
             "--n_ctx", "2048", "--n_threads",
             os.environ.get("AGENTRT_THREADS") or str(os.cpu_count() or 1), "--verbose", "false"],
            stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited ({proc.returncode}):\n"
                            f"{log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/models", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server did not start in 90 s:\n{log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
