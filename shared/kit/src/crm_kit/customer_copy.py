"""The copy of each customer that a consuming service keeps, newest fact wins.

Sales, accounting and marketing each need to know a customer's name, region,
channel, owner, grade and stage without reading the customers database. They learn
them from the customers service's events, which arrive in any order across queues
and retries. Each event is a *fact*: what the customers service said of one part of
the record at the time it stamped on the event. `record` keeps, part by part, the
newest fact it has heard, so an old event arriving late changes nothing:

| part                           | told by                                  | its time       |
|--------------------------------|------------------------------------------|----------------|
| name, region_code, channel_id, | registered, promoted, updated            | `details_as_of` |
| tax_code, legal_name,          |                                          |                |
| billing_address                |                                          |                |
| owner_id                       | registered, promoted, reassigned         | `owner_as_of`  |
| lifecycle_stage                | registered, promoted, deactivated        | `stage_as_of`  |
| grade, score                   | graded (registration: only if none known) | `graded_at`    |
| merged_into_id, merged_at      | merged (final: a merge is never undone)  | `merged_at`    |

A fact about a customer not known yet makes a placeholder row that later facts
complete. `register` adds the three standard handlers (updated, reassigned,
deactivated; graded on request); a service's own handlers (a promotion opens an
account, say) call `record` with `Fact.of_promotion(...)` and go on from the row it
returns::

    customer_copy.register(handlers, apply=copy_to_accounts)   # consumers.py
    run_env(Base.metadata, customer_copy.metadata)              # migrations/env.py
    customer_copy.create_table()                                # a migration
    customer_copy.add_b2b_columns()                             # a later one
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import (
    CustomerDeactivated,
    CustomerGraded,
    CustomerPromotedToTraditional,
    CustomerReassigned,
    CustomerRegistered,
    CustomersMerged,
    CustomerUpdated,
    Envelope,
)

from .handlers import Handlers


class Stage(StrEnum):
    PROSPECT = "prospect"
    TRADITIONAL = "traditional"
    INACTIVE = "inactive"


metadata = sa.MetaData()


def _columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("customer_id", sa.Uuid, primary_key=True),
        # "" until a registration, promotion or edit says it (a placeholder row).
        sa.Column("name", sa.String(200), nullable=False, server_default=""),
        sa.Column("region_code", sa.String(10)),
        sa.Column("channel_id", sa.Uuid),
        sa.Column("details_as_of", sa.DateTime(timezone=True)),
        sa.Column("owner_id", sa.Uuid),
        sa.Column("owner_as_of", sa.DateTime(timezone=True)),
        sa.Column("lifecycle_stage", sa.String(20), nullable=False, server_default=Stage.PROSPECT.value),
        sa.Column("stage_as_of", sa.DateTime(timezone=True)),
        sa.Column("grade", sa.String(40)),
        sa.Column("score", sa.Float),
        sa.Column("graded_at", sa.DateTime(timezone=True)),
    ]


def _b2b_columns() -> list[sa.Column[Any]]:
    """Added after the table (`add_b2b_columns`): what invoices need, and merges."""
    return [
        sa.Column("tax_code", sa.String(14)),
        sa.Column("legal_name", sa.String(300)),
        sa.Column("billing_address", sa.String(500)),
        # The customer it was merged into (the survivor), once merged.
        sa.Column("merged_into_id", sa.Uuid),
        sa.Column("merged_at", sa.DateTime(timezone=True)),
    ]


known_customers = sa.Table("known_customers", metadata, *_columns(), *_b2b_columns())
_C = known_customers.c


def create_table() -> None:
    """For a migration: the table with its indexes (owner for visibility, region for reports)."""
    op.create_table("known_customers", *_columns())
    op.create_index("ix_known_customers_owner_id", "known_customers", ["owner_id"])
    op.create_index("ix_known_customers_region_code", "known_customers", ["region_code"])


def add_b2b_columns() -> None:
    """For a migration after `create_table`'s: tax code, legal name, billing address, merge."""
    for column in _b2b_columns():
        op.add_column("known_customers", column)


