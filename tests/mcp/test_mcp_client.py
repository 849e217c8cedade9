"""MCP tools as agentrt tools: `Toolset.from_mcp` / `afrom_mcp` and `MCPExecutor`, against a
third-party-style server written with the SDK (tests/mcp/notes_server.py) and against
agentrt's own `agentrt mcp serve` (stdio and streamable HTTP), alone and mixed with OpenAPI."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp.client.stdio import get_default_environment

from agentrt.agent import Agent
from agentrt.errors import ConfigError
from agentrt.mcp import MCPExecutor
from agentrt.testing import ScriptedBackend, answer, call
from agentrt.toolset import Toolset
from agentrt_demo import DEMO_API_KEY, spec_path
from tests.mcp.conftest import PAX, Demo, day, serve_env

NOTES = Path(__file__).with_name("notes_server.py")


@pytest.fixture
def notes(tmp_path: Path) -> tuple[list[str], Path]:
    log = tmp_path / "calls.log"
    log.write_text("")
    return [sys.executable, str(NOTES), str(log)], log


def _calls(log: Path) -> list[str]:
    return log.read_text().split()


async def test_annotations_become_side_effect_classes(notes: tuple[list[str], Path]) -> None:
    argv, log = notes
    ts = await Toolset.afrom_mcp(argv)
    classes = {t.name: (t.side_effect, t.side_effect_source) for t in ts}
    assert classes == {
        "list_notes": ("safe", "mcp readOnlyHint"),
        "read_note": ("safe", "mcp readOnlyHint"),
        "put_note": ("idempotent", "mcp idempotentHint"),
        "append_line": ("unsafe", "mcp: no annotations"),
    }
    tool = ts.get("read_note")
    assert tool is not None and tool.kind == "mcp" and tool.method == "MCP"
    assert tool.service.name == "notes" and tool.service.source.endswith("calls.log")
    assert [v.kind for v in ts.validate("read_note", {})] == ["missing_required"]
    assert ts.validate("read_note", {"key": "welcome"}) == []
    assert [t.name for t in ts.retrieve("store a note under a key", k=1)] == ["put_note"]
    assert _calls(log) == []  # listing calls no tool


async def test_executor_validates_applies_policy_and_calls(notes: tuple[list[str], Path]
                                                           ) -> None:
    argv, log = notes
    ts = await Toolset.afrom_mcp(argv)
    async with MCPExecutor(ts, policy="deny") as ex:
        read = await ex.execute("read_note", {"key": "welcome"})
        bad = await ex.execute("read_note", {"key": 3, "extra": True})
        unknown = await ex.execute("nope", {})
        denied = await ex.execute("append_line", {"key": "k", "line": "x"})
        missing = await ex.execute("read_note", {"key": "absent"})
    assert read.outcome == "ok" and read.body == {"key": "welcome",
                                                  "text": "hello from the notes server"}
    assert read.method == "MCP" and read.side_effect == "safe"
    assert bad.outcome == "rejected" and {v.path for v in bad.violations} >= {"$.key"}
    assert unknown.outcome == "rejected" and unknown.violations[0].kind == "unknown_tool"
    assert denied.outcome == "denied" and "denies unsafe" in denied.message
    assert missing.outcome == "client_error" and "absent" in str(missing.body)
    assert _calls(log) == ["read_note", "read_note"]  # the refused calls never arrived


async def test_executor_sends_allowed_non_safe_calls(notes: tuple[list[str], Path]) -> None:
    argv, log = notes
    ts = await Toolset.afrom_mcp(argv)
    asked: list[str] = []

    def confirm(request: object) -> bool:
        asked.append(str(getattr(request, "tool", "")))
        return True

    async with MCPExecutor(ts, policy=confirm) as ex:
        put = await ex.execute("put_note", {"key": "trip", "text": "LIS-MAD"})
        added = await ex.execute("append_line", '{"key": "trip", "line": "hotel"}')
    assert put.outcome == "ok" and added.outcome == "ok"
    assert added.body == {"key": "trip", "text": "LIS-MAD\nhotel"}
    assert asked == ["put_note", "append_line"]
    assert _calls(log) == ["put_note", "append_line"]


def test_from_mcp_is_a_sync_edge(notes: tuple[list[str], Path]) -> None:
    argv, _log = notes
    ts = Toolset.from_mcp(" ".join(argv))  # a command line as one string
    assert "read_note" in ts


async def test_from_mcp_refuses_a_running_loop() -> None:
    with pytest.raises(ConfigError, match="afrom_mcp"):
        Toolset.from_mcp("python -c pass")


async def test_agentrt_server_round_trip(demo: Demo) -> None:
    """agentrt's own server, read back by agentrt: exact classes from `_meta`, same schemas."""
    ts = await Toolset.afrom_mcp(demo.serve_argv("--policy", "allow", hotels=False),
                                 env=serve_env())
    direct = Toolset.from_spec(spec_path("flights"), base_url=demo.flights_url)
    for tool in direct:
        got = ts.get(tool.name)
        assert got is not None and got.parameters == tool.parameters
        assert (got.side_effect, got.side_effect_source) == (
            tool.side_effect, "_meta x-agentrt-side-effect")
    async with MCPExecutor(ts, policy="allow", env=serve_env()) as ex:
        found = await ex.execute("search_flight_offers", {
            "origin": "LIS", "destination": "MAD", "departure_date": day(22)})
        assert found.outcome == "ok", found
        inner = found.body  # the served observation, as the server reported it
        offer = inner["body"]["offers"][0]
        before = demo.count
        bad = await ex.execute("create_flight_booking", {"offer_id": offer["offer_id"]})
        assert demo.count == before and bad.outcome == "rejected"  # refused client-side
        booked = await ex.execute("create_flight_booking", {
            "offer_id": offer["offer_id"], "passengers": [PAX], "contact_email": "m@b.co"})
    assert booked.outcome == "ok" and booked.body["outcome"] == "ok"
    assert booked.body["status_code"] == 201


