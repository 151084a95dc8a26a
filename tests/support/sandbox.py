"""What the PayPal sandbox tests share: the SDK pointed at the sandbox, uvicorn in a thread, a
webhook receiver (also used by the end-to-end and chaos tests), request bodies and the buyer's
clicks."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import uvicorn
from paypalserversdk.configuration import Configuration  # type: ignore[import-untyped]
from paypalserversdk.http.auth.o_auth_2 import (  # type: ignore[import-untyped]
    ClientCredentialsAuthCredentials,
)
from paypalserversdk.paypal_serversdk_client import (  # type: ignore[import-untyped]
    PaypalServersdkClient,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

RETURN_URL = "https://shop.example/paypal/return"
CANCEL_URL = "https://shop.example/paypal/cancel"


def order_body(value: str = "10.00", intent: str = "CAPTURE", custom_id: str = "pay_1") -> Any:
    """An Orders v2 create body as Durapay sends it: a PayPal wallet with return/cancel URLs."""
    return {
        "intent": intent,
        "purchase_units": [
            {"amount": {"currency_code": "USD", "value": value}, "custom_id": custom_id}
        ],
        "payment_source": {
            "paypal": {"experience_context": {"return_url": RETURN_URL, "cancel_url": CANCEL_URL}}
        },
    }


def link(resource: Any, rel: str) -> str:
    """The href of the SDK model's HATEOAS link ``rel``."""
    hrefs = [item.href for item in resource.links if item.rel == rel]
    assert hrefs, f"no {rel} link"
    return str(hrefs[0])


def click(href: str, action: str) -> tuple[str, dict[str, list[str]]]:
    """The buyer's click on the approval page: the 303 target and its query parameters."""
    response = httpx.get(f"{href}&action={action}")
    assert response.status_code == 303
    location = response.headers["location"]
    parts = urlsplit(location)
    return f"{parts.scheme}://{parts.netloc}{parts.path}", parse_qs(parts.query)


WEBHOOK_ID = "WH-SANDBOX-TEST"


class SandboxConfiguration(Configuration):  # type: ignore[misc]
    """The SDK's configuration with the sandbox as its one base URL (OAuth token included)."""

    def __init__(self, base_url: str, **options: Any) -> None:
        self._base_url = base_url
        super().__init__(**options)

    def get_base_uri(self, server: Any = None) -> str:
        """Every controller asks this for its base; PayPal's hosts are never used."""
        return self._base_url


def sdk_client(base_url: str, client_id: str, client_secret: str) -> Any:
    """A real ``PaypalServersdkClient`` talking to ``base_url``."""
    credentials = ClientCredentialsAuthCredentials(
        o_auth_client_id=client_id, o_auth_client_secret=client_secret
    )
    configuration = SandboxConfiguration(
        base_url, client_credentials_auth_credentials=credentials, timeout=10
    )
    return PaypalServersdkClient(config=configuration)


@contextmanager
def serving(app: Starlette, port: int) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread until the block ends."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start on port {port}")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass(frozen=True)
class Delivery:
    """One webhook POST as the receiver got it: raw body bytes, as a verifier needs them."""

    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        """The decoded event envelope."""
        event: dict[str, Any] = json.loads(self.body)
        return event


class Receiver:
    """A local webhook endpoint that records every delivery and lets tests wait for one."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self._changed = threading.Condition()
        self.app = Starlette(routes=[Route("/", self._receive, methods=["POST"])])

    async def _receive(self, request: Request) -> Response:
        delivery = Delivery(dict(request.headers), await request.body())
        with self._changed:
            self.deliveries.append(delivery)
            self._changed.notify_all()
        return Response(status_code=200)

    def wait_for(
        self, event_type: str, matches: Callable[[dict[str, Any]], bool], timeout: float = 10
    ) -> Delivery:
        """The first delivery of ``event_type`` whose resource ``matches``; fails on timeout."""

        def find() -> Delivery | None:
            for delivery in self.deliveries:
                event = delivery.event
                if event["event_type"] == event_type and matches(event["resource"]):
                    return delivery
            return None

        with self._changed:
            self._changed.wait_for(lambda: find() is not None, timeout=timeout)
            found = find()
        assert found is not None, f"no {event_type} delivery within {timeout}s"
        return found
