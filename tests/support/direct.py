"""Starting a PaymentWorkflow directly, bypassing the API: for tests that need their own worker
(time-skipping server, a worker process to kill, a provider that refuses everything)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts.payments import PaymentInput, PaymentTimeouts
from contracts.providers import CaptureMethod, ProviderName
from db.repositories import customers as customers_repo
from db.repositories import payment_methods as payment_methods_repo
from tests.support.flows import card_customer


async def saved_card_payment(
    api: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    stripe_url: str,
    card: str,
    *,
    timeouts: PaymentTimeouts,
    capture_method: CaptureMethod = CaptureMethod.AUTOMATIC,
    amount: int = 2500,
    currency: str = "EUR",
) -> PaymentInput:
    """A customer with ``card`` saved through the API, and the input of a payment with it."""
    customer_id, method_id = await card_customer(api, stripe_url, card)
    async with sessions() as session:
        customer = await customers_repo.get_customer(session, customer_id)
        method = await payment_methods_repo.get_payment_method(session, method_id)
    assert customer is not None
    assert method is not None
    return PaymentInput(
        payment_id=f"pay_direct_{uuid.uuid4().hex[:12]}",
        account_id=customer.account_id,
        request_hash="direct",
        amount=amount,
        currency=currency,
        customer_id=customer_id,
        provider=ProviderName.STRIPE,
        capture_method=capture_method,
        timeouts=timeouts,
        created_at=datetime.now(UTC),
        payment_method_id=method_id,
        provider_customer_ref=customer.stripe_customer_id,
        payment_method_ref=method.provider_token,
    )
