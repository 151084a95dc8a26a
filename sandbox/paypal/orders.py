"""Orders v2: create, get, authorize, capture.

Statuses follow PayPal: CREATED (or PAYER_ACTION_REQUIRED when ``payment_source.paypal`` is
given) until the buyer approves on the sandbox's page, APPROVED, then COMPLETED once captured or
authorized. An order paid with a saved wallet (``payment_source.paypal.vault_id``) is
merchant-initiated: PayPal completes it in the create call, without a buyer step.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from sandbox.paypal import buyer
from sandbox.paypal.errors import invalid_request, unprocessable
from sandbox.paypal.payments import new_authorization, new_capture
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
from sandbox.paypal.store import Resource, money, new_id, timestamp

router = APIRouter(dependencies=[Depends(paypal_api)])

INTENTS = ("CAPTURE", "AUTHORIZE")
PAYEE: Resource = {"email_address": "merchant@durapay.example", "merchant_id": "DURAPAYSANDBOX"}
_UNIT_FIELDS = ("description", "custom_id", "invoice_id", "soft_descriptor")


def approve_url(sandbox: Sandbox, order_id: str) -> str:
    """The buyer's page for an order, shaped like PayPal's ``/checkoutnow?token=``."""
    return sandbox.url(f"/checkoutnow?token={order_id}")


def action_links(sandbox: Sandbox, order: Resource) -> list[Resource]:
    """HATEOAS links for an order's current status, as PayPal lists them."""
    path = f"/v2/checkout/orders/{order['id']}"
    links: list[Resource] = [{"href": sandbox.url(path), "rel": "self", "method": "GET"}]
    if order["status"] in ("CREATED", "PAYER_ACTION_REQUIRED"):
        rel = "payer-action" if order["status"] == "PAYER_ACTION_REQUIRED" else "approve"
        links.append({"href": approve_url(sandbox, order["id"]), "rel": rel, "method": "GET"})
    if order["status"] == "APPROVED":
        action = order["intent"].lower()
        links.append({"href": sandbox.url(f"{path}/{action}"), "rel": action, "method": "POST"})
    return links


def _units(body: Resource) -> list[Resource]:
    units = body.get("purchase_units")
    if not isinstance(units, list) or not units:
        raise invalid_request(
            "MISSING_REQUIRED_PARAMETER", "A required field is missing.", "/purchase_units"
        )
    parsed: list[Resource] = []
    for index, unit in enumerate(units):
        if not isinstance(unit, dict):
            raise invalid_request(
                "INVALID_PARAMETER_SYNTAX", "A purchase unit must be an object.", "/purchase_units"
            )
        currency, amount = parse_money(unit.get("amount"), f"/purchase_units/{index}/amount")
        parsed.append(
            {
                "reference_id": str(unit.get("reference_id", "default")),
                "amount": money(currency, amount),
                "payee": PAYEE,
                **{key: unit[key] for key in _UNIT_FIELDS if key in unit},
            }
        )
    return parsed


def complete(sandbox: Sandbox, order: Resource, *, denied: bool) -> None:
    """Capture or authorize every purchase unit and mark the order COMPLETED."""
    for unit in order["purchase_units"]:
        if order["intent"] == "CAPTURE":
            capture = new_capture(
                sandbox,
                unit,
                unit["amount"],
                {"order_id": order["id"]},
                final=True,
                denied=denied,
            )
            unit["payments"] = {"captures": [capture]}
        else:
            unit["payments"] = {"authorizations": [new_authorization(sandbox, unit, order["id"])]}
    order["status"] = "COMPLETED"
    order["update_time"] = timestamp()
    order["links"] = action_links(sandbox, order)


