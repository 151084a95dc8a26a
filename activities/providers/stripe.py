"""StripeProvider: the official ``stripe`` SDK, pointed at Stripe or at localstripe by one setting.

SDK network retries are off: Temporal retries the whole activity instead, with the same
idempotency key. Idempotency keys alone are not enough to make a retry safe — localstripe ignores
them, and Stripe forgets them after 24 hours — so every mutating call first reads what the
provider holds and acts only if that state still calls for it.

Amounts cross this boundary converted (``money``): Durapay's are ISO minor units, Stripe's are its
own (ISK written with two decimals, three-decimal currencies ending in 0). localstripe applies no
currency rule of its own, so the conversion here is all that makes its amounts right.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import stripe
from stripe.params import CustomerCreateParams, PaymentIntentCreateParams

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
    CardDetails,
    CreateIntentRequest,
    Decline,
    IntentResult,
    IntentStatus,
    ProviderName,
    RefundResult,
    RefundStatus,
)
from contracts.reconciliation import ProviderObject, ProviderObjectKind
from money import STRIPE, from_provider_units, to_provider_units

_STATUSES = {
    "requires_payment_method": IntentStatus.REQUIRES_PAYMENT_METHOD,
    "requires_confirmation": IntentStatus.REQUIRES_CONFIRMATION,
    "requires_action": IntentStatus.REQUIRES_ACTION,
    "processing": IntentStatus.PROCESSING,
    "requires_capture": IntentStatus.REQUIRES_CAPTURE,
    "succeeded": IntentStatus.SUCCEEDED,
    "canceled": IntentStatus.CANCELED,
}
_REFUND_STATUSES = {
    "succeeded": RefundStatus.SUCCEEDED,
    "pending": RefundStatus.PENDING,
    "requires_action": RefundStatus.PENDING,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.FAILED,
}
# Stripe also cancels some ``processing`` intents, but most refuse, and refusing is a
# non-retryable error: reporting the state instead lets the workflow wait for the outcome.
_CANCELABLE = frozenset(
    {"requires_payment_method", "requires_confirmation", "requires_action", "requires_capture"}
)
_AUTHENTICATION_FAILURE = "payment_intent_authentication_failure"
_PAGE = 100
_REQUESTS_PER_CALL = 3
"""The most HTTP requests one call makes (a refund: list, retrieve, create)."""


@contextmanager
def _translated_errors() -> Iterator[None]:
    """Turn Stripe's exceptions into the shared taxonomy; ``CardError`` passes through because
    only the caller knows whether a decline is a result there."""
    try:
        yield
    except (stripe.APIConnectionError, stripe.APIError) as error:
        wait = retry_after(error.headers)
        raise provider_failure(
            ErrorType.PROVIDER_UNAVAILABLE, _describe(error), retry_after=wait
        ) from None
    except stripe.RateLimitError as error:
        wait = retry_after(error.headers)
        raise provider_failure(
            ErrorType.PROVIDER_RATE_LIMITED, _describe(error), retry_after=wait
        ) from None
    except (stripe.AuthenticationError, stripe.PermissionError) as error:
        # Stripe echoes part of a rejected key in the message: keep it out of workflow history.
        raise provider_failure(
            ErrorType.PROVIDER_AUTH_FAILED, _describe(error, with_message=False)
        ) from None
    except (stripe.InvalidRequestError, stripe.IdempotencyError) as error:
        raise provider_failure(ErrorType.PROVIDER_INVALID_REQUEST, _describe(error)) from None


def _describe(error: stripe.StripeError, *, with_message: bool = True) -> str:
    status = f"HTTP {error.http_status}" if error.http_status else "no response"
    detail = f"Stripe {type(error).__name__} ({status})"
    if with_message and error.user_message:
        detail += f": {error.user_message}"
    if error.request_id:
        detail += f" [request {error.request_id}]"
    return detail


def _to_stripe(amount: int, currency: str) -> int:
    """ISO minor units → Stripe's units of ``currency`` (any case), refusing what would round."""
    with exact_amounts():
        return to_provider_units(amount, currency.upper(), STRIPE)


