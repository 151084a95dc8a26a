"""Shapes every resource's models share: strict requests, pages, amounts, metadata.

Amounts are ``StrictInt``: ``49.99`` or ``"4999"`` is a validation error, never a rounding.

The public API shape (api-contract.md), kept apart from the contracts so the wire format can
evolve without touching running workflows.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt

from money import ISO_4217, MAX_AMOUNT

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


Metadata = Annotated[
    dict[Annotated[str, Field(max_length=40)], Annotated[str, Field(max_length=500)]],
    Field(max_length=50),
]


Amount = Annotated[StrictInt, Field(gt=0, le=MAX_AMOUNT)]


def _iso_currency(value: str) -> str:
    """``usd`` is USD: clients may write codes in either case; an unknown code is a 422."""
    code = value.upper()
    if code not in ISO_4217:
        raise ValueError("must be an ISO 4217 currency code")
    return code


Currency = Annotated[str, Field(min_length=3, max_length=3), AfterValidator(_iso_currency)]


ProviderLiteral = Literal["stripe", "paypal"]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Response(BaseModel):
    """Read from what a service answered, by attribute (``Model.model_validate(obj)``), so a
    route never copies fields over one by one."""

    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    data: list[T]
    has_more: bool


def page_of(model: type[M], rows: Iterable[object], has_more: bool = False) -> Page[M]:
    """``Page[model]`` of the rows, each read from its attributes: the page's own class is the
    concrete ``Page[model]``, so FastAPI serializes every field of ``model``."""
    page: type[Page[M]] = Page[model]  # type: ignore[valid-type]
    return page(data=[model.model_validate(row) for row in rows], has_more=has_more)


ResourceId = Annotated[str, Field(min_length=1, max_length=64)]


Description = Annotated[str, Field(max_length=500)]
"""A merchant's own words about a resource: free text, shown back as it was sent."""
