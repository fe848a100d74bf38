"""The gateway's rules: usernames, passwords, which service owns a path, and the
kinds of audit entries and notifications; no I/O."""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum

from pydantic_core import PydanticCustomError

USERNAME = re.compile(r"^[a-z0-9._-]{3,50}$")
PASSWORD_MIN = 8
#: Hashing cost grows with the input; a cap keeps one request from burning a core.
PASSWORD_MAX = 256


#: Who owns customers, leads and quotes, and so who may take such a portfolio over.
SELLING_ROLES = frozenset({"salesperson", "sales_manager"})


def may_take_over(leaving_role: str, successor_role: str) -> bool:
    """Whether a user of `successor_role` may take over the portfolio of one leaving
    with `leaving_role`: a seller's customers, leads and quotes go to another seller (an
    accountant or a marketer cannot own them); anyone else's to anyone active."""
    return leaving_role not in SELLING_ROLES or successor_role in SELLING_ROLES


class AuditAction(StrEnum):
    """What a user's audit entry records (`user_audit.action`)."""

    CREATED = "created"
    UPDATED = "updated"
    OFFBOARDED = "offboarded"


class NotificationKind(StrEnum):
    """What a notification tells (`notifications.kind`); the UI's text is `notify.<kind>`."""

    QUOTE_WAITING = "quote_waiting"
    QUOTE_APPROVED = "quote_approved"
    QUOTE_REJECTED = "quote_rejected"
    LEAD_ASSIGNED = "lead_assigned"
    REVIEW_DUE = "review_due"
    CARE_DUE = "care_due"


#: Services the gateway forwards to (each has a `<name>_url` setting).
SERVICES = ("leads", "customers", "sales", "accounting", "marketing")

#: First path segment after /api/ of the routes every service serves for an admin.
ADMIN_SEGMENT = "admin"

#: First path segment after /api/ -> the service that owns it.
ROUTES: Mapping[str, str] = {
    "leads": "leads",
    "customers": "customers",
    "questionnaires": "customers",
    "activities": "customers",
    "sales": "sales",
    "products": "sales",
    "product-groups": "sales",
    "opportunities": "sales",
    "quotes": "sales",
    "orders": "sales",
    "contracts": "sales",
    "performance": "sales",
    "approval-rules": "sales",
    "price-lists": "sales",
    "accounts": "accounting",
    "invoices": "accounting",
    "payments": "accounting",
    "credit-notes": "accounting",
    "credit-checks": "accounting",
    "receivables": "accounting",
    "ledger": "accounting",
    "company-profile": "accounting",
    "credit-policy": "accounting",
    "regions": "marketing",
    "channels": "marketing",
    "targets": "marketing",
    "market-volumes": "marketing",
    "market-share": "marketing",
    "campaigns": "marketing",
}


def normalise_username(raw: str) -> str:
    """Usernames are compared case-insensitively, so they are stored lower-case."""
    username = raw.strip().lower()
    if not USERNAME.match(username):
        raise PydanticCustomError(
            "user.username_invalid",
            "username must be 3-50 characters of lower-case letters, digits, '.', '_' or '-'",
            {"username": raw},
        )
    return username


def check_password(password: str) -> str:
    if len(password) < PASSWORD_MIN:
        raise PydanticCustomError(
            "user.password_too_short",
            "password must be at least {min_length} characters",
            {"min_length": PASSWORD_MIN},
        )
    if len(password) > PASSWORD_MAX:
        raise PydanticCustomError(
            "user.password_too_long",
            "password must be at most {max_length} characters",
            {"max_length": PASSWORD_MAX},
        )
    return password


def owning_service(path: str) -> str | None:
    """The service that serves `path` (e.g. `/api/quotes/1/submit` -> `sales`), if any.

    `/api/admin/<service>/...` is that service's (the routes every service serves for
    an admin, e.g. `crm_kit.routes.admin_router`); `/api/admin/gateway/...` is the gateway's own.

    A path with `.` or `..` segments has no owner: the HTTP client would resolve
    them and could reach a route outside `/api/<segment>` on the target service.
    """
    if not path.startswith("/api/"):
        return None
    segments = path[len("/api/") :].split("/")
    if any(s in (".", "..") for s in segments):
        return None
    if segments[0] == ADMIN_SEGMENT:
        return segments[1] if len(segments) > 1 and segments[1] in SERVICES else None
    return ROUTES.get(segments[0])
