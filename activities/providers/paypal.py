"""PayPalProvider: the official ``paypal-server-sdk`` (Orders v2, Payments v2, Vault v3), pointed at
PayPal or at Durapay's PayPal sandbox by one setting.

The reference of every payment is the PayPal *order* id. Buyer-approved (checkout) orders pass
through ``REQUIRES_ACTION`` → ``REQUIRES_CONFIRMATION``; orders paid with a vaulted wallet are
completed by PayPal in the create call itself.

The SDK is synchronous (requests): every call runs in a worker thread. SDK retries are off, so
Temporal alone retries, with the same ``PayPal-Request-Id``. PayPal forgets request ids (after
6 hours for orders), so every mutating call first re-reads the order and acts only if its state
still calls for it. Bodies are read as plain JSON rather than as SDK models: the models raise
``AttributeError`` for every field PayPal leaves out.

Amounts go out as PayPal's decimal strings in PayPal's precision (``money``: HUF, JPY and TWD in
whole units, which PayPal otherwise refuses with ``DECIMAL_PRECISION``) and come back through
``from_decimal_string``, which reads any exact decimal string as ISO minor units.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from apimatic_core.exceptions.auth_validation_exception import (  # type: ignore[import-untyped]
    AuthValidationException,
)
from paypalserversdk.configuration import Configuration  # type: ignore[import-untyped]
from paypalserversdk.exceptions.api_exception import ApiException  # type: ignore[import-untyped]
from paypalserversdk.http.auth.o_auth_2 import (  # type: ignore[import-untyped]
    ClientCredentialsAuthCredentials,
)
from paypalserversdk.paypal_serversdk_client import (  # type: ignore[import-untyped]
    PaypalServersdkClient,
)
from temporalio.exceptions import ApplicationError

from activities.providers.base import (
    ACTIVITY_TIMEOUT,
    exact_amounts,
    provider_failure,
    request_timeout,
    retry_after,
)
from contracts.errors import ErrorType
from contracts.providers import (
    AttachResult,
    CaptureMethod,
    CardDetails,
    CreateIntentRequest,
    Decline,
    IntentResult,
    IntentStatus,
    RefundResult,
    RefundStatus,
)
from money import PAYPAL, from_decimal_string, to_provider_decimal

Json = dict[str, Any]

_DECLINE_CODE = "instrument_declined"
# PayPal's 422 issues that refuse the buyer's money rather than our request: a decline is a result.
_DECLINE_ISSUES = frozenset(
    {
        "INSTRUMENT_DECLINED",
        "TRANSACTION_REFUSED",
        "PAYER_CANNOT_PAY",
        "PAYER_ACCOUNT_RESTRICTED",
        "PAYER_ACCOUNT_LOCKED_OR_CLOSED",
        "REDIRECT_PAYER_FOR_ALTERNATE_FUNDING",
        "MAX_NUMBER_OF_PAYMENT_ATTEMPTS_EXCEEDED",
    }
)
_AWAITING_BUYER = frozenset({"CREATED", "SAVED", "PAYER_ACTION_REQUIRED"})
_CAPTURED = frozenset({"COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED"})
_FAILED_CAPTURE = frozenset({"DECLINED", "FAILED"})
_AUTHORIZATION_STATUSES = {
    "CREATED": IntentStatus.REQUIRES_CAPTURE,
    "PENDING": IntentStatus.PROCESSING,
    "PARTIALLY_CAPTURED": IntentStatus.SUCCEEDED,
    "CAPTURED": IntentStatus.SUCCEEDED,
    "VOIDED": IntentStatus.CANCELED,
    "EXPIRED": IntentStatus.CANCELED,
    "DENIED": IntentStatus.DECLINED,
}
_CAPTURABLE = frozenset({"CREATED", "PARTIALLY_CAPTURED"})
_REFUND_STATUSES = {"COMPLETED": RefundStatus.SUCCEEDED, "PENDING": RefundStatus.PENDING}
_REPRESENTATION = "return=representation"
_REQUESTS_PER_CALL = 3
"""The most HTTP requests one call makes (a token, the order read, the capture or refund)."""


class _Declined(Exception):
    """A 422 whose issue is a decline; raised only where the caller asked to see declines."""

    def __init__(self, decline: Decline) -> None:
        super().__init__(decline.decline_code)
        self.decline = decline


class _Configuration(Configuration):  # type: ignore[misc]
    """The SDK's configuration with our base URL instead of its two fixed environments."""

    def __init__(self, api_base: str, **options: Any) -> None:
        self._api_base = api_base.rstrip("/")
        super().__init__(**options)

    def get_base_uri(self, server: Any = None) -> str:
        return self._api_base


