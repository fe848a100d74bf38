"""Contracts: an order whose total reaches the contract threshold gets one, drafted,
then signed and completed, or terminated (a draft never signed may be abandoned too)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_kit import errors
from crm_kit.auth import User
from crm_kit.http import PageParams
from crm_kit.queries import fetch_page, visible_to

from . import domain
from .common import audit, next_number, utc_now, where_given
from .domain import AuditAction, Audited, ContractAction, ContractStatus
from .models import Contract
from .orders import get_order
from .schemas import ContractCreate
from .settings import Settings


async def create_contract(
    session: AsyncSession, order_id: uuid.UUID, body: ContractCreate, user: User, settings: Settings
) -> Contract:
    order = await get_order(session, order_id, user, lock=True)
    if not order.needs_contract:
        raise errors.Conflict(
            f"order {order.number} needs no contract (its total is below {settings.contract_threshold} dong)",
            code="contract.not_needed",
            params={"order": order.number, "threshold_amount": settings.contract_threshold},
        )
    live = await session.scalar(
        select(Contract).where(Contract.order_id == order.id, Contract.status != ContractStatus.TERMINATED)
    )
    if live is not None:
        raise errors.Conflict(
            f"order {order.number} already has contract {live.number} ({live.status})",
            code="contract.exists",
            params={"order": order.number, "contract": live.number, "contract_status": str(live.status)},
        )
    contract = Contract(
        id=uuid.uuid4(),
        number=await next_number(session, domain.CONTRACT_NUMBER, settings.today().year),
        order_id=order.id,
        customer_id=order.customer_id,
        owner_id=order.owner_id,
        status=ContractStatus.DRAFT,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        terms=body.terms,
        created_by=user.id,
        created_at=utc_now(),
    )
    session.add(contract)
    await session.flush()
    await audit(
        session, Audited.CONTRACT, contract.id, AuditAction.CREATED, user.id, {"number": contract.number}
    )
    return contract


async def _contract(
    session: AsyncSession, contract_id: uuid.UUID, user: User, *, lock: bool = False
) -> Contract:
    contract = await session.get(Contract, contract_id, with_for_update=lock or None)
    if contract is None or not user.can_see(contract.owner_id):
        raise errors.NotFound("contract", contract_id)
    return contract


async def get_contract(session: AsyncSession, contract_id: uuid.UUID, user: User) -> Contract:
    return await _contract(session, contract_id, user)


async def list_contracts(
    session: AsyncSession, user: User, page: PageParams, *, order_id: uuid.UUID | None = None
) -> tuple[list[Contract], int]:
    stmt = where_given(visible_to(select(Contract), Contract.owner_id, user), (Contract.order_id, order_id))
    return await fetch_page(session, stmt, page, Contract.created_at.desc(), Contract.id)


async def change_contract(
    session: AsyncSession,
    contract_id: uuid.UUID,
    action: ContractAction,
    user: User,
    *,
    reason: str | None = None,
) -> Contract:
    contract = await _contract(session, contract_id, user, lock=True)
    before = contract.status
    contract.status = domain.contract_transition(ContractStatus(contract.status), action)
    now = utc_now()
    if action == ContractAction.SIGN:
        contract.signed_at = now
    elif action == ContractAction.COMPLETE:
        contract.completed_at = now
    else:
        contract.terminated_at = now
        contract.termination_reason = reason
    changes: dict[str, Any] = {"status": [before, contract.status]}
    if reason:
        changes["reason"] = reason
    await audit(session, Audited.CONTRACT, contract.id, action, user.id, changes)
    return contract
