"""A merchant's webhook receiver on 127.0.0.1 for the tests: it keeps every request it gets and
answers each with the next scripted status code (200 once the script has run out)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    answered: int
    at: float
    """``time.monotonic()`` when the request arrived."""


@dataclass
class Receiver:
    url: str
    script: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    hold_first: bool = False
    """Keep the first request waiting for its answer until ``release()``: a delivery stays in
    flight for as long as a test needs (to kill the worker making it)."""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _released: threading.Event = field(default_factory=threading.Event)

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        with self._lock:
            code = self.script.pop(0) if self.script else 200
            self.received.append(
                Received(headers=headers, body=body, answered=code, at=time.monotonic())
            )
            first = len(self.received) == 1
        if first and self.hold_first:
            self._released.wait(timeout=60)
        return code

    def release(self) -> None:
        self._released.set()

    async def of_event(self, event_id: str) -> list[Received]:
        """The requests that delivered ``event_id`` (other tests' events may arrive too); a
        coroutine, to be polled by ``tests.support.polling.eventually``."""
        with self._lock:
            return [r for r in self.received if r.headers.get("webhook-id") == event_id]


@contextmanager
def running_receiver(
    script: list[int] | None = None, *, hold_first: bool = False
) -> Iterator[Receiver]:
    receiver_box: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {name.lower(): value for name, value in self.headers.items()}
            code = receiver_box[0].answer(headers, body)
            self.send_response(code)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = Receiver(
        url=f"http://127.0.0.1:{server.server_address[1]}/hooks",
        script=script or [],
        hold_first=hold_first,
    )
    receiver_box.append(receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
