"""Service processes for tests: started, probed until they answer, always stopped."""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 30.0


@contextmanager
def running_process(
    name: str,
    command: Sequence[str],
    probe: Callable[[], object],
    env: Mapping[str, str] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` from the repository root until the block ends; yields the process.

    ``probe`` is called until it stops raising ``httpx.TransportError``; if the process dies first,
    the error shows the end of its stderr, so a broken start is explained rather than timed out.
    """
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            list(command), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log, env=env
        )
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while True:
                if process.poll() is not None:
                    log.seek(0)
                    output = log.read().decode(errors="replace")[-2000:]
                    raise RuntimeError(f"{name} exited with {process.returncode}:\n{output}")
                try:
                    probe()
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise TimeoutError(
                            f"{name} did not answer within {STARTUP_TIMEOUT}s"
                        ) from None
                    time.sleep(0.05)
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
