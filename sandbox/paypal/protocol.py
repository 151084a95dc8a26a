"""Request conventions every PayPal endpoint shares: bearer token, negative-testing and delay
triggers, ``PayPal-Request-Id`` replay, ``Prefer`` and money validation."""

from __future__ import annotations

import asyncio
import copy
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from sandbox.paypal.errors import (
    authentication_failure,
    internal_error,
    invalid_request,
    not_found,
    unprocessable,
)
from sandbox.paypal.state import SandboxDep
from sandbox.paypal.store import ZERO_DECIMAL_CURRENCIES, Resource

MOCK_HEADER = "PayPal-Mock-Response"
DELAY_HEADER = "PayPal-Sandbox-Delay-Ms"
# Asking for this code makes a capture come back DECLINED (PAYMENT.CAPTURE.DENIED) instead of an
# error: PayPal's own sandbox has no single code for it, so this one is the sandbox's own.
CAPTURE_DENIED = "CAPTURE_DENIED"
_VALUE = re.compile(r"^[0-9]+(\.[0-9]+)?$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_DESCRIPTIONS = {
    "INSTRUMENT_DECLINED": (
        "The instrument presented was either declined by the processor or bank, or it can't be "
        "used for this payment."
    ),
    "PAYER_ACTION_REQUIRED": (
        "Payer needs to perform the following action before proceeding with payment."
    ),
    "TRANSACTION_REFUSED": "The request was refused.",
}


def mock_code(request: Request) -> str | None:
    """The code asked for in PayPal's negative-testing header, if any."""
    raw = request.headers.get(MOCK_HEADER)
    if not raw:
        return None
    try:
        parsed: Any = json.loads(raw)
    except ValueError:
        raise invalid_request(
            "INVALID_PARAMETER_SYNTAX", "The mock response header is not JSON.", MOCK_HEADER
        ) from None
    code = parsed.get("mock_application_codes") if isinstance(parsed, dict) else None
    return str(code) if code else None


async def paypal_api(request: Request, sandbox: SandboxDep) -> None:
    """Router dependency of every REST endpoint: token check, then the test triggers.

    A delay header sleeps before anything happens (a slow PayPal); a mock code other than
    ``CAPTURE_DENIED`` fails the call before it has any effect, as PayPal's negative testing does.
    """
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or token not in sandbox.store.access_tokens:
        raise authentication_failure()
    delay = request.headers.get(DELAY_HEADER)
    if delay:
        if not delay.isdigit():
            raise invalid_request(
                "INVALID_PARAMETER_SYNTAX", "The delay must be whole milliseconds.", DELAY_HEADER
            )
        await asyncio.sleep(int(delay) / 1000)
    code = mock_code(request)
    if code is None or code == CAPTURE_DENIED:
        return
    if code == "INTERNAL_SERVER_ERROR":
        raise internal_error()
    raise unprocessable(code, _DESCRIPTIONS.get(code, f"Mock response {code}."))


async def json_body(request: Request) -> Resource:
    """The request's JSON object (an absent body is an empty object, as PayPal allows)."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body: Any = json.loads(raw)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise invalid_request("MALFORMED_REQUEST_JSON", "The request JSON is not well formed.", "")
    return body


def parse_money(value: Any, field: str) -> tuple[str, Decimal]:
    """A ``Money`` object's currency and positive amount, refused like PayPal refuses it."""
    if not isinstance(value, dict):
        raise invalid_request("MISSING_REQUIRED_PARAMETER", "A required field is missing.", field)
    currency, amount = value.get("currency_code"), value.get("value")
    if not isinstance(currency, str) or not _CURRENCY.match(currency):
        raise invalid_request(
            "INVALID_PARAMETER_VALUE", "The currency code is invalid.", f"{field}/currency_code"
        )
    if not isinstance(amount, str) or not _VALUE.match(amount):
        raise invalid_request(
            "INVALID_PARAMETER_SYNTAX", "The value must be a decimal string.", f"{field}/value"
        )
    decimals = len(amount.partition(".")[2])
    if decimals > (0 if currency in ZERO_DECIMAL_CURRENCIES else 2):
        # PayPal answers this one as a business rule (422), naming the field and the value; any
        # decimal at all is too many for HUF, JPY and TWD, even "10.00".
        raise unprocessable(
            "DECIMAL_PRECISION",
            "If the currency supports decimals, only two decimal place precision is supported.",
            f"{field}/value",
            amount,
        )
    parsed = Decimal(amount)
    if parsed <= 0:
        raise invalid_request(
            "CANNOT_BE_ZERO_OR_NEGATIVE", "Must be greater than zero.", f"{field}/value"
        )
    return currency, parsed


def reply(request: Request, status: int, resource: Resource) -> Response:
    """The answer for ``resource``; ``Prefer: return=minimal`` trims it to id, status, links."""
    if status == 204:
        return Response(status_code=204)
    if "return=minimal" in request.headers.get("Prefer", ""):
        resource = {key: resource[key] for key in ("id", "status", "links") if key in resource}
    return JSONResponse(resource, status_code=status)


def once(
    request: Request, sandbox: SandboxDep, effect: Callable[[], tuple[int, Resource]]
) -> Response:
    """Run ``effect`` once per ``PayPal-Request-Id`` and endpoint; repeats get the first answer.

    Only successes are kept: a refused call may be retried with the same id, as its effect never
    happened. Without the header every call is a new one. PayPal forgets a request id after a
    while (6 hours for orders): with ``request_id_lifetime_seconds`` set, an older id is new again
    and the call has a second effect, as at PayPal.
    """
    request_id = request.headers.get("PayPal-Request-Id")
    if not request_id:
        return reply(request, *effect())
    key = (f"{request.method} {request.url.path}", request_id)
    now = datetime.now(UTC)
    stored = sandbox.store.replies.get(key)
    lifetime = sandbox.config.request_id_lifetime_seconds
    if (
        stored is not None
        and lifetime is not None
        and now - stored[2] > timedelta(seconds=lifetime)
    ):
        stored = None
    if stored is None:
        status, resource = effect()
        stored = (status, copy.deepcopy(resource), now)
        sandbox.store.replies[key] = stored
    return reply(request, stored[0], stored[1])


def require(resource: Resource | None) -> Resource:
    """The resource, or PayPal's 404 when the id is unknown."""
    if resource is None:
        raise not_found()
    return resource