def _from_stripe(units: int, currency: str) -> int:
    """A Stripe amount of ``currency`` (Stripe writes it lower case) → ISO minor units."""
    with exact_amounts():
        return from_provider_units(units, currency.upper(), STRIPE)


def _tagged(metadata: stripe.StripeObject | None, key: str, value: str) -> bool:
    # StripeObject is no dict in stripe 16 (``.get`` raises AttributeError): read a plain copy.
    return metadata is not None and metadata.to_dict().get(key) == value


def _card_decline(error: stripe.CardError) -> Decline:
    """The decline with the issuer's advice (``advice_code``, ``network_advice_code``), which
    localstripe never sends and real issuers (or the fault proxy playing one) do."""
    details = error.error.to_dict() if error.error is not None else {}
    return Decline(
        code=error.code or "card_declined",
        message=error.user_message or "The card was declined.",
        decline_code=details.get("decline_code"),
        advice_code=details.get("advice_code"),
        network_advice_code=details.get("network_advice_code"),
    )


def _intent_result(intent: stripe.PaymentIntent) -> IntentResult:
    """Normalise a PaymentIntent.

    A failed attempt leaves the intent in ``requires_payment_method`` with the reason in
    ``last_payment_error``. A refused charge becomes ``DECLINED``, so a confirm repeated after a
    lost response reports the same decline the first attempt received. A failed 3-D Secure
    challenge stays ``REQUIRES_PAYMENT_METHOD`` (with the reason as ``decline``): the customer may
    still pay with another method, and only the workflow knows whether they can.
    """
    # Fields localstripe omits (amount_capturable) raise on attribute access: read the dict.
    raw = intent.to_dict()
    status = _STATUSES.get(intent.status, IntentStatus.PROCESSING)
    decline: Decline | None = None
    error = raw.get("last_payment_error")
    if status is IntentStatus.REQUIRES_PAYMENT_METHOD and error and error.get("code"):
        decline = Decline(
            code=error["code"],
            message=error.get("message") or "The payment was declined.",
            decline_code=error.get("decline_code"),
            advice_code=error.get("advice_code"),
            network_advice_code=error.get("network_advice_code"),
        )
        if error["code"] != _AUTHENTICATION_FAILURE:
            status = IntentStatus.DECLINED
    # localstripe authorizes the whole amount and does not report amount_capturable.
    whole = intent.amount if status is IntentStatus.REQUIRES_CAPTURE else 0
    return IntentResult(
        reference=intent.id,
        status=status,
        amount=_from_stripe(intent.amount, intent.currency),
        amount_capturable=_from_stripe(raw.get("amount_capturable", whole), intent.currency),
        decline=decline,
    )


def _card_details(method: stripe.PaymentMethod) -> CardDetails:
    card = method.card
    if card is None:
        return CardDetails(type=method.type)
    return CardDetails(
        type=method.type,
        brand=card.brand,
        last4=card.last4,
        exp_month=card.exp_month,
        exp_year=card.exp_year,
    )


def _customer_id(method: stripe.PaymentMethod) -> str | None:
    customer = method.customer
    return customer.id if isinstance(customer, stripe.Customer) else customer


class _HTTPXClient(stripe.HTTPXClient):
    """The SDK's async transport, minus one deprecated call.

    stripe 16 hands httpx the form-encoded body as ``data=<str>``, which httpx 0.28 reports with a
    DeprecationWarning on every POST; where warnings are errors (the test suite) the SDK turns that
    into an ``APIConnectionError``. ``content=`` sends the very same bytes. Sync methods stay off,
    so a blocking call on the event loop fails loudly instead of stalling the worker.
    """

    def _get_request_args_kwargs(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any
    ) -> Any:
        args, kwargs = super()._get_request_args_kwargs(method, url, headers, post_data)
        if post_data:
            kwargs["content"] = kwargs.pop("data")
        return [args, kwargs]


