"""PayPalProvider against a PayPal sandbox process: results, repeat-safety and error mapping."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from temporalio.exceptions import ApplicationError

from activities.providers.paypal import PayPalProvider
from contracts.errors import ErrorType
from contracts.providers import (
    CaptureMethod,
    CardDetails,
    CreateIntentRequest,
    IntentResult,
    IntentStatus,
    RefundStatus,
)
from tests.support.net import free_port, port_is_closed
from tests.support.paypal import (
    CLIENT_ID,
    CLIENT_SECRET,
    access_token,
    approved_setup_token,
    buyer_clicks,
)

SHOP = "https://shop.example/orders/1001"


@pytest.fixture
def provider(paypal_url: str) -> PayPalProvider:
    return PayPalProvider(CLIENT_ID, CLIENT_SECRET, paypal_url)


def key(step: str) -> str:
    return f"pay_{uuid.uuid4().hex}:{step}"


def request(
    capture_method: CaptureMethod = CaptureMethod.AUTOMATIC,
    amount: int = 2500,
    payment_method_ref: str | None = None,
) -> CreateIntentRequest:
    return CreateIntentRequest(
        payment_id=f"pay_{uuid.uuid4().hex}",
        amount=amount,
        currency="USD",
        capture_method=capture_method,
        payment_method_ref=payment_method_ref,
        description="Durapay test order",
        return_url=SHOP,
    )


def paypal_get(paypal_url: str, path: str) -> dict[str, Any]:
    """A resource as PayPal holds it, read behind the provider's back."""
    response = httpx.get(
        paypal_url + path, headers={"Authorization": f"Bearer {access_token(paypal_url)}"}
    )
    response.raise_for_status()
    resource: dict[str, Any] = response.json()
    return resource


def unapproved_setup_token(paypal_url: str) -> str:
    """A vault setup token the buyer never approved."""
    response = httpx.post(
        f"{paypal_url}/v3/vault/setup-tokens",
        json={"payment_source": {"paypal": {"usage_type": "MERCHANT"}}},
        headers={"Authorization": f"Bearer {access_token(paypal_url)}"},
    )
    response.raise_for_status()
    token_id: str = response.json()["id"]
    return token_id


async def approved(provider: PayPalProvider, capture_method: CaptureMethod) -> IntentResult:
    """A checkout order the buyer has approved at PayPal."""
    created = await provider.create_intent(request(capture_method), key("create"))
    assert created.status is IntentStatus.REQUIRES_ACTION
    assert created.action_url is not None
    back = buyer_clicks(created.action_url, "approve")
    assert back.startswith(SHOP)
    return created


async def test_checkout_approve_confirm_succeeds_once(
    provider: PayPalProvider, paypal_url: str
) -> None:
    created = await provider.create_intent(request(), key("create"))
    assert created.status is IntentStatus.REQUIRES_ACTION
    assert created.amount == 2500
    assert created.action_url is not None

    buyer_clicks(created.action_url, "approve")
    seen = await provider.retrieve_intent(created.reference)
    assert seen.status is IntentStatus.REQUIRES_CONFIRMATION

    confirm_key = key("confirm")
    first = await provider.confirm_intent(created.reference, confirm_key, off_session=False)
    again = await provider.confirm_intent(created.reference, confirm_key, off_session=False)
    other_key = await provider.confirm_intent(created.reference, key("confirm"), off_session=False)

    assert first == again == other_key
    assert first.status is IntentStatus.SUCCEEDED
    assert first.reference == created.reference
    order = paypal_get(paypal_url, f"/v2/checkout/orders/{created.reference}")
    assert len(order["purchase_units"][0]["payments"]["captures"]) == 1


async def test_manual_authorize_then_capture_part(provider: PayPalProvider) -> None:
    created = await approved(provider, CaptureMethod.MANUAL)
    authorized = await provider.confirm_intent(created.reference, key("confirm"), True)
    assert authorized.status is IntentStatus.REQUIRES_CAPTURE
    assert authorized.amount_capturable == 2500

    capture_key = key("capture")
    captured = await provider.capture_intent(created.reference, 1500, capture_key)
    repeated = await provider.capture_intent(created.reference, 1500, capture_key)

    assert captured.status is IntentStatus.SUCCEEDED
    assert repeated == captured
    assert (await provider.retrieve_intent(created.reference)).status is IntentStatus.SUCCEEDED


