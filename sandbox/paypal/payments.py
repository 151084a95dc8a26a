"""Payments v2: authorizations, captures and refunds, with PayPal's limits on amounts.

Captures never exceed what an authorization left, and refunds never exceed what a capture left:
the sandbox refuses like PayPal does, so Durapay's own bounds are tested against a strict
provider rather than a lenient one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from sandbox.paypal.errors import unprocessable
from sandbox.paypal.protocol import (
    CAPTURE_DENIED,
    json_body,
    mock_code,
    once,
    parse_money,
    paypal_api,
    reply,
    require,
)
from sandbox.paypal.state import Sandbox, SandboxDep
from sandbox.paypal.store import Resource, amount_of, money, new_id, timestamp

router = APIRouter(dependencies=[Depends(paypal_api)])

# PayPal honours an authorization for 29 days (3 of them guaranteed).
AUTHORIZATION_LIFETIME = timedelta(days=29)
SELLER_PROTECTION: Resource = {
    "status": "ELIGIBLE",
    "dispute_categories": ["ITEM_NOT_RECEIVED", "UNAUTHORIZED_TRANSACTION"],
}
_COPIED_FROM_UNIT = ("custom_id", "invoice_id")


def _link(sandbox: Sandbox, path: str, rel: str, method: str = "GET") -> Resource:
    return {"href": sandbox.url(path), "rel": rel, "method": method}


def new_capture(
    sandbox: Sandbox,
    source: Resource,
    amount: Resource,
    related: dict[str, str],
    *,
    final: bool,
    denied: bool,
) -> Resource:
    """Record a capture of ``amount`` for an order unit or an authorization (``source``).

    ``related`` becomes ``supplementary_data.related_ids`` (order and authorization ids), which
    is how receivers of capture webhooks find their order.
    """
    capture_id = new_id()
    now = timestamp()
    path = f"/v2/payments/captures/{capture_id}"
    up = (
        f"/v2/payments/authorizations/{related['authorization_id']}"
        if "authorization_id" in related
        else f"/v2/checkout/orders/{related['order_id']}"
    )
    links = [_link(sandbox, path, "self")]
    if not denied:
        links.append(_link(sandbox, f"{path}/refund", "refund", "POST"))
    links.append(_link(sandbox, up, "up"))
    capture: Resource = {
        "id": capture_id,
        "status": "DECLINED" if denied else "COMPLETED",
        "amount": amount,
        "final_capture": final,
        "seller_protection": SELLER_PROTECTION,
        **{key: source[key] for key in _COPIED_FROM_UNIT if key in source},
        "links": links,
        "create_time": now,
        "update_time": now,
        "supplementary_data": {"related_ids": dict(related)},
    }
    sandbox.store.captures[capture_id] = capture
    sandbox.store.refunds_of[capture_id] = []
    value = f"{amount['value']} {amount['currency_code']}"
    if denied:
        sandbox.webhooks.emit(
            "PAYMENT.CAPTURE.DENIED", "capture", f"Payment of {value} was denied", capture
        )
    else:
        sandbox.webhooks.emit(
            "PAYMENT.CAPTURE.COMPLETED", "capture", f"Payment completed for {value}", capture
        )
    return capture


def new_authorization(sandbox: Sandbox, unit: Resource, order_id: str) -> Resource:
    """Record an authorization of an order unit's whole amount."""
    authorization_id = new_id()
    now = datetime.now(UTC)
    path = f"/v2/payments/authorizations/{authorization_id}"
    authorization: Resource = {
        "id": authorization_id,
        "status": "CREATED",
        "amount": unit["amount"],
        **{key: unit[key] for key in _COPIED_FROM_UNIT if key in unit},
        "seller_protection": SELLER_PROTECTION,
        "expiration_time": timestamp(now + AUTHORIZATION_LIFETIME),
        "links": [
            _link(sandbox, path, "self"),
            _link(sandbox, f"{path}/capture", "capture", "POST"),
            _link(sandbox, f"{path}/void", "void", "POST"),
            _link(sandbox, f"{path}/reauthorize", "reauthorize", "POST"),
            _link(sandbox, f"/v2/checkout/orders/{order_id}", "up"),
        ],
        "create_time": timestamp(now),
        "update_time": timestamp(now),
        "supplementary_data": {"related_ids": {"order_id": order_id}},
    }
    sandbox.store.authorizations[authorization_id] = authorization
    sandbox.store.captures_of[authorization_id] = []
    return authorization


