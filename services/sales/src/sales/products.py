"""The price list: products, their current price and VAT rate, and every price each had."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_kit import errors
from crm_kit.auth import User
from crm_kit.http import PageParams
from crm_kit.queries import fetch_page
from crm_kit.text import fold

from .catalogue_schemas import ProductCreate, ProductUpdate
from .common import escape_like, utc_now, where_given
from .models import Product, ProductPrice
from .product_groups import group_for_product


async def create_product(session: AsyncSession, body: ProductCreate, user: User) -> Product:
    if await session.get(Product, body.code) is not None:
        raise errors.Conflict(
            f"product {body.code} already exists", code="product.exists", params={"product": body.code}
        )
    now = utc_now()
    product = Product(
        code=body.code,
        name=body.name,
        search_text=fold(f"{body.code} {body.name}"),
        product_group=await group_for_product(session, body.product_group),
        unit=body.unit,
        unit_price=body.unit_price,
        vat_rate_pct=body.vat_rate_pct,
        active=body.active,
        created_at=now,
        updated_at=now,
    )
    session.add(product)
    await session.flush()
    _record_price(session, product, user.id)
    return product


async def update_product(session: AsyncSession, code: str, body: ProductUpdate, user: User) -> Product:
    product = await session.get(Product, code.strip().upper(), with_for_update=True)
    if product is None:
        raise errors.NotFound("product", code)
    changes = body.model_dump(exclude_unset=True)
    if "product_group" in changes and changes["product_group"] != product.product_group:
        changes["product_group"] = await group_for_product(session, changes["product_group"])
    repriced = any(
        name in changes and changes[name] != getattr(product, name) for name in ("unit_price", "vat_rate_pct")
    )
    for name, value in changes.items():
        setattr(product, name, value)
    product.search_text = fold(f"{product.code} {product.name}")
    product.updated_at = utc_now()
    if repriced:
        # Quotes copied the price they were made with; the list keeps every price it had.
        _record_price(session, product, user.id)
    return product


def _record_price(session: AsyncSession, product: Product, set_by: uuid.UUID) -> None:
    """The product's price (and VAT rate) from its last change on, in the price history."""
    session.add(
        ProductPrice(
            product_code=product.code,
            unit_price=product.unit_price,
            vat_rate_pct=product.vat_rate_pct,
            valid_from=product.updated_at,
            set_by=set_by,
        )
    )


async def get_product(session: AsyncSession, code: str) -> Product:
    product = await session.get(Product, code.strip().upper())
    if product is None:
        raise errors.NotFound("product", code)
    return product


async def list_products(
    session: AsyncSession,
    page: PageParams,
    *,
    group: str | None = None,
    q: str | None = None,
    active: bool | None = None,
) -> tuple[list[Product], int]:
    stmt = where_given(select(Product), (Product.product_group, group))
    if active is not None:
        stmt = stmt.where(Product.active.is_(active))
    if q:
        stmt = stmt.where(Product.search_text.contains(escape_like(fold(q)), autoescape=False, escape="\\"))
    return await fetch_page(session, stmt, page, Product.code)


async def product_prices(
    session: AsyncSession, code: str, page: PageParams
) -> tuple[list[ProductPrice], int]:
    product = await get_product(session, code)
    stmt = select(ProductPrice).where(ProductPrice.product_code == product.code)
    return await fetch_page(session, stmt, page, ProductPrice.valid_from.desc(), ProductPrice.id.desc())