def _fetch_token(_last: Any, auth: Any) -> Any:
    """Token provider for the SDK: fetch a fresh token and let failures raise.

    The SDK's own fetch swallows every ``ApiException`` and reports only "OAuthToken is undefined
    or expired", so a PayPal outage at the token endpoint would look like bad credentials (a
    non-retryable error). Raising keeps the HTTP status for the error mapping.
    """
    return auth.fetch_token()


def _error_body(error: ApiException) -> Json:
    """The error's JSON body, parsed here: ``str(error)`` itself can raise on a non-JSON body."""
    try:
        body = json.loads(error.response.text or "{}")
    except (ValueError, TypeError, AttributeError):
        return {}
    return body if isinstance(body, dict) else {}


def _issues(body: Json) -> list[str]:
    details = body.get("details")
    if not isinstance(details, list):
        return []
    return [str(d["issue"]) for d in details if isinstance(d, dict) and d.get("issue")]


def _describe(error: ApiException, body: Json, *, with_detail: bool = True) -> str:
    """A log-safe summary: status, PayPal's error name and issues, debug id; never credentials."""
    detail = (
        f"PayPal {body.get('name') or body.get('error') or 'error'} (HTTP {error.response_code})"
    )
    if with_detail and (issues := _issues(body)):
        detail += ": " + ", ".join(issues)
    if body.get("debug_id"):
        detail += f" [debug_id {body['debug_id']}]"
    return detail


def _decline(issue: str, message: str | None) -> Decline:
    return Decline(
        code=_DECLINE_CODE,
        message=message or "PayPal declined the payment.",
        decline_code=issue,
    )


def _failure(error: Exception) -> ApplicationError:
    """Map an SDK or transport exception onto the shared taxonomy."""
    if isinstance(error, ApiException):
        body = _error_body(error)
        status = error.response_code
        wait = retry_after(getattr(error.response, "headers", None))
        if status >= 500:
            return provider_failure(
                ErrorType.PROVIDER_UNAVAILABLE, _describe(error, body), retry_after=wait
            )
        if status == 429:
            return provider_failure(
                ErrorType.PROVIDER_RATE_LIMITED, _describe(error, body), retry_after=wait
            )
        if status in (401, 403):
            return provider_failure(
                ErrorType.PROVIDER_AUTH_FAILED, _describe(error, body, with_detail=False)
            )
        return provider_failure(ErrorType.PROVIDER_INVALID_REQUEST, _describe(error, body))
    if isinstance(error, AuthValidationException):
        return provider_failure(ErrorType.PROVIDER_AUTH_FAILED, "PayPal gave no access token")
    return provider_failure(
        ErrorType.PROVIDER_UNAVAILABLE, f"PayPal unreachable ({type(error).__name__})"
    )


def _json(response: Any) -> Json:
    text = response.text
    if not text:
        return {}
    body = json.loads(text)
    return body if isinstance(body, dict) else {}


def _unit(order: Json) -> Json:
    units = order.get("purchase_units") or [{}]
    first: Json = units[0]
    return first


def _payments(order: Json, kind: str) -> list[Json]:
    found: list[Json] = (_unit(order).get("payments") or {}).get(kind) or []
    return found


def _minor(money: Json) -> int:
    return from_decimal_string(str(money["value"]), str(money["currency_code"]))


