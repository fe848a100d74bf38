"""The approval rules: which quotes need a sales manager."""

from __future__ import annotations

from fastapi import APIRouter

from crm_kit.auth import CurrentUser
from crm_kit.runtime import DbDep

from .. import approval
from ..schemas import ApprovalRulesIn, ApprovalRulesOut
from .dependencies import MANAGERS

router = APIRouter(prefix="/api/approval-rules", tags=["quotes"])


@router.get("")
async def get_approval_rules(user: CurrentUser, db: DbDep) -> ApprovalRulesOut:
    """The rules that decide which submitted quotes wait for a sales manager's approval."""
    async with db.transaction() as session:
        return ApprovalRulesOut.model_validate(await approval.approval_rules(session))


@router.put("", dependencies=[MANAGERS])
async def set_approval_rules(body: ApprovalRulesIn, user: CurrentUser, db: DbDep) -> ApprovalRulesOut:
    """`all`: every quote needs a manager. `threshold`: only quotes with a total of at least
    `min_total`, a line discount above `max_discount_pct`, or a line whose net is more than
    `max_below_level_pct` percent below its level (`level_price` x quantity); the others
    are approved when their credit check passes. Applies to submissions from now on."""
    async with db.transaction() as session:
        return ApprovalRulesOut.model_validate(await approval.set_approval_rules(session, body, user))
