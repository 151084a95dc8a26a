"""``POST /v1/payments`` waits a bounded time: past it the answer is 202 ``processing`` and the
payment carries on; asking again with the same key returns it once it has settled."""

from __future__ import annotations

from datetime import timedelta

import httpx

from api.main import create_app
from settings import DEV_CLIENT_KEY
from tests.support.flows import CARD_OK, card_customer, new_key, pay, wait_for_status
from tests.support.stack import Stack


async def test_slow_settlement_is_202_then_final(api: httpx.AsyncClient, stack: Stack) -> None:
    customer_id, method_id = await card_customer(api, stack.stripe_url, CARD_OK)
    impatient = stack.settings.model_copy(update={"payment_settle_wait": timedelta(0)})
    app = create_app(impatient, client=stack.client)
    key = new_key()

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://impatient",
            headers={"Authorization": f"Bearer {DEV_CLIENT_KEY}"},
        ) as client:
            first = await pay(client, customer_id, method_id, key=key)

    assert first.status_code == 202
    assert first.json()["status"] == "processing"
    settled = await wait_for_status(api, first.json()["id"], "succeeded")
    again = await pay(api, customer_id, method_id, key=key)
    assert again.status_code == 200
    assert again.json() == settled