class StripeProvider:
    """Stripe behind the shared Provider protocol, on the SDK's async (httpx) transport."""

    def __init__(
        self, api_key: str, api_base: str, call_timeout: timedelta = ACTIVITY_TIMEOUT
    ) -> None:
        """``call_timeout`` is the activity's start-to-close timeout: every request of one call
        is given up before it (``request_timeout``)."""
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base},
            max_network_retries=0,
            http_client=_HTTPXClient(timeout=request_timeout(call_timeout, _REQUESTS_PER_CALL)),
        )
        self._intents = self._client.v1.payment_intents

    async def create_intent(
        self, request: CreateIntentRequest, idempotency_key: str
    ) -> IntentResult:
        params: PaymentIntentCreateParams = {
            "amount": _to_stripe(request.amount, request.currency),
            "currency": request.currency.lower(),
            "capture_method": request.capture_method.value,
            "metadata": {"durapay_payment_id": request.payment_id},
        }
        if request.provider_customer_ref:
            params["customer"] = request.provider_customer_ref
        if request.payment_method_ref:
            params["payment_method"] = request.payment_method_ref
        if request.description:
            params["description"] = request.description
        if request.request_three_d_secure:
            params["payment_method_options"] = {"card": {"request_three_d_secure": "any"}}
        with _translated_errors():
            intent = await self._intents.create_async(params, {"idempotency_key": idempotency_key})
        return _intent_result(intent)

    async def confirm_intent(
        self, reference: str, idempotency_key: str, off_session: bool
    ) -> IntentResult:
        """Confirm the intent once; ``off_session`` tells Stripe the customer is not there (a
        renewal), so a card that wants 3-D Secure is declined ``authentication_required`` (a
        decline dunning handles) instead of waiting for a challenge nobody will see."""
        with _translated_errors():
            current = await self._intents.retrieve_async(reference)
        if current.status != "requires_confirmation":
            return _intent_result(current)
        try:
            with _translated_errors():
                intent = await self._intents.confirm_async(
                    reference,
                    {"off_session": True} if off_session else {},
                    {"idempotency_key": idempotency_key},
                )
        except stripe.CardError as error:
            return IntentResult(
                reference=reference,
                status=IntentStatus.DECLINED,
                amount=_from_stripe(current.amount, current.currency),
                decline=_card_decline(error),
            )
        return _intent_result(intent)

    async def retrieve_intent(self, reference: str) -> IntentResult:
        with _translated_errors():
            intent = await self._intents.retrieve_async(reference)
        return _intent_result(intent)

    async def capture_intent(
        self, reference: str, amount: int, idempotency_key: str
    ) -> IntentResult:
        with _translated_errors():
            current = await self._intents.retrieve_async(reference)
            if current.status != "requires_capture":
                return _intent_result(current)
            intent = await self._intents.capture_async(
                reference,
                {"amount_to_capture": _to_stripe(amount, current.currency)},
                {"idempotency_key": idempotency_key},
            )
        return _intent_result(intent)

    async def cancel_intent(self, reference: str, idempotency_key: str) -> IntentResult:
        with _translated_errors():
            current = await self._intents.retrieve_async(reference)
            if current.status not in _CANCELABLE:
                return _intent_result(current)
            intent = await self._intents.cancel_async(
                reference, {}, {"idempotency_key": idempotency_key}
            )
        return _intent_result(intent)

    async def refund(
        self, reference: str, amount: int, idempotency_key: str, refund_id: str
    ) -> RefundResult:
        refund = await self._find_refund(reference, refund_id)
        if refund is None:
            with _translated_errors():
                intent = await self._intents.retrieve_async(reference)
                refund = await self._client.v1.refunds.create_async(
                    {
                        "payment_intent": reference,
                        "amount": _to_stripe(amount, intent.currency),
                        "metadata": {"durapay_refund_id": refund_id},
                    },
                    {"idempotency_key": idempotency_key},
                )
        return RefundResult(
            reference=refund.id,
            status=_REFUND_STATUSES.get(refund.status or "", RefundStatus.PENDING),
            amount=_from_stripe(refund.amount, refund.currency),
        )

    async def _find_refund(self, reference: str, refund_id: str) -> stripe.Refund | None:
        with _translated_errors():
            page = await self._client.v1.refunds.list_async(
                {"payment_intent": reference, "limit": _PAGE}
            )
            async for refund in page.auto_paging_iter():
                if _tagged(refund.metadata, "durapay_refund_id", refund_id):
                    return refund
        return None

    async def ensure_customer(
        self, customer_id: str, email: str, name: str | None, idempotency_key: str
    ) -> str:
        with _translated_errors():
            page = await self._client.v1.customers.list_async({"email": email, "limit": _PAGE})
            async for customer in page.auto_paging_iter():
                if _tagged(customer.metadata, "durapay_customer_id", customer_id):
                    return customer.id
            params: CustomerCreateParams = {
                "email": email,
                "metadata": {"durapay_customer_id": customer_id},
            }
            if name:
                params["name"] = name
            created = await self._client.v1.customers.create_async(
                params, {"idempotency_key": idempotency_key}
            )
        return created.id

    async def attach_payment_method(
        self, provider_customer_ref: str, token: str, idempotency_key: str
    ) -> AttachResult:
        """Any 400/404 here counts as a bad token (unknown, or already on another customer): the
        token is the only input a client supplied, the customer reference is our own."""
        methods = self._client.v1.payment_methods
        with _translated_errors():
            try:
                method = await methods.retrieve_async(token)
                if _customer_id(method) != provider_customer_ref:
                    method = await methods.attach_async(
                        token,
                        {"customer": provider_customer_ref},
                        {"idempotency_key": idempotency_key},
                    )
            except stripe.CardError as error:
                return AttachResult(decline=_card_decline(error))
            except stripe.InvalidRequestError as error:
                return AttachResult(invalid=error.user_message or "Unknown payment method.")
        return AttachResult(details=_card_details(method))

    async def list_since(self, since: datetime) -> list[ProviderObject]:
        """Every PaymentIntent, charge and refund created at or after ``since``, for
        reconciliation.

        Charges are listed with ``created[gt]``, which Stripe and localstripe both take.
        localstripe refuses any ``created`` filter on PaymentIntents and refunds, so those are
        listed whole and filtered here (at Stripe, the filter would spare the pages)."""
        floor = int(since.timestamp()) - 1
        listed: list[ProviderObject] = []
        with _translated_errors():
            intents = await self._intents.list_async({"limit": _PAGE})
            async for intent in intents.auto_paging_iter():
                if intent.created > floor:
                    listed.append(_intent_object(intent))
            charges = await self._client.v1.charges.list_async(
                {"limit": _PAGE, "created": {"gt": floor}}
            )
            async for charge in charges.auto_paging_iter():
                listed.append(_charge_object(charge))
            refunds = await self._client.v1.refunds.list_async({"limit": _PAGE})
            async for refund in refunds.auto_paging_iter():
                if refund.created > floor:
                    listed.append(_refund_object(refund))
        return listed


