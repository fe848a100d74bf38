"""Request and response models of the catalogue: product groups, products and price
lists (the deals' models are in `schemas`). Requests forbid unknown fields."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from . import domain
from .schemas import AuditOut, Money, Request, Response, Text200, VatRate

_M = TypeVar("_M", bound=BaseModel)


# -- product groups --------------------------------------------------------------------


def _changes_something(body: _M) -> _M:
    """A partial update that sets at least one field, and none of them to null."""
    if not body.model_fields_set:
        raise PydanticCustomError("request.nothing_to_change", "nothing to change", {})
    for name in body.model_fields_set:
        if getattr(body, name) is None:
            raise PydanticCustomError("request.field_null", "{field} cannot be null", {"field": name})
    return body


def _one_line(value: str) -> str:
    return " ".join(value.split())


class ProductGroupCreate(Request):
    """A new group of the price list. `code` is kept as written (spaces collapsed) and
    never changes: products and order lines carry it. `name` defaults to it."""

    #: No `/`: the code is a path segment of `/api/product-groups/{code}`.
    code: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^/]+$", examples=["máy bơm"])]
    name: Annotated[str, Field(min_length=1, max_length=200, examples=["Máy bơm nước"])] | None = None

    @field_validator("code", "name")
    @classmethod
    def _collapsed(cls, value: str | None) -> str | None:
        return None if value is None else _one_line(value)


class ProductGroupUpdate(Request):
    """Rename a group, or retire it (no new products) and bring it back."""

    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    active: bool | None = None

    @field_validator("name")
    @classmethod
    def _collapsed(cls, value: str | None) -> str | None:
        return None if value is None else _one_line(value)

    @model_validator(mode="after")
    def _something(self) -> ProductGroupUpdate:
        return _changes_something(self)


class ProductGroupOut(Response):
    id: uuid.UUID
    code: str
    name: str
    active: bool
    created_at: datetime
    updated_at: datetime


# -- products ------------------------------------------------------------------------


#: The unit a product is sold in (đơn vị tính), as documents print it.
Unit = Annotated[str | None, Field(min_length=1, max_length=20, examples=["cái", "bộ", "m"])]


class ProductCreate(Request):
    code: Annotated[str, Field(min_length=1, max_length=40)]
    name: Text200
    product_group: Annotated[str, Field(min_length=1, max_length=100)]
    unit: Unit = None
    unit_price: Money
    vat_rate_pct: VatRate = 10
    active: bool = True

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        return domain.product_code(value)


class ProductUpdate(Request):
    name: Text200 | None = None
    product_group: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    unit: Unit = None
    unit_price: Money | None = None
    vat_rate_pct: VatRate | None = None
    active: bool | None = None

    @model_validator(mode="after")
    def _something(self) -> ProductUpdate:
        return _changes_something(self)


class ProductOut(Response):
    code: str
    name: str
    product_group: str
    unit: str | None = None
    unit_price: int
    vat_rate_pct: int
    currency: str = domain.CURRENCY
    active: bool
    created_at: datetime
    updated_at: datetime


class ProductPriceOut(Response):
    unit_price: int
    vat_rate_pct: int
    valid_from: datetime
    set_by: uuid.UUID | None


# -- price lists ---------------------------------------------------------------------

ProductCode = Annotated[str, Field(min_length=1, max_length=40)]


class PriceListItemIn(Request):
    product_code: ProductCode
    #: In dong, VAT excluded, like a product's list price.
    unit_price: Money

    @field_validator("product_code")
    @classmethod
    def _code(cls, value: str) -> str:
        return value.strip().upper()


class PriceListCreate(Request):
    """Exactly one of `channel_kind` and `grade`."""

    name: Text200
    channel_kind: domain.ChannelKind | None = None
    #: A grade of the customers service's fixed schemes, in any case: A, B, C, D, VIP, Tier I-III.
    grade: Annotated[str, Field(min_length=1, max_length=40)] | None = None
    valid_from: date
    #: The last day it applies; none: until it is ended.
    valid_to: date | None = None
    items: Annotated[list[PriceListItemIn], Field(min_length=1, max_length=2000)]

    @field_validator("grade")
    @classmethod
    def _grade(cls, value: str | None) -> str | None:
        return None if value is None else domain.canonical_grade(value)


class PriceListPatch(Request):
    """Only the fields sent change; `"valid_to": null` makes the list open-ended again."""

    name: Text200 | None = None
    valid_to: date | None = None
    #: Products added to the list, or whose price changes.
    items: Annotated[list[PriceListItemIn], Field(max_length=2000)] | None = None
    #: Products taken off the list.
    remove: Annotated[list[ProductCode], Field(max_length=2000)] | None = None

    @field_validator("remove")
    @classmethod
    def _codes(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else [code.strip().upper() for code in value]

    @model_validator(mode="after")
    def _something(self) -> PriceListPatch:
        if not self.model_fields_set:
            raise PydanticCustomError(
                "request.nothing_to_change", "nothing to change: give name, valid_to, items or remove", {}
            )
        for name in ("name", "items", "remove"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise PydanticCustomError("request.field_null", "{field} cannot be null", {"field": name})
        return self


class PriceListEnd(Request):
    #: The last day the list applies; defaults to today.
    valid_to: date | None = None


class PriceListItemOut(Response):
    product_code: str
    unit_price: int


class PriceListSummary(Response):
    id: uuid.UUID
    name: str
    channel_kind: domain.ChannelKind | None
    grade: str | None
    valid_from: date
    valid_to: date | None
    currency: str = domain.CURRENCY
    item_count: int
    created_by: uuid.UUID
    created_at: datetime
    updated_by: uuid.UUID | None
    updated_at: datetime

    @model_validator(mode="before")
    @classmethod
    def _count(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return data
        values = {name: getattr(data, name) for name in cls.model_fields if hasattr(data, name)}
        values["item_count"] = len(data.items)
        return values


class PriceListOut(PriceListSummary):
    items: list[PriceListItemOut]
    #: Who changed what, oldest first: `changes` has each field's [before, after] and, under
    #: `items`, each product's [old price, new price] (null: not on the list).
    history: list[AuditOut]
