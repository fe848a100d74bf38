from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, String, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    __mapper_args__ = {"eager_defaults": True}


class CustomerProfile(Base):
    """Marketing's read model of customers, built from customer events only.

    Campaign audiences are computed from it; marketing never reads the customers database.
    """

    __tablename__ = "customer_profiles"

    customer_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    lifecycle_stage: Mapped[str] = mapped_column(String(20), index=True)
    grade: Mapped[str | None] = mapped_column(String(40))
    owner_id: Mapped[uuid.UUID | None]
    region_code: Mapped[str | None] = mapped_column(String(10), index=True)
    channel_id: Mapped[uuid.UUID | None]
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class LeadFact(Base):
    """What marketing knows of a lead, from the leads service's events: enough to
    count a campaign's leads and conversions, never the person's contact data."""

    __tablename__ = "lead_facts"

    lead_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    owner_id: Mapped[uuid.UUID | None]
    source: Mapped[str | None] = mapped_column(String(30))
    region_code: Mapped[str | None] = mapped_column(String(10))
    channel_id: Mapped[uuid.UUID | None]
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    #: captured, qualified or disqualified.
    outcome: Mapped[str] = mapped_column(String(20))
    customer_id: Mapped[uuid.UUID | None]
    captured_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
