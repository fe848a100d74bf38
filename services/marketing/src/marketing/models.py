from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crm_kit.db import Model


class Base(Model, DeclarativeBase):
    pass


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
    customer_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    captured_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# -- regions (loaded from marketing/data by migration) ---------------------------------


class RegionRow(Base):
    """One of Vietnam's 34 provincial units since 1 July 2025."""

    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(3), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    official_name: Mapped[str] = mapped_column(String(120))
    name_ascii: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10))
    macro_region: Mapped[str] = mapped_column(String(60), index=True)
    socio_economic_region: Mapped[str] = mapped_column(String(60), index=True)


class RegionGroupRow(Base):
    """A group of provinces in one of the two groupings (North/Central/South, or the six
    socio-economic regions)."""

    __tablename__ = "region_groups"

    grouping: Mapped[str] = mapped_column(String(30), primary_key=True)
    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    name_ascii: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))


class FormerProvinceRow(Base):
    """One of the 63 provincial units before 1 July 2025 and the one it is part of now."""

    __tablename__ = "former_provinces"

    code: Mapped[str] = mapped_column(String(3), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    name_ascii: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)


# -- channels ---------------------------------------------------------------------------


class Channel(Base):
    """A sales channel; one may sell through another (distributor -> dealer -> retail)."""

    __tablename__ = "channels"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    #: `fold(name)`: duplicates are refused whatever their accents or case.
    name_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("channels.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class ChannelRegion(Base):
    """A region a channel covers."""

    __tablename__ = "channel_regions"

    channel_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("channels.id"), primary_key=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), primary_key=True, index=True)


class ChannelAssignment(Base):
    """A salesperson assigned to a channel in one of the regions it covers."""

    __tablename__ = "channel_assignments"

    channel_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("channels.id"), primary_key=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, index=True)
    assigned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


# -- product groups ---------------------------------------------------------------------


class KnownProductGroup(Base):
    """A product group of sales' managed list, from `ProductGroupChanged`: what market
    volumes, targets and proposals may name (`product_groups.check`). The newest
    `changed_at` wins, so an older event arriving late changes nothing."""

    __tablename__ = "known_product_groups"

    #: What products, order lines, volumes and targets carry as `product_group`.
    code: Mapped[str] = mapped_column(String(100), primary_key=True)
    #: What people read.
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool]
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# -- market volumes ---------------------------------------------------------------------


