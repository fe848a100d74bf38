from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Self

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from crm_kit.db import Model, table_of

from .domain import (
    CURRENCY,
    ApprovalMode,
    ContractStatus,
    CustomerStage,
    OpportunityStage,
    OrderStatus,
    QuoteStatus,
)


class Base(Model, DeclarativeBase):
    pass


class SalesCustomer(Base):
    """Sales' own record of a customer: a prospect (quotable) or a traditional customer
    (open for ordering). Built from the customers service's events; sales never reads
    the customers database."""

    __tablename__ = "sales_customers"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    #: `fold(name)`: "cong ty hoa phat" finds "Công ty Hòa Phát" (`?q=`), on a trigram index.
    name_folded: Mapped[str] = mapped_column(String(200), server_default="")
    lifecycle_stage: Mapped[str] = mapped_column(String(20), default=CustomerStage.TRADITIONAL)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    region_code: Mapped[str | None] = mapped_column(String(10))
    channel_id: Mapped[uuid.UUID | None]
    grade: Mapped[str | None] = mapped_column(String(40))
    registered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    promoted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: When sales opened the customer for ordering (its promotion arrived); None for a prospect.
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: The customers service's time of the registration, promotion or deactivation that
    #: set `lifecycle_stage`: an older one arriving later does not change it.
    stage_as_of: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        #: The folded search (`name_folded LIKE '%q%'`) at a million rows (pg_trgm).
        Index(
            "ix_sales_customers_name_folded_trgm",
            "name_folded",
            postgresql_using="gin",
            postgresql_ops={"name_folded": "gin_trgm_ops"},
        ),
        #: The list's order (by name), for everyone's list and one salesperson's.
        Index("ix_sales_customers_list_order", "name", "id"),
        Index("ix_sales_customers_owner_list_order", "owner_id", "name", "id"),
    )


class ProductGroup(Base):
    """A group of the price list (máy bơm, máy phát điện): the managed list a product is
    filed under, a market is estimated for and a target is set on. `code` is what products
    and order lines carry as `product_group` and never changes; `name` is what people read.
    Every change is announced (`ProductGroupChanged`) and audited."""

    __tablename__ = "product_groups"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    code: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    #: `fold(code)` and `fold(name)`: for search, and so that "May bom" finds "máy bơm"
    #: rather than becoming a second group.
    code_folded: Mapped[str] = mapped_column(String(100), unique=True)
    name_folded: Mapped[str] = mapped_column(String(200))
    #: A retired group takes no new products; its products and history keep it.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Product(Base):
    __tablename__ = "products"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    #: `fold(code + name)` for search whatever the diacritics.
    search_text: Mapped[str] = mapped_column(String(300), server_default="")
    product_group: Mapped[str] = mapped_column(ForeignKey("product_groups.code"), index=True)
    #: The unit it is sold in (đơn vị tính: `cái`, `bộ`, `m`), printed on documents.
    unit: Mapped[str | None] = mapped_column(String(20))
    #: The current list price in dong, VAT excluded; its history is in `product_prices`.
    unit_price: Mapped[int] = mapped_column(BigInteger)
    vat_rate_pct: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ProductPrice(Base):
    """The price list over time: a row per price (and VAT rate) from `valid_from` on."""

    __tablename__ = "product_prices"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    product_code: Mapped[str] = mapped_column(ForeignKey("products.code"), index=True)
    unit_price: Mapped[int] = mapped_column(BigInteger)
    vat_rate_pct: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    set_by: Mapped[uuid.UUID | None]


class PriceList(Base):
    """Prices per product for the customers in channels of one kind, or of one grade, valid
    from `valid_from` through `valid_to` (open-ended when None). Its history is in `sales_audit`."""

    __tablename__ = "price_lists"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    channel_kind: Mapped[str | None] = mapped_column(String(20))
    grade: Mapped[str | None] = mapped_column(String(40))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[uuid.UUID]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_by: Mapped[uuid.UUID | None]
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    items: Mapped[list[PriceListItem]] = relationship(
        order_by="PriceListItem.product_code", lazy="selectin", cascade="all, delete-orphan"
    )

    __table_args__ = (
        CheckConstraint("(channel_kind IS NULL) <> (grade IS NULL)", name="ck_price_lists_one_scope"),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="ck_price_lists_validity"),
        Index("ix_price_lists_channel_kind", "channel_kind", "valid_from"),
        Index("ix_price_lists_grade", "grade", "valid_from"),
    )


