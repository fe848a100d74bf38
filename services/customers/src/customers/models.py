from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    # Server-side defaults (timestamps) come back with RETURNING on flush, so a
    # response never lazy-loads them outside the session.
    __mapper_args__ = {"eager_defaults": True}


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))
    region_code: Mapped[str | None] = mapped_column(String(10))
    channel_id: Mapped[uuid.UUID | None]
    owner_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    lifecycle_stage: Mapped[str] = mapped_column(String(20), default="prospect")
    grade: Mapped[str | None] = mapped_column(String(40))
    promoted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    __table_args__ = (Index("ix_customers_stage", "lifecycle_stage"),)


class TimelineEntry(Base):
    """Everything that happened to a customer, in order: the audit trail."""

    __tablename__ = "customer_timeline"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    kind: Mapped[str] = mapped_column(String(50))
    actor_id: Mapped[uuid.UUID | None]
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
