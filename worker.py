"""Builds and runs Durapay's Temporal worker: one task queue, every workflow, every activity.

Dependencies (provider clients, the database session factory) are built once here and injected
into activity classes, so tests can build the same worker against their own servers.
"""

from __future__ import annotations

import asyncio
import compileall
import logging
import signal
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.worker import Worker

import workflows
from activities.billing import BillingActivities
from activities.notify import NotifyActivities, SmtpRelay
from activities.oversight import OversightActivities
from activities.payments import PaymentActivities
from activities.providers.base import Provider
from activities.providers.circuit import CircuitBreaker
from activities.providers.paypal import PayPalProvider
from activities.providers.routing import RoutingActivities, RoutingRules
from activities.providers.stripe import StripeProvider
from activities.records import RecordActivities
from activities.subscription_refunds import SubscriptionRefundActivities
from contracts.providers import ProviderName
from db.session import create_engine, create_session_factory
from services import logs
from services.temporal_connection import connect_temporal
from settings import Settings, get_settings
from workflows.dunning import DunningWorkflow
from workflows.payment import PaymentWorkflow
from workflows.payment_method import AttachPaymentMethodWorkflow
from workflows.subscription import SubscriptionWorkflow

log = logging.getLogger("durapay.worker")


def build_providers(settings: Settings) -> dict[ProviderName, Provider]:
    return {
        ProviderName.STRIPE: StripeProvider(
            api_key=settings.stripe_api_key.get_secret_value(), api_base=settings.stripe_api_base
        ),
        ProviderName.PAYPAL: PayPalProvider(
            client_id=settings.paypal_client_id,
            client_secret=settings.paypal_client_secret.get_secret_value(),
            api_base=settings.paypal_api_base,
        ),
    }


def smtp_relay(settings: Settings) -> SmtpRelay:
    return SmtpRelay(
        host=settings.smtp_host,
        port=settings.smtp_port,
        tls=settings.smtp_tls,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value(),
    )


def compile_workflow_modules() -> None:
    """Write the bytecode of the workflow modules, once, before the worker starts workflows.

    Temporal's sandbox imports a workflow's module afresh for every workflow run it starts. With
    no bytecode on disk (``PYTHONDONTWRITEBYTECODE``, set on these machines and in our image)
    each of those imports compiled the module's source again: 11 % of the worker's CPU in the
    payments benchmark's profile. Python reads bytecode that exists even when told not to write
    any. A read-only checkout only loses the saving, so failing to write is not an error.
    ``compile_dir`` recurses, so subpackages (``workflows/policies/``) are covered too."""
    if not compileall.compile_dir(Path(workflows.__file__).parent, quiet=2):
        log.info("workflow bytecode not written; the sandbox compiles workflow modules per run")


def build_worker(
    client: Client,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    providers: Mapping[ProviderName, Provider] | None = None,
) -> Worker:
    """The worker with every workflow and activity Durapay runs."""
    compile_workflow_modules()
    circuits = CircuitBreaker(
        sessions, settings.circuit_failure_threshold, settings.circuit_cool_down
    )
    payments = PaymentActivities(providers or build_providers(settings), circuits)
    routing = RoutingActivities(RoutingRules.from_settings(settings), circuits)
    records = RecordActivities(sessions)
    billing = BillingActivities(sessions)
    notify = NotifyActivities(sessions, smtp_relay(settings), settings.mail_from)
    oversight = OversightActivities(sessions)
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[
            PaymentWorkflow,
            AttachPaymentMethodWorkflow,
            SubscriptionWorkflow,
            DunningWorkflow,
        ],
        activities=[
            payments.create_intent,
            payments.confirm_intent,
            payments.retrieve_intent,
            payments.capture_intent,
            payments.cancel_intent,
            payments.refund,
            payments.ensure_provider_customer,
            payments.attach_payment_method,
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
        ],
    )


async def run_worker(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM, then let in-flight tasks finish (Temporal retries the rest)."""
    client = await connect_temporal(settings)
    engine = create_engine(settings.database_url, queue_writers=True)
    worker = build_worker(client, settings, create_session_factory(engine))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    log.info("worker polling task queue %s on %s", settings.task_queue, settings.temporal_address)
    async with worker:
        await stop.wait()
    await engine.dispose()


if __name__ == "__main__":
    current = get_settings()
    logs.configure(current.log_level)
    asyncio.run(run_worker(current))
