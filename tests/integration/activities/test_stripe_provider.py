"""StripeProvider against a real localstripe: results, repeat-safety and error mapping."""

from __future__ import annotations

import uuid

import pytest
from stripe import StripeClient
from temporalio.exceptions import ApplicationError

from activities.providers.stripe import StripeProvider
from contracts.errors import ErrorType
from contracts.providers import (
    CaptureMethod,
    CardDetails,
    CreateIntentRequest,
    IntentResult,
    IntentStatus,
    RefundStatus,
)
from tests.support.localstripe import (
    TEST_API_KEY,
    authenticate_3ds,
    client_secret_of,
    create_card_payment_method,
)
from tests.support.net import free_port, port_is_closed

CARD_OK = "4242424242424242"
CARD_DECLINED_AT_CONFIRM = "4000000000000341"
CARD_DECLINED_AT_ATTACH = "4000000000000002"
CARD_3DS = "4000002760003184"


def key(step: str) -> str:
    return f"pay_{uuid.uuid4().hex}:{step}"


async def new_customer(provider: StripeProvider) -> str:
    customer_id = f"cus_durapay_{uuid.uuid4().hex}"
    return await provider.ensure_customer(
        customer_id, f"{customer_id}@example.com", "Ada Lovelace", key("customer")
    )


async def create(
    provider: StripeProvider,
    base_url: str,
    number: str,
    capture_method: CaptureMethod = CaptureMethod.AUTOMATIC,
    amount: int = 1000,
) -> tuple[IntentResult, str]:
    """A saved card on a new customer and an unconfirmed intent for it; returns the customer."""
    customer = await new_customer(provider)
    token = create_card_payment_method(base_url, number)
    attached = await provider.attach_payment_method(customer, token, key("attach"))
    assert attached.details is not None
    request = CreateIntentRequest(
        payment_id=f"pay_{uuid.uuid4().hex}",
        amount=amount,
        currency="EUR",
        capture_method=capture_method,
        provider_customer_ref=customer,
        payment_method_ref=token,
    )
    return await provider.create_intent(request, key("create")), customer


def charges_of(base_url: str, customer: str) -> list[dict[str, object]]:
    client = StripeClient(TEST_API_KEY, base_addresses={"api": base_url}, max_network_retries=0)
    return [c.to_dict() for c in client.v1.charges.list({"customer": customer}).data]


async def test_confirm_succeeds_once_and_repeats_without_error(
    stripe_provider: StripeProvider, provider_localstripe_url: str
) -> None:
    created, customer = await create(stripe_provider, provider_localstripe_url, CARD_OK)
    assert created.status is IntentStatus.REQUIRES_CONFIRMATION
    assert created.amount == 1000

    confirm_key = key("confirm")
    first = await stripe_provider.confirm_intent(created.reference, confirm_key, off_session=True)
    again = await stripe_provider.confirm_intent(created.reference, confirm_key, off_session=True)

    assert first.status is again.status is IntentStatus.SUCCEEDED
    assert len(charges_of(provider_localstripe_url, customer)) == 1


async def test_ensure_customer_returns_the_same_customer_when_repeated(
    stripe_provider: StripeProvider,
) -> None:
    email = f"{uuid.uuid4().hex}@example.com"
    first = await stripe_provider.ensure_customer("cus_one", email, None, key("customer"))
    again = await stripe_provider.ensure_customer("cus_one", email, None, key("customer"))
    other = await stripe_provider.ensure_customer("cus_two", email, None, key("customer"))
    assert first == again != other
    assert first.startswith("cus_")


async def test_decline_at_confirm_is_a_result_also_when_repeated(
    stripe_provider: StripeProvider, provider_localstripe_url: str
) -> None:
    created, _ = await create(stripe_provider, provider_localstripe_url, CARD_DECLINED_AT_CONFIRM)

    declined = await stripe_provider.confirm_intent(created.reference, key("confirm"), True)
    again = await stripe_provider.confirm_intent(created.reference, key("confirm"), True)

    for result in (declined, again):
        assert result.status is IntentStatus.DECLINED
        assert result.decline is not None
        assert result.decline.code == "card_declined"
        assert result.decline.decline_code is None
        assert result.decline.message == "Your card was declined."


async def test_3ds_success(stripe_provider: StripeProvider, provider_localstripe_url: str) -> None:
    created, _ = await create(stripe_provider, provider_localstripe_url, CARD_3DS)

    pending = await stripe_provider.confirm_intent(created.reference, key("confirm"), True)
    assert pending.status is IntentStatus.REQUIRES_ACTION
    again = await stripe_provider.confirm_intent(created.reference, key("confirm"), True)
    assert again == pending

    secret = client_secret_of(provider_localstripe_url, pending.reference)
    authenticate_3ds(provider_localstripe_url, pending.reference, secret, True)
    settled = await stripe_provider.retrieve_intent(pending.reference)
    assert settled.status is IntentStatus.SUCCEEDED


async def test_3ds_failure_leaves_the_intent_waiting_for_a_payment_method(
    stripe_provider: StripeProvider, provider_localstripe_url: str
) -> None:
    created, _ = await create(stripe_provider, provider_localstripe_url, CARD_3DS)
    pending = await stripe_provider.confirm_intent(created.reference, key("confirm"), True)
    secret = client_secret_of(provider_localstripe_url, pending.reference)

    authenticate_3ds(provider_localstripe_url, pending.reference, secret, False)
    failed = await stripe_provider.retrieve_intent(pending.reference)
    again = await stripe_provider.confirm_intent(pending.reference, key("confirm"), True)

    assert failed == again
    assert failed.status is IntentStatus.REQUIRES_PAYMENT_METHOD
    assert failed.decline is not None
    assert failed.decline.code == "payment_intent_authentication_failure"


