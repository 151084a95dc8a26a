"""PayPal's transaction search (``GET /v1/reporting/transactions``), called with httpx.

``paypal-server-sdk`` has no controller for PayPal's reporting API, so this module calls it
directly with an OAuth token of the same client credentials the SDK uses. Reconciliation lists
what PayPal holds with it, and a payment whose create answers were lost looks its capture up here
(by the ``custom_id`` Durapay writes on every order) instead of creating the order again after
PayPal may have forgotten the request id.

PayPal's reporting data lags by up to three hours: a search that finds nothing is only final
once that lag has passed (``REPORTING_LAG``), which the caller's retry schedule allows for.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from activities.providers.base import provider_failure, retry_after
from contracts.errors import ErrorType
from contracts.providers import ProviderName
from contracts.reconciliation import ProviderObject, ProviderObjectKind
from money import from_decimal_string

Json = dict[str, Any]

MAX_RANGE = timedelta(days=31)
"""PayPal answers at most 31 days per search."""
REPORTING_LAG = timedelta(hours=3)
"""How long PayPal may take before a transaction shows in a search."""
_PAGE_SIZE = 500
_CAPTURE_EVENT = "T0006"
_REFUND_EVENT = "T1107"
_KINDS = {_CAPTURE_EVENT: ProviderObjectKind.CHARGE, _REFUND_EVENT: ProviderObjectKind.REFUND}
_STATUSES = {"S": "completed", "D": "denied", "P": "pending", "V": "reversed"}


def _windows(start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    while start < end:
        stop = min(start + MAX_RANGE, end)
        yield start, stop
        start = stop


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _object(info: Json) -> ProviderObject:
    amount = info["transaction_amount"]
    currency = str(amount["currency_code"])
    value = str(amount["value"])
    return ProviderObject(
        provider=ProviderName.PAYPAL,
        kind=_KINDS[str(info["transaction_event_code"])],
        reference=str(info["transaction_id"]),
        status=_STATUSES.get(str(info.get("transaction_status")), "unknown"),
        amount=from_decimal_string(value.lstrip("-"), currency),
        currency=currency,
        created_at=datetime.fromisoformat(
            str(info["transaction_initiation_date"]).replace("Z", "+00:00")
        ),
        intent_reference=info.get("paypal_reference_id")
        if info.get("paypal_reference_id_type") == "ODR"
        else None,
        tag=info.get("custom_field"),
    )


class PayPalTransactionSearch:
    """Captures and refunds at PayPal by date range, as reconciliation's ``ProviderObject``s."""

    def __init__(
        self, client_id: str, client_secret: str, api_base: str, timeout: timedelta
    ) -> None:
        self._credentials = (client_id, client_secret)
        self._base = api_base.rstrip("/")
        self._timeout = timeout.total_seconds()
        self._token: tuple[str, float] | None = None

    async def transactions(self, start: datetime, end: datetime) -> list[ProviderObject]:
        """Every capture (completed or denied) and refund initiated from ``start`` to ``end``."""
        found: list[ProviderObject] = []
        async with httpx.AsyncClient(base_url=self._base, timeout=self._timeout) as http:
            for window_start, window_end in _windows(start, end):
                page, pages = 1, 1
                while page <= pages:
                    body = await self._page(http, window_start, window_end, page)
                    pages = int(body.get("total_pages") or 1)
                    for detail in body.get("transaction_details") or []:
                        info = detail.get("transaction_info") or {}
                        if info.get("transaction_event_code") in _KINDS:
                            found.append(_object(info))
                    page += 1
        return found

    async def capture_of(
        self, payment_id: str, start: datetime, end: datetime
    ) -> ProviderObject | None:
        """The capture Durapay's order for ``payment_id`` made, if PayPal holds one."""
        return next(
            (
                found
                for found in await self.transactions(start, end)
                if found.kind is ProviderObjectKind.CHARGE and found.tag == payment_id
            ),
            None,
        )

    async def _page(
        self, http: httpx.AsyncClient, start: datetime, end: datetime, page: int
    ) -> Json:
        params = {
            "start_date": _stamp(start),
            "end_date": _stamp(end),
            "fields": "transaction_info",
            "page_size": str(_PAGE_SIZE),
            "page": str(page),
        }
        try:
            token = await self._access_token(http)
            response = await http.get(
                "/v1/reporting/transactions",
                params=params,
                headers={"Authorization": f"Bearer {token}"},
            )
        except httpx.HTTPError as error:
            raise provider_failure(
                ErrorType.PROVIDER_UNAVAILABLE, f"PayPal unreachable ({type(error).__name__})"
            ) from None
        _raise_for(response)
        body: Json = response.json()
        return body

    async def _access_token(self, http: httpx.AsyncClient) -> str:
        if self._token is not None and self._token[1] > time.monotonic():
            return self._token[0]
        response = await http.post(
            "/v1/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=self._credentials,
        )
        _raise_for(response)
        body = response.json()
        lifetime = float(body.get("expires_in", 0)) * 0.9
        self._token = (str(body["access_token"]), time.monotonic() + lifetime)
        return self._token[0]


def _raise_for(response: httpx.Response) -> None:
    status = response.status_code
    if status < 400:
        return
    detail = f"PayPal transaction search answered HTTP {status}"
    wait = retry_after(response.headers)
    if status >= 500:
        raise provider_failure(ErrorType.PROVIDER_UNAVAILABLE, detail, retry_after=wait)
    if status == 429:
        raise provider_failure(ErrorType.PROVIDER_RATE_LIMITED, detail, retry_after=wait)
    if status in (401, 403):
        raise provider_failure(ErrorType.PROVIDER_AUTH_FAILED, detail)
    raise provider_failure(ErrorType.PROVIDER_INVALID_REQUEST, detail)
