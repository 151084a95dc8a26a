"""How every Durapay process (the API under uvicorn, the worker, the dev stack launcher) writes its
logs: one JSON object per line on stderr, from our loggers and every library's alike.

Durapay's modules log through the standard ``logging`` module; structlog's ``ProcessorFormatter``
renders each record, a library's included, through one chain of processors. That chain is why
structlog: fields passed as ``extra`` become JSON keys, values bound to the request's context (its
request id) join every line written while it runs, and one processor scrubs email addresses from
every field of every line, a traceback's text included, whichever library wrote it.

Personal data is kept out at the source too: the loggers that print request URLs (Stripe's SDK
and httpx, whose INFO lines carried ``GET /v1/customers?email=…``; uvicorn's access log, which
writes the raw path and query) are held at WARNING, whatever the level asked for.
"""

from __future__ import annotations

import logging
import logging.config
import re
from collections.abc import Mapping
from typing import Any

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

URL_LOGGERS = ("stripe", "httpx", "httpcore", "uvicorn.access")
"""Loggers whose INFO and DEBUG lines carry request URLs, query strings or bodies."""

_EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+(?:@|%40)[\w-]+(?:\.[\w-]+)+", re.IGNORECASE)
REDACTED_EMAIL = "[email]"


def _scrub(value: object) -> object:
    if isinstance(value, str):
        return _EMAIL.sub(REDACTED_EMAIL, value)
    if isinstance(value, Mapping):
        return {key: _scrub(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(item) for item in value]
    return value


def redact_emails(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    """Replace anything shaped like an email address, plain or URL-encoded, in every field."""
    return {key: _scrub(value) for key, value in event_dict.items()}


def _drop_color_message(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    """uvicorn repeats its message with terminal colours as ``extra``; the JSON needs it once."""
    event_dict.pop("color_message", None)
    return event_dict


def configure(level: str, *, console: bool = False) -> None:
    """Send the process's logs to stderr: JSON lines, or plain text lines for a person at a
    terminal (``console``, the dev stack launcher). Replaces any handlers uvicorn installed, so
    its own lines are rendered the same way."""
    before: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.stdlib.ExtraAdder(),
        _drop_color_message,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Processor = (
        structlog.dev.ConsoleRenderer(colors=False)
        if console
        else structlog.processors.JSONRenderer()
    )
    formatter: dict[str, Any] = {
        "()": structlog.stdlib.ProcessorFormatter,
        "foreign_pre_chain": before,
        "processors": [
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact_emails,
            renderer,
        ],
    }
    logging.captureWarnings(True)  # Python's warnings, too, as log lines rather than raw text
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {"structured": formatter},
            "handlers": {
                "stderr": {"class": "logging.StreamHandler", "formatter": "structured"},
            },
            "root": {"handlers": ["stderr"], "level": level.upper()},
            "loggers": {
                # uvicorn's loggers come with handlers of their own: hand their lines to ours.
                **{
                    name: {"handlers": [], "propagate": True}
                    for name in ("uvicorn", "uvicorn.error")
                },
                **{
                    name: {"handlers": [], "propagate": True, "level": "WARNING"}
                    for name in URL_LOGGERS
                },
            },
        }
    )
