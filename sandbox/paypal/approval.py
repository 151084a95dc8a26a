"""The buyer's side: the pages PayPal's ``approve`` / ``payer-action`` links lead to.

``GET`` shows a tiny page; ``&action=approve`` or ``&action=cancel`` does what the buyer's click
would and answers 303 to the merchant's return or cancel URL with PayPal's query parameters, so
a test (or a developer's browser) plays the buyer without a PayPal account.
"""

from __future__ import annotations

from html import escape
from urllib.parse import urlencode, urlsplit, urlunsplit

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sandbox.paypal import buyer
from sandbox.paypal.orders import action_links
from sandbox.paypal.state import Sandbox, SandboxDep
from sandbox.paypal.store import Resource, timestamp

router = APIRouter()

APPROVABLE = ("CREATED", "PAYER_ACTION_REQUIRED")


def _page(title: str, text: str, query: str | None = None) -> HTMLResponse:
    actions = (
        f'<p><a href="?{query}&action=approve">Approve</a> · '
        f'<a href="?{query}&action=cancel">Cancel</a></p>'
        if query
        else ""
    )
    return HTMLResponse(
        f"<!doctype html><title>{escape(title)}</title><h1>{escape(title)}</h1>"
        f"<p>{escape(text)}</p>{actions}"
    )


def _redirect(target: str | None, params: dict[str, str], done: str) -> Response:
    """303 to the merchant's URL with PayPal's parameters added; a page when none was given."""
    if not target:
        return _page("PayPal sandbox", done)
    parts = urlsplit(target)
    query = "&".join(part for part in (parts.query, urlencode(params)) if part)
    return RedirectResponse(urlunsplit(parts._replace(query=query)), status_code=303)


def _approve_order(sandbox: Sandbox, order: Resource) -> None:
    order["status"] = "APPROVED"
    order["payer"] = buyer.payer(sandbox)
    order["payment_source"] = {"paypal": buyer.wallet(sandbox)}
    order["update_time"] = timestamp()
    order["links"] = action_links(sandbox, order)
    sandbox.webhooks.emit(
        "CHECKOUT.ORDER.APPROVED", "checkout-order", "An order has been approved by buyer", order
    )


@router.get("/checkoutnow")
async def checkout(sandbox: SandboxDep, token: str, action: str | None = None) -> Response:
    """The approval page of an order (``token`` is the order id, as on PayPal)."""
    order = sandbox.store.orders.get(token)
    if order is None:
        return _page("Unknown order", f"No order {token}.")
    value = order["purchase_units"][0]["amount"]
    if action is None:
        text = f"Pay {value['value']} {value['currency_code']} with the sandbox buyer's wallet?"
        return _page("PayPal sandbox checkout", text, urlencode({"token": token}))
    urls = sandbox.store.experience.get(token, {})
    if action == "cancel":
        return _redirect(urls.get("cancel_url"), {"token": token}, "The buyer cancelled.")
    if action != "approve":
        return _page("Unknown action", "Use action=approve or action=cancel.")
    if order["status"] in APPROVABLE:
        _approve_order(sandbox, order)
    elif order["status"] != "APPROVED":
        return _page("Order closed", f"The order is {order['status']}.")
    params = {"token": token, "PayerID": sandbox.store.payer_id}
    return _redirect(urls.get("return_url"), params, "The buyer approved.")


@router.get("/agreements/approve")
async def approve_setup_token(
    sandbox: SandboxDep, approval_session_id: str, action: str | None = None
) -> Response:
    """The approval page of a vault setup token (saving the buyer's wallet)."""
    setup_token = sandbox.store.setup_tokens.get(approval_session_id)
    if setup_token is None:
        return _page("Unknown setup token", f"No setup token {approval_session_id}.")
    query = urlencode({"approval_session_id": approval_session_id})
    if action is None:
        return _page("PayPal sandbox", "Save the sandbox buyer's wallet for later?", query)
    urls = sandbox.store.experience.get(approval_session_id, {})
    params = {"approval_token_id": approval_session_id, "approval_session_id": approval_session_id}
    if action == "cancel":
        return _redirect(urls.get("cancel_url"), params, "The buyer cancelled.")
    if action != "approve":
        return _page("Unknown action", "Use action=approve or action=cancel.")
    if setup_token["status"] == "PAYER_ACTION_REQUIRED":
        setup_token["status"] = "APPROVED"
        setup_token["links"] = [link for link in setup_token["links"] if link["rel"] != "approve"]
    return _redirect(urls.get("return_url"), params, "The buyer approved.")