def drop_b2b_columns() -> None:
    for column in reversed(_b2b_columns()):
        op.drop_column("known_customers", column.name)


sa.Index("ix_known_customers_owner_id", _C.owner_id)
sa.Index("ix_known_customers_region_code", _C.region_code)


class GradeRule(StrEnum):
    NONE = "none"
    #: A grading: the newest `graded_at` wins.
    NEWEST = "newest"
    #: The grade a registration carries (an import's): kept only if no grading is known.
    IF_UNKNOWN = "if_unknown"


#: The details' columns, all told together (`details_as_of`).
DETAILS = ("name", "region_code", "channel_id", "tax_code", "legal_name", "billing_address")


@dataclass(frozen=True)
class Details:
    name: str
    region_code: str | None
    channel_id: uuid.UUID | None
    tax_code: str | None = None
    legal_name: str | None = None
    billing_address: str | None = None

    @classmethod
    def of(cls, event: CustomerRegistered | CustomerPromotedToTraditional | CustomerUpdated) -> Details:
        return cls(**{name: getattr(event, name) for name in DETAILS})


@dataclass(frozen=True)
class Fact:
    """What the customers service said of one customer at `as_of` (see the module's table)."""

    customer_id: uuid.UUID
    as_of: datetime
    details: Details | None = None
    #: Whether the fact tells the owner (`owner_id` may then be None: nobody owns it).
    tells_owner: bool = False
    owner_id: uuid.UUID | None = None
    stage: Stage | None = None
    grade: str | None = None
    score: float | None = None
    grade_rule: GradeRule = GradeRule.NONE
    #: The survivor this customer was merged into (a merge is final: the first one told stays).
    merged_into_id: uuid.UUID | None = None

    @property
    def shape(self) -> tuple[bool, bool, bool, GradeRule, bool]:
        """Which parts it tells: facts of one shape are recorded by one statement."""
        return (
            self.details is not None,
            self.tells_owner,
            self.stage is not None,
            self.grade_rule,
            self.merged_into_id is not None,
        )

    @classmethod
    def of_registration(cls, event: CustomerRegistered, occurred_at: datetime) -> Fact:
        return cls._of_record(
            event,
            occurred_at,
            Stage(event.lifecycle_stage),
            grade=event.grade,
            grade_rule=GradeRule.IF_UNKNOWN,
        )

    @classmethod
    def of_promotion(cls, event: CustomerPromotedToTraditional) -> Fact:
        return cls._of_record(event, event.promoted_at, Stage.TRADITIONAL)

    @classmethod
    def _of_record(
        cls,
        event: CustomerRegistered | CustomerPromotedToTraditional,
        as_of: datetime,
        stage: Stage,
        **grade: Any,
    ) -> Fact:
        """What a registration or a promotion tells: the details, the owner and the stage."""
        return cls(
            event.customer_id,
            as_of,
            details=Details.of(event),
            tells_owner=True,
            owner_id=event.owner_id,
            stage=stage,
            **grade,
        )

    @classmethod
    def of_update(cls, event: CustomerUpdated) -> Fact:
        return cls(
            event.customer_id,
            event.updated_at,
            details=Details.of(event),
        )

    @classmethod
    def of_reassignment(cls, event: CustomerReassigned) -> Fact:
        return cls(event.customer_id, event.reassigned_at, tells_owner=True, owner_id=event.to_owner_id)

    @classmethod
    def of_deactivation(cls, event: CustomerDeactivated) -> Fact:
        return cls(event.customer_id, event.deactivated_at, stage=Stage.INACTIVE)

    @classmethod
    def of_merge(cls, event: CustomersMerged) -> Fact:
        """Of the merged customer: inactive, and which customer it became."""
        return cls(
            event.merged_customer_id,
            event.merged_at,
            stage=Stage.INACTIVE,
            merged_into_id=event.customer_id,
        )

    @classmethod
    def of_grading(cls, event: CustomerGraded) -> Fact:
        return cls(
            event.customer_id,
            event.graded_at,
            grade=event.grade,
            score=event.score,
            grade_rule=GradeRule.NEWEST,
        )

    def row(self) -> dict[str, Any]:
        """Every column, so that facts of one shape share one statement."""
        values: dict[str, Any] = {column.name: None for column in known_customers.columns}
        values |= {"customer_id": self.customer_id, "name": "", "lifecycle_stage": Stage.PROSPECT.value}
        if self.details is not None:
            values |= {name: getattr(self.details, name) for name in DETAILS}
            values["details_as_of"] = self.as_of
        if self.tells_owner:
            values |= {"owner_id": self.owner_id, "owner_as_of": self.as_of}
        if self.stage is not None:
            values |= {"lifecycle_stage": self.stage.value, "stage_as_of": self.as_of}
        if self.grade_rule is GradeRule.NEWEST:
            values |= {"grade": self.grade, "score": self.score, "graded_at": self.as_of}
        elif self.grade_rule is GradeRule.IF_UNKNOWN:
            values["grade"] = self.grade
        if self.merged_into_id is not None:
            values |= {"merged_into_id": self.merged_into_id, "merged_at": self.as_of}
        return values


