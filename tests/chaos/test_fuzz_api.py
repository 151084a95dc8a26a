"""Schemathesis against ``/openapi.json`` with the dev keys: whatever a client sends, the API never
answers 500, every error it gives is RFC 9457 problem+json with the fields the contract names, and
every answer is one the schema documents: its status, its content type, and a body matching that
status's schema (for a problem, one of the codes the schema lists for the status).

Random IDs only ever reach the 404 of each route, so two cases in three name real objects
instead (a customer with a saved card, a captured and an authorized payment, a subscription and
its invoice), which takes the fuzz through the workflows' updates and the provider calls.

The API under fuzz runs with its own worker, database and task queue on an event loop in a thread of
its own: schemathesis drives a synchronous test, which holds the session loop (and with it the
session stack's API and worker) while it runs. ``DURAPAY_FUZZ_EXAMPLES`` raises the examples per
operation (``make chaos``); the default keeps the module well under a minute in ``make test``.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from schemathesis import Case, CheckContext, Response
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from temporalio.client import Client

from api.main import create_app
from db.migrate import upgrade_to_head
from db.session import create_engine, create_session_factory
from settings import DEV_ADMIN_KEY, DEV_CLIENT_KEY, Environment, Settings
from tests.support.codec import TEST_CONVERTER
from tests.support.flows import CARD_OK, new_key
from tests.support.localstripe import create_card_payment_method
from tests.support.stack import Stack, make_settings
from worker import build_worker

FUZZ_EXAMPLES = int(os.environ.get("DURAPAY_FUZZ_EXAMPLES", "12"))
PROBLEM_FIELDS = {"type", "title", "status", "detail", "code"}
REAL_ID_FIELDS = ("customer_id", "payment_method_id", "method_id", "plan_id", "subscription_id")
"""Path parameters and body fields that take a real object's ID when a case asks for one."""


class ThreadedDurapay:
    """The API and a worker served from their own thread and event loop, stopped by ``close``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.url = settings.api_base_url
        self._server: uvicorn.Server | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="fuzzed-api", daemon=True)

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(60) or self._failure is not None:
            raise RuntimeError("the fuzzed API did not start") from self._failure

    def close(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        self._thread.join(30)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:
            self._failure = exc
            self._ready.set()
            raise

    async def _serve(self) -> None:
        await upgrade_to_head(self.settings.database_url)
        client = await Client.connect(self.settings.temporal_address, data_converter=TEST_CONVERTER)
        engine = create_engine(self.settings.database_url)
        self._server = uvicorn.Server(
            uvicorn.Config(
                create_app(self.settings, client=client),
                host=self.settings.api_host,
                port=self.settings.api_port,
                log_level="warning",
                access_log=False,
            )
        )
        try:
            async with build_worker(client, self.settings, create_session_factory(engine)):
                serving = asyncio.create_task(self._server.serve())
                while not self._server.started:
                    if serving.done():
                        serving.result()
                    await asyncio.sleep(0.02)
                self._ready.set()
                await serving
        finally:
            await engine.dispose()


@pytest.fixture(scope="module")
def fuzzed(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedDurapay]:
    directory: Path = tmp_path_factory.mktemp("fuzz")
    durapay = ThreadedDurapay(
        make_settings(
            directory,
            stack.stripe_url,
            stack.settings.temporal_address,
            paypal_api_base=stack.settings.paypal_api_base,
            payment_settle_wait=3,
        )
    )
    durapay.start()
    try:
        yield durapay
    finally:
        durapay.close()


@pytest.fixture(scope="module")
def real_ids(fuzzed: ThreadedDurapay, stack: Stack) -> dict[str, dict[str, str]]:
    """IDs of real objects, by the payment a case names: ``captured`` or ``authorized``."""
    with httpx.Client(
        base_url=fuzzed.url, headers={"Authorization": f"Bearer {DEV_CLIENT_KEY}"}, timeout=30
    ) as api:

        def created(path: str, body: dict[str, Any], key: str | None = None) -> dict[str, Any]:
            headers = {"Idempotency-Key": key} if key else {}
            response = api.post(path, json=body, headers=headers)
            assert response.status_code == 201, response.text
            answer: dict[str, Any] = response.json()
            return answer

        customer = created("/v1/customers", {"email": "fuzz@example.com"})["id"]
        method = created(
            f"/v1/customers/{customer}/payment-methods",
            {"provider": "stripe", "token": create_card_payment_method(stack.stripe_url, CARD_OK)},
        )["id"]
        common = {"customer_id": customer, "payment_method_id": method}
        payment = {"amount": 4999, "currency": "usd", **common}
        captured = created("/v1/payments", payment, new_key())
        authorized = created("/v1/payments", {**payment, "capture_method": "manual"}, new_key())
        subscription = created(
            "/v1/subscriptions", {**common, "plan_id": "pro_monthly", "trial_days": 0}, new_key()
        )
    begun = (captured["status"], authorized["status"], subscription["status"])
    assert begun == ("succeeded", "requires_capture", "active"), begun
    base = {
        **common,
        "method_id": method,
        "plan_id": "team_monthly",
        "subscription_id": subscription["id"],
        "invoice_id": subscription["latest_invoice_id"],
    }
    return {
        "captured": {**base, "payment_id": captured["id"]},
        "authorized": {**base, "payment_id": authorized["id"]},
    }


def with_real_ids(case: Case[Any], ids: dict[str, str]) -> None:
    """Point the case's path parameters and top-level body fields at real objects."""
    for name in list(case.path_parameters or {}):
        if name in ids:
            case.path_parameters[name] = ids[name]
    if isinstance(case.body, dict):
        for name in REAL_ID_FIELDS:
            if name in case.body:
                case.body[name] = ids[name]


