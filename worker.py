"""Builds and runs Durapay's Temporal worker: one task queue, every workflow, every activity.

Dependencies (provider clients, the database session factory) are built once here and injected
into activity classes, so tests can build the same worker against their own servers.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from activities.billing import BillingActivities
from activities.customer_mail import CustomerMail
from activities.ledger import LedgerActivities
from activities.notify import NotifyActivities, SmtpRelay
from activities.outbox import Outbox, OutboxSweeper
from activities.oversight import OversightActivities
from activities.payment_lookup import PaymentLookupActivities
from activities.payments import PaymentActivities
from activities.providers.base import Provider
from activities.providers.circuit import CircuitBreaker
from activities.providers.paypal import PayPalProvider
from activities.providers.paypal_search import PayPalTransactionSearch
from activities.providers.routing import RoutingActivities, RoutingRules
from activities.providers.stripe import StripeProvider
from activities.reconciliation import ReconciliationActivities
from activities.records import RecordActivities
from activities.risk import RiskActivities
from activities.subscription_refunds import SubscriptionRefundActivities
from activities.wallet_refunds import WalletRefundActivities
from activities.webhooks_out.delivery import WebhookDeliveryActivities
from activities.webhooks_out.dispatch import SweepActivities, ensure_sweep_schedule
from contracts.providers import ProviderName
from db.sealing import Sealer
from db.session import create_engine, create_session_factory
from documents.render import load_pdf_engine
from services import logs
from services.reconciliation import ensure_schedule
from services.temporal_connection import connect_temporal, leave_process
from settings import Settings, get_settings
from workflows.dunning import DunningWorkflow
from workflows.funding import FundingWorkflow
from workflows.payment import PaymentWorkflow
from workflows.payment_method import AttachPaymentMethodWorkflow
from workflows.reconciliation import ReconciliationWorkflow
from workflows.subscription import SubscriptionWorkflow
from workflows.webhook_delivery import WebhookDeliveryWorkflow, WebhookSweepWorkflow
from workflows.withdrawal import WithdrawalWorkflow

log = logging.getLogger("durapay.worker")


def build_providers(settings: Settings) -> dict[ProviderName, Provider]:
    return {
        ProviderName.STRIPE: StripeProvider(
            api_key=settings.stripe_api_key.get_secret_value(),
            api_base=settings.stripe_api_base,
            call_timeout=settings.provider_call_timeout,
        ),
        ProviderName.PAYPAL: PayPalProvider(
            client_id=settings.paypal_client_id,
            client_secret=settings.paypal_client_secret.get_secret_value(),
            api_base=settings.paypal_api_base,
            call_timeout=settings.provider_call_timeout,
        ),
    }


def paypal_search(settings: Settings) -> PayPalTransactionSearch:
    return PayPalTransactionSearch(
        client_id=settings.paypal_client_id,
        client_secret=settings.paypal_client_secret.get_secret_value(),
        api_base=settings.paypal_api_base,
        timeout=settings.provider_call_timeout,
    )


def reconciliation_activities(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> ReconciliationActivities:
    return ReconciliationActivities(
        sessions,
        StripeProvider(
            api_key=settings.stripe_api_key.get_secret_value(), api_base=settings.stripe_api_base
        ),
        paypal_search(settings),
    )


def smtp_relay(settings: Settings) -> SmtpRelay:
    return SmtpRelay(
        host=settings.smtp_host,
        port=settings.smtp_port,
        tls=settings.smtp_tls,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value(),
    )


WORKFLOW_RUNNER = UnsandboxedWorkflowRunner()
"""Durapay's worker runs its workflows outside Temporal's sandbox.

The sandbox re-imports a workflow's module for every run, and for every command and payload of
every workflow task it runs code through ``exec`` to step into and out of its isolated globals.
Passing the ``workflows`` package through removed the first cost (17 ms of 79 per payment in
November 2026); the second stayed: with the sandbox, the worker spent 45-52 ms of CPU per card
payment, without it 30-39 ms, and the benchmark's payments per second rose by a fifth to a half
(``bench.payments``, same run, December 2026). The worker's CPU was what capped Durapay's
throughput against bare Temporal (``bench/results/2026-12-02.md``).