def _list_on_order(sandbox: Sandbox, order_id: str, kind: str, item: Resource, parent: str) -> None:
    """PayPal shows an order's later captures and refunds under ``purchase_units[].payments``
    too, next to the authorization or capture (``parent``) they came from."""
    order = sandbox.store.orders.get(order_id)
    if order is None:
        return
    for unit in order.get("purchase_units", []):
        payments = unit.get("payments") or {}
        if any(p["id"] == parent for group in payments.values() for p in group):
            payments.setdefault(kind, []).append(item)
            unit["payments"] = payments
            return


def _requested(body: Resource, currency: str, remaining: Decimal) -> Decimal:
    """The amount a capture or refund body asks for; the whole remainder when it names none."""
    if "amount" not in body:
        return remaining
    asked_currency, asked = parse_money(body["amount"], "/amount")
    if asked_currency != currency:
        raise unprocessable(
            "CURRENCY_MISMATCH", "The currency must be the currency of the original payment."
        )
    return asked


@router.get("/v2/payments/authorizations/{authorization_id}")
async def get_authorization(
    request: Request, sandbox: SandboxDep, authorization_id: str
) -> Response:
    """Show an authorization."""
    return reply(request, 200, require(sandbox.store.authorizations.get(authorization_id)))


@router.post("/v2/payments/authorizations/{authorization_id}/capture")
async def capture_authorization(
    request: Request, sandbox: SandboxDep, authorization_id: str
) -> Response:
    """Capture all or part of an authorization; ``final_capture`` closes it."""
    authorization = require(sandbox.store.authorizations.get(authorization_id))
    body = await json_body(request)
    denied = mock_code(request) == CAPTURE_DENIED

    def effect() -> tuple[int, Resource]:
        status = authorization["status"]
        if status == "VOIDED":
            raise unprocessable(
                "AUTHORIZATION_VOIDED", "A voided authorization cannot be captured."
            )
        if status == "CAPTURED":
            raise unprocessable(
                "AUTHORIZATION_ALREADY_CAPTURED",
                "Authorization has been previously captured and hence cannot be captured again.",
            )
        currency = authorization["amount"]["currency_code"]
        captured = sum(
            (
                amount_of(sandbox.store.captures[capture_id]["amount"])
                for capture_id in sandbox.store.captures_of[authorization_id]
                if sandbox.store.captures[capture_id]["status"] != "DECLINED"
            ),
            Decimal(0),
        )
        remaining = amount_of(authorization["amount"]) - captured
        asked = _requested(body, currency, remaining)
        if asked > remaining:
            raise unprocessable(
                "MAX_CAPTURE_AMOUNT_EXCEEDED",
                "Capture amount exceeds allowable limit. Please contact customer service.",
            )
        final = bool(body.get("final_capture", False)) or asked == remaining
        related = {
            **authorization["supplementary_data"]["related_ids"],
            "authorization_id": authorization_id,
        }
        source = {**authorization, **{key: body[key] for key in ("invoice_id",) if key in body}}
        capture = new_capture(
            sandbox, source, money(currency, asked), related, final=final, denied=denied
        )
        sandbox.store.captures_of[authorization_id].append(capture["id"])
        _list_on_order(sandbox, related["order_id"], "captures", capture, authorization_id)
        if not denied:
            authorization["status"] = "CAPTURED" if final else "PARTIALLY_CAPTURED"
            authorization["update_time"] = timestamp()
        return 201, capture

    return once(request, sandbox, effect)


