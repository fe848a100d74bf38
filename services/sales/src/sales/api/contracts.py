"""Contracts: read, signed, completed, terminated."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from crm_kit.auth import CurrentUser
from crm_kit.http import Page, Paging
from crm_kit.runtime import DbDep

from .. import contracts
from ..domain import ContractAction
from ..schemas import ContractOut, TerminateIn
from .dependencies import SELLERS

router = APIRouter(prefix="/api/contracts", tags=["orders"])


@router.get("")
async def list_contracts(
    user: CurrentUser, db: DbDep, paging: Paging, order_id: uuid.UUID | None = None
) -> Page[ContractOut]:
    """Contracts the caller may see, newest first: a salesperson their own, other roles all."""
    async with db.transaction() as session:
        rows, total = await contracts.list_contracts(session, user, paging, order_id=order_id)
        return Page(items=[ContractOut.model_validate(c) for c in rows], total=total)


@router.get("/{contract_id}")
async def get_contract(contract_id: uuid.UUID, user: CurrentUser, db: DbDep) -> ContractOut:
    """One contract: a salesperson only their own (anyone else's is 'not found'), other roles any."""
    async with db.transaction() as session:
        return ContractOut.model_validate(await contracts.get_contract(session, contract_id, user))


@router.post("/{contract_id}/sign", dependencies=[SELLERS])
async def sign_contract(contract_id: uuid.UUID, user: CurrentUser, db: DbDep) -> ContractOut:
    """draft -> signed (409 from any other status)."""
    async with db.transaction() as session:
        return ContractOut.model_validate(
            await contracts.change_contract(session, contract_id, ContractAction.SIGN, user)
        )


@router.post("/{contract_id}/complete", dependencies=[SELLERS])
async def complete_contract(contract_id: uuid.UUID, user: CurrentUser, db: DbDep) -> ContractOut:
    """signed -> completed (409 from any other status)."""
    async with db.transaction() as session:
        return ContractOut.model_validate(
            await contracts.change_contract(session, contract_id, ContractAction.COMPLETE, user)
        )


@router.post("/{contract_id}/terminate", dependencies=[SELLERS])
async def terminate_contract(
    contract_id: uuid.UUID, body: TerminateIn, user: CurrentUser, db: DbDep
) -> ContractOut:
    """draft or signed -> terminated, with a reason (409 once completed or terminated); the
    order may then get a new contract."""
    async with db.transaction() as session:
        return ContractOut.model_validate(
            await contracts.change_contract(
                session, contract_id, ContractAction.TERMINATE, user, reason=body.reason
            )
        )