async def test_partial_refund_then_refund_above_the_rest(provider: PayPalProvider) -> None:
    created = await approved(provider, CaptureMethod.AUTOMATIC)
    await provider.confirm_intent(created.reference, key("confirm"), False)
    refund_key, refund_id = key("refund"), f"re_{uuid.uuid4().hex}"

    refunded = await provider.refund(created.reference, 500, refund_key, refund_id)
    again = await provider.refund(created.reference, 500, refund_key, refund_id)
    with pytest.raises(ApplicationError) as refused:
        await provider.refund(created.reference, 2001, key("refund"), f"re_{uuid.uuid4().hex}")

    assert refunded.status is RefundStatus.SUCCEEDED
    assert refunded.amount == 500
    assert again == refunded
    assert refused.value.type == ErrorType.PROVIDER_INVALID_REQUEST
    assert "REFUND_AMOUNT_EXCEEDED" in refused.value.message


async def test_refund_after_a_manual_capture(provider: PayPalProvider) -> None:
    created = await approved(provider, CaptureMethod.MANUAL)
    await provider.confirm_intent(created.reference, key("confirm"), True)
    await provider.capture_intent(created.reference, 1500, key("capture"))

    refunded = await provider.refund(created.reference, 500, key("refund"), "re_manual")
    with pytest.raises(ApplicationError) as refused:
        await provider.refund(created.reference, 1001, key("refund"), "re_manual_2")

    assert (refunded.status, refunded.amount) == (RefundStatus.SUCCEEDED, 500)
    assert "REFUND_AMOUNT_EXCEEDED" in refused.value.message


async def test_refund_repeated_after_the_request_id_is_forgotten(
    provider: PayPalProvider,
) -> None:
    created = await approved(provider, CaptureMethod.AUTOMATIC)
    await provider.confirm_intent(created.reference, key("confirm"), False)
    refund_id = f"re_{uuid.uuid4().hex}"

    first = await provider.refund(created.reference, 1000, key("refund"), refund_id)
    # A new key stands for a PayPal-Request-Id PayPal no longer remembers.
    second = await provider.refund(created.reference, 1000, key("refund"), refund_id)

    assert second == first


def mocked(paypal_url: str, code: str) -> PayPalProvider:
    """A provider whose money-moving calls carry PayPal's negative-testing header."""
    mock = json.dumps({"mock_application_codes": code})
    return PayPalProvider(CLIENT_ID, CLIENT_SECRET, paypal_url, mock_response=mock)


async def test_instrument_declined_at_capture_is_a_result(
    provider: PayPalProvider, paypal_url: str
) -> None:
    created = await approved(provider, CaptureMethod.AUTOMATIC)
    declining = mocked(paypal_url, "INSTRUMENT_DECLINED")

    declined = await declining.confirm_intent(created.reference, key("confirm"), False)

    assert declined.status is IntentStatus.DECLINED
    assert declined.decline is not None
    assert declined.decline.code == "instrument_declined"
    assert declined.decline.decline_code == "INSTRUMENT_DECLINED"
    # Nothing moved: the buyer may still pay the approved order.
    seen = await provider.retrieve_intent(created.reference)
    assert seen.status is IntentStatus.REQUIRES_CONFIRMATION


async def test_declined_capture_of_an_authorization_is_a_result(
    provider: PayPalProvider, paypal_url: str
) -> None:
    created = await approved(provider, CaptureMethod.MANUAL)
    await provider.confirm_intent(created.reference, key("confirm"), True)

    declined = await mocked(paypal_url, "INSTRUMENT_DECLINED").capture_intent(
        created.reference, 2500, key("capture")
    )

    assert declined.status is IntentStatus.DECLINED
    assert declined.decline is not None
    assert declined.decline.decline_code == "INSTRUMENT_DECLINED"


async def test_denied_capture_in_a_completed_order_is_declined(
    provider: PayPalProvider, paypal_url: str
) -> None:
    created = await approved(provider, CaptureMethod.AUTOMATIC)

    denied = await mocked(paypal_url, "CAPTURE_DENIED").confirm_intent(
        created.reference, key("confirm"), False
    )
    seen = await provider.retrieve_intent(created.reference)

    assert denied.status is IntentStatus.DECLINED
    assert denied.decline is not None
    assert denied.decline.code == "instrument_declined"
    assert seen == denied


async def test_paypal_server_error_is_unavailable(
    provider: PayPalProvider, paypal_url: str
) -> None:
    created = await approved(provider, CaptureMethod.AUTOMATIC)

    with pytest.raises(ApplicationError) as failed:
        await mocked(paypal_url, "INTERNAL_SERVER_ERROR").confirm_intent(
            created.reference, key("confirm"), False
        )

    assert failed.value.type == ErrorType.PROVIDER_UNAVAILABLE
    assert failed.value.non_retryable is False