class PriceListItem(Base):
    __tablename__ = "price_list_items"

    price_list_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("price_lists.id"), primary_key=True)
    product_code: Mapped[str] = mapped_column(ForeignKey("products.code"), primary_key=True, index=True)
    #: In dong, VAT excluded, like the product's list price.
    unit_price: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (CheckConstraint("unit_price >= 0", name="ck_price_list_items_unit_price"),)


class KnownChannel(Base):
    """Each channel's kind, as marketing last said it (`ChannelChanged`, newest wins): which
    channel-kind price list a customer's channel takes."""

    __tablename__ = "known_channels"

    channel_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    #: Marketing's time of the change: an older one arriving later changes nothing.
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Opportunity(Base):
    __tablename__ = "opportunities"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    customer_id: Mapped[uuid.UUID] = mapped_column(index=True)
    lead_id: Mapped[uuid.UUID | None]
    owner_id: Mapped[uuid.UUID] = mapped_column(index=True)
    expected_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    #: When its owner expects to close it: the forecast is by this date.
    expected_close_on: Mapped[date | None] = mapped_column(Date)
    stage: Mapped[str] = mapped_column(String(20), default=OpportunityStage.QUALIFICATION)
    lost_reason: Mapped[str | None] = mapped_column(Text)
    #: The accepted quote that won it, when a quote did.
    won_quote_id: Mapped[uuid.UUID | None]
    stage_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    #: The forecast: open opportunities by expected close date.
    __table_args__ = (Index("ix_opportunities_expected_close_on", "expected_close_on"),)


class ApprovalRule(Base):
    """Which quotes need a sales manager: one row (id 1)."""

    __tablename__ = "approval_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mode: Mapped[str] = mapped_column(String(20), default=ApprovalMode.ALL)
    min_total: Mapped[int | None] = mapped_column(BigInteger)
    max_discount_pct: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    updated_by: Mapped[uuid.UUID | None]
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    max_below_level_pct: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    second_approval_min_total: Mapped[int | None] = mapped_column(BigInteger)


class Quote(Base):
    __tablename__ = "quotes"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(index=True)
    customer_name: Mapped[str] = mapped_column(String(200))
    opportunity_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    owner_id: Mapped[uuid.UUID] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(20), default=QuoteStatus.DRAFT)
    valid_until: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(String(3), default=CURRENCY)
    net_total: Mapped[int] = mapped_column(BigInteger)
    vat_total: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)
    max_discount_pct: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    #: How many times the quote was submitted; a credit check answers one submission.
    submission: Mapped[int] = mapped_column(Integer, default=0)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: Whether the approval rules asked for a manager at the last submission.
    needs_manager: Mapped[bool | None]
    credit_status: Mapped[str | None] = mapped_column(String(10))
    credit_exposure: Mapped[int | None] = mapped_column(BigInteger)
    credit_open_receivables: Mapped[int | None] = mapped_column(BigInteger)
    #: What the customer's other quotes and orders not invoiced yet committed (accounting).
    credit_committed: Mapped[int | None] = mapped_column(BigInteger)
    credit_limit: Mapped[int | None] = mapped_column(BigInteger)
    credit_checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: `manager` or `automatic` (below the thresholds with a passed credit check).
    approval_mode: Mapped[str | None] = mapped_column(String(10))
    approved_by: Mapped[uuid.UUID | None]
    #: The approver's role when they approved (`sales_manager`, or `admin` acting as one).
    approved_as: Mapped[str | None] = mapped_column(String(20))
    #: Above the rules' `second_approval_min_total` when submitted: two approvers decide.
    needs_second_approver: Mapped[bool | None]
    first_approved_by: Mapped[uuid.UUID | None]
    first_approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    override_reason: Mapped[str | None] = mapped_column(Text)
    #: The last rejection, kept while the quote is revised.
    rejected_by: Mapped[uuid.UUID | None]
    rejected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    declined_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decline_reason: Mapped[str | None] = mapped_column(Text)
    expired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    copied_from_id: Mapped[uuid.UUID | None]
    created_by: Mapped[uuid.UUID]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    lines: Mapped[list[QuoteLine]] = relationship(
        order_by="QuoteLine.position", lazy="selectin", cascade="all, delete-orphan"
    )

    __table_args__ = (Index("ix_quotes_status", "status"),)


