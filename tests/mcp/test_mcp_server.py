"""`agentrt mcp serve` driven by the official SDK's own client, over stdio (a subprocess) and
over streamable HTTP (loopback), against the demo services on real sockets."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest
from mcp import ClientSession, types
from mcp.client.stdio import StdioServerParameters, get_default_environment, stdio_client
from mcp.client.streamable_http import streamable_http_client

from agentrt import __version__
from agentrt.toolset import Toolset
from agentrt_demo import DEMO_API_KEY, spec_path
from tests.mcp.conftest import PAX, Demo, day, serve_env


@contextlib.asynccontextmanager
async def stdio_session(argv: list[str], **session: Any) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(command=argv[0], args=argv[1:],
                                   env={**get_default_environment(), **serve_env()})
    async with stdio_client(params) as (read, write), \
            ClientSession(read, write, **session) as client:
        await client.initialize()
        yield client


def _data(result: types.CallToolResult) -> dict[str, Any]:
    assert result.structuredContent is not None
    text = result.content[0]
    assert isinstance(text, types.TextContent)
    assert json.loads(text.text) == result.structuredContent  # text and structure agree
    return result.structuredContent


async def _offer(client: ClientSession) -> dict[str, Any]:
    found = _data(await client.call_tool("search_flight_offers", {
        "origin": "LIS", "destination": "MAD", "departure_date": day(20)}))
    assert found["outcome"] == "ok", found
    offer: dict[str, Any] = found["body"]["offers"][0]
    return offer


async def test_stdio_lists_the_tools_with_agentrt_schemas_and_annotations(demo: Demo) -> None:
    expected = Toolset.merge(
        Toolset.from_spec(spec_path("flights"), base_url=demo.flights_url),
        Toolset.from_spec(spec_path("hotels"), base_url=demo.hotels_url))
    async with stdio_session(demo.serve_argv()) as client:
        listed = {t.name: t for t in (await client.list_tools()).tools}
    assert sorted(listed) == sorted(expected.names)
    for tool in expected.tools:
        got = listed[tool.name]
        assert got.inputSchema == tool.parameters  # the agentrt argument schema, as is
        assert got.description == tool.description
        assert got.meta is not None and got.meta["x-agentrt-side-effect"] == tool.side_effect
        hints = got.annotations
        assert hints is not None
        assert hints.readOnlyHint is (tool.side_effect == "safe")
        assert hints.idempotentHint is (tool.side_effect != "unsafe")
        assert hints.destructiveHint is (tool.side_effect != "safe")
    assert listed["create_flight_booking"].annotations.readOnlyHint is False  # type: ignore[union-attr]
    assert listed["cancel_flight_booking"].annotations.idempotentHint is True  # type: ignore[union-attr]


async def test_stdio_books_and_refuses_an_invalid_call_without_a_request(demo: Demo) -> None:
    async with stdio_session(demo.serve_argv("--policy", "allow")) as client:
        offer = await _offer(client)
        booked = await client.call_tool("create_flight_booking", {
            "offer_id": offer["offer_id"], "passengers": [PAX],
            "contact_email": "ana@example.com"})
        data = _data(booked)
        assert booked.isError is False and data["outcome"] == "ok", data
        assert data["status_code"] == 201 and len(data["body"]["booking_id"]) == 6
        assert data["idempotency_key"]  # unsafe calls carry one, chosen by agentrt

        before = demo.count
        bad = await client.call_tool("create_flight_booking", {
            "offer_id": offer["offer_id"], "passengers": [{"first_name": "Ana"}],
            "contact_email": 42, "seat": "12A"})
        refused = _data(bad)
        assert demo.count == before, "an invalid call must never reach the API"
    assert bad.isError is True and refused["outcome"] == "rejected"
    kinds = {(v["kind"], v["path"]) for v in refused["violations"]}
    assert ("missing_required", "$.passengers[0].last_name") in kinds
    assert ("unexpected_argument", "$.seat") in kinds or any(p == "$.seat" for _, p in kinds)
    assert any(p == "$.contact_email" for _, p in kinds)
    assert len(refused["violations"]) >= 4  # every violation at once, not the first one
    assert refused["attempts"] == 0


async def test_the_secret_never_appears_in_mcp_messages(demo: Demo) -> None:
    seen: list[str] = []
    async with stdio_session(demo.serve_argv("--policy", "allow")) as client:
        seen.append((await client.list_tools()).model_dump_json())
        seen.append((await client.call_tool("list_airports", {"query": "Lisbon"}))
                    .model_dump_json())
        # a 401 echo path: the key is sent (the server injects it) yet never shown back
        seen.append((await client.call_tool("get_flight_booking", {"booking_id": "ZZZZZZ"}))
                    .model_dump_json())
    assert all(DEMO_API_KEY not in text for text in seen)
    assert "Lisbon" in seen[1] and "X-API-Key" not in seen[1]


async def test_deny_policy_sends_no_booking(demo: Demo) -> None:
    async with stdio_session(demo.serve_argv()) as client:  # --policy deny is the default
        offer = await _offer(client)
        before = demo.count
        result = await client.call_tool("create_flight_booking", {
            "offer_id": offer["offer_id"], "passengers": [PAX], "contact_email": "a@b.co"})
    assert result.isError is True and _data(result)["outcome"] == "denied"
    assert demo.count == before


async def test_confirm_policy_refuses_a_client_without_elicitation(demo: Demo) -> None:
    async with stdio_session(demo.serve_argv("--policy", "confirm")) as client:
        offer = await _offer(client)  # safe calls are never asked about
        before = demo.count
        result = await client.call_tool("create_flight_booking", {
            "offer_id": offer["offer_id"], "passengers": [PAX], "contact_email": "a@b.co"})
    data = _data(result)
    assert result.isError is True and data["outcome"] == "denied"
    assert "elicitation" in data["message"]
    assert demo.count == before


@pytest.mark.parametrize("answer", ["accept", "decline"])
async def test_confirm_policy_asks_through_elicitation(demo: Demo, answer: str) -> None:
    asked: list[str] = []

    async def elicit(_ctx: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params.message)
        if answer == "accept":
            return types.ElicitResult(action="accept", content={"confirm": True})
        return types.ElicitResult(action="decline")

    async with stdio_session(demo.serve_argv("--policy", "confirm"),
                             elicitation_callback=elicit) as client:
        offer = await _offer(client)
        before = len(demo.flights.requests)
        result = await client.call_tool("create_flight_booking", {
            "offer_id": offer["offer_id"], "passengers": [PAX], "contact_email": "a@b.co"})
    data = _data(result)
    assert len(asked) == 1 and "POST" in asked[0] and "/bookings" in asked[0]
    assert DEMO_API_KEY not in asked[0]
    if answer == "accept":
        assert data["outcome"] == "ok" and demo.flights.requests[before:] == ["POST /bookings"]
    else:
        assert data["outcome"] == "denied" and len(demo.flights.requests) == before


async def test_streamable_http_transport(demo: Demo) -> None:
    argv = demo.serve_argv("--policy", "allow", "--transport", "http")
    env = {**get_default_environment(), **serve_env()}
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
        assert line[:1] == ["mcp"] and line[1].startswith("http://127.0.0.1:"), line
        url = line[1]
        async with streamable_http_client(url) as (read, write, _sid), \
                ClientSession(read, write) as client:
            init = await client.initialize()
            assert (init.serverInfo.name, init.serverInfo.version) == ("agentrt", __version__)
            names = [t.name for t in (await client.list_tools()).tools]
            offer = await _offer(client)
            before = demo.count
            bad = await client.call_tool("search_hotels", {"city": "Lisbon"})
            assert demo.count == before
            booked = await client.call_tool("create_flight_booking", {
                "offer_id": offer["offer_id"], "passengers": [PAX], "contact_email": "h@b.co"})
        assert "search_hotels" in names and "create_flight_booking" in names
        assert bad.isError is True and _data(bad)["outcome"] == "rejected"
        assert {v["path"] for v in _data(bad)["violations"]} == {"$.check_in", "$.check_out"}
        assert _data(booked)["outcome"] == "ok"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_serve_needs_a_spec() -> None:
    out = subprocess.run([sys.executable, "-m", "agentrt", "mcp", "serve"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 2 and "SPEC" in out.stderr
