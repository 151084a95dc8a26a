"""Transaction search (``GET /v1/reporting/transactions``): the account's money movements in a
date range, as PayPal's reporting API lists them.

Durapay's reconciliation lists what PayPal holds through it, and a payment whose create answers
were lost finds its capture by its ``custom_id`` here rather than creating the order again. Only
captures (event code T0006, status ``S`` or ``D``) and refunds (T1107, negative amounts, status
``S``) are listed; PayPal's own data lags by up to three hours, the sandbox's by none.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Depends, Query

from sandbox.paypal.errors import invalid_request
from sandbox.paypal.protocol import paypal_api
from sandbox.paypal.state import SandboxDep
from sandbox.paypal.store import Resource, Store, timestamp

router = APIRouter(dependencies=[Depends(paypal_api)])

MAX_RANGE = timedelta(days=31)
MAX_PAGE_SIZE = 500


def _parse_date(value: str, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise invalid_request(
            "INVALID_PARAMETER_SYNTAX", "The date must be an RFC 3339 date-time.", name
        ) from None
    if parsed.tzinfo is None:
        raise invalid_request("INVALID_PARAMETER_SYNTAX", "The date needs an offset.", name)
    return parsed


def _created(resource: Resource) -> datetime:
    return datetime.fromisoformat(str(resource["create_time"]).replace("Z", "+00:00"))


def _negated(amount: Resource) -> Resource:
    return {"currency_code": amount["currency_code"], "value": f"-{amount['value']}"}


def _info(resource: Resource, *, code: str, status: str, amount: Resource) -> Resource:
    related = (resource.get("supplementary_data") or {}).get("related_ids") or {}
    info: Resource = {
        "paypal_account_id": "SANDBOXBUYER",
        "transaction_id": resource["id"],
        "transaction_event_code": code,
        "transaction_initiation_date": resource["create_time"],
        "transaction_updated_date": resource.get("update_time", resource["create_time"]),
        "transaction_amount": amount,
        "transaction_status": status,
    }
    if related.get("order_id"):
        info["paypal_reference_id"] = related["order_id"]
        info["paypal_reference_id_type"] = "ODR"
    if resource.get("custom_id"):
        info["custom_field"] = resource["custom_id"]
    if resource.get("invoice_id"):
        info["invoice_id"] = resource["invoice_id"]
    return info


def _transactions(store: Store) -> list[Resource]:
    listed = [
        _info(
            capture,
            code="T0006",
            status="D" if capture["status"] == "DECLINED" else "S",
            amount=capture["amount"],
        )
        for capture in store.captures.values()
    ]
    for capture_id, refund_ids in store.refunds_of.items():
        order_id = (
            (store.captures[capture_id].get("supplementary_data") or {})
            .get("related_ids", {})
            .get("order_id")
        )
        for refund_id in refund_ids:
            refund = store.refunds[refund_id]
            info = _info(refund, code="T1107", status="S", amount=_negated(refund["amount"]))
            if order_id:
                info["paypal_reference_id"] = order_id
                info["paypal_reference_id_type"] = "ODR"
            listed.append(info)
    return listed


@router.get("/v1/reporting/transactions")
async def list_transactions(
    sandbox: SandboxDep,
    start_date: str | None = None,
    end_date: str | None = None,
    transaction_id: str | None = None,
    page_size: int = Query(default=100, ge=1, le=MAX_PAGE_SIZE),
    page: int = Query(default=1, ge=1),
) -> Resource:
    """Transactions initiated from ``start_date`` to ``end_date`` (both required, at most 31 days
    apart), oldest first, a page at a time."""
    if not start_date or not end_date:
        raise invalid_request(
            "MISSING_REQUIRED_PARAMETER",
            "start_date and end_date are required.",
            "start_date" if not start_date else "end_date",
        )
    start, end = _parse_date(start_date, "start_date"), _parse_date(end_date, "end_date")
    if end < start or end - start > MAX_RANGE:
        raise invalid_request(
            "INVALID_PARAMETER_VALUE",
            "The date range must be at most 31 days, start before end.",
            "end_date",
        )
    matching = sorted(
        (
            info
            for info in _transactions(sandbox.store)
            if start <= _created({"create_time": info["transaction_initiation_date"]}) <= end
            and (transaction_id is None or info["transaction_id"] == transaction_id)
        ),
        key=lambda info: str(info["transaction_initiation_date"]),
    )
    first = (page - 1) * page_size
    total_pages = max(1, -(-len(matching) // page_size))
    return {
        "transaction_details": [
            {"transaction_info": info} for info in matching[first : first + page_size]
        ],
        "account_number": "DURAPAYSANDBOX",
        "start_date": timestamp(start),
        "end_date": timestamp(end),
        "last_refreshed_datetime": timestamp(),
        "page": page,
        "total_items": len(matching),
        "total_pages": total_pages,
    }
