"""A provider that refuses a request outright (bad credentials, invalid request) fails the payment
with a clear code instead of leaving it stuck in ``processing`` or retrying forever."""

from __future__ import annotations

import uuid

import httpx

from activities.providers.stripe import StripeProvider
from contracts.payments import PaymentStatus, PaymentTimeouts, PaymentView
from contracts.providers import ProviderName
from tests.support.direct import saved_card_payment
from tests.support.flows import CARD_OK
from tests.support.stack import Stack
from worker import build_worker


async def test_refused_credentials_fail_the_payment(api: httpx.AsyncClient, stack: Stack) -> None:
    payment = await saved_card_payment(
        api, stack.sessions, stack.stripe_url, CARD_OK, timeouts=PaymentTimeouts(60, 60, 60, 10)
    )
    settings = stack.settings.model_copy(update={"task_queue": f"refusal-{uuid.uuid4().hex[:8]}"})
    refusing = {ProviderName.STRIPE: StripeProvider("pk_live_not_a_secret_key", stack.stripe_url)}

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
