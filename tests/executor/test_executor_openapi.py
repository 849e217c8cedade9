"""The executor on tools built by `Toolset.from_spec` from small inline OpenAPI 3.1 and Swagger 2.0
documents, against an in-process Starlette app (httpx.ASGITransport)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from agentrt.executor import Executor
from agentrt.toolset import Toolset

OAS31: dict[str, Any] = {
    "openapi": "3.1.0", "info": {"title": "Flights", "version": "1"},
    "servers": [{"url": "http://{host}/v1", "variables": {"host": {"default": "api.test"}}}],
    "components": {"securitySchemes": {"key": {"type": "apiKey", "in": "header",
                                               "name": "X-Key"}}},
    "security": [{"key": []}],
    "paths": {
        "/flights/{id}": {"get": {
            "operationId": "get_flight",
            "parameters": [
                {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                {"name": "tags", "in": "query",
                 "schema": {"type": "array", "items": {"type": "string"}}}],
            "responses": {"200": {"description": "ok", "content": {"application/json": {
                "schema": {"type": "object", "required": ["id", "seats"], "properties": {
                    "id": {"type": "string"}, "seats": {"type": "integer"}}}}}}}}},
        "/bookings": {"post": {
            "operationId": "book",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["flight"],
                "properties": {"flight": {"type": "string"}}}}}},
            "responses": {"201": {"description": "ok", "content": {"application/json": {
                "schema": {"type": "object", "required": ["booking_id"], "properties": {
                    "booking_id": {"type": "integer"}}}}}}}}},
    },
}

SWAGGER2: dict[str, Any] = {
    "swagger": "2.0", "info": {"title": "Pets", "version": "1"}, "host": "pets.test",
    "basePath": "/api", "schemes": ["http"],
    "paths": {"/pets": {"post": {
        "operationId": "add_pet", "consumes": ["application/x-www-form-urlencoded"],
        "parameters": [{"name": "name", "in": "formData", "type": "string", "required": True},
                       {"name": "age", "in": "formData", "type": "integer"}],
        "responses": {"200": {"description": "ok", "schema": {"type": "object"}}}}}},
}


def _app(log: list[Request], *, wrong_shape: bool = False) -> Starlette:
    async def flight(request: Request) -> JSONResponse:
        log.append(request)
        if wrong_shape:
            return JSONResponse({"id": request.path_params["id"], "seats": "many"})
        return JSONResponse({"id": request.path_params["id"], "seats": 3})

    async def book(request: Request) -> JSONResponse:
        log.append(request)
        return JSONResponse({"booking_id": 42, "got": await request.json()}, status_code=201)

    async def pet(request: Request) -> JSONResponse:
        log.append(request)
        return JSONResponse(dict(parse_qsl((await request.body()).decode())))

    return Starlette(routes=[Route("/v1/flights/{id}", flight), Route("/v1/bookings", book,
                                                                      methods=["POST"]),
                             Route("/api/pets", pet, methods=["POST"])])


def _client(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app))


async def test_openapi_31_tools_end_to_end():
    log: list[Request] = []
    async with _client(_app(log)) as client, Executor(
            Toolset.from_spec(OAS31), client=client, credentials={"key": "k-123456"},
            policy="allow") as ex:
        obs = await ex.execute("get_flight", {"id": "AF 1é", "tags": ["a", "b"]})
        assert obs.outcome == "ok" and obs.body == {"id": "AF 1é", "seats": 3}
        assert log[0].scope["raw_path"] == b"/v1/flights/AF%201%C3%A9"
        assert log[0].query_params.getlist("tags") == ["a", "b"]
        assert log[0].headers["x-key"] == "k-123456"
        booked = await ex.execute("book", {"flight": "AF1"})
        assert booked.outcome == "ok" and booked.committed and booked.status_code == 201
        assert log[1].headers["idempotency-key"] == booked.idempotency_key
        bad = await ex.execute("get_flight", {"id": 7})
        assert bad.outcome == "rejected" and bad.violations[0].path == "$.id"
    assert len(log) == 2


async def test_wrong_response_shape_is_response_invalid():
    log: list[Request] = []
    async with _client(_app(log, wrong_shape=True)) as client, Executor(
            Toolset.from_spec(OAS31), client=client) as ex:
        obs = await ex.execute("get_flight", {"id": "AF1"})
    assert obs.outcome == "response_invalid" and obs.status_code == 200
    assert obs.violations and any("seats" in v.path for v in obs.violations)


async def test_swagger2_form_data_body():
    log: list[Request] = []
    async with _client(_app(log)) as client, Executor(
            Toolset.from_spec(SWAGGER2), client=client, policy="allow") as ex:
        obs = await ex.execute("add_pet", {"name": "Rex & co", "age": 3})
    assert obs.outcome == "ok", obs
    assert obs.body == {"name": "Rex & co", "age": "3"}
    assert log[0].headers["content-type"] == "application/x-www-form-urlencoded"
