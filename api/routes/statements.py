"""A customer's statement: JSON, or the same as a CSV or PDF file."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from api.deps import PrincipalDep, RuntimeDep
from api.problems import problems
from api.schemas.statements import StatementOut
from documents.statement import statement_csv
from services import errors, statements

router = APIRouter(prefix="/v1/customers", tags=["customers"])


def _utc(moment: datetime | None) -> datetime | None:
    """A moment without a zone (``2026-01-01``) is read as UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


@router.get(
    "/{customer_id}/statement",
    response_model=StatementOut,
    response_model_by_alias=True,
    responses={
        200: {"content": {"text/csv": {}, "application/pdf": {}}},
        **problems(errors.NotFound, errors.ValidationFailed),
    },
)
async def get_statement(
    customer_id: str,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    start: Annotated[datetime | None, Query(alias="from")] = None,
    end: Annotated[datetime | None, Query(alias="to")] = None,
    currency: Annotated[str | None, Query(min_length=3, max_length=7)] = None,
    format: Literal["json", "csv", "pdf"] = "json",
) -> StatementOut | Response:
    """Movements from ``from`` (inclusive; omitted: the first) to ``to`` (exclusive; omitted:
    now) with a running balance; earlier movements make the opening balance."""
    statement = await statements.customer_statement(
        runtime,
        principal.account_id,
        customer_id,
        start=_utc(start),
        end=_utc(end),
        currency=currency.upper() if currency else None,
    )
    name = f"statement-{customer_id}-{statement.currency}"
    if format == "csv":
        return Response(
            statement_csv(statement),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    if format == "pdf":
        return Response(
            await statements.statement_pdf_of(runtime, statement),
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="{name}.pdf"'},
        )
    return StatementOut.model_validate(statement)