def _money(amount: int, currency: str) -> Json:
    """PayPal's ``Money`` for ISO minor units, in PayPal's precision; never rounded."""
    with exact_amounts():
        return {"currency_code": currency, "value": to_provider_decimal(amount, currency, PAYPAL)}


def _link(resource: Json, *rels: str) -> str | None:
    for link in resource.get("links") or []:
        if link.get("rel") in rels:
            href: str = link["href"]
            return href
    return None


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), *params.items()])
    return urlunsplit(parts._replace(query=query))


def _capture_decline(capture: Json) -> Decline:
    reason = (capture.get("status_details") or {}).get("reason")
    return Decline(
        code=_DECLINE_CODE,
        message="PayPal declined the capture.",
        decline_code=str(reason) if reason else None,
    )


def _order_result(order: Json) -> IntentResult:
    """Normalise an order.

    A completed order's outcome lives in its first purchase unit's payments: a completed (or
    since refunded) capture is a success, a pending one still processing, a declined one a
    decline; otherwise the authorization decides. Where an authorization has been captured PayPal
    lists the capture too, but its status alone (``CAPTURED``) already says success.
    """
    reference = str(order["id"])
    amount = _minor(_unit(order)["amount"])
    status = order.get("status")
    if status in _AWAITING_BUYER:
        action_url = _link(order, "payer-action", "approve")
        return IntentResult(reference, IntentStatus.REQUIRES_ACTION, amount, action_url=action_url)
    if status == "APPROVED":
        return IntentResult(reference, IntentStatus.REQUIRES_CONFIRMATION, amount)
    if status == "VOIDED":
        return IntentResult(reference, IntentStatus.CANCELED, amount)
    if status != "COMPLETED":
        return IntentResult(reference, IntentStatus.PROCESSING, amount)
    captures = _payments(order, "captures")
    capture_statuses = {capture.get("status") for capture in captures}
    if capture_statuses & _CAPTURED:
        return IntentResult(reference, IntentStatus.SUCCEEDED, amount)
    if "PENDING" in capture_statuses:
        return IntentResult(reference, IntentStatus.PROCESSING, amount)
    authorizations = _payments(order, "authorizations")
    if authorizations:
        authorization = authorizations[0]
        mapped = _AUTHORIZATION_STATUSES.get(
            str(authorization.get("status")), IntentStatus.PROCESSING
        )
        capturable = (
            _minor(authorization["amount"]) if mapped is IntentStatus.REQUIRES_CAPTURE else 0
        )
        return IntentResult(reference, mapped, amount, amount_capturable=capturable)
    if captures and capture_statuses <= _FAILED_CAPTURE:
        return IntentResult(
            reference, IntentStatus.DECLINED, amount, decline=_capture_decline(captures[-1])
        )
    return IntentResult(reference, IntentStatus.PROCESSING, amount)


def _authorization(order: Json) -> Json | None:
    authorizations = _payments(order, "authorizations")
    return authorizations[0] if authorizations else None