async def test_manual_capture_partial_and_repeated(
    stripe_provider: StripeProvider, provider_localstripe_url: str
) -> None:
    created, customer = await create(
        stripe_provider, provider_localstripe_url, CARD_OK, CaptureMethod.MANUAL, amount=10000
    )
    authorized = await stripe_provider.confirm_intent(created.reference, key("confirm"), True)
    assert authorized.status is IntentStatus.REQUIRES_CAPTURE
    assert authorized.amount_capturable == 10000

    capture_key = key("capture")
    captured = await stripe_provider.capture_intent(created.reference, 6000, capture_key)
    again = await stripe_provider.capture_intent(created.reference, 6000, capture_key)

    assert captured.status is again.status is IntentStatus.SUCCEEDED
    assert captured.amount_capturable == 0
    (charge,) = charges_of(provider_localstripe_url, customer)
    # localstripe records the released remainder as a refund of the charge.
    assert charge["amount_refunded"] == 4000


async def test_cancel_of_an_authorization_repeats_without_error(
    stripe_provider: StripeProvider, provider_localstripe_url: str
) -> None:
    created, _ = await create(
        stripe_provider, provider_localstripe_url, CARD_OK, CaptureMethod.MANUAL
    )
    await stripe_provider.confirm_intent(created.reference, key("confirm"), True)

    cancel_key = key("cancel")
    canceled = await stripe_provider.cancel_intent(created.reference, cancel_key)
    again = await stripe_provider.cancel_intent(created.reference, cancel_key)
    late_capture = await stripe_provider.capture_intent(created.reference, 1000, key("capture"))

    assert canceled.status is again.status is late_capture.status is IntentStatus.CANCELED


async def test_partial_refund_happens_once_per_refund_id(
    stripe_provider: StripeProvider, provider_localstripe_url: str
) -> None:
    created, customer = await create(stripe_provider, provider_localstripe_url, CARD_OK)
    await stripe_provider.confirm_intent(created.reference, key("confirm"), True)

    refund_key = key("refund")
    first = await stripe_provider.refund(created.reference, 300, refund_key, "rf_1")
    again = await stripe_provider.refund(created.reference, 300, refund_key, "rf_1")
    second = await stripe_provider.refund(created.reference, 200, key("refund"), "rf_2")

    assert first == again
    assert first.status is RefundStatus.SUCCEEDED
    assert first.amount == 300
    assert second.reference != first.reference
    (charge,) = charges_of(provider_localstripe_url, customer)
    assert charge["amount_refunded"] == 500


async def test_attach_returns_card_details_and_repeats(
    stripe_provider: StripeProvider, provider_localstripe_url: str
) -> None:
    customer = await new_customer(stripe_provider)
    token = create_card_payment_method(provider_localstripe_url, CARD_OK)

    attach_key = key("attach")
    attached = await stripe_provider.attach_payment_method(customer, token, attach_key)
    again = await stripe_provider.attach_payment_method(customer, token, attach_key)

    expected = CardDetails(type="card", brand="visa", last4="4242", exp_month=12, exp_year=2034)
    assert attached == again
    assert attached.details == expected


async def test_attach_decline_is_a_result(
    stripe_provider: StripeProvider, provider_localstripe_url: str
) -> None:
    customer = await new_customer(stripe_provider)
    token = create_card_payment_method(provider_localstripe_url, CARD_DECLINED_AT_ATTACH)

    result = await stripe_provider.attach_payment_method(customer, token, key("attach"))

    assert result.details is None
    assert result.decline is not None
    assert result.decline.code == "card_declined"


async def test_attach_of_an_unknown_token_is_invalid(stripe_provider: StripeProvider) -> None:
    customer = await new_customer(stripe_provider)

    result = await stripe_provider.attach_payment_method(customer, "pm_doesnotexist", key("a"))

    assert result.details is None
    assert result.decline is None
    assert result.invalid


async def test_unknown_intent_is_an_invalid_request(stripe_provider: StripeProvider) -> None:
    with pytest.raises(ApplicationError) as raised:
        await stripe_provider.retrieve_intent("pi_doesnotexist")
    assert raised.value.type == ErrorType.PROVIDER_INVALID_REQUEST
    assert not raised.value.non_retryable


async def test_rejected_api_key_is_an_auth_failure(provider_localstripe_url: str) -> None:
    provider = StripeProvider("pk_test_publishable_by_mistake", provider_localstripe_url)
    with pytest.raises(ApplicationError) as raised:
        await provider.retrieve_intent("pi_whatever")
    assert raised.value.type == ErrorType.PROVIDER_AUTH_FAILED
    assert "pk_test" not in str(raised.value)


async def test_unreachable_provider_is_unavailable() -> None:
    port = free_port()
    assert port_is_closed(port)
    provider = StripeProvider(TEST_API_KEY, f"http://127.0.0.1:{port}")
    with pytest.raises(ApplicationError) as raised:
        await provider.confirm_intent("pi_whatever", key("confirm"), off_session=True)
    assert raised.value.type == ErrorType.PROVIDER_UNAVAILABLE