#: Where a line's columns stand in its table, as migration 0003 made them: the key, the
#: parent, the product and its price, then the amounts (a quote line's gross and discount
#: before the net, VAT and total both kinds of line have); migration 0007 added the price's
#: source after them.
_KEY, _AMOUNTS, _SOURCE = -1, 1, 2


class LineColumns:
    """What a quote line and an order line both hold: the product as it was quoted, its
    price and discount, and the line's amounts. Each table adds its parent's key."""

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True, sort_order=_KEY)
    position: Mapped[int] = mapped_column(Integer)
    product_code: Mapped[str] = mapped_column(String(40))
    product_name: Mapped[str] = mapped_column(String(200))
    product_group: Mapped[str] = mapped_column(String(100))
    #: The product's unit when the line was priced; None on lines made before units.
    unit: Mapped[str | None] = mapped_column(String(20))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[int] = mapped_column(BigInteger)
    discount_pct: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    vat_rate_pct: Mapped[int] = mapped_column(Integer)
    net_amount: Mapped[int] = mapped_column(BigInteger, sort_order=_AMOUNTS)
    vat_amount: Mapped[int] = mapped_column(BigInteger, sort_order=_AMOUNTS)
    total: Mapped[int] = mapped_column(BigInteger, sort_order=_AMOUNTS)
    #: `domain.PriceSource`; None on lines made before price levels.
    price_source: Mapped[str | None] = mapped_column(String(20), sort_order=_SOURCE)
    #: The price list the price came from (source `price_list`).
    price_list_id: Mapped[uuid.UUID | None] = mapped_column(sort_order=_SOURCE)
    #: The unit price the line takes when none is given: what "below its level" is measured from.
    level_price: Mapped[int | None] = mapped_column(BigInteger, sort_order=_SOURCE)

    @classmethod
    def copy_of(cls, line: LineColumns, **parent: Any) -> Self:
        """A new line of this table with `line`'s values in every column but this table's
        key and its parent's (given as `parent`): a copied quote keeps all the amounts of
        the lines it copies, an order line takes those an order line has."""
        columns = [c.key for c in table_of(cls).columns if not (c.primary_key or c.foreign_keys)]
        return cls(**{name: getattr(line, name) for name in columns}, **parent)


class QuoteLine(LineColumns, Base):
    __tablename__ = "quote_lines"

    quote_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("quotes.id"), index=True)
    gross_amount: Mapped[int] = mapped_column(BigInteger, sort_order=_AMOUNTS)
    discount_amount: Mapped[int] = mapped_column(BigInteger, sort_order=_AMOUNTS)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (Index("ix_orders_status_placed_at", "status", "placed_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    #: One order per quote, however often the events behind it repeat.
    quote_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(index=True)
    customer_name: Mapped[str] = mapped_column(String(200))
    opportunity_id: Mapped[uuid.UUID | None]
    owner_id: Mapped[uuid.UUID] = mapped_column(index=True)
    region_code: Mapped[str | None] = mapped_column(String(10))
    channel_id: Mapped[uuid.UUID | None]
    currency: Mapped[str] = mapped_column(String(3), default=CURRENCY)
    net_total: Mapped[int] = mapped_column(BigInteger)
    vat_total: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20), default=OrderStatus.PLACED)
    needs_contract: Mapped[bool]
    payment_terms_days: Mapped[int] = mapped_column(Integer)
    order_date: Mapped[date] = mapped_column(Date, index=True)
    placed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    #: Accounting's invoice, from `InvoiceIssued`: from then on the order is not cancelled.
    invoice_id: Mapped[uuid.UUID | None]
    invoice_number: Mapped[str | None] = mapped_column(String(20))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_by: Mapped[uuid.UUID | None]
    cancel_reason: Mapped[str | None] = mapped_column(String(500))

    lines: Mapped[list[OrderLine]] = relationship(order_by="OrderLine.position", lazy="selectin")


class OrderLine(LineColumns, Base):
    __tablename__ = "order_lines"

    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id"), index=True)


class Contract(Base):
    __tablename__ = "contracts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id"), index=True)
    customer_id: Mapped[uuid.UUID]
    #: The order's owner: who may see and change the contract besides managers.
    owner_id: Mapped[uuid.UUID] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(20), default=ContractStatus.DRAFT)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    terms: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    terminated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    termination_reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[uuid.UUID]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class NumberSequence(Base):
    """The last number given per document kind and year; numbers come without gaps."""

    __tablename__ = "number_sequences"

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class AuditEntry(Base):
    """Who changed what: quote transitions, hand-overs of opportunities and quotes."""

    __tablename__ = "sales_audit"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[uuid.UUID]
    action: Mapped[str] = mapped_column(String(30))
    actor_id: Mapped[uuid.UUID | None]
    #: Field -> [before, after], or details of the action.
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (Index("ix_sales_audit_entity", "entity", "entity_id"),)


