"""Connecting to Temporal as the settings say: the local dev server in plain text, or a cluster
elsewhere (Temporal Cloud, a self-hosted cluster behind TLS) with TLS, mTLS and an API key.

The API and the worker connect through ``connect_temporal`` alone, so both reach the same
cluster the same way and a TLS setting cannot be honoured by one and forgotten by the other.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from pathlib import Path
from typing import NoReturn

from temporalio.client import Client
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)
from temporalio.service import TLSConfig

from services.payload_codec import data_converter
from settings import Settings


def tls_config(settings: Settings) -> TLSConfig | bool:
    """``False`` for the plain dev server; otherwise the roots, client certificate and server name
    the settings name (the system's roots when none is given). An API key alone means TLS:
    Temporal Cloud refuses it in plain text, and sending it unencrypted would expose it."""
    files = (
        settings.temporal_tls_ca_cert,
        settings.temporal_tls_client_cert,
        settings.temporal_tls_client_key,
    )
    wanted = (
        settings.temporal_tls
        or settings.temporal_api_key is not None
        or settings.temporal_tls_server_name is not None
        or any(path is not None for path in files)
    )
    if not wanted:
        return False
    ca, cert, key = (_read(path) for path in files)
    return TLSConfig(
        server_root_ca_cert=ca,
        client_cert=cert,
        client_private_key=key,
        domain=settings.temporal_tls_server_name,
    )


@functools.cache
def core_runtime() -> Runtime:
    """The process's one SDK runtime, whose core (Rust) warnings, such as a connection being
    retried while the server is away, go through Python's logging under ``temporalio.core``:
    JSON lines like every other log (``services.logs``), not coloured text on stderr."""
    return Runtime(
        telemetry=TelemetryConfig(
            logging=LoggingConfig(
                filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
                forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
            )
        )
    )


async def connect_temporal(settings: Settings) -> Client:
    """A client of ``settings.temporal_namespace`` at ``settings.temporal_address``, encrypting
    every payload with the settings' keys (``services.payload_codec``)."""
    api_key = settings.temporal_api_key
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        api_key=api_key.get_secret_value() if api_key is not None else None,
        tls=tls_config(settings),
        data_converter=data_converter(settings),
        runtime=core_runtime(),
    )


def leave_process(code: int) -> NoReturn:
    """End a process that has connected to Temporal with ``code``, skipping Python's interpreter
    teardown: the SDK core's Tokio threads outlive the event loop and can call into Python while
    it finalizes, which aborts the process with "Fatal Python error: PyGILState_Release"
    (temporalio/sdk-python#300, open; the SDK has no way to stop them). Here it ended a stopped
    worker's log with that line and made the health check die of SIGABRT instead of answering 1.
    Callers have finished their work, so only the logs and standard streams are left to flush."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _read(path: Path | None) -> bytes | None:
    return path.read_bytes() if path is not None else None
