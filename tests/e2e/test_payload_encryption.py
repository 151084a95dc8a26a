"""What Temporal holds of a payment and of a saved card, read as anyone with access to Temporal
reads it (the ``temporal`` CLI, no codec): every payload ``binary/encrypted``, and the customer's
email and name, the card token and Stripe's client secret nowhere, neither in the histories nor
in ``describe`` (search attributes, memo, summary). Decrypted, the payloads still hold no email,
name or client secret: IDs and amounts only."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import uuid
from typing import Any

import httpx
from temporalio.api.common.v1 import Payload

from settings import DEV_ADMIN_KEY
from tests.support.codec import ENCRYPTED, TEST_CONVERTER, payloads_in, unencrypted
from tests.support.flows import CARD_3DS, pay, wait_for_status
from tests.support.localstripe import authenticate_3ds, create_card_payment_method
from tests.support.paths import TEMPORAL_CLI
from tests.support.stack import Stack


async def temporal_json(stack: Stack, *command: str) -> Any:
    """``temporal workflow <command> --output json`` against the stack's server (no codec unless
    ``command`` names one), in a thread: the API it may call serves on this event loop."""
    shown = await asyncio.to_thread(
        subprocess.run,
        [
            str(TEMPORAL_CLI),
            "workflow",
            *command,
            "--address",
            stack.settings.temporal_address,
            "--namespace",
            stack.settings.temporal_namespace,
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)


async def decrypted_text(document: Any) -> str:
    """Every payload of ``document`` decrypted with the dev key, as an operator would read it."""
    codec = TEST_CONVERTER.payload_codec
    assert codec is not None
    sealed = [
        Payload(
            metadata={k: base64.b64decode(v) for k, v in payload["metadata"].items()},
            data=base64.b64decode(payload.get("data", "")),
        )
        for _, payload in payloads_in(document)
    ]
    return "\n".join(payload.data.decode() for payload in await codec.decode(sealed))


async def test_temporal_holds_only_ciphertext_and_no_personal_data(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    tag = uuid.uuid4().hex[:10]
    email, name = f"pii-{tag}@example.com", f"Grace Hopper {tag}"
    customer = await api.post("/v1/customers", json={"email": email, "name": name})
    assert customer.status_code == 201, customer.text
    customer_id = customer.json()["id"]
    token = create_card_payment_method(stack.stripe_url, CARD_3DS)
    saved = await api.post(
        f"/v1/customers/{customer_id}/payment-methods", json={"provider": "stripe", "token": token}
    )
    assert saved.status_code == 201, saved.text
    method_id = saved.json()["id"]
    paid = await pay(api, customer_id, method_id)
    assert paid.status_code == 201, paid.text
    payment = paid.json()
    assert payment["status"] == "requires_action"
    client_secret = payment["next_action"]["client_secret"]
    assert client_secret.startswith(payment["provider_reference"]), "the API read it from Stripe"
    authenticate_3ds(stack.stripe_url, payment["provider_reference"], client_secret, success=True)
    await wait_for_status(api, payment["id"], "succeeded")

    secrets = [email, name, client_secret, token]
    save_card = f"attach_{method_id}"
    for workflow_id in (payment["id"], save_card):
        history = await temporal_json(stack, "show", "--workflow-id", workflow_id)
        described = await temporal_json(stack, "describe", "--workflow-id", workflow_id)
        assert len(list(payloads_in(history))) >= 4, f"{workflow_id}: too few payloads"
        assert unencrypted(history) == [], workflow_id
        assert unencrypted(described) == [], workflow_id
        text = json.dumps(history) + json.dumps(described)
        for secret in secrets:
            assert secret not in text, f"{secret!r} in {workflow_id}'s history or description"
        summary = described["executionConfig"]["userMetadata"]["summary"]
        assert base64.b64decode(summary["metadata"]["encoding"]).decode() == ENCRYPTED
        opened = await decrypted_text(history) + await decrypted_text(described)
        assert customer_id in opened, "decryption shows what the workflow holds"
        for personal in (email, name, client_secret):
            assert personal not in opened, f"{personal!r} in {workflow_id}, decrypted"

    # What the raw history hides, the codec server shows an operator: through the CLI...
    through_codec = await temporal_json(
        stack,
        "show",
        "--workflow-id",
        payment["id"],
        "--codec-endpoint",
        f"{stack.api_url}/codec",
        "--codec-auth",
        f"Bearer {DEV_ADMIN_KEY}",
    )
    assert len(unencrypted(through_codec)) == len(list(payloads_in(through_codec)))
    [opened_input] = through_codec["events"][0]["workflowExecutionStartedEventAttributes"]["input"][
        "payloads"
    ]
    assert json.loads(base64.b64decode(opened_input["data"]))["payment_id"] == payment["id"]
    # ...and to a browser's request, as the Web UI sends it.
    started = (await temporal_json(stack, "show", "--workflow-id", save_card))["events"][0]
    sealed = started["workflowExecutionStartedEventAttributes"]["input"]
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=30) as operator:
        decoded = await operator.post(
            "/codec/decode", json=sealed, headers={"Authorization": f"Bearer {DEV_ADMIN_KEY}"}
        )
    assert decoded.status_code == 200, decoded.text
    [attach_input] = [json.loads(base64.b64decode(p["data"])) for p in decoded.json()["payloads"]]
    assert attach_input["payment_method_id"] == method_id
    assert attach_input["customer_id"] == customer_id
    assert attach_input["token"] is None