async def test_vaulted_wallet_pays_without_the_buyer(
    provider: PayPalProvider, paypal_url: str
) -> None:
    customer = await provider.ensure_customer("cus_1", "ada@example.com", None, key("customer"))
    attach_key = key("attach")
    token = approved_setup_token(paypal_url)

    attached = await provider.attach_payment_method(customer, token, attach_key)
    again = await provider.attach_payment_method(customer, token, attach_key)

    assert attached == again
    assert attached.details == CardDetails(type="paypal", brand="paypal")
    assert attached.reference is not None
    created = await provider.create_intent(
        request(payment_method_ref=attached.reference), key("create")
    )
    confirmed = await provider.confirm_intent(created.reference, key("confirm"), True)
    assert created.status is IntentStatus.SUCCEEDED
    assert confirmed == created


async def test_declined_vaulted_wallet_is_refused_at_create(
    provider: PayPalProvider, paypal_url: str
) -> None:
    attached = await provider.attach_payment_method(
        "cus_1", approved_setup_token(paypal_url), key("attach")
    )
    assert attached.reference is not None

    with pytest.raises(ApplicationError) as refused:
        await mocked(paypal_url, "INSTRUMENT_DECLINED").create_intent(
            request(payment_method_ref=attached.reference), key("create")
        )

    assert refused.value.type == ErrorType.PROVIDER_INVALID_REQUEST
    assert "INSTRUMENT_DECLINED" in refused.value.message


async def test_unapproved_or_unknown_setup_token_is_invalid(
    provider: PayPalProvider, paypal_url: str
) -> None:
    unapproved = unapproved_setup_token(paypal_url)

    not_approved = await provider.attach_payment_method("cus_1", unapproved, key("attach"))
    unknown = await provider.attach_payment_method("cus_1", "NO-SUCH-TOKEN", key("attach"))

    assert not_approved.invalid is not None
    assert "SETUP_TOKEN_NOT_APPROVED" in not_approved.invalid
    assert unknown.invalid is not None
    assert unknown.reference is None


async def test_cancel_of_an_unapproved_order(provider: PayPalProvider) -> None:
    created = await provider.create_intent(request(), key("create"))
    assert created.action_url is not None
    assert buyer_clicks(created.action_url, "cancel").startswith(f"{SHOP}?canceled=1&token=")

    canceled = await provider.cancel_intent(created.reference, key("cancel"))

    assert canceled.status is IntentStatus.CANCELED


async def test_cancel_voids_an_authorization(provider: PayPalProvider) -> None:
    created = await approved(provider, CaptureMethod.MANUAL)
    await provider.confirm_intent(created.reference, key("confirm"), True)
    cancel_key = key("cancel")

    canceled = await provider.cancel_intent(created.reference, cancel_key)
    again = await provider.cancel_intent(created.reference, cancel_key)

    assert canceled.status is IntentStatus.CANCELED
    assert again == canceled
    assert (await provider.retrieve_intent(created.reference)).status is IntentStatus.CANCELED


async def test_wrong_credentials_fail_auth(paypal_url: str) -> None:
    provider = PayPalProvider(CLIENT_ID, "not-the-secret", paypal_url)

    with pytest.raises(ApplicationError) as failed:
        await provider.retrieve_intent("ANY-ORDER")

    assert failed.value.type == ErrorType.PROVIDER_AUTH_FAILED
    assert "not-the-secret" not in failed.value.message


async def test_closed_port_is_unavailable() -> None:
    port = free_port()
    assert port_is_closed(port)
    provider = PayPalProvider(CLIENT_ID, CLIENT_SECRET, f"http://127.0.0.1:{port}")

    with pytest.raises(ApplicationError) as failed:
        await provider.retrieve_intent("ANY-ORDER")

    assert failed.value.type == ErrorType.PROVIDER_UNAVAILABLE
    assert failed.value.non_retryable is False


async def test_unknown_order_is_an_invalid_request(provider: PayPalProvider) -> None:
    with pytest.raises(ApplicationError) as failed:
        await provider.retrieve_intent("NO-SUCH-ORDER")

    assert failed.value.type == ErrorType.PROVIDER_INVALID_REQUEST
    assert "RESOURCE_NOT_FOUND" in failed.value.message