class PayPalProvider:
    """PayPal behind the shared Provider protocol."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        api_base: str,
        *,
        mock_response: str | None = None,
        call_timeout: timedelta = ACTIVITY_TIMEOUT,
    ) -> None:
        """``mock_response`` is PayPal's negative-testing header (``PayPal-Mock-Response``), for
        tests only: it is sent on every call that moves money, never on reads.
        ``call_timeout`` is the activity's start-to-close timeout: every request of one call is
        given up before it (``request_timeout``)."""
        credentials = ClientCredentialsAuthCredentials(
            o_auth_client_id=client_id,
            o_auth_client_secret=client_secret,
            o_auth_token_provider=_fetch_token,
        )
        client = PaypalServersdkClient(
            config=_Configuration(
                api_base,
                max_retries=0,
                timeout=request_timeout(call_timeout, _REQUESTS_PER_CALL),
                client_credentials_auth_credentials=credentials,
            )
        )
        self._orders = client.orders
        self._payments = client.payments
        self._vault = client.vault
        self._mock_response = mock_response

    async def _call(
        self, method: Callable[[Json], Any], options: Json, *, declines: bool = False
    ) -> Json:
        """One SDK call in a worker thread; its JSON body, or a translated failure.

        With ``declines`` a decline 422 raises ``_Declined`` for the caller to report as a result.
        """
        try:
            response = await asyncio.to_thread(method, options)
        except ApiException as error:
            body = _error_body(error)
            declined = [issue for issue in _issues(body) if issue in _DECLINE_ISSUES]
            if declines and error.response_code == 422 and declined:
                raise _Declined(_decline(declined[0], body.get("message"))) from None
            raise _failure(error) from None
        except (AuthValidationException, requests.RequestException) as error:
            raise _failure(error) from None
        return _json(response)

    def _writing(self, idempotency_key: str, **options: Any) -> Json:
        """Options of a mutating call: idempotency, the full representation back, test mocks."""
        written: Json = {
            "paypal_request_id": idempotency_key,
            "prefer": _REPRESENTATION,
            **options,
        }
        if self._mock_response is not None:
            written["paypal_mock_response"] = self._mock_response
        return written

    async def _order(self, reference: str) -> Json:
        return await self._call(self._orders.get_order, {"id": reference})

    async def create_intent(
        self, request: CreateIntentRequest, idempotency_key: str
    ) -> IntentResult:
        """Create the order. With a vaulted wallet PayPal pays it in this very call, so a decline
        can only come back as an error here (there is no order to report): it is raised as
        ``ProviderInvalidRequest``, which fails the payment without a retry."""
        unit: Json = {
            "reference_id": request.payment_id,
            "custom_id": request.payment_id,
            "amount": _money(request.amount, request.currency),
        }
        if request.description:
            unit["description"] = request.description
        body: Json = {
            "intent": "CAPTURE"
            if request.capture_method is CaptureMethod.AUTOMATIC
            else "AUTHORIZE",
            "purchase_units": [unit],
        }
        if request.payment_method_ref:
            body["payment_source"] = {"paypal": {"vault_id": request.payment_method_ref}}
        elif request.return_url:
            body["payment_source"] = {
                "paypal": {
                    "experience_context": {
                        "return_url": request.return_url,
                        "cancel_url": _with_query(request.return_url, canceled="1"),
                        "user_action": "PAY_NOW",
                    }
                }
            }
        # Without a return URL the order is left for PayPal's own approval page (JS SDK style):
        # it is CREATED with an ``approve`` link, which still becomes the action URL.
        order = await self._call(
            self._orders.create_order, self._writing(idempotency_key, body=body)
        )
        return _order_result(order)

    async def confirm_intent(
        self, reference: str, idempotency_key: str, off_session: bool
    ) -> IntentResult:
        """Capture or authorize an approved order once.

        ``off_session`` changes nothing: whether the buyer is present was settled when the order
        was created (checkout approval or vaulted wallet).
        """
        order = await self._order(reference)
        if order.get("status") != "APPROVED":
            return _order_result(order)
        action = (
            self._orders.capture_order
            if order.get("intent") == "CAPTURE"
            else self._orders.authorize_order
        )
        try:
            done = await self._call(
                action, self._writing(idempotency_key, id=reference), declines=True
            )
        except _Declined as declined:
            amount = _minor(_unit(order)["amount"])
            return IntentResult(reference, IntentStatus.DECLINED, amount, decline=declined.decline)
        return _order_result(done)

    async def retrieve_intent(self, reference: str) -> IntentResult:
        return _order_result(await self._order(reference))

    async def capture_intent(
        self, reference: str, amount: int, idempotency_key: str
    ) -> IntentResult:
        """Capture ``amount`` of the order's authorization as its final capture (PayPal voids the
        rest), so a partial capture ends the payment like a full one."""
        order = await self._order(reference)
        authorization = _authorization(order)
        if authorization is None or authorization.get("status") not in _CAPTURABLE:
            return _order_result(order)
        currency = str(authorization["amount"]["currency_code"])
        body = {"amount": _money(amount, currency), "final_capture": True}
        order_amount = _minor(_unit(order)["amount"])
        try:
            capture = await self._call(
                self._payments.capture_authorized_payment,
                self._writing(idempotency_key, authorization_id=authorization["id"], body=body),
                declines=True,
            )
        except _Declined as declined:
            return IntentResult(
                reference, IntentStatus.DECLINED, order_amount, decline=declined.decline
            )
        status = capture.get("status")
        if status in _CAPTURED:
            return IntentResult(reference, IntentStatus.SUCCEEDED, order_amount)
        if status in _FAILED_CAPTURE:
            return IntentResult(
                reference, IntentStatus.DECLINED, order_amount, decline=_capture_decline(capture)
            )
        return IntentResult(reference, IntentStatus.PROCESSING, order_amount)

    async def cancel_intent(self, reference: str, idempotency_key: str) -> IntentResult:
        """Void an open authorization; an order not yet paid needs no call.

        Orders v2 has no way to void an order: one the buyer has not paid simply expires at
        PayPal, so Durapay's cancel is the whole of it. A paid order reports its state.
        """
        order = await self._order(reference)
        if order.get("status") != "COMPLETED":
            return IntentResult(reference, IntentStatus.CANCELED, _minor(_unit(order)["amount"]))
        authorization = _authorization(order)
        if authorization is None or authorization.get("status") not in _CAPTURABLE:
            return _order_result(order)
        await self._call(
            self._payments.void_payment,
            self._writing(idempotency_key, authorization_id=authorization["id"]),
        )
        return _order_result(await self._order(reference))

    async def refund(
        self, reference: str, amount: int, idempotency_key: str, refund_id: str
    ) -> RefundResult:
        """Refund the order's capture, tagged with ``refund_id`` as ``custom_id``.

        PayPal lists an order's refunds with it: a refund already tagged ``refund_id`` is returned
        instead of making another, because ``PayPal-Request-Id`` is forgotten after a while.
        """
        order = await self._order(reference)
        made = next(
            (r for r in _payments(order, "refunds") if r.get("custom_id") == refund_id), None
        )
        if made is None:
            capture = next(
                (c for c in _payments(order, "captures") if c.get("status") in _CAPTURED), None
            )
            if capture is None:
                raise provider_failure(
                    ErrorType.PROVIDER_INVALID_REQUEST,
                    f"PayPal order {reference} has no capture to refund",
                )
            currency = str(capture["amount"]["currency_code"])
            body = {"amount": _money(amount, currency), "custom_id": refund_id}
            made = await self._call(
                self._payments.refund_captured_payment,
                self._writing(idempotency_key, capture_id=capture["id"], body=body),
            )
        return RefundResult(
            reference=str(made["id"]),
            status=_REFUND_STATUSES.get(str(made.get("status")), RefundStatus.FAILED),
            amount=_minor(made["amount"]),
        )

    async def ensure_customer(
        self, customer_id: str, email: str, name: str | None, idempotency_key: str
    ) -> str:
        """PayPal keeps no customer object of its own: Durapay's id is the vault customer id."""
        return customer_id

    async def attach_payment_method(
        self, provider_customer_ref: str, token: str, idempotency_key: str
    ) -> AttachResult:
        """Exchange a buyer-approved vault setup token for a reusable payment token.

        Any 400/404/422 counts as a bad token (unknown, not approved, already used): the token is
        the only input a client supplied. A repeat with the same key gets the same payment token
        back from PayPal's request-id replay; the setup token itself cannot be exchanged twice.
        """
        body = {
            "customer": {"id": provider_customer_ref},
            "payment_source": {"token": {"id": token, "type": "SETUP_TOKEN"}},
        }
        try:
            payment_token = await self._call(
                self._vault.create_payment_token,
                {"paypal_request_id": idempotency_key, "body": body},
            )
        except ApplicationError as error:
            if error.type != ErrorType.PROVIDER_INVALID_REQUEST:
                raise
            return AttachResult(invalid=f"Unusable PayPal setup token: {error.message}")
        return AttachResult(
            details=CardDetails(type="paypal", brand="paypal"),
            reference=str(payment_token["id"]),
        )
