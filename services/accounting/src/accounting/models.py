from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

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
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from crm_kit.db import Model

from .domain import CURRENCY


class Base(Model, DeclarativeBase):
    pass


class Account(Base):
    """A traditional customer's account: what they may owe and what they owe."""

    __tablename__ = "accounts"

    customer_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    customer_name: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    currency: Mapped[str] = mapped_column(String(3), default=CURRENCY)
    #: Integer minor units (VND has none: dong).
    credit_limit: Mapped[int] = mapped_column(BigInteger)
    #: What the customer owes: invoices less payments and credit notes.
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    #: Where the limit came from: the credit policy (it follows the customer's grade and
    #: channel kind) or an accountant's hand (it stays). A `LimitSource`.
    credit_limit_source: Mapped[str] = mapped_column(String(10), default="policy", server_default="policy")
    #: The policy's rule said cash only: every quote on credit fails its check.
    cash_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    #: The customer's grade as accounting last heard it (CustomerGraded), which the policy used.
    grade: Mapped[str | None] = mapped_column(String(40))
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class CreditPolicyRule(Base):
    """One rule of the credit policy: the limit of a new account of a customer of this grade
    and channel kind (either may be None: any). Both None is the fallback. One rule per
    scope (`uq_credit_policy_rules_scope`)."""

    __tablename__ = "credit_policy_rules"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    grade: Mapped[str | None] = mapped_column(String(40))
    channel_kind: Mapped[str | None] = mapped_column(String(20))
    #: Integer dong; 0 when `cash_only`.
    credit_limit: Mapped[int] = mapped_column(BigInteger)
    cash_only: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_by: Mapped[uuid.UUID | None]
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        UniqueConstraint(
            "grade", "channel_kind", name="uq_credit_policy_rules_scope", postgresql_nulls_not_distinct=True
        ),
        CheckConstraint(
            "credit_limit >= 0 AND (NOT cash_only OR credit_limit = 0)", name="ck_credit_policy_rules_limit"
        ),
    )


class KnownChannel(Base):
    """Each channel's kind, as marketing last said it (`ChannelChanged`, newest wins), for
    the credit policy's rules per channel kind."""

    __tablename__ = "known_channels"

    channel_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CreditCheck(Base):
    """Accounting's answer to one submission of a quote; a redelivery finds it and answers no more."""

    __tablename__ = "credit_checks"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    quote_id: Mapped[uuid.UUID]
    quote_number: Mapped[str] = mapped_column(String(50))
    submission: Mapped[int] = mapped_column(Integer)
    customer_id: Mapped[uuid.UUID] = mapped_column(index=True)
    quote_owner_id: Mapped[uuid.UUID | None]
    quote_total: Mapped[int] = mapped_column(BigInteger)
    open_receivables: Mapped[int] = mapped_column(BigInteger)
    #: The customer's other quotes in flight and orders not invoiced yet (CreditCommitment).
    committed: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    exposure: Mapped[int] = mapped_column(BigInteger)
    credit_limit: Mapped[int] = mapped_column(BigInteger)
    #: The customer had no account (a prospect): the default limit applied.
    default_limit: Mapped[bool] = mapped_column(Boolean)
    passed: Mapped[bool] = mapped_column(Boolean)
    #: Why it failed when the limit alone does not say ("cash only").
    reason: Mapped[str | None] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("quote_id", "submission", name="uq_credit_checks_submission"),)


class CreditCommitment(Base):
    """What a quote commits of its customer's credit until it is invoiced: kept from
    sales' quote events, the newest by its time winning (`changed_at`), so one arriving
    late changes nothing. `pending`, `approved` (sent included) count until `valid_until`;
    `accepted` counts until its order is invoiced (`invoiced`, final); `closed` (rejected,
    declined, reopened for an edit) counts nothing until submitted again."""

    __tablename__ = "credit_commitments"

    quote_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    customer_id: Mapped[uuid.UUID]
    status: Mapped[str] = mapped_column(String(10))
    total: Mapped[int] = mapped_column(BigInteger)
    valid_until: Mapped[date | None] = mapped_column(Date)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_credit_commitments_customer", "customer_id", "status"),)


class InvoiceCounter(Base):
    """The last invoice number taken in a year; locked by whoever takes the next."""

    __tablename__ = "invoice_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer)


class CreditNoteCounter(Base):
    __tablename__ = "credit_note_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer)


class Invoice(Base):
    """One per order. Totals are fixed at issue; the balance moves by payments and credit notes."""

    __tablename__ = "invoices"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    order_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    order_number: Mapped[str] = mapped_column(String(50))
    quote_id: Mapped[uuid.UUID]
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.customer_id"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    issue_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    payment_terms_days: Mapped[int] = mapped_column(Integer)
    net_total: Mapped[int] = mapped_column(BigInteger)
    vat_total: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)
    paid_total: Mapped[int] = mapped_column(BigInteger, default=0)
    credited_total: Mapped[int] = mapped_column(BigInteger, default=0)
    balance: Mapped[int] = mapped_column(BigInteger)
    #: An `InvoiceStatus`.
    status: Mapped[str] = mapped_column(String(20))
    #: What the accountant must settle by hand, e.g. an order cancelled after payments were
    #: recorded (`cancellations.order_cancelled`); None when nothing is waiting.
    attention: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    lines: Mapped[list[InvoiceLine]] = relationship(
        order_by="InvoiceLine.line_no", lazy="raise", cascade="all"
    )

    __table_args__ = (
        CheckConstraint(
            "balance >= 0 AND balance = total - paid_total - credited_total", name="ck_invoices_balance"
        ),
        Index("ix_invoices_status", "status"),
        Index("ix_invoices_issue_date", "issue_date"),
        # Overdue: open balances by due date.
        Index("ix_invoices_due_date_open", "due_date", postgresql_where="balance > 0"),
        #: What is owed today, by customer: the aging report from the index alone.
        Index(
            "ix_invoices_owed",
            "customer_id",
            postgresql_include=["due_date", "balance", "issue_date"],
            postgresql_where=text("balance > 0"),
        ),
    )