class PerformanceFact(Base):
    """One thing a salesperson did, when, in which channel: performance is counted from these.

    Lead and customer facts come from events (the time is the one the event states);
    quote and order facts from sales' own operations. One fact per (kind, subject).
    """

    __tablename__ = "performance_facts"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(30))
    subject_id: Mapped[uuid.UUID]
    owner_id: Mapped[uuid.UUID | None]
    channel_id: Mapped[uuid.UUID | None]
    amount: Mapped[int] = mapped_column(BigInteger, default=0)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: The province the fact happened in: the lead's, the order's, or the customer's as
    #: sales' record had it when the fact was recorded.
    region_code: Mapped[str | None] = mapped_column(String(10))

    __table_args__ = (
        UniqueConstraint("kind", "subject_id", name="uq_performance_facts_kind_subject"),
        Index("ix_performance_facts_occurred_at", "occurred_at"),
        # A salesperson's own report, and a manager's filtered to one salesperson.
        Index("ix_performance_facts_owner_occurred_at", "owner_id", "occurred_at"),
    )


class PerformanceDay(Base):
    """The facts of one day, kind, salesperson, channel and province: how many, and their
    amounts summed. The report reads these (a year is some 365 x groups rows) rather than
    every fact of a period and the one before (millions at a distributor's size).

    Kept exact by Postgres, not by the writers: statement-level triggers on
    `performance_facts` (migration 0022) add each statement's inserted facts, take off its
    deleted ones (an order cancelled), move updated ones (a province filled in), and empty
    it with the facts when they are truncated. Facts are written by `performance.record_facts`, quote
    expiries, cancellations, migrations and bulk loads alike, in SQL and in Python; a
    trigger is the one place none of them can bypass. A day whose facts are all gone has
    no row, as if it had none.

    `day` is the fact's day in the business's zone as the migration found it
    (`BUSINESS_TIMEZONE`, like 0009's); report periods are whole days there
    (`Settings.start_of`), so a period is exactly a range of these days. A deployment that
    changes its zone rebuilds the summary (0022's `REBUILD`).
    """

    __tablename__ = "performance_days"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(30))
    owner_id: Mapped[uuid.UUID | None]
    channel_id: Mapped[uuid.UUID | None]
    region_code: Mapped[str | None] = mapped_column(String(10))
    facts: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        # What the triggers upsert on; no fact's channel or province is one key, not many.
        # Day first: a manager's report reads a range of days.
        Index(
            "uq_performance_days_key",
            "day",
            "kind",
            "owner_id",
            "channel_id",
            "region_code",
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
        # A salesperson's own report, and a manager's filtered to one salesperson.
        Index("ix_performance_days_owner_day", "owner_id", "day"),
    )


class CareActivity(Base):
    """A care activity the customers service planned (`CareActivityPlanned`, the latest of
    which says who should do it and by when) and closed (`CareActivityClosed`), whatever
    order the two arrive in: performance counts the care done and overdue from these."""

    __tablename__ = "care_activities"

    activity_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    customer_id: Mapped[uuid.UUID]
    #: Who should do it: the latest plan's, or once it is closed, the close's.
    owner_id: Mapped[uuid.UUID | None]
    #: The customer's, as sales' record had them when the activity was first heard of.
    channel_id: Mapped[uuid.UUID | None]
    region_code: Mapped[str | None] = mapped_column(String(10))
    #: None while only its close has arrived.
    due_on: Mapped[date | None] = mapped_column(Date)
    #: When the customers service sent the plan that `due_on` comes from (older ones change nothing).
    planned_as_of: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: `performance_rules.CareStatus`.
    status: Mapped[str] = mapped_column(String(10))
    done_on: Mapped[date | None] = mapped_column(Date)
    #: The day it was done or cancelled (`performance_rules.care_ended_on`); None while planned.
    ended_on: Mapped[date | None] = mapped_column(Date)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        # Due in a period; done in a period, open ones and those closed since a day.
        Index("ix_care_activities_due_on", "due_on"),
        Index("ix_care_activities_ended_on_due_on", "ended_on", "due_on"),
        Index("ix_care_activities_owner_due_on", "owner_id", "due_on"),
    )