def _create(sandbox: Sandbox, body: Resource, denied: bool) -> Resource:
    intent = body.get("intent")
    if intent not in INTENTS:
        raise invalid_request(
            "INVALID_PARAMETER_VALUE", "The intent must be CAPTURE or AUTHORIZE.", "/intent"
        )
    units = _units(body)
    source: Any = body.get("payment_source") or {}
    paypal: Any = source.get("paypal") if isinstance(source, dict) else None
    order_id = new_id()
    now = timestamp()
    order: Resource = {
        "id": order_id,
        "intent": intent,
        "status": "CREATED",
        "purchase_units": units,
        "create_time": now,
        "update_time": now,
    }
    context: Any = (paypal or {}).get("experience_context") or body.get("application_context")
    if isinstance(context, dict):
        sandbox.store.experience[order_id] = {
            key: context[key] for key in ("return_url", "cancel_url") if key in context
        }
    vault_id = paypal.get("vault_id") if isinstance(paypal, dict) else None
    if vault_id:
        token = sandbox.store.payment_tokens.get(str(vault_id))
        if token is None:
            raise invalid_request(
                "INVALID_PARAMETER_VALUE",
                "The vault_id does not name a saved payment token.",
                "/payment_source/paypal/vault_id",
            )
        vault = {"id": token["id"], "status": "VAULTED", "customer": token["customer"]}
        order["payment_source"] = {
            "paypal": {**buyer.wallet(sandbox), "attributes": {"vault": vault}}
        }
        order["payer"] = buyer.payer(sandbox)
        sandbox.store.orders[order_id] = order
        complete(sandbox, order, denied=denied)
        return order
    if isinstance(paypal, dict):
        order["status"] = "PAYER_ACTION_REQUIRED"
        order["payment_source"] = {"paypal": {}}
    order["links"] = action_links(sandbox, order)
    sandbox.store.orders[order_id] = order
    return order


def _ready(order: Resource, intent: str) -> None:
    """Refuse to capture or authorize an order that is not approved for exactly that."""
    if order["intent"] != intent:
        raise unprocessable(
            "ACTION_DOES_NOT_MATCH_INTENT",
            f"Order was created with an intent to '{order['intent']}'.",
        )
    if order["status"] == "COMPLETED":
        issue = "ORDER_ALREADY_CAPTURED" if intent == "CAPTURE" else "ORDER_ALREADY_AUTHORIZED"
        raise unprocessable(issue, "The order has already been completed.")
    if order["status"] != "APPROVED":
        raise unprocessable(
            "ORDER_NOT_APPROVED",
            "Payer has not yet approved the Order for payment. Please redirect the payer to the "
            "'rel':'approve' url returned as part of the HATEOAS links within the Create Order "
            "call or provide a valid payment_source in the request.",
        )


@router.post("/v2/checkout/orders")
async def create_order(request: Request, sandbox: SandboxDep) -> Response:
    """Create an order (or, with a ``vault_id``, create and complete it)."""
    body = await json_body(request)
    denied = mock_code(request) == CAPTURE_DENIED
    return once(request, sandbox, lambda: (201, _create(sandbox, body, denied)))


@router.get("/v2/checkout/orders/{order_id}")
async def get_order(request: Request, sandbox: SandboxDep, order_id: str) -> Response:
    """Show an order with its current payments."""
    return reply(request, 200, require(sandbox.store.orders.get(order_id)))


@router.post("/v2/checkout/orders/{order_id}/capture")
async def capture_order(request: Request, sandbox: SandboxDep, order_id: str) -> Response:
    """Capture an approved CAPTURE order."""
    order = require(sandbox.store.orders.get(order_id))
    denied = mock_code(request) == CAPTURE_DENIED

    def effect() -> tuple[int, Resource]:
        _ready(order, "CAPTURE")
        complete(sandbox, order, denied=denied)
        return 201, order

    return once(request, sandbox, effect)


@router.post("/v2/checkout/orders/{order_id}/authorize")
async def authorize_order(request: Request, sandbox: SandboxDep, order_id: str) -> Response:
    """Authorize an approved AUTHORIZE order."""
    order = require(sandbox.store.orders.get(order_id))

    def effect() -> tuple[int, Resource]:
        _ready(order, "AUTHORIZE")
        complete(sandbox, order, denied=False)
        return 201, order

    return once(request, sandbox, effect)