async def record(session: AsyncSession, facts: Iterable[Fact]) -> dict[uuid.UUID, sa.Row[Any]]:
    """Record `facts`, part by part newest first; the customers' rows as they are now.

    One statement per shape of fact (built and compiled once per shape, its rows the
    parameters). Of several facts of one shape about one customer, the newest counts,
    as if recorded one by one; facts of different shapes are recorded in the order given.
    """
    known: dict[uuid.UUID, sa.Row[Any]] = {}
    for shape, same in itertools.groupby(facts, key=lambda fact: fact.shape):
        newest: dict[uuid.UUID, Fact] = {}
        for fact in same:
            if fact.customer_id not in newest or newest[fact.customer_id].as_of < fact.as_of:
                newest[fact.customer_id] = fact
        rows = [newest[customer_id].row() for customer_id in sorted(newest)]
        for row in await session.execute(_statement(*shape), rows):
            known[row.customer_id] = row
    return known


async def known(session: AsyncSession, customer_id: uuid.UUID) -> sa.Row[Any] | None:
    """The customer as this service knows it, or None."""
    return (await session.execute(sa.select(known_customers).where(_C.customer_id == customer_id))).first()


async def arrived(
    session: AsyncSession, customer_id: uuid.UUID, *, within_s: float, poll_s: float = 0.05
) -> sa.Row[Any] | None:
    """The customer as this service knows it, waiting up to `within_s` for the event that
    tells it (a registration or a promotion: the row has a stage), or None if none came.

    For a request about a customer created a moment ago in the customers service, whose
    event is still on its way (read your own writes). Each look is its own statement, so
    in the caller's READ COMMITTED transaction it sees what committed meanwhile.
    """
    deadline = time.monotonic() + within_s
    while True:
        row = await known(session, customer_id)
        if row is not None and row.stage_as_of is not None:
            return row
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        await asyncio.sleep(min(poll_s, left))
        poll_s = min(poll_s * 2, 0.25)


def _newer(stmt: Any, as_of: str, columns: tuple[str, ...]) -> dict[str, Any]:
    """ON CONFLICT assignments taking `columns` from the incoming row only if its `as_of`
    is newer than the stored row's, or the stored row has none (a placeholder)."""
    current = known_customers.c
    newer = sa.or_(current[as_of].is_(None), current[as_of] < stmt.excluded[as_of])
    return {
        **{column: sa.case((newer, stmt.excluded[column]), else_=current[column]) for column in columns},
        as_of: sa.func.greatest(current[as_of], stmt.excluded[as_of]),
    }


