"""A webhook delivery refused for its signature leaves a trace: a count per provider in
``durapay_webhook_invalid_signatures_total`` and one ``invalid_webhook_signature`` alert per
provider and window, for the admins of ``DURAPAY_ALERTS_ACCOUNT_ID`` (webhook endpoints belong to
the deployment, not to one account).

A storm of forgeries costs one alert write per window and process, not one per delivery: the
window of the last alert raised is remembered here, and the alerts table's own uniqueness (one
per cause and window) keeps several processes to one alert.
"""

from __future__ import annotations

import logging
import time
from typing import NoReturn
from weakref import WeakKeyDictionary

from sqlalchemy import exc as sa_exc

from contracts.alerts import AlertKind, AlertRequest, AlertSeverity
from services import alerts, errors
from services.database import Database
from services.runtime import Runtime

log = logging.getLogger("durapay.webhooks")

ALERT_WINDOW_SECONDS = 3600
_alerted_windows: WeakKeyDictionary[Database, dict[tuple[str, str], int]] = WeakKeyDictionary()
"""Per database (several apps share a process in tests): (account, provider) → the window an
alert was last raised in by this process."""


async def refuse(runtime: Runtime, provider: str, detail: str) -> NoReturn:
    """Count the refusal, raise the window's alert unless this process already did, and answer
    400 ``invalid_signature``."""
    runtime.metrics.invalid_webhook_signatures.labels(provider).inc()
    account_id = runtime.settings.alerts_account_id
    window = int(time.time()) // ALERT_WINDOW_SECONDS
    alerted = _alerted_windows.setdefault(runtime.database, {})
    if alerted.get((account_id, provider)) != window:
        try:
            await alerts.raise_alert(
                runtime.database,
                AlertRequest(
                    account_id=account_id,
                    kind=AlertKind.INVALID_WEBHOOK_SIGNATURE,
                    severity=AlertSeverity.HIGH,
                    cause=provider,
                    detail=f"{provider} webhook deliveries refused for their signature",
                    window_seconds=ALERT_WINDOW_SECONDS,
                ),
            )
            alerted[account_id, provider] = window
        except (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError) as error:
            log.warning("invalid-signature alert not raised: %s", type(error).__name__)
    raise errors.InvalidSignature(detail)
