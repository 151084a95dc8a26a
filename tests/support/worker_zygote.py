"""Durapay's worker, forked on demand from a process that has already imported it.

A cold ``python -m worker`` spends many CPU seconds importing before it polls; a chaos test that
kills the worker again and again cannot pay that per restart within its time budget. This process
imports everything once, with no thread or connection yet, then answers each ``start`` line on
stdin by forking a child that connects to Temporal and runs the worker exactly as
``python -m worker`` does, and writes the child's pid on stdout. Every child is a new process
that never polled and knows only what Temporal recorded; the test kills it by pid. Children are
reaped by the kernel (SIGCHLD ignored), so a killed one leaves no zombie.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading

import worker
from documents.render import load_pdf_engine
from settings import get_settings

load_pdf_engine()
"""WeasyPrint too (two CPU seconds), which the worker otherwise loads at start: each forked
worker then polls as soon as it connects."""


def _run_child() -> None:
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, sys.stdin.fileno())
    os.dup2(devnull, sys.stdout.fileno())
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    current = get_settings()
    logging.basicConfig(
        level=current.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    asyncio.run(worker.run_worker(current))


if __name__ == "__main__":
    if threading.active_count() != 1:
        raise SystemExit("a thread started while importing: forking would be unsafe")
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    for line in sys.stdin:
        if line.strip() != "start":
            continue
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                _run_child()
                code = 0
            finally:
                os._exit(code)
        sys.stdout.write(f"{pid}\n")
        sys.stdout.flush()
