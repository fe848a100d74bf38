"""The company profile: the seller every invoice, e-invoice and (through sales' copy)
quote and order names. An admin sets it; each change is announced as
`CompanyProfileUpdated` with the whole profile, logo included."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_kit import errors, outbox
from crm_kit.auth import User
from crm_kit.documents import seller

from .schemas import CompanyProfileIn, CompanyProfileOut


def shape(row: sa.Row[Any]) -> CompanyProfileOut:
    return CompanyProfileOut(
        name=row.name,
        address=row.address,
        tax_code=row.tax_code,
        phone=row.phone,
        bank_account=row.bank_account,
        has_logo=row.logo_png is not None,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


async def get(session: AsyncSession) -> sa.Row[Any]:
    row = await seller.load(session)
    if row is None:
        raise errors.NotFound("company profile", "", message="no company profile yet: an admin sets it")
    return row


async def _save(session: AsyncSession, values: dict[str, Any], user: User) -> sa.Row[Any]:
    row = await seller.store(session, {**values, "updated_at": datetime.now(UTC), "updated_by": user.id})
    await outbox.emit(session, seller.event(row), actor=user.id)
    return row


async def put(session: AsyncSession, body: CompanyProfileIn, user: User) -> sa.Row[Any]:
    """Set the profile's fields; a logo set before stays."""
    current = await seller.load(session)
    logo = current.logo_png if current is not None else None
    return await _save(session, {**body.model_dump(), "logo_png": logo}, user)


async def put_logo(session: AsyncSession, data: bytes, user: User) -> sa.Row[Any]:
    """Replace the logo (a PNG, at most `seller.MAX_LOGO_BYTES`); the profile must exist."""
    try:
        logo = seller.check_logo(data)
    except ValueError as refused:
        params = {"size": len(data), "max_size": seller.MAX_LOGO_BYTES}
        if len(data) > seller.MAX_LOGO_BYTES:
            raise errors.TooLarge(str(refused), code="company.logo_too_large", params=params) from None
        code = "company.logo_empty" if not data else "company.logo_not_png"
        raise errors.Invalid(str(refused), code=code, params=params) from None
    current = await seller.load(session)
    if current is None:
        raise errors.Invalid("set the company profile before its logo", code="company.profile_missing")
    values = {key: getattr(current, key) for key in ("name", "address", "tax_code", "phone", "bank_account")}
    return await _save(session, {**values, "logo_png": logo}, user)
