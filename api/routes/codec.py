"""The codec server (Temporal's protocol) for the Web UI and ``temporal … --codec-endpoint``:
decrypted payloads for operators (admin keys) only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials

from api.deps import RuntimeDep, authenticated, bearer, require_admin
from api.problems import problems
from api.schemas.codec import CodecPayloads
from services import codec_server, errors

router = APIRouter(prefix="/codec", tags=["codec"])


async def operator(
    request: Request,
    runtime: RuntimeDep,
    after_answer: BackgroundTasks,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    """An admin key; or, where ``DURAPAY_CODEC_TRUST_UI_ORIGIN`` is on (dev only, refused in
    production), a keyless request from the dev Web UI, whose browser has no key to send."""
    settings = runtime.settings
    if (
        credentials is None
        and settings.codec_trust_ui_origin
        and request.headers.get("origin") in settings.codec_cors_origins
    ):
        return
    await require_admin(await authenticated(request, runtime, after_answer, credentials))


OperatorDep = Annotated[None, Depends(operator)]
CODEC_PROBLEMS = (
    errors.Unauthorized,
    errors.Forbidden,
    errors.DatabaseUnavailable,
    errors.ServiceUnavailable,
)
NamespaceHeader = Annotated[
    str | None,
    Header(
        alias="X-Namespace",
        description="The Temporal namespace the payloads come from (sent by the Web UI).",
    ),
]


@router.post("/decode", responses=problems(*CODEC_PROBLEMS, errors.BadRequest))
async def decode(
    body: CodecPayloads,
    runtime: RuntimeDep,
    _operator: OperatorDep,
    _namespace: NamespaceHeader = None,
) -> CodecPayloads:
    """Payloads decrypted (those not encrypted come back as they are); 400 ``bad_request`` when
    one was encrypted under a key id this deployment does not hold, or was altered."""
    decoded = await codec_server.decode(runtime, body.model_dump())
    return CodecPayloads.model_validate(decoded)


@router.post("/encode", responses=problems(*CODEC_PROBLEMS))
async def encode(
    body: CodecPayloads,
    runtime: RuntimeDep,
    _operator: OperatorDep,
    _namespace: NamespaceHeader = None,
) -> CodecPayloads:
    """Payloads encrypted under the current key id (``DURAPAY_PAYLOAD_KEY_ID``)."""
    encoded = await codec_server.encode(runtime, body.model_dump())
    return CodecPayloads.model_validate(encoded)
