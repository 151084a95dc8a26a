"""CORS for the codec server only: the Temporal Web UI's browser calls ``/codec/*`` from the
UI's own origin. Every other route stays same-origin, as a payment API should."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

CODEC_PREFIX = "/codec/"


class CodecCorsMiddleware:
    """Starlette's ``CORSMiddleware`` for paths under ``/codec/``, nothing for the rest.

    Credentials are allowed: a UI configured with ``includeCredentials`` sends the cookies or
    HTTP authentication of a proxy in front of this API (README "Production deployment")."""

    def __init__(self, app: ASGIApp, origins: Sequence[str]) -> None:
        self._app = app
        self._cors = CORSMiddleware(
            app,
            allow_origins=list(origins),
            allow_methods=["POST"],
            allow_headers=["Authorization", "Content-Type", "X-Namespace"],
            allow_credentials=True,
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(CODEC_PREFIX):
            await self._cors(scope, receive, send)
        else:
            await self._app(scope, receive, send)