def problem_details(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """Every 4xx and 5xx is problem+json with the contract's fields (``status`` matching)."""
    if response.status_code < 400:
        return None
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.startswith("application/problem+json"), (
        f"{response.status_code} answered as {content_type!r}: {response.text[:200]}"
    )
    body = response.json()
    assert isinstance(body, dict), body
    assert body.keys() >= PROBLEM_FIELDS, f"missing {PROBLEM_FIELDS - body.keys()}: {body}"
    assert body["status"] == response.status_code, body
    return None


schema = schemathesis.openapi.from_dict(
    create_app(Settings(environment=Environment.TEST)).openapi()
)
"""The schema the app publishes at ``/openapi.json``, read without serving it: the same object."""


def call_and_validate(case: Case[Any], fuzzed: ThreadedDurapay) -> None:
    """Send the case with the key its route needs; every check must pass on the answer."""
    key = DEV_ADMIN_KEY if case.path.startswith("/v1/admin") else DEV_CLIENT_KEY
    case.call_and_validate(
        base_url=fuzzed.url,
        headers={"Authorization": f"Bearer {key}"},
        checks=[
            not_a_server_error,
            problem_details,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
        timeout=30,
    )


@settings(
    max_examples=FUZZ_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
    phases=[phase for phase in Phase if phase is not Phase.explicit],
)
@schema.parametrize()
@schema.given(target=st.sampled_from([None, "captured", "authorized"]))
def test_no_server_errors_and_every_answer_is_documented(
    case: Case[Any],
    target: str | None,
    fuzzed: ThreadedDurapay,
    real_ids: dict[str, dict[str, str]],
) -> None:
    if target is not None:
        with_real_ids(case, real_ids[target])
    call_and_validate(case, fuzzed)


@settings(
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit],
)
@schema.parametrize()
def test_the_schemas_examples_are_answered_as_documented(
    case: Case[Any], fuzzed: ThreadedDurapay, real_ids: dict[str, dict[str, str]]
) -> None:
    """The request examples ``/docs`` offers, sent as they are but for real objects' IDs."""
    with_real_ids(case, real_ids["captured"])
    call_and_validate(case, fuzzed)