class MarketVolume(Base):
    """The estimated size of the market in a region for a product group and period."""

    __tablename__ = "market_volumes"
    __table_args__ = (UniqueConstraint("region_code", "product_group", "period", name="uq_market_volume"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    product_group: Mapped[str] = mapped_column(String(100))
    #: `2026` or `2026-Q3`.
    period: Mapped[str] = mapped_column(String(7), index=True)
    #: Integer dong.
    amount: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(default=1)
    entered_by: Mapped[uuid.UUID]
    entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class MarketVolumeRevision(Base):
    """Every value an estimate has had, who entered it and when (the first one included)."""

    __tablename__ = "market_volume_revisions"

    volume_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("market_volumes.id"), primary_key=True)
    revision: Mapped[int] = mapped_column(primary_key=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    entered_by: Mapped[uuid.UUID]
    entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


# -- revenue ----------------------------------------------------------------------------


class RevenueFact(Base):
    """One order line's net revenue, from `OrderPlaced`; one row per (order, line), so a
    redelivered or re-sent order counts once."""

    __tablename__ = "revenue_facts"
    __table_args__ = (
        Index("ix_revenue_facts_period", "year", "quarter"),
        Index("ix_revenue_facts_order_date", "order_date"),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    line_no: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(index=True)
    #: The new province code (a former code in the event is mapped); None if unknown.
    region_code: Mapped[str | None] = mapped_column(String(3))
    #: The code as the event had it.
    source_region_code: Mapped[str | None] = mapped_column(String(10))
    channel_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    #: The salesperson who owned the order (`OrderPlaced.owner_id`); None for orders
    #: recorded before marketing kept it.
    owner_id: Mapped[uuid.UUID | None]
    product_group: Mapped[str] = mapped_column(String(100))
    year: Mapped[int]
    quarter: Mapped[int]
    order_date: Mapped[date] = mapped_column(Date)
    #: Integer dong, before VAT.
    net_amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    placed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RevenueMonth(Base):
    """The revenue facts of a month (of their `order_date`), province, channel, salesperson
    and product group: what target attainment and market share read instead of every fact
    of the period (`targets._revenue`, `share._revenue`).

    Written only by the database: statement-level triggers on `revenue_facts` (migration
    0017) add each statement's inserted facts (orders, credit notes), take off its deleted
    ones, move updated ones (a cancellation's zero, a re-mapped province, a new owner) and
    empty it with the facts when they are truncated, whoever writes them, in SQL or in
    Python. A key with facts has a row, even when they add up to nothing (a cancelled
    order still names its province and channel); a key whose facts are all gone has none.
    Report periods are whole months, quarters or years, so a period is exactly a range of
    these months.
    """

    __tablename__ = "revenue_months"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    #: The first day of the facts' month.
    month: Mapped[date] = mapped_column(Date)
    region_code: Mapped[str | None] = mapped_column(String(3))
    channel_id: Mapped[uuid.UUID | None]
    owner_id: Mapped[uuid.UUID | None]
    product_group: Mapped[str] = mapped_column(String(100))
    #: How many facts (order and credit note lines) the row sums; never 0.
    lines: Mapped[int] = mapped_column(BigInteger)
    #: Their net amount, integer dong.
    net_amount: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        # What the triggers upsert on; a fact without a province, channel or owner is one
        # key, not many. Month first: a report reads a range of months.
        Index(
            "uq_revenue_months_key",
            "month",
            "region_code",
            "channel_id",
            "owner_id",
            "product_group",
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
    )


# -- targets ----------------------------------------------------------------------------


class SalesTarget(Base):
    """What a province (optionally narrowed to a channel and its subtree, a salesperson and
    a product group) should sell in a year, quarter or month: the plan that revenue is
    measured against (`targets.attainment`)."""

    __tablename__ = "sales_targets"
    __table_args__ = (
        UniqueConstraint(
            "period",
            "region_code",
            "channel_id",
            "salesperson_id",
            "product_group",
            name="uq_sales_target_scope",
            postgresql_nulls_not_distinct=True,
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    #: `2027`, `2027-Q1` or `2027-03`.
    period: Mapped[str] = mapped_column(String(7), index=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    channel_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("channels.id"))
    salesperson_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    product_group: Mapped[str | None] = mapped_column(String(100))
    #: Integer dong, net of VAT.
    amount: Mapped[int] = mapped_column(BigInteger)
    revision: Mapped[int] = mapped_column(default=1)
    entered_by: Mapped[uuid.UUID]
    entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class SalesTargetRevision(Base):
    """Every amount a target has had, who set it and when (the first one included)."""

    __tablename__ = "sales_target_revisions"

    target_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sales_targets.id"), primary_key=True)
    revision: Mapped[int] = mapped_column(primary_key=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    entered_by: Mapped[uuid.UUID]
    entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


# -- campaigns --------------------------------------------------------------------------


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), index=True)
    #: {grades, lifecycle_stages, region_codes, macro_regions, channel_ids}; empty = any.
    target: Mapped[dict[str, Any]] = mapped_column(JSONB)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    #: Fixed at launch.
    audience_size: Mapped[int | None]
    created_by: Mapped[uuid.UUID]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    launched_by: Mapped[uuid.UUID | None]
    launched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CampaignMember(Base):
    """The audience as it was at launch."""

    __tablename__ = "campaign_members"

    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
