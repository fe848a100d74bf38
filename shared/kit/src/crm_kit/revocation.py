"""Tokens revoked before they expire: a logout ends its token everywhere within seconds.

The gateway records the logout (`revoke`) and announces it (`TokenRevoked`); every
service keeping the staff directory records it too from the event (`directory.register`). Both refuse the
token (401) from the next request on: the revocation NOTIFYs `directory.STAFF_CHANNEL`,
so no `CachedStaffCheck` on that database keeps an answer read before it.

    run_env(Base.metadata, directory.metadata, revocation.metadata)  # migrations/env.py
    revocation.create_table()                                        # in a migration

A row is needed only until its token would have expired anyway: each revocation
deletes the rows past that (indexed), so the table holds at most one session's worth
of logouts.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

metadata = sa.MetaData()


def _columns() -> list[sa.Column[object]]:
    return [
        sa.Column("token_id", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Uuid, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    ]


revoked_tokens = sa.Table(
    "revoked_tokens",
    metadata,
    *_columns(),
    sa.Index("ix_revoked_tokens_user_id", "user_id"),
    sa.Index("ix_revoked_tokens_expires_at", "expires_at"),
)


def create_table() -> None:
    """Create the table (call from a service's migration)."""
    op.create_table("revoked_tokens", *_columns())
    op.create_index("ix_revoked_tokens_user_id", "revoked_tokens", ["user_id"])
    op.create_index("ix_revoked_tokens_expires_at", "revoked_tokens", ["expires_at"])


async def revoke(session: AsyncSession, *, token_id: str, user_id: uuid.UUID, expires_at: datetime) -> None:
    """Refuse the token (idempotent). The caller announces it with
    `directory.announce_deactivation`, so cached standings are dropped at commit."""
    await session.execute(
        insert(revoked_tokens)
        .values(token_id=token_id, user_id=user_id, expires_at=expires_at)
        .on_conflict_do_nothing(index_elements=[revoked_tokens.c.token_id])
    )
    await session.execute(sa.delete(revoked_tokens).where(revoked_tokens.c.expires_at < sa.func.now()))


async def revoked_of(session: AsyncSession, user_id: uuid.UUID) -> frozenset[str]:
    """The ids of `user_id`'s tokens that were revoked and have not expired yet."""
    rows = await session.scalars(
        sa.select(revoked_tokens.c.token_id).where(
            revoked_tokens.c.user_id == user_id, revoked_tokens.c.expires_at > sa.func.now()
        )
    )
    return frozenset(rows)
