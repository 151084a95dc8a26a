"""A provider that refuses a request outright (bad credentials, invalid request) fails the payment
with a clear code instead of leaving it stuck in ``processing`` or retrying forever."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx

from activities.providers.stripe import StripeProvider
from db import repository
from tests.conftest import Stack
from tests.support.flows import CARD_OK, card_customer
from worker import build_worker
from workflows.types import (
    CaptureMethod,
    PaymentInput,
    PaymentStatus,
    PaymentTimeouts,
    PaymentView,
    ProviderName,
)


async def test_refused_credentials_fail_the_payment(api: httpx.AsyncClient, stack: Stack) -> None:
    customer_id, method_id = await card_customer(api, stack.stripe_url, CARD_OK)
    async with stack.sessions() as session:
        customer = await repository.get_customer(session, customer_id)
        method = await repository.get_payment_method(session, method_id)
    assert customer is not None and method is not None
    settings = stack.settings.model_copy(update={"task_queue": f"refusal-{uuid.uuid4().hex[:8]}"})
    refusing = {ProviderName.STRIPE: StripeProvider("pk_live_not_a_secret_key", stack.stripe_url)}
    payment = PaymentInput(
        payment_id=f"pay_refused_{uuid.uuid4().hex[:12]}",
        account_id="acct_dev",
        request_hash="refused",
        amount=1500,
        currency="USD",
        customer_id=customer_id,
        provider=ProviderName.STRIPE,
        capture_method=CaptureMethod.AUTOMATIC,
        timeouts=PaymentTimeouts(60, 60, 60, 10),
        created_at=datetime.now(UTC),
        payment_method_id=method_id,
        provider_customer_ref=customer.stripe_customer_id,
        payment_method_ref=method.provider_token,
    )

    async with build_worker(stack.client, settings, stack.sessions, providers=refusing):
        final: PaymentView = await stack.client.execute_workflow(
            "PaymentWorkflow",
            payment,
            id=payment.payment_id,
            task_queue=settings.task_queue,
            result_type=PaymentView,
        )

    assert final.status is PaymentStatus.FAILED
    assert final.failure is not None
    assert (final.failure.code, final.failure.retryable) == ("provider_rejected", False)
    assert "key" not in final.failure.message.lower() or "pk_live" not in final.failure.message
    stored = (await api.get(f"/v1/payments/{payment.payment_id}")).json()
    assert stored["status"] == "failed"
    assert stored["failure"]["code"] == "provider_rejected"
