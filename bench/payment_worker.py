"""The worker process of ``bench.payments``, kept apart from the load so that its CPU time and
memory can be measured on their own, as they would be in production.

    python -m bench.payment_worker bare      # BarePaymentWorkflow and its instant activity
    python -m bench.payment_worker instant   # Durapay's worker with the instant provider

Both read Durapay's ``DURAPAY_*`` settings (address, task queue, database) and run until SIGTERM.
The end-to-end case runs Durapay's own ``python -m worker`` instead.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from temporalio.worker import Worker

from bench.bare_payment import BarePaymentWorkflow, instant_step
from bench.instant_provider import InstantProvider
from contracts.providers import ProviderName
from db.session import create_engine, create_session_factory
from services.temporal_connection import connect_temporal
from settings import Settings
from worker import build_worker


async def run(kind: str, settings: Settings) -> None:
    client = await connect_temporal(settings)
    if kind == "bare":
        await _serve(
            Worker(
                client,
                task_queue=settings.task_queue,
                workflows=[BarePaymentWorkflow],
                activities=[instant_step],
            )
        )
        return
    engine = create_engine(settings.database_url, queue_writers=True)
    sessions = create_session_factory(engine)
    providers = {ProviderName.STRIPE: InstantProvider()}
    await _serve(build_worker(client, settings, sessions, providers=providers))
    await engine.dispose()


async def _serve(worker: Worker) -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with worker:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["bare", "instant"])
    asyncio.run(run(parser.parse_args().kind, Settings()))


if __name__ == "__main__":
    main()
