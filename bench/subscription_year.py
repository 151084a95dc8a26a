"""How many subscriptions Temporal's time-skipping server takes through a simulated year, per
minute of wall time, with the real worker, real localstripe and a real SQLite database.

    uv run python -m bench.subscription_year --subscriptions 20

Every customer and card is created through the API (in process); each subscription is on Pro
monthly with no trial, so the
year bills 13 invoices each (the first at once, then twelve renewals). Server time advances a day
at a time (one long skip across renewals stalls the test server). It prints the wall time, the
subscription-years per minute, the invoices per second, and the events of one billing-cycle run
(a completed run that continued as new), which is what keeps a subscription's history bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from contracts.search_attributes import SEARCH_ATTRIBUTES
from contracts.subscriptions import PlanInterval, PlanTerms, SubscriptionInput
from db.migrate import upgrade_to_head
from db.repositories import invoices as invoices_repo
from db.session import create_engine, create_session_factory
from services.payload_codec import data_converter
from services.terms import billing_terms
from settings import Environment, Settings
from tests.support.in_process_api import in_process_api
from tests.support.localstripe import create_card_payment_method, running_localstripe
from tests.support.paths import TEMPORAL_TEST_SERVER
from worker import build_worker
from workflows.subscription import SubscriptionWorkflow

DAYS = 365
PRO_MONTHLY = PlanTerms("pro_monthly", "Pro (monthly)", 2900, "USD", PlanInterval.MONTH)


async def _subscribe(
    api: httpx.AsyncClient, env: WorkflowEnvironment, settings: Settings, index: int
) -> str:
    """A customer and card through the API, then the workflow started the way the API starts it
    but with a plain start: the time-skipping server stalls its clock after an update-with-start
    (``POST /v1/subscriptions``), which the real server does not."""
    email = f"bench{index}@example.com"
    customer = await api.post("/v1/customers", json={"email": email})
    customer_id: str = customer.json()["id"]
    token = await asyncio.to_thread(
        create_card_payment_method, settings.stripe_api_base, "4242424242424242"
    )
    method = await api.post(
        f"/v1/customers/{customer_id}/payment-methods",
        json={"provider": "stripe", "token": token},
    )
    subscription_id = f"sub_bench{uuid.uuid4().hex[:12]}"
    await env.client.start_workflow(
        SubscriptionWorkflow.run,
        SubscriptionInput(
            subscription_id=subscription_id,
            account_id="acct_dev",
            customer_id=customer_id,
            plan=PRO_MONTHLY,
            trial_days=0,
            billing=billing_terms(settings, PRO_MONTHLY.id, subscription_id),
            created_at=await env.get_current_time(),
            payment_method_id=method.json()["id"],
        ),
        id=subscription_id,
        task_queue=settings.task_queue,
    )
    return subscription_id


async def _cycle_run_events(client: Client, subscription_id: str) -> int:
    """Events in the run before the current one: one complete billing cycle."""
    current = await client.get_workflow_handle(subscription_id).fetch_history()
    started = current.events[0].workflow_execution_started_event_attributes
    previous = client.get_workflow_handle(
        subscription_id, run_id=started.continued_execution_run_id
    )
    return len((await previous.fetch_history()).events)


async def _register_search_attributes(client: Client) -> None:
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=client.namespace,
            search_attributes={
                key.name: IndexedValueType.ValueType(key.indexed_value_type)
                for key in SEARCH_ATTRIBUTES
            },
        )
    )


async def run(subscriptions: int, data_dir: Path) -> None:
    with running_localstripe() as stripe_url:
        settings = Settings.model_validate(
            {
                "environment": Environment.TEST,
                "data_dir": data_dir,
                "database_url": f"sqlite+aiosqlite:///{data_dir / 'bench.db'}",
                "task_queue": f"bench-{uuid.uuid4().hex[:8]}",
                "stripe_api_base": stripe_url,
                # Longer than the year: see tests/support/subscriptions.py on abandoned children.
                "refund_window": timedelta(days=400),
            }
        )
        await upgrade_to_head(settings.database_url)
        engine = create_engine(settings.database_url)
        sessions = create_session_factory(engine)
        env = await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=str(TEMPORAL_TEST_SERVER),
            data_converter=data_converter(settings),
        )
        try:
            await _register_search_attributes(env.client)
            async with (
                in_process_api(settings, env.client) as api,
                build_worker(env.client, settings, sessions),
            ):
                ids = [await _subscribe(api, env, settings, i) for i in range(subscriptions)]
                started = time.monotonic()
                for _ in range(DAYS):
                    await env.sleep(timedelta(days=1))
                wall = time.monotonic() - started
                async with sessions() as session:
                    counts = [
                        len(
                            (
                                await invoices_repo.list_invoices(
                                    session, account_id="acct_dev", subscription_id=sid, limit=100
                                )
                            )[0]
                        )
                        for sid in ids
                    ]
                events = [await _cycle_run_events(env.client, sid) for sid in ids[:5]]
        finally:
            await env.shutdown()
            await engine.dispose()
    invoices = sum(counts)
    print(f"subscriptions                 {subscriptions}")
    print(f"simulated days                {DAYS}")
    print(f"invoices billed               {invoices} (min {min(counts)}, max {max(counts)})")
    print(f"wall time for the year        {wall:.1f} s")
    print(f"subscription-years per minute {subscriptions * 60 / wall:.1f}")
    print(f"invoices per second           {invoices / wall:.1f}")
    print(
        f"events per billing-cycle run  {statistics.median(events):.0f} (median of {len(events)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=20)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="durapay-bench-") as data_dir:
        asyncio.run(run(arguments.subscriptions, Path(data_dir)))


if __name__ == "__main__":
    main()
