from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, String, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    __mapper_args__ = {"eager_defaults": True}


class SalesCustomer(Base):
    """Sales' own record of a customer open for ordering (a traditional customer).

    Built from CustomerPromotedToTraditional; sales never reads the customers database.
    """

    __tablename__ = "sales_customers"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    region_code: Mapped[str | None] = mapped_column(String(10))
    channel_id: Mapped[uuid.UUID | None]
    promoted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