async def survivor(session: AsyncSession, customer_id: uuid.UUID) -> uuid.UUID:
    """The customer `customer_id` is now: itself, or the survivor of its merges (followed
    to the end: a survivor may have been merged in turn)."""
    seen = {customer_id}
    current = customer_id
    while True:
        into = await session.scalar(sa.select(_C.merged_into_id).where(_C.customer_id == current))
        if into is None or into in seen:
            return current
        seen.add(into)
        current = into


@functools.cache
def _statement(details: bool, owner: bool, stage: bool, grade: GradeRule, merged: bool) -> sa.Executable:
    stmt = insert(known_customers)
    set_: dict[str, Any] = {}
    if details:
        set_ |= _newer(stmt, "details_as_of", DETAILS)
    if owner:
        set_ |= _newer(stmt, "owner_as_of", ("owner_id",))
    if stage:
        set_ |= _newer(stmt, "stage_as_of", ("lifecycle_stage",))
    if grade is GradeRule.NEWEST:
        set_ |= _newer(stmt, "graded_at", ("grade", "score"))
    elif grade is GradeRule.IF_UNKNOWN:
        set_["grade"] = sa.func.coalesce(_C.grade, stmt.excluded.grade)
    if merged:
        set_ |= {
            column: sa.func.coalesce(_C[column], stmt.excluded[column])
            for column in ("merged_into_id", "merged_at")
        }
    # Every shape sets something; RETURNING needs the row touched even when nothing changes.
    upsert = stmt.on_conflict_do_update(index_elements=[_C.customer_id], set_=set_)
    return upsert.returning(*known_customers.columns)


#: What a service does with the rows `record` changed: copy them into its own tables.
Apply = Callable[[AsyncSession, Sequence[sa.Row[Any]]], Awaitable[None]]


#: What a service does when one customer was merged into another: move its own records.
Repoint = Callable[[AsyncSession, CustomersMerged], Awaitable[None]]


async def _nothing(session: AsyncSession, rows: Sequence[sa.Row[Any]]) -> None:
    return None


async def _no_records(session: AsyncSession, event: CustomersMerged) -> None:
    return None


def register(
    handlers: Handlers, *, apply: Apply = _nothing, graded: bool = False, merged: Repoint = _no_records
) -> None:
    """The standard handlers: an edit, a new owner, a deactivation, a merge (and, with
    `graded`, a grading) are recorded, then handed to `apply` with the customer's row as it
    is now. A merge first goes to `merged`, which moves the service's records of the
    merged customer to the survivor; it must change nothing when run twice."""

    async def take(session: AsyncSession, fact: Fact) -> None:
        rows = await record(session, [fact])
        await apply(session, list(rows.values()))

    @handlers.handles(CustomerUpdated)
    async def customer_updated(session: AsyncSession, event: CustomerUpdated, envelope: Envelope) -> None:
        await take(session, Fact.of_update(event))

    @handlers.handles(CustomerReassigned)
    async def customer_reassigned(
        session: AsyncSession, event: CustomerReassigned, envelope: Envelope
    ) -> None:
        await take(session, Fact.of_reassignment(event))

    @handlers.handles(CustomerDeactivated)
    async def customer_deactivated(
        session: AsyncSession, event: CustomerDeactivated, envelope: Envelope
    ) -> None:
        await take(session, Fact.of_deactivation(event))

    @handlers.handles(CustomersMerged)
    async def customers_merged(session: AsyncSession, event: CustomersMerged, envelope: Envelope) -> None:
        await take(session, Fact.of_merge(event))
        await merged(session, event)

    if graded:

        @handlers.handles(CustomerGraded)
        async def customer_graded(session: AsyncSession, event: CustomerGraded, envelope: Envelope) -> None:
            await take(session, Fact.of_grading(event))
