"""Who may own a lead and who may give one away: the staff lookups (in the kit's
staff directory, kept from the gateway's user events), and assignment."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from crm_kit import directory, errors
from crm_kit.auth import Role, User
from crm_kit.spreadsheet import RowProblem

from . import history
from .domain import Action
from .models import Lead
from .schemas import AssignRequest
from .search import get_visible

#: Roles that give leads to others: capture for someone, assign, import for someone.
MANAGERS = frozenset({Role.SALES_MANAGER, Role.ADMIN})
#: Roles that may own a lead (an accountant cannot work one).
OWNER_ROLES = frozenset({Role.SALESPERSON, Role.SALES_MANAGER, Role.ADMIN, Role.MARKETING})


async def assign(session: AsyncSession, lead_id: uuid.UUID, data: AssignRequest, user: User) -> Lead:
    """A manager gives the lead to someone else."""
    lead = await get_visible(session, lead_id, user, for_update=True)
    await check_owner(session, data.owner_id)
    if lead.owner_id == data.owner_id:
        return lead
    before = history.snapshot(lead)
    lead.owner_id = data.owner_id
    lead.updated_at = datetime.now(UTC)
    history.record_change(session, lead, Action.ASSIGNED, user.id, before)
    return lead


async def check_owner(session: AsyncSession, owner_id: uuid.UUID, field: str = "owner_id") -> None:
    member = await directory.by_id(session, owner_id)
    if member is None or not member.active:
        raise errors.Invalid.at(
            ("body", field),
            f"{owner_id} is not an active member of staff",
            code="owner.inactive",
            params={"owner": str(owner_id)},
        )
    if member.role not in OWNER_ROLES:
        raise errors.Invalid.at(
            ("body", field),
            f"{member.username} is {member.role or 'not staff'}, who cannot own leads",
            code="owner.role_cannot_own",
            params={"username": member.username, "role": member.role or ""},
        )


async def import_owners(
    session: AsyncSession, user: User, usernames: set[str]
) -> dict[str, uuid.UUID | RowProblem]:
    """Each owner named in the file (and "" for the importer): their id, or why not."""
    owners: dict[str, uuid.UUID | RowProblem] = {}
    for username in ["", *sorted(usernames)]:
        if username:
            member, label = await directory.by_username(session, username), repr(username)
        else:
            member, label = await directory.by_id(session, user.id), "you"
        if member is None:
            owners[username] = (
                _owner_problem("owner.unknown", f"no member of staff is called {label}", username=username)
                if username
                else _owner_problem("owner.importer_unknown", "you are not in the staff directory yet")
            )
        elif not member.active:
            owners[username] = _owner_problem(
                "owner.inactive", f"{label} is no longer active", owner=username or member.username
            )
        elif member.role not in OWNER_ROLES:
            owners[username] = _owner_problem(
                "owner.role_cannot_own",
                f"{label} ({member.role}) cannot own leads",
                username=username or member.username,
                role=member.role or "",
            )
        elif member.user_id != user.id and user.role not in MANAGERS:
            owners[username] = _owner_problem(
                "lead.assign_to_other_forbidden",
                "only a sales manager or an admin may give leads to someone else",
            )
        else:
            owners[username] = member.user_id
    return owners


def _owner_problem(code: str, message: str, **params: str) -> RowProblem:
    return RowProblem(column="owner", code=code, params=params, message=message)
