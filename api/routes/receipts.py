"""A succeeded payment's receipt: the page its ``receipt_url`` names, or the same as a PDF."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response

from api.deps import PrincipalDep, RuntimeDep
from api.problems import problems
from services import documents, errors

router = APIRouter(prefix="/v1/payments", tags=["payments"])


@router.get(
    "/{payment_id}/receipt",
    response_class=Response,
    responses={
        200: {
            "content": {"text/html": {}, "application/pdf": {}},
            "description": "The receipt: a page, or (``format=pdf``) a PDF",
        },
        **problems(errors.NotFound, errors.InvalidState),
    },
)
async def get_receipt(
    payment_id: str,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    format: Literal["html", "pdf"] = "html",
) -> Response:
    """Only a succeeded payment has a receipt (409 ``invalid_state`` otherwise)."""
    rendered = await documents.receipt_file(runtime, principal.account_id, payment_id, format)
    headers = (
        {"Content-Disposition": f'inline; filename="{rendered.filename}"'}
        if rendered.filename
        else {}
    )
    return Response(rendered.content, media_type=rendered.media_type, headers=headers)
