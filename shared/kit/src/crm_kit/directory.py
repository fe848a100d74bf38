"""A service's own copy of the staff directory, kept from the gateway's user events.

Services that need to know staff by username (imports that name owners) or to
refuse a deactivated owner use it instead of calling the gateway:

    from crm_kit import directory
    directory.register(handlers)                 # in consumers.py
    run_env(Base.metadata, directory.metadata)   # in migrations/env.py
    directory.create_table()                     # in a migration

A service that keeps the directory also refuses the tokens of deactivated staff
(401): `create_service_app` installs `staff_check` for it.
"""

from __future__ import annotations

import time
import uuid
import weakref
from dataclasses import dataclass

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_contracts import Envelope, TokenRevoked, UserDeactivated, UserRegistered

from .auth import StaffCheck, Standing
from .db import Database, Listener
from .handlers import Handlers
from .revocation import revoke, revoked_of

metadata = sa.MetaData()

#: NOTIFYed by every transaction that deactivates staff: each process sharing that
#: database drops the answers its `CachedStaffCheck` kept.
STAFF_CHANNEL = "crm_staff"

staff = sa.Table(
    "staff_directory",
    metadata,
    sa.Column("user_id", sa.Uuid, primary_key=True),
    sa.Column("username", sa.String(50), nullable=False, unique=True),
    sa.Column("full_name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(30), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)


@dataclass(frozen=True)
class StaffMember:
    user_id: uuid.UUID
    username: str
    full_name: str
    role: str
    active: bool


def create_table() -> None:
    """Create the directory table (call from a service's migration)."""
    op.create_table(
        "staff_directory",
        sa.Column("user_id", sa.Uuid, primary_key=True),
        sa.Column("username", sa.String(50), nullable=False, unique=True),
        sa.Column("full_name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(30), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def register(handlers: Handlers) -> None:
    """Keep the directory from UserRegistered and UserDeactivated, and the revoked tokens
    from TokenRevoked (`crm_kit.revocation`)."""

    @handlers.handles(UserRegistered)
    async def user_registered(session: AsyncSession, event: UserRegistered, envelope: Envelope) -> None:
        # Sent again on a change of name or role: a new role refuses the old tokens at once.
        before = await session.scalar(sa.select(staff.c.role).where(staff.c.user_id == event.user_id))
        values = {"username": event.username, "full_name": event.full_name, "role": event.role}
        await session.execute(
            insert(staff)
            .values(user_id=event.user_id, active=True, **values)
            .on_conflict_do_update(index_elements=[staff.c.user_id], set_=values)
        )
        if before is not None and before != event.role:
            await announce_deactivation(session)

    @handlers.handles(UserDeactivated)
    async def user_deactivated(session: AsyncSession, event: UserDeactivated, envelope: Envelope) -> None:
        # The deactivation may arrive before the registration (different order across
        # queues): keep a placeholder row so the later registration cannot reactivate.
        await session.execute(
            insert(staff)
            .values(user_id=event.user_id, username=f"~{event.user_id}", full_name="", role="", active=False)
            .on_conflict_do_update(index_elements=[staff.c.user_id], set_={"active": False})
        )
        await announce_deactivation(session)

    @handlers.handles(TokenRevoked)
    async def token_revoked(session: AsyncSession, event: TokenRevoked, envelope: Envelope) -> None:
        await revoke(session, token_id=event.token_id, user_id=event.user_id, expires_at=event.expires_at)
        await announce_deactivation(session)


async def announce_deactivation(session: AsyncSession) -> None:
    """Tell every `CachedStaffCheck` on this database, when the transaction commits, that
    someone's standing changed (a deactivation, a new role, a logout).

    Those of this process forget at the commit itself: their own NOTIFY reaches them a
    moment later, and the request that follows the change may come first."""
    await session.execute(sa.select(sa.func.pg_notify(STAFF_CHANNEL, "")))
    if not sa.event.contains(session.sync_session, "after_commit", _forget_here):
        sa.event.listen(session.sync_session, "after_commit", _forget_here, once=True)


#: This process's caches, for `announce_deactivation` to drop at commit.
_caches: weakref.WeakSet[CachedStaffCheck] = weakref.WeakSet()


def _forget_here(_session: object) -> None:
    for cache in list(_caches):
        cache._forget()


class CachedStaffCheck:
    """A `StaffCheck` that asks the database once per user and minute, not per request.

    A deactivation anywhere on the same database (`announce_deactivation`) drops every
    kept answer at once, so a deactivated token is refused from the next request on.
    While it cannot LISTEN (the connection broke), it keeps nothing and asks every time.
    """

    def __init__(
        self, check: StaffCheck, db: Database, *, ttl_s: float = 60.0, max_kept: int = 10_000
    ) -> None:
        self.check = check
        self.ttl_s = ttl_s
        self.max_kept = max_kept
        self._kept: dict[uuid.UUID, tuple[Standing, float]] = {}
        #: Bumped by each deactivation; an answer read before one is not kept.
        self._generation = 0
        self._listener = Listener(db, STAFF_CHANNEL, self._forget)
        _caches.add(self)

    async def start(self) -> None:
        await self._listener.start()

    async def stop(self) -> None:
        await self._listener.stop()
        self._forget()

    def _forget(self) -> None:
        self._generation += 1
        self._kept.clear()

    async def __call__(self, user_id: uuid.UUID) -> Standing:
        if not await self._listener.restart_if_dead():
            self._forget()
            return await self.check(user_id)
        now = time.monotonic()
        kept = self._kept.get(user_id)
        if kept is not None and kept[1] > now:
            return kept[0]
        generation = self._generation
        answer = await self.check(user_id)
        if generation == self._generation:
            if len(self._kept) >= self.max_kept:
                self._kept.clear()
            self._kept[user_id] = (answer, now + self.ttl_s)
        return answer


def kept_by(handlers: Handlers) -> bool:
    """Whether a service keeps the directory (it called `register(handlers)`)."""
    return UserDeactivated.routing_key in handlers.by_key


def staff_check(db: Database) -> StaffCheck:
    """`app.state.staff_check` of a service keeping the directory: refuses only staff it
    knows to be deactivated, or to have another role than their token says, and tokens
    revoked by a logout. Someone it has not heard of yet may act: their `UserRegistered`
    may still be on its way, and the token itself was verified."""

    async def standing(user_id: uuid.UUID) -> Standing:
        async with db.transaction() as session:
            found = (
                await session.execute(
                    sa.select(staff.c.active, staff.c.role).where(staff.c.user_id == user_id)
                )
            ).first()
            revoked = await revoked_of(session, user_id)
        if found is None:
            return Standing(revoked=revoked)
        return Standing(active=found.active, role=found.role or None, revoked=revoked)

    return standing


_MEMBER = (staff.c.user_id, staff.c.username, staff.c.full_name, staff.c.role, staff.c.active)


async def by_username(session: AsyncSession, username: str) -> StaffMember | None:
    """The staff member with this username (case-insensitive), if the directory knows them."""
    return await _one(session, staff.c.username == username.strip().lower())


async def by_id(session: AsyncSession, user_id: uuid.UUID) -> StaffMember | None:
    return await _one(session, staff.c.user_id == user_id)


async def _one(session: AsyncSession, where: sa.ColumnElement[bool]) -> StaffMember | None:
    row = (await session.execute(sa.select(*_MEMBER).where(where))).first()
    return StaffMember(*row) if row else None
