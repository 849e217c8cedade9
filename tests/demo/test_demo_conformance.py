"""Conformance of the demo services to their OpenAPI specs, over a real socket (schemathesis)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from agentrt_demo import DEMO_API_KEY, DemoServices, load_spec, spec_path
from agentrt_demo.tasks import reset_state


@pytest.fixture(scope="module")
def flights_schema() -> Any:
    return schemathesis.openapi.from_path(str(spec_path("flights")))


@pytest.fixture(scope="module")
def hotels_schema() -> Any:
    return schemathesis.openapi.from_path(str(spec_path("hotels")))


flights = schemathesis.pytest.from_fixture("flights_schema")
hotels = schemathesis.pytest.from_fixture("hotels_schema")
# Schema-valid inputs can still break a business rule the spec documents as 422 (a past date,
# origin == destination, check-out before check-in), so "valid data is accepted" cannot hold;
# every other default check (no 5xx, documented status, content type, response schema,
# schema-invalid input rejected) runs.
_EXCLUDED = [positive_data_acceptance]
_SETTINGS = settings(max_examples=6, deadline=None, derandomize=True,
                     suppress_health_check=list(HealthCheck))


@flights.parametrize()
@_SETTINGS
def test_flights_conform(case: Any, services: DemoServices) -> None:
    case.call_and_validate(base_url=services.flights_url, headers={"X-API-Key": DEMO_API_KEY},
                          excluded_checks=_EXCLUDED)


@hotels.parametrize()
@_SETTINGS
def test_hotels_conform(case: Any, services: DemoServices) -> None:
    case.call_and_validate(base_url=services.hotels_url, headers={"X-API-Key": DEMO_API_KEY},
                          excluded_checks=_EXCLUDED)


@pytest.mark.parametrize("name", ["flights", "hotels"])
def test_every_operation_is_served(name: str, services: DemoServices) -> None:
    """Each (method, path) of the spec answers with a status the spec documents, not 404/405."""
    reset_state(services.state_dir)
    base = services.flights_url if name == "flights" else services.hotels_url
    samples = {"{code}": "LIS", "{offer_id}": "TP1-20990101-Y", "{booking_id}":
               "ABC234" if name == "flights" else "HBABC234", "{hotel_id}": "LIS-01"}
    seen = set()
    with httpx.Client(headers={"X-API-Key": DEMO_API_KEY}) as client:
        for path, item in load_spec(name)["paths"].items():
            for method, op in item.items():
                url = path
                for k, v in samples.items():
                    url = url.replace(k, v)
                r = client.request(method.upper(), base + url, json={} if method == "post" else None)
                documented = set(op["responses"])
                assert str(r.status_code) in documented, (op["operationId"], r.status_code, r.text)
                body = r.json()
                if r.status_code == 404:  # a real "no such thing", not an unrouted path
                    assert "no such path" not in body["message"], op["operationId"]
                assert r.status_code != 405
                seen.add(op["operationId"])
    expected = {op["operationId"] for item in load_spec(name)["paths"].values() for op in item.values()}
    assert seen == expected


def test_spec_extensions_and_security() -> None:
    for name, create, cancel in (("flights", "create_flight_booking", "cancel_flight_booking"),
                                 ("hotels", "create_hotel_booking", "cancel_hotel_booking")):
        spec = load_spec(name)
        assert spec["openapi"].startswith("3.1")
        assert spec["components"]["securitySchemes"]["ApiKeyAuth"] == {
            **spec["components"]["securitySchemes"]["ApiKeyAuth"],
            "type": "apiKey", "in": "header", "name": "X-API-Key"}
        ops = {op["operationId"]: op for item in spec["paths"].values() for op in item.values()}
        assert ops[create]["x-agentrt-compensation"] == cancel
        assert cancel in ops
        assert any(p.get("name") == "Idempotency-Key" or "IdempotencyKey" in p.get("$ref", "")
                   for p in ops[create]["parameters"])
