"""Events published by the gateway (staff and their portfolios)."""

from __future__ import annotations

import uuid
from datetime import datetime

from .envelope import Event


class UserRegistered(Event, routing_key="gateway.user.registered.v1"):
    """A member of staff got an account. Services keep a directory of users from it
    (to map owners by username in imports, and to show names)."""

    user_id: uuid.UUID
    username: str
    full_name: str
    role: str
    registered_at: datetime


class UserDeactivated(Event, routing_key="gateway.user.deactivated.v1"):
    """A member of staff left; they can no longer log in or own new records."""

    user_id: uuid.UUID
    deactivated_at: datetime


class TokenRevoked(Event, routing_key="gateway.token.revoked.v1"):
    """A member of staff logged out: the token `token_id` (its `jti`) is refused from now
    on, until `expires_at`, when it would have expired anyway."""

    user_id: uuid.UUID
    token_id: str
    expires_at: datetime


class PortfolioReassigned(Event, routing_key="gateway.portfolio.reassigned.v1"):
    """Everything `from_user_id` owns moves to `to_user_id`.

    Every service moves its own records (leads, customers, planned activities,
    opportunities, open quotes, ...) in one transaction and audits each move;
    `GET /api/users/{id}/portfolio` shows what each still holds for the old owner.
    """

    from_user_id: uuid.UUID
    to_user_id: uuid.UUID
    reassigned_at: datetime