class ReceivableBalance(Base):
    """What one customer owes now: the balances of their invoices that owe, summed. The
    aging report's order (largest first) and its count of customers, read from the index
    rather than from every invoice that owes (half a million at full size).

    Kept exact by Postgres, not by the writers: statement-level triggers on `invoices`
    (migration 0017) add each statement's new balances and take off its old ones (an
    invoice issued, paid, credited, cancelled, moved to a merge's survivor), and empty it
    with the invoices when they are truncated; invoices are written by the ORM, migrations
    and bulk loads alike, and a trigger is the one place none of them can bypass. A customer
    who owes nothing has no row."""

    __tablename__ = "receivable_balances"

    customer_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    owed: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_receivable_balances_rank", text("owed DESC"), "customer_id"),)


class ReceivableDue(Base):
    """What is owed now per due date, over every customer (by the same triggers as
    `ReceivableBalance`): the aging report's column totals, bucketed by days overdue when
    read, since the day moves and the due dates do not. A due date nothing owes has no row."""

    __tablename__ = "receivable_dues"

    due_date: Mapped[date] = mapped_column(Date, primary_key=True)
    owed: Mapped[int] = mapped_column(BigInteger)


class CancelledOrder(Base):
    """An order sales cancelled (`OrderCancelled`), kept whatever the order of arrival: an
    `OrderPlaced` that comes after it is not invoiced, and an invoice that came before it
    is credited in full, or flagged for the accountant when it has payments."""

    __tablename__ = "cancelled_orders"

    order_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    order_number: Mapped[str] = mapped_column(String(50))
    customer_id: Mapped[uuid.UUID] = mapped_column(index=True)
    reason: Mapped[str] = mapped_column(String(500))
    cancelled_by: Mapped[uuid.UUID]
    cancelled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: A `CancellationOutcome`: not invoiced, credited, or waiting for the accountant.
    outcome: Mapped[str] = mapped_column(String(20))
    invoice_id: Mapped[uuid.UUID | None]


class InvoiceLine(Base):
    __tablename__ = "invoice_lines"

    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invoices.id"), primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    product_code: Mapped[str] = mapped_column(String(50))
    product_name: Mapped[str] = mapped_column(String(200))
    product_group: Mapped[str] = mapped_column(String(100))
    #: The product's unit as the order carried it; None when it had none.
    unit: Mapped[str | None] = mapped_column(String(20))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[int] = mapped_column(BigInteger)
    discount_pct: Mapped[Decimal] = mapped_column(Numeric(7, 4))
    vat_rate_pct: Mapped[Decimal] = mapped_column(Numeric(7, 4))
    net_amount: Mapped[int] = mapped_column(BigInteger)
    vat_amount: Mapped[int] = mapped_column(BigInteger)
    gross_amount: Mapped[int] = mapped_column(BigInteger)


class Payment(Base):
    __tablename__ = "payments"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invoices.id"), index=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    paid_on: Mapped[date] = mapped_column(Date)
    #: A `PaymentMethod`.
    method: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str | None] = mapped_column(String(100))
    recorded_by: Mapped[uuid.UUID]
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (CheckConstraint("amount > 0", name="ck_payments_amount"),)


class CreditNote(Base):
    """A correction of an invoice: it lowers what the customer owes, and is never deleted."""

    __tablename__ = "credit_notes"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invoices.id"), index=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(500))
    issued_on: Mapped[date] = mapped_column(Date)
    issued_by: Mapped[uuid.UUID]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (CheckConstraint("amount > 0", name="ck_credit_notes_amount"),)


class LedgerEntry(Base):
    """The revenue ledger: one row per invoice, payment and credit note, never changed.

    `amount` is the entry's effect on what the customer owes: an invoice adds its
    total, a payment or credit note subtracts. The sum of an invoice's entries up to
    a day is what it still owed that day.
    """

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    entry_date: Mapped[date] = mapped_column(Date)
    customer_id: Mapped[uuid.UUID] = mapped_column(index=True)
    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invoices.id"), index=True)
    #: A `LedgerKind`.
    kind: Mapped[str] = mapped_column(String(20))
    #: The invoice, payment or credit note this entry records.
    document_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    #: The document's number (a payment: the invoice's number and the bank reference).
    reference: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        Index("ix_ledger_entries_date", "entry_date", "id"),
        #: What each invoice owed on a day (the aging report) from the index alone.
        Index("ix_ledger_entries_invoice_owed", "invoice_id", "entry_date", postgresql_include=["amount"]),
    )
