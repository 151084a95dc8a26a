"""Record workflow histories for the replay tests from a running dev stack (``make dev``).

Runs one payment per interesting path through the public API, then saves each workflow's history
to ``tests/histories/<name>.json``. Re-record only when the recorded behaviour itself is meant to
change; otherwise a failing replay test is telling you a change needs ``workflow.patched``.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from settings import DEV_ADMIN_KEY, DEV_CLIENT_KEY, Environment, Settings
from tests.support.flows import CARD_3DS, CARD_DECLINED, CARD_OK, card_customer, pay
from tests.support.localstripe import authenticate_3ds

OUT = Path(__file__).resolve().parents[1] / "histories"


async def record(settings: Settings) -> None:
    client = await Client.connect(settings.temporal_address)
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
                authenticate_3ds(
                    settings.stripe_api_base,
                    payment["provider_reference"],
                    payment["next_action"]["client_secret"],
                    success=True,
                )
                await asyncio.sleep(3)
        runs["review_approved"] = await reviewed_and_approved(settings, api)
    OUT.mkdir(exist_ok=True)
    for name, workflow_id in runs.items():
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        (OUT / f"{name}.json").write_text(history.to_json())


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
    asyncio.run(record(Settings(environment=Environment.DEV)))
