from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, Index, String, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crm_kit.db import Model


class Base(Model, DeclarativeBase):
    pass


class UserAccount(Base):
    """A person who logs in; `crm_kit.auth.User` is what their token says about them."""

    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(50))
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    #: The web UI's language ("vi" or "en"), remembered across logins.
    language: Mapped[str] = mapped_column(String(2), server_default="vi")

    __table_args__ = (UniqueConstraint("username", name="uq_users_username"),)


class UserAudit(Base):
    """One change to a user: who made it, when, and `{field: [old, new]}`.

    The actor is not a foreign key: the trail outlives any account, and the seed
    (no actor) writes it too.
    """

    __tablename__ = "user_audit"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID]
    actor_id: Mapped[uuid.UUID | None]
    action: Mapped[str] = mapped_column(String(20))
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (Index("ix_user_audit_user_at", "user_id", "at"),)


class Handover(Base):
    """A leaving user's portfolio handed to another: requested at offboarding; every
    service moves its own records when it gets `PortfolioReassigned`."""

    __tablename__ = "handovers"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    from_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    to_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    requested_by: Mapped[uuid.UUID]
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_handovers_from_user", "from_user_id"),
        Index("ix_handovers_to_user", "to_user_id"),
    )


class Notification(Base):
    """Something a person should know (a quote waits for their approval, their quote
    was decided, a lead was assigned to them, a review or a care activity is due),
    filled from events.

    `params` holds what the text is made of, so it is shown in the reader's language.
    """

    __tablename__ = "notifications"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict[str, Any]] = mapped_column(JSONB)
    link: Mapped[str | None] = mapped_column(String(300))
    dedupe_key: Mapped[str | None] = mapped_column(String(120))
    event_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    visible_from: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("user_id", "dedupe_key", name="uq_notifications_user_key"),
        Index("ix_notifications_user_visible", "user_id", "visible_from"),
    )


class LoginFailure(Base):
    """One failed login, kept for the throttle's window (`ratelimit.LoginThrottle`). In the
    database, so every gateway replica counts the same failures."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    #: The client's address (from a trusted proxy's forwarded header when there is one).
    address: Mapped[str] = mapped_column(String(64))
    #: Normalised and cut to 100 characters.
    username: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_login_failures_address_at", "address", "at"),
        Index("ix_login_failures_at", "at"),
    )