@router.post("/v2/payments/authorizations/{authorization_id}/void")
async def void_authorization(
    request: Request, sandbox: SandboxDep, authorization_id: str
) -> Response:
    """Void what is left of an authorization; 204 unless ``Prefer: return=representation``."""
    authorization = require(sandbox.store.authorizations.get(authorization_id))

    def effect() -> tuple[int, Resource]:
        if authorization["status"] == "VOIDED":
            raise unprocessable(
                "PREVIOUSLY_VOIDED",
                "Authorization has been previously voided and hence cannot be voided again.",
            )
        if authorization["status"] == "CAPTURED":
            raise unprocessable(
                "PREVIOUSLY_CAPTURED",
                "Authorization has been previously captured and hence cannot be voided.",
            )
        authorization["status"] = "VOIDED"
        authorization["update_time"] = timestamp()
        wants_body = "return=representation" in request.headers.get("Prefer", "")
        return (200 if wants_body else 204), authorization

    return once(request, sandbox, effect)


@router.get("/v2/payments/captures/{capture_id}")
async def get_capture(request: Request, sandbox: SandboxDep, capture_id: str) -> Response:
    """Show a capture, with its current refund status."""
    return reply(request, 200, require(sandbox.store.captures.get(capture_id)))


@router.post("/v2/payments/captures/{capture_id}/refund")
async def refund_capture(request: Request, sandbox: SandboxDep, capture_id: str) -> Response:
    """Refund all or part of what a capture has left; never more."""
    capture = require(sandbox.store.captures.get(capture_id))
    body = await json_body(request)

    def effect() -> tuple[int, Resource]:
        if capture["status"] == "REFUNDED":
            raise unprocessable(
                "CAPTURE_FULLY_REFUNDED", "The capture has already been fully refunded."
            )
        if capture["status"] not in ("COMPLETED", "PARTIALLY_REFUNDED"):
            raise unprocessable(
                "REFUND_NOT_ALLOWED", "A capture that did not complete cannot be refunded."
            )
        currency = capture["amount"]["currency_code"]
        refund_ids = sandbox.store.refunds_of[capture_id]
        refunded = sum(
            (amount_of(sandbox.store.refunds[rid]["amount"]) for rid in refund_ids), Decimal(0)
        )
        remaining = amount_of(capture["amount"]) - refunded
        asked = _requested(body, currency, remaining)
        if asked > remaining:
            raise unprocessable(
                "REFUND_AMOUNT_EXCEEDED",
                "The refund amount must be less than or equal to the capture amount that has "
                "not yet been refunded.",
            )
        refund_id = new_id()
        now = timestamp()
        path = f"/v2/payments/refunds/{refund_id}"
        refund: Resource = {
            "id": refund_id,
            "status": "COMPLETED",
            "amount": money(currency, asked),
            **{k: body[k] for k in ("custom_id", "invoice_id", "note_to_payer") if k in body},
            "seller_payable_breakdown": {
                "gross_amount": money(currency, asked),
                "total_refunded_amount": money(currency, refunded + asked),
            },
            "links": [
                _link(sandbox, path, "self"),
                _link(sandbox, f"/v2/payments/captures/{capture_id}", "up"),
            ],
            "create_time": now,
            "update_time": now,
        }
        sandbox.store.refunds[refund_id] = refund
        refund_ids.append(refund_id)
        order_id = capture["supplementary_data"]["related_ids"].get("order_id", "")
        _list_on_order(sandbox, order_id, "refunds", refund, capture_id)
        capture["status"] = "REFUNDED" if asked == remaining else "PARTIALLY_REFUNDED"
        capture["update_time"] = now
        sandbox.webhooks.emit(
            "PAYMENT.CAPTURE.REFUNDED",
            "refund",
            f"A {asked} {currency} capture payment was refunded",
            refund,
        )
        return 201, refund

    return once(request, sandbox, effect)


@router.get("/v2/payments/refunds/{refund_id}")
async def get_refund(request: Request, sandbox: SandboxDep, refund_id: str) -> Response:
    """Show a refund."""
    return reply(request, 200, require(sandbox.store.refunds.get(refund_id)))
