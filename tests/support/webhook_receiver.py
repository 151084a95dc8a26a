"""A merchant's webhook receiver on 127.0.0.1 for the tests: it keeps every request it gets and
answers each with the next scripted status code (200 once the script has run out)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    answered: int


@dataclass
class Receiver:
    url: str
    script: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        with self._lock:
            code = self.script.pop(0) if self.script else 200
            self.received.append(Received(headers=headers, body=body, answered=code))
            return code

    async def of_event(self, event_id: str) -> list[Received]:
        """The requests that delivered ``event_id`` (other tests' events may arrive too); a
        coroutine, to be polled by ``tests.support.polling.eventually``."""
        with self._lock:
            return [r for r in self.received if r.headers.get("webhook-id") == event_id]


@contextmanager
def running_receiver(script: list[int] | None = None) -> Iterator[Receiver]:
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
        url=f"http://127.0.0.1:{server.server_address[1]}/hooks", script=script or []
    )
    receiver_box.append(receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