def _created(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _intent_object(intent: stripe.PaymentIntent) -> ProviderObject:
    metadata = intent.metadata.to_dict() if intent.metadata is not None else {}
    return ProviderObject(
        provider=ProviderName.STRIPE,
        kind=ProviderObjectKind.INTENT,
        reference=intent.id,
        status=intent.status,
        amount=_from_stripe(intent.amount, intent.currency),
        currency=intent.currency.upper(),
        created_at=_created(intent.created),
        intent_reference=intent.id,
        tag=metadata.get("durapay_payment_id"),
    )


def _refund_object(refund: stripe.Refund) -> ProviderObject:
    raw = refund.to_dict()
    intent = raw.get("payment_intent")
    return ProviderObject(
        provider=ProviderName.STRIPE,
        kind=ProviderObjectKind.REFUND,
        reference=refund.id,
        status=str(raw.get("status") or ""),
        amount=_from_stripe(refund.amount, refund.currency),
        currency=refund.currency.upper(),
        created_at=_created(refund.created),
        intent_reference=intent if isinstance(intent, str) else None,
        tag=(raw.get("metadata") or {}).get("durapay_refund_id"),
    )


def _charge_object(charge: stripe.Charge) -> ProviderObject:
    raw = charge.to_dict()
    intent = raw.get("payment_intent")
    return ProviderObject(
        provider=ProviderName.STRIPE,
        kind=ProviderObjectKind.CHARGE,
        reference=charge.id,
        status=str(raw.get("status") or ""),
        amount=_from_stripe(charge.amount, charge.currency),
        currency=charge.currency.upper(),
        created_at=_created(charge.created),
        intent_reference=intent if isinstance(intent, str) else None,
    )
