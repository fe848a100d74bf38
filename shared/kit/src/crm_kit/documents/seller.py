"""The seller on every document: the company profile (name, address, tax code, phone,
bank account, logo). Accounting keeps the original (an admin edits it) and announces each
change as `CompanyProfileUpdated`; sales keeps a copy of it from that event. Both keep it
in this one-row table, so both print the same seller::

    run_env(Base.metadata, seller.metadata, ...)   # migrations/env.py
    seller.create_table()                          # a migration
"""

from __future__ import annotations

import base64
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import CompanyProfileUpdated, Envelope

from ..handlers import Handlers
from .model import Party

#: The largest logo kept and sent (bytes of PNG).
MAX_LOGO_BYTES = 256 * 1024
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

metadata = sa.MetaData()


def _columns() -> list[sa.Column[Any]]:
    return [
        # One row: the check keeps it that way.
        sa.Column(
            "id",
            sa.Integer,
            sa.CheckConstraint("id = 1", name="ck_company_profile_one_row"),
            primary_key=True,
        ),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("address", sa.String(500)),
        sa.Column("tax_code", sa.String(14)),
        sa.Column("phone", sa.String(40)),
        sa.Column("bank_account", sa.String(200)),
        sa.Column("logo_png", sa.LargeBinary),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Uuid),
    ]


company_profile = sa.Table("company_profile", metadata, *_columns())
_C = company_profile.c


def create_table() -> None:
    op.create_table("company_profile", *_columns())


def drop_table() -> None:
    op.drop_table("company_profile")


async def load(session: AsyncSession) -> sa.Row[Any] | None:
    return (await session.execute(sa.select(company_profile))).first()


async def party(session: AsyncSession) -> Party | None:
    """The seller as a document names it, or None before anyone set the profile."""
    row = await load(session)
    if row is None:
        return None
    return Party(
        name=row.name,
        address=row.address,
        tax_code=row.tax_code,
        phone=row.phone,
        bank_account=row.bank_account,
        logo_png=row.logo_png,
    )


async def store(session: AsyncSession, values: dict[str, Any]) -> sa.Row[Any]:
    """Write the profile (`values` has every column but `id`) unless the stored one is newer."""
    stmt = insert(company_profile).values(id=1, **values)
    changes = {key: stmt.excluded[key] for key in values}
    stmt = stmt.on_conflict_do_update(
        index_elements=[_C.id], set_=changes, where=_C.updated_at <= stmt.excluded.updated_at
    )
    await session.execute(stmt)
    row = await load(session)
    assert row is not None
    return row


def check_logo(data: bytes) -> bytes:
    """The PNG, or ValueError saying why it is refused (empty, too large, not a PNG)."""
    if not data:
        raise ValueError("the logo is empty")
    if len(data) > MAX_LOGO_BYTES:
        raise ValueError(f"the logo is {len(data)} bytes; at most {MAX_LOGO_BYTES} are kept")
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError("the logo must be a PNG image")
    return data


def event(row: sa.Row[Any]) -> CompanyProfileUpdated:
    logo = base64.b64encode(row.logo_png).decode("ascii") if row.logo_png else None
    return CompanyProfileUpdated(
        name=row.name,
        address=row.address,
        tax_code=row.tax_code,
        phone=row.phone,
        bank_account=row.bank_account,
        logo_png_base64=logo,
        updated_at=row.updated_at,
    )


def values_of(event: CompanyProfileUpdated) -> dict[str, Any]:
    """The row a copy keeps from the event (a logo that is not a PNG is dropped)."""
    logo: bytes | None = None
    if event.logo_png_base64:
        try:
            logo = check_logo(base64.b64decode(event.logo_png_base64, validate=True))
        except ValueError:  # binascii.Error is one too
            logo = None
    return {
        "name": event.name,
        "address": event.address,
        "tax_code": event.tax_code,
        "phone": event.phone,
        "bank_account": event.bank_account,
        "logo_png": logo,
        "updated_at": event.updated_at,
        "updated_by": None,
    }


def register(handlers: Handlers) -> None:
    """Keep a copy of the company profile from `CompanyProfileUpdated` (sales); an older
    event than the stored profile changes nothing."""

    @handlers.handles(CompanyProfileUpdated)
    async def company_profile_updated(
        session: AsyncSession, event: CompanyProfileUpdated, envelope: Envelope
    ) -> None:
        await store(session, values_of(event))