What that gives up: in production, nothing stops a non-deterministic call (``datetime.now()``,
I/O, a random number) in workflow code at run time. The guard moves to the tests: every workflow
in ``WORKFLOWS`` loads under the default, strict sandbox (``tests/unit/test_workflow_sandbox.py``,
the check a sandboxed worker makes at start), and the workflow tier (``tests/workflows``) and the
replay tests over the committed histories run the workflows under it, so such a call fails a
test before it ships; the workflow modules hold constants only, so runs share no state."""


WORKFLOWS = (
    PaymentWorkflow,
    AttachPaymentMethodWorkflow,
    SubscriptionWorkflow,
    DunningWorkflow,
    WebhookDeliveryWorkflow,
    WebhookSweepWorkflow,
    FundingWorkflow,
    WithdrawalWorkflow,
    ReconciliationWorkflow,
)


def build_worker(
    client: Client,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    providers: Mapping[ProviderName, Provider] | None = None,
) -> Worker:
    """The worker with every workflow and activity Durapay runs."""
    load_pdf_engine()
    circuits = CircuitBreaker(
        sessions, settings.circuit_failure_threshold, settings.circuit_cool_down
    )
    provider_clients = providers or build_providers(settings)
    payments = PaymentActivities(provider_clients, circuits, sessions)
    lookups = PaymentLookupActivities(
        provider_clients, paypal_search(settings), settings.paypal_reporting_lag
    )
    routing = RoutingActivities(RoutingRules.from_settings(settings), circuits)
    customer_mail = CustomerMail(
        Outbox(sessions, smtp_relay(settings), settings.mail_from), settings.merchant_name
    )
    records = RecordActivities(sessions, customer_mail)
    billing = BillingActivities(sessions, customer_mail)
    notify = NotifyActivities(sessions, smtp_relay(settings), settings.mail_from)
    webhook_deliveries = WebhookDeliveryActivities(
        sessions,
        Sealer.from_base64(settings.webhook_sealing_key.get_secret_value()),
        public_addresses_only=settings.webhook_public_addresses_only,
    )
    ledger = LedgerActivities(sessions)
    reconciliation = reconciliation_activities(settings, sessions)
    oversight = OversightActivities(sessions)
    risk = RiskActivities(sessions)
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflow_runner=WORKFLOW_RUNNER,
        workflows=list(WORKFLOWS),
        activities=[
            payments.create_intent,
            payments.confirm_intent,
            payments.retrieve_intent,
            payments.capture_intent,
            payments.cancel_intent,
            payments.refund,
            payments.ensure_provider_customer,
            payments.attach_payment_method,
            lookups.find_lost_charge,
            routing.route_payment,
            records.record_payment_transition,
            records.record_provider_customer,
            records.record_payment_method,
            billing.open_invoice,
            billing.update_invoice,
            billing.record_subscription,
            billing.charge_target,
            billing.open_dunning_case,
            billing.close_dunning_case,
            notify.send_mail,
            oversight.raise_alert,
            oversight.record_audit,
            SubscriptionRefundActivities(client).refund_unused_time,
            webhook_deliveries.deliver_webhook,
            webhook_deliveries.disable_webhook_endpoint,
            SweepActivities(sessions).sweep_webhook_events,
            ledger.settle_funding,
            ledger.finish_withdrawal,
            WalletRefundActivities(client).refund_deposit,
            risk.assess_payment,
            risk.release_limit,
            reconciliation.open_run,
            reconciliation.list_provider_objects,
            reconciliation.compare,
            reconciliation.unmatched_events,
            reconciliation.mark_redelivered,
            reconciliation.close_run,
        ],
    )


async def run_worker(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM, then let in-flight tasks finish (Temporal retries the rest)."""
    client = await connect_temporal(settings)
    engine = create_engine(settings.database_url, queue_writers=True)
    sessions = create_session_factory(engine)
    worker = build_worker(client, settings, sessions)
    sweeper = OutboxSweeper(
        Outbox(sessions, smtp_relay(settings), settings.mail_from),
        sessions,
        interval=settings.outbox_sweep_interval,
        grace=settings.outbox_sweep_grace,
    )
    await ensure_sweep_schedule(client, settings.task_queue)
    created = await ensure_schedule(client, settings)
    log.info("reconciliation schedule %s", "created" if created else "up to date")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    log.info("worker polling task queue %s on %s", settings.task_queue, settings.temporal_address)
    async with worker:
        sweeping = asyncio.create_task(sweeper.run(stop))
        await stop.wait()
        await sweeping
    await engine.dispose()


def main() -> None:
    """Run the worker until it is stopped, then leave as every process holding a Temporal
    connection does (``leave_process``)."""
    current = get_settings()
    logs.configure(current.log_level)
    asyncio.run(run_worker(current))
    leave_process(0)


if __name__ == "__main__":
    main()
