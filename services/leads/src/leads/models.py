from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Index, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crm_kit.db import Model


class Base(Model, DeclarativeBase):
    pass


class Lead(Base):
    __tablename__ = "leads"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    full_name: Mapped[str] = mapped_column(String(200))
    company: Mapped[str | None] = mapped_column(String(200))
    #: As typed, for people to read.
    phone: Mapped[str | None] = mapped_column(String(40))
    #: `0` + national number, for matching and search.
    phone_normalized: Mapped[str | None] = mapped_column(String(20))
    #: Normalized (trimmed, lower-case).
    email: Mapped[str | None] = mapped_column(String(254))
    #: Diacritics-free lower-case forms, for matching and search.
    name_folded: Mapped[str] = mapped_column(String(200))
    company_folded: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[str] = mapped_column(String(30))
    region_code: Mapped[str | None] = mapped_column(String(10))
    channel_id: Mapped[uuid.UUID | None]
    campaign_id: Mapped[uuid.UUID | None]
    owner_id: Mapped[uuid.UUID]
    status: Mapped[str] = mapped_column(String(20))

    planned_contact_on: Mapped[date | None] = mapped_column(Date)
    planned_channel: Mapped[str | None] = mapped_column(String(20))
    plan_note: Mapped[str | None] = mapped_column(Text)

    contacted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    contact_note: Mapped[str | None] = mapped_column(Text)

    promising: Mapped[bool | None]
    evaluation_note: Mapped[str | None] = mapped_column(Text)
    evaluated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    disqualify_reason: Mapped[str | None] = mapped_column(String(50))
    disqualify_note: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    customer_id: Mapped[uuid.UUID | None]
    opportunity_id: Mapped[uuid.UUID | None]
    converted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("leads.id"))
    merged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        Index("ix_leads_owner_id", "owner_id"),
        Index("ix_leads_status", "status"),
        Index("ix_leads_created_at", "created_at"),
        Index("ix_leads_phone_normalized", "phone_normalized"),
        Index("ix_leads_email", "email"),
        Index("ix_leads_company_name", "company_folded", "name_folded"),
        Index("ix_leads_campaign_id", "campaign_id"),
        #: The folded search (`LIKE '%q%'` on each) at a million rows (pg_trgm).
        *(
            Index(f"ix_leads_{c}_trgm", c, postgresql_using="gin", postgresql_ops={c: "gin_trgm_ops"})
            for c in ("name_folded", "company_folded", "email", "phone_normalized")
        ),
        #: The list's order (newest first, then id): first pages and cursor pages read 50 entries.
        Index("ix_leads_list_order", text("created_at DESC"), "id"),
        Index("ix_leads_owner_list_order", "owner_id", text("created_at DESC"), "id"),
    )


class LeadHistory(Base):
    """Everything done to a lead, in order: the audit trail. `changes` is
    `{field: [old, new]}`."""

    __tablename__ = "lead_history"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("leads.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor_id: Mapped[uuid.UUID | None]
    action: Mapped[str] = mapped_column(String(30))
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class DisqualifyReason(Base):
    """The managed list of reasons a lead is closed for."""

    __tablename__ = "disqualify_reasons"

    code: Mapped[str] = mapped_column(String(50), primary_key=True)
    label_vi: Mapped[str] = mapped_column(String(200))
    label_en: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Campaign(Base):
    """Campaigns marketing launched, from CampaignLaunched: what a lead can be captured for."""

    __tablename__ = "campaigns"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]
    launched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
