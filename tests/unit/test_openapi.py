"""What a client generator or a reader of ``/docs`` learns from the schema: each error's status,
content type and codes, the API key, where an Idempotency-Key is required, working examples.

The schema is the object ``/openapi.json`` serves, read without serving it.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from api.errors import PROBLEM_CONTENT_TYPE
from api.main import create_app
from api.schemas.customers import CustomerCreate
from api.schemas.payments import PaymentCreate, RefundCreate
from api.schemas.subscriptions import SubscriptionCreate
from services import errors
from settings import Environment, Settings
from tests.support.production import production

SCHEMA = create_app(Settings(environment=Environment.TEST)).openapi()
OPERATIONS = [
    (f"{method.upper()} {path}", operation)
    for path, methods in SCHEMA["paths"].items()
    for method, operation in methods.items()
]
UNAUTHENTICATED = {
    "POST /v1/webhooks/stripe",
    "POST /v1/webhooks/paypal",
    "GET /health",
    "GET /metrics",
}
PUBLIC_PREFIX = "/v1/public/"
"""The customer portal: authenticated by a payment link's token alone."""
KEY_REQUIRED = {
    "POST /v1/payments",
    "POST /v1/payments/{payment_id}/capture",
    "POST /v1/payments/{payment_id}/refunds",
    "POST /v1/subscriptions",
    "POST /v1/payment-links",
}
"""The contract: required "on every POST that creates or moves money"."""


def _codes(response: dict[str, Any]) -> list[str]:
    schema = response["content"][PROBLEM_CONTENT_TYPE]["schema"]
    codes: list[str] = schema["properties"]["code"]["enum"]
    return codes


def _public_codes() -> set[str]:
    def subclasses(error: type[errors.AppError]) -> list[type[errors.AppError]]:
        return [error, *(sub for child in error.__subclasses__() for sub in subclasses(child))]

    return {error.code for error in subclasses(errors.AppError)}


@pytest.mark.parametrize(("name", "operation"), OPERATIONS, ids=[name for name, _ in OPERATIONS])
def test_every_error_is_a_documented_problem_with_its_codes(
    name: str, operation: dict[str, Any]
) -> None:
    errors_ = {status: r for status, r in operation["responses"].items() if int(status) >= 400}
    assert errors_, f"{name} documents no error"
    for status, response in errors_.items():
        content = response["content"]
        if (name, status) == ("GET /health", "503"):
            assert set(content) == {"application/json"}, "its report, the same as with 200"
            continue
        assert set(content) == {PROBLEM_CONTENT_TYPE}, f"{name} {status}: {set(content)}"
        codes = _codes(response)
        assert codes, f"{name} {status}"
        assert set(codes) <= _public_codes(), f"{name} {status}: {codes}"
        examples = content[PROBLEM_CONTENT_TYPE]["examples"]
        assert sorted(examples) == codes
        for code, example in examples.items():
            assert (example["value"]["status"], example["value"]["code"]) == (int(status), code)
            assert f"`{code}`" in response["description"]


def test_no_operation_documents_fastapis_own_validation_error() -> None:
    assert not {"HTTPValidationError", "ValidationError"} & set(SCHEMA["components"]["schemas"])
    for name, operation in OPERATIONS:
        validation = operation["responses"].get("422")
        if "parameters" in operation or "requestBody" in operation:
            assert validation is not None, name
            assert "validation_error" in _codes(validation), name


@pytest.mark.parametrize(("name", "operation"), OPERATIONS, ids=[name for name, _ in OPERATIONS])
def test_the_api_key_is_a_bearer_scheme_on_every_route_but_webhooks_and_health(
    name: str, operation: dict[str, Any]
) -> None:
    assert SCHEMA["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"
    if name in UNAUTHENTICATED or name.split(" ")[1].startswith(PUBLIC_PREFIX):
        assert "security" not in operation
        assert "401" not in operation["responses"]
    else:
        assert operation["security"] == [{"ApiKey": []}]
        assert _codes(operation["responses"]["401"]) == ["unauthorized"]
        assert "database_unavailable" in _codes(operation["responses"]["503"])
    if name.split(" ")[1].startswith("/v1/admin/"):
        assert _codes(operation["responses"]["403"]) == ["forbidden"], name


def test_the_idempotency_key_is_required_where_the_contract_requires_it() -> None:
    shown = {
        name: parameter["required"]
        for name, operation in OPERATIONS
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "header" and parameter["name"] == "Idempotency-Key"
    }
    assert {name for name, required in shown.items() if required} == KEY_REQUIRED
    assert "POST /v1/customers" in shown, "optional there, but shown"
    for name in KEY_REQUIRED:
        operation = dict(OPERATIONS)[name]
        assert set(_codes(operation["responses"]["400"])) == {
            "idempotency_key_required",
            "bad_request",
        }
        assert "idempotency_key_reused" in _codes(operation["responses"]["409"])


@pytest.mark.parametrize("model", [PaymentCreate, RefundCreate, CustomerCreate, SubscriptionCreate])
def test_the_main_requests_have_examples_the_api_accepts(model: type[BaseModel]) -> None:
    examples = SCHEMA["components"]["schemas"][model.__name__]["examples"]
    assert examples
    for example in examples:
        model.model_validate(example)


def test_the_docs_are_off_in_production_unless_a_setting_turns_them_on() -> None:
    assert not production().api_docs_enabled
    assert production(api_docs=True).api_docs_enabled
    assert Settings(environment=Environment.DEV).api_docs_enabled
    assert not Settings(environment=Environment.DEV, api_docs=False).api_docs_enabled
