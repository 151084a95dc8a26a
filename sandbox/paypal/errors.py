"""PayPal's error shape, so callers parse sandbox failures exactly as they parse PayPal's.

PayPal answers ``{"name", "message", "debug_id", "details": [{"issue", "description", ...}],
"links"}``; the SDK turns that into ``ErrorException`` with the same fields.
"""

from __future__ import annotations

import secrets

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from sandbox.paypal.store import Resource

UNPROCESSABLE_MESSAGE = (
    "The requested action could not be performed, semantically incorrect, or failed business "
    "validation."
)


class PayPalError(Exception):
    """A failure answered in PayPal's error shape; raised anywhere inside a handler."""

    def __init__(
        self,
        status: int,
        name: str,
        message: str,
        issue: str | None = None,
        description: str | None = None,
        field: str | None = None,
        value: str | None = None,
    ) -> None:
        super().__init__(f"{name}: {issue or message}")
        self.status = status
        self.name = name
        self.message = message
        self.issue = issue
        self.description = description
        self.field = field
        self.value = value

    def body(self) -> Resource:
        """The JSON PayPal sends for this failure, with a fresh ``debug_id`` like PayPal's."""
        body: Resource = {
            "name": self.name,
            "message": self.message,
            "debug_id": secrets.token_hex(7)[:13],
        }
        if self.issue is not None:
            detail: Resource = {"issue": self.issue, "description": self.description or ""}
            if self.field is not None:
                detail = {"field": self.field, "location": "body", **detail}
            if self.value is not None:
                detail["value"] = self.value
            body["details"] = [detail]
        anchor = f"#error-{self.issue}" if self.issue else "#errors"
        body["links"] = [
            {
                "href": f"https://developer.paypal.com/docs/api/orders/v2/{anchor}",
                "rel": "information_link",
                "method": "GET",
            }
        ]
        return body


def unprocessable(
    issue: str, description: str, field: str | None = None, value: str | None = None
) -> PayPalError:
    """422: the request is well-formed but the business rules refuse it; ``field`` and ``value``
    point at the offending part of the body where PayPal names it."""
    return PayPalError(
        422, "UNPROCESSABLE_ENTITY", UNPROCESSABLE_MESSAGE, issue, description, field, value
    )


def invalid_request(issue: str, description: str, field: str) -> PayPalError:
    """400: the request body does not follow PayPal's schema."""
    return PayPalError(
        400,
        "INVALID_REQUEST",
        "Request is not well-formed, syntactically incorrect, or violates schema.",
        issue,
        description,
        field,
    )


def not_found() -> PayPalError:
    """404 for an id this sandbox never issued."""
    return PayPalError(
        404,
        "RESOURCE_NOT_FOUND",
        "The specified resource does not exist.",
        "INVALID_RESOURCE_ID",
        "Specified resource ID does not exist. Please check the resource ID and try again.",
    )


def authentication_failure() -> PayPalError:
    """401 when the bearer token is missing or was not issued by this sandbox."""
    return PayPalError(
        401,
        "AUTHENTICATION_FAILURE",
        "Authentication failed due to invalid authentication credentials or a missing "
        "Authorization header.",
    )


def internal_error() -> PayPalError:
    """500, as PayPal's negative testing answers ``INTERNAL_SERVER_ERROR``."""
    return PayPalError(500, "INTERNAL_SERVER_ERROR", "An internal server error has occurred.")


async def paypal_error_handler(_request: Request, error: Exception) -> JSONResponse:
    """Render a ``PayPalError`` (or Starlette's 404/405) in PayPal's shape."""
    if isinstance(error, HTTPException):
        error = (
            not_found()
            if error.status_code == 404
            else PayPalError(error.status_code, "METHOD_NOT_SUPPORTED", str(error.detail))
        )
    if not isinstance(error, PayPalError):  # registered for the two types above only
        raise error
    return JSONResponse(error.body(), status_code=error.status)
