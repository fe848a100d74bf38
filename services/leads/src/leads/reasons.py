"""The managed list of reasons a lead is disqualified for."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_kit import errors
from crm_kit.http import PageParams
from crm_kit.queries import fetch_page

from .models import DisqualifyReason
from .schemas import ReasonCreate, ReasonUpdate


async def list_page(
    session: AsyncSession, page: PageParams, *, active: bool | None = None
) -> tuple[list[DisqualifyReason], int]:
    stmt = select(DisqualifyReason)
    if active is not None:
        stmt = stmt.where(DisqualifyReason.active == active)
    return await fetch_page(session, stmt, page, DisqualifyReason.code)


async def add(session: AsyncSession, data: ReasonCreate) -> DisqualifyReason:
    if await session.get(DisqualifyReason, data.code) is not None:
        raise errors.Conflict(
            f"disqualification reason {data.code!r} exists",
            code="reason.exists",
            params={"reason": data.code},
        )
    reason = DisqualifyReason(code=data.code, label_vi=data.label_vi, label_en=data.label_en, active=True)
    session.add(reason)
    await session.flush()
    return reason


async def change(session: AsyncSession, code: str, data: ReasonUpdate) -> DisqualifyReason:
    """Retire or restore a reason (retired ones stay on the leads closed with them)."""
    reason = await session.get(DisqualifyReason, code, with_for_update=True)
    if reason is None:
        raise errors.NotFound("disqualification reason", code)
    for name in data.model_fields_set:
        value = getattr(data, name)
        if value is None:
            raise errors.Invalid.at(("body", name), "cannot be null", code="field.not_null")
        setattr(reason, name, value)
    return reason