@pytest.fixture
def http_server(demo: Demo) -> Iterator[str]:
    argv = demo.serve_argv("--policy", "deny", "--transport", "http", hotels=False)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env={**get_default_environment(), **serve_env()}, text=True)
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().split()[1]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


async def test_from_mcp_over_http_and_server_side_policy(demo: Demo, http_server: str) -> None:
    ts = await Toolset.afrom_mcp(http_server)
    assert ts.get("create_flight_booking") is not None
    async with MCPExecutor(ts, policy="allow") as ex:  # the client allows, the server denies
        airports = await ex.execute("list_airports", {"query": "Madrid"})
        found = await ex.execute("search_flight_offers", {
            "origin": "LIS", "destination": "MAD", "departure_date": day(23)})
        offer_id = found.body["body"]["offers"][0]["offer_id"]
        before = demo.count
        booked = await ex.execute("create_flight_booking", {
            "offer_id": offer_id, "passengers": [PAX], "contact_email": "m@b.co"})
    assert airports.outcome == "ok" and "MAD" in str(airports.body)
    assert booked.outcome == "client_error" and booked.body["outcome"] == "denied"
    assert demo.count == before


async def test_agent_drives_a_mixed_toolset(demo: Demo, notes: tuple[list[str], Path]) -> None:
    argv, log = notes
    hotels = Toolset.from_spec(spec_path("hotels"), base_url=demo.hotels_url)
    ts = hotels + await Toolset.afrom_mcp(argv)
    backend = ScriptedBackend([
        call("read_note", key="welcome"),
        call("search_hotels", city="Lisbon", check_in=day(30), check_out=day(32)),
        call("put_note", key="plan", text="Lisbon hotel"),
        answer("The note says: hello from the notes server"),
    ])
    async with MCPExecutor(ts, policy="allow",
                           credentials={"ApiKeyAuth": DEMO_API_KEY}) as ex:
        agent = Agent(backend, ts, executor=ex, search="react", ground_answers=False,
                      ground_arguments=False)
        result = await agent.run("What does the welcome note say? Also find a hotel.")
    assert result.solved, result.status
    outcomes = [(c.tool, c.outcome) for c in result.calls]
    assert outcomes == [("read_note", "ok"), ("search_hotels", "ok"), ("put_note", "ok")]
    offered = backend.requests[0].tool_names
    assert {"read_note", "search_hotels", "put_note"} <= set(offered)
    assert _calls(log) == ["read_note", "put_note"]


async def test_open_and_close_from_different_tasks(notes: tuple[list[str], Path]) -> None:
    import asyncio

    argv, log = notes
    ts = await Toolset.afrom_mcp(argv)
    ex = MCPExecutor(ts)
    await asyncio.ensure_future(ex.open())  # e.g. a service's startup task
    assert (await ex.execute("list_notes", {})).outcome == "ok"
    await asyncio.ensure_future(ex.aclose())  # and its shutdown task
    with pytest.raises(ConfigError, match="no open MCP session"):
        await ex.execute("list_notes", {})
    assert _calls(log) == ["list_notes"]


async def test_a_view_has_its_own_policy_and_closes_nothing(notes: tuple[list[str], Path]
                                                           ) -> None:
    argv, log = notes
    ts = await Toolset.afrom_mcp(argv)
    async with MCPExecutor(ts, policy="deny") as ex:
        allowed = ex.view(policy="allow")
        assert (await allowed.execute("put_note", {"key": "a", "text": "b"})).outcome == "ok"
        assert (await ex.execute("put_note", {"key": "a", "text": "c"})).outcome == "denied"
        await allowed.aclose()  # the view's close leaves the sessions open
        assert (await ex.execute("read_note", {"key": "a"})).body == {"key": "a", "text": "b"}
    assert _calls(log) == ["put_note", "read_note"]
