"""Record workflow histories for the replay tests from a running dev stack (``make dev``).

Runs one payment per interesting path through the public API, then saves each workflow's history
to ``tests/histories/<name>.json``. Re-record only when the recorded behaviour itself is meant to
change; otherwise a failing replay test is telling you a change needs ``workflow.patched``.

``--encrypted`` records the histories written since payloads are encrypted (under the dev key,
which ``tests/test_replay.py`` decrypts with) and hold no personal data: a 3-D Secure payment,
its customer's save-card workflow and a subscription charged at once, as ``*_encrypted.json``.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from services.temporal_connection import connect_temporal
from settings import DEV_ADMIN_KEY, DEV_CLIENT_KEY, Environment, Settings
from tests.support.flows import CARD_3DS, CARD_DECLINED, CARD_OK, card_customer, pay
from tests.support.localstripe import authenticate_3ds

OUT = Path(__file__).resolve().parents[1] / "histories"


async def record(settings: Settings) -> None:
    client = await connect_temporal(settings)
    async with httpx.AsyncClient(
        base_url=settings.api_base_url,
        headers={"Authorization": f"Bearer {DEV_CLIENT_KEY}"},
        timeout=30,
    ) as api:
        runs: dict[str, str] = {}
        cases: list[tuple[str, str, dict[str, Any]]] = [
            ("card_succeeded", CARD_OK, {}),
            ("card_declined", CARD_DECLINED, {}),
            ("manual_capture", CARD_OK, {"capture_method": "manual"}),
            ("three_d_secure", CARD_3DS, {}),
        ]
        for name, card, extra in cases:
            customer_id, method_id = await card_customer(api, settings.stripe_api_base, card)
            payment = (
                await pay(api, customer_id, method_id, key=str(uuid.uuid4()), **extra)
            ).json()
            runs[name] = payment["id"]
            if name == "manual_capture":
                await api.post(
                    f"/v1/payments/{payment['id']}/capture",
                    json={"amount": 1000},
                    headers={"Idempotency-Key": str(uuid.uuid4())},
                )
                await api.post(
                    f"/v1/payments/{payment['id']}/refunds",
                    json={"amount": 400},
                    headers={"Idempotency-Key": str(uuid.uuid4())},
                )
            if name == "three_d_secure":
                await _authenticate(settings, payment)
        runs.update(await ledger(api, settings))
        runs["review_approved"] = await reviewed_and_approved(settings, api)
    await _save(client, runs)


async def record_encrypted(settings: Settings) -> None:
    client = await connect_temporal(settings)
    async with httpx.AsyncClient(
        base_url=settings.api_base_url,
        headers={"Authorization": f"Bearer {DEV_CLIENT_KEY}"},
        timeout=30,
    ) as api:
        customer_id, method_id = await card_customer(api, settings.stripe_api_base, CARD_3DS)
        payment = (await pay(api, customer_id, method_id, key=str(uuid.uuid4()))).json()
        await _authenticate(settings, payment)
        subscriber_id, _ = await card_customer(api, settings.stripe_api_base, CARD_OK)
        subscription = await api.post(
            "/v1/subscriptions",
            json={"customer_id": subscriber_id, "plan_id": "pro_monthly", "trial_days": 0},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        subscription.raise_for_status()
        await asyncio.sleep(3)
    await _save(
        client,
        {
            "three_d_secure_encrypted": payment["id"],
            "save_card_encrypted": f"attach_{method_id}",
            "subscription_encrypted": subscription.json()["id"],
        },
    )


async def _authenticate(settings: Settings, payment: dict[str, Any]) -> None:
    authenticate_3ds(
        settings.stripe_api_base,
        payment["provider_reference"],
        payment["next_action"]["client_secret"],
        success=True,
    )
    await asyncio.sleep(3)


async def _save(client: Client, runs: dict[str, str]) -> None:
    OUT.mkdir(exist_ok=True)
    for name, workflow_id in runs.items():
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        (OUT / f"{name}.json").write_text(history.to_json())


async def ledger(api: httpx.AsyncClient, settings: Settings) -> dict[str, str]:
    """A purchase of 500 credits; deposits of 20.00 and 80.00, then a 30.00 withdrawal (refunds
    of 20.00 and 10.00, oldest deposit first)."""
    customer_id, method_id = await card_customer(api, settings.stripe_api_base, CARD_OK)
    customer = f"/v1/customers/{customer_id}"
    deposits = [
        await api.post(
            f"{customer}/wallet/deposits",
            json={"amount": amount, "currency": "usd", "payment_method_id": method_id},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        for amount in (2000, 8000)
    ]
    withdrawal = await api.post(
        f"{customer}/wallet/withdrawals",
        json={"amount": 3000, "currency": "usd"},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    purchase = await api.post(
        f"{customer}/credits/purchase",
        json={"credits": 500, "payment_method_id": method_id},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    await asyncio.sleep(3)
    listed = (await api.get(f"{customer}/wallet/transactions")).json()["data"]
    first_payment = deposits[0].json()["id"]
    return {
        "wallet_deposit": next(t["id"] for t in listed if t["payment_id"] == first_payment),
        "wallet_withdrawal": withdrawal.json()["id"],
        "credits_purchase": purchase.json()["id"],
    }


async def reviewed_and_approved(settings: Settings, api: httpx.AsyncClient) -> str:
    """A payment a review rule holds under review, approved by an operator (and captured).
    The rule names only this payment's customer, and is taken back afterwards."""
    customer_id, method_id = await card_customer(api, settings.stripe_api_base, CARD_OK)
    async with httpx.AsyncClient(
        base_url=settings.api_base_url,
        headers={"Authorization": f"Bearer {DEV_ADMIN_KEY}"},
        timeout=30,
    ) as admin:
        before = (await admin.get("/v1/admin/risk/rules")).json()
        await admin.put(
            "/v1/admin/risk/rules",
            json={"rules": [{"action": "review", "when": {"customer_id": customer_id}}]},
        )
        payment = (await pay(api, customer_id, method_id, key=str(uuid.uuid4()))).json()
        await admin.put("/v1/admin/risk/rules", json=before)
        await admin.post(f"/v1/admin/reviews/{payment['id']}/approve")
    payment_id: str = payment["id"]
    return payment_id


if __name__ == "__main__":
    dev = Settings(environment=Environment.DEV)
    asyncio.run(record_encrypted(dev) if "--encrypted" in sys.argv else record(dev))
