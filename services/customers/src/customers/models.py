from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
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
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crm_kit.db import Model

from .domain import ActivityStatus, ImportStatus, Stage


class Base(Model, DeclarativeBase):
    pass


#: The day a customer's care falls due, as the care-overdue index holds it.
CARE_DUE = (
    "(CAST(timezone('Asia/Ho_Chi_Minh', coalesce(last_contact_at, created_at)) AS DATE)"
    " + coalesce(care_cadence_days, 30))"
)
ACTIVE = "lifecycle_stage <> 'inactive'"


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    #: `fold(name)`: how duplicates and searches match names, whatever the diacritics.
    name_folded: Mapped[str] = mapped_column(String(200), index=True, server_default="")
    contact_name: Mapped[str | None] = mapped_column(String(200))
    #: Normalised (`0` + national number) when it is a Vietnamese number.
    phone: Mapped[str | None] = mapped_column(String(40), index=True)
    #: Lower-case.
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    address: Mapped[str | None] = mapped_column(String(500))
    #: The Vietnamese tax code (MST) as `crm_kit.text.parse_vn_tax_code` writes it: 10
    #: digits, or 10-3 for a dependent unit; one active customer per code.
    tax_code: Mapped[str | None] = mapped_column(String(14))
    #: The name and address invoices and e-invoices carry (the registered business's).
    legal_name: Mapped[str | None] = mapped_column(String(300))
    billing_address: Mapped[str | None] = mapped_column(String(500))
    #: When this customer was merged into another: the one kept (it is inactive since).
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("customers.id"))
    merged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    region_code: Mapped[str | None] = mapped_column(String(10))
    channel_id: Mapped[uuid.UUID | None]
    owner_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    lifecycle_stage: Mapped[str] = mapped_column(String(20), default=Stage.PROSPECT)
    #: Where the customer came from: a lead's source, `import`, or none when typed in.
    source: Mapped[str | None] = mapped_column(String(30))
    lead_id: Mapped[uuid.UUID | None]
    grade: Mapped[str | None] = mapped_column(String(40))
    graded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    next_review_on: Mapped[date | None] = mapped_column(Date, index=True)
    #: The questionnaire version that gave the current grade.
    grade_questionnaire_id: Mapped[uuid.UUID | None]
    grade_questionnaire_version: Mapped[int | None]
    #: The current grade's care cadence, copied from that (immutable) questionnaire version.
    care_cadence_days: Mapped[int | None]
    last_contact_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    promoted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: The last order sales placed for the customer (from OrderPlaced).
    last_purchase_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_order_total: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    __table_args__ = (
        Index("ix_customers_stage", "lifecycle_stage"),
        #: The folded search (`name_folded LIKE '%q%'`) at a million rows (pg_trgm).
        Index(
            "ix_customers_name_folded_trgm",
            "name_folded",
            postgresql_using="gin",
            postgresql_ops={"name_folded": "gin_trgm_ops"},
        ),
        Index("ix_customers_tax_code", "tax_code", postgresql_ops={"tax_code": "text_pattern_ops"}),
        #: The list's order (newest first, then id): first pages and cursor pages read 50 entries.
        Index("ix_customers_list_order", text("created_at DESC"), "id"),
        Index("ix_customers_owner_list_order", "owner_id", text("created_at DESC"), "id"),
        #: Care overdue in its order: the day care falls due, for the default settings
        #: (migration 0012 says why); other settings answer the same, without the index.
        Index("ix_customers_care_due", text(CARE_DUE), "id", postgresql_where=text(ACTIVE)),
        Index("ix_customers_owner_care_due", "owner_id", text(CARE_DUE), "id", postgresql_where=text(ACTIVE)),
        #: One active customer per tax code; an inactive (or merged) one frees its code.
        Index(
            "uq_customers_active_tax_code",
            "tax_code",
            unique=True,
            postgresql_where=text("tax_code IS NOT NULL AND lifecycle_stage <> 'inactive'"),
        ),
    )


class Contact(Base):
    """A person at the customer (buyer, accountant, director, ...); exactly one of a
    customer's contacts is its primary one."""

    __tablename__ = "customer_contacts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(100))
    #: Normalised (`0` + national number), as the customer's own phone.
    phone: Mapped[str | None] = mapped_column(String(40), index=True)
    email: Mapped[str | None] = mapped_column(String(254))
    is_primary: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        #: At most one primary per customer (the use cases keep it exactly one).
        Index(
            "uq_customer_contacts_primary", "customer_id", unique=True, postgresql_where=text("is_primary")
        ),
    )


class TimelineEntry(Base):
    """Everything that happened to a customer, in order: the audit trail."""

    __tablename__ = "customer_timeline"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    kind: Mapped[str] = mapped_column(String(50))
    actor_id: Mapped[uuid.UUID | None]
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class Questionnaire(Base):
    """One version of a grading questionnaire; versions of one family share `family_id`.

    A version never changes once written: a new definition is a new version, so
    every assessment keeps the exact questions, weights and thresholds it was made with.
    """

    __tablename__ = "questionnaires"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    scheme_kind: Mapped[str] = mapped_column(String(20))
    #: [{name, min_score, review_interval_days, care_cadence_days}], best grade first.
    grades: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    #: [{key, question, weight, options: [{value, label, points}] | None, range: {...} | None}]
    criteria: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    created_by: Mapped[uuid.UUID]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    #: The next version, once there is one (then this one is read-only history).
    superseded_by: Mapped[uuid.UUID | None]

    __table_args__ = (UniqueConstraint("family_id", "version", name="uq_questionnaires_family_version"),)


class AssessmentRecord(Base):
    __tablename__ = "assessments"
    #: A customer's grade on a day is its last assessment before it (`grade_moves`).
    __table_args__ = (Index("ix_assessments_customer_graded", "customer_id", "graded_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), index=True)
    questionnaire_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("questionnaires.id"))
    questionnaire_family_id: Mapped[uuid.UUID]
    questionnaire_version: Mapped[int]
    answers: Mapped[dict[str, Any]] = mapped_column(JSONB)
    points: Mapped[dict[str, Any]] = mapped_column(JSONB)
    score: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    grade: Mapped[str] = mapped_column(String(40))
    previous_grade: Mapped[str | None] = mapped_column(String(40))
    graded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    next_review_on: Mapped[date] = mapped_column(Date)
    assessed_by: Mapped[uuid.UUID]


class Activity(Base):
    """A planned piece of care (call, visit, ...) for a customer, then done or cancelled."""

    __tablename__ = "activities"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=ActivityStatus.PLANNED)
    due_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    assignee_id: Mapped[uuid.UUID | None]
    created_by: Mapped[uuid.UUID]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    outcome: Mapped[str | None] = mapped_column(Text)
    done_on: Mapped[date | None] = mapped_column(Date)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[uuid.UUID | None]

    __table_args__ = (Index("ix_activities_assignee_status_due", "assignee_id", "status", "due_on"),)


class CustomerImport(Base):
    """An uploaded file of customers: previewed first, written only when committed."""

    __tablename__ = "customer_imports"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    file_name: Mapped[str] = mapped_column(String(255))
    uploaded_by: Mapped[uuid.UUID] = mapped_column(index=True)
    #: The uploader's role decides whether rows may name other owners, at commit too.
    uploader_role: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20), default=ImportStatus.PREVIEWED)
    #: The parsed rows: [{row, values: {column: text}}].
    rows: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    #: The preview's report, replaced by the final one at commit.
    report: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    committed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    committed_by: Mapped[uuid.UUID | None]
