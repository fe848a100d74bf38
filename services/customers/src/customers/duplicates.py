"""The duplicate warning on a customer created by hand, answered like the leads' capture:
a 409 with the customers that look like the same business, unless the caller confirms
(`confirm_duplicate: true`).

A customer looks like another when they share the tax code (an inactive customer's: an
active one's is refused outright, `records.refuse_taken_tax_code`), the phone number
(normalised; the customer's own or any of its contacts') or the folded name. Merged
customers are not matched: the customer they became is.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_kit import errors
from crm_kit.auth import User

from .models import Contact, Customer
from .schemas import DuplicateOut

#: Advisory-lock class of the duplicate check, which reads then writes.
_DEDUPE_KEY = 730_102


@dataclass(frozen=True)
class Keys:
    """What identifies a business across customers however it was typed."""

    tax_code: str | None
    phone: str | None
    name: str

    def lookups(self) -> list[str]:
        given = [("tax_code", self.tax_code), ("phone", self.phone), ("name", self.name)]
        return sorted(f"{kind}:{value}" for kind, value in given if value)


def matched_on(keys: Keys, customer: Customer, phones: set[str]) -> list[str]:
    """On what `customer` (with its contacts' `phones`) matches `keys`, in the reported order."""
    on = []
    if keys.tax_code and customer.tax_code == keys.tax_code:
        on.append("tax_code")
    if keys.phone and (customer.phone == keys.phone or keys.phone in phones):
        on.append("phone")
    if keys.name and customer.name_folded == keys.name:
        on.append("name")
    return on


async def find(
    session: AsyncSession, keys: Keys, *, exclude: uuid.UUID | None = None, limit: int = 20
) -> list[tuple[Customer, list[str]]]:
    """Customers (not merged ones) that look like `keys`, oldest first, and on what."""
    conditions = [Customer.name_folded == keys.name] if keys.name else []
    if keys.tax_code:
        conditions.append(Customer.tax_code == keys.tax_code)
    if keys.phone:
        by_contact = select(Contact.customer_id).where(Contact.phone == keys.phone)
        conditions += [Customer.phone == keys.phone, Customer.id.in_(by_contact)]
    if not conditions:
        return []
    stmt = select(Customer).where(or_(*conditions), Customer.merged_into_id.is_(None))
    if exclude is not None:
        stmt = stmt.where(Customer.id != exclude)
    found = list(await session.scalars(stmt.order_by(Customer.created_at, Customer.id).limit(limit)))
    phones: dict[uuid.UUID, set[str]] = {c.id: set() for c in found}
    if keys.phone and found:
        rows = await session.execute(
            select(Contact.customer_id, Contact.phone).where(
                Contact.customer_id.in_(list(phones)), Contact.phone == keys.phone
            )
        )
        for customer_id, phone in rows.all():
            if phone:
                phones[customer_id].add(phone)
    return [(c, matched_on(keys, c, phones[c.id])) for c in found]


def shown_to(user: User, found: list[tuple[Customer, list[str]]]) -> list[dict[str, Any]]:
    """A customer the caller may not see still warns, but shows only that it exists."""
    out = []
    for customer, on in found:
        shown = DuplicateOut.model_validate({**customer.__dict__, "matched_on": on})
        limited = None if user.can_see(customer.owner_id) else {"id", "lifecycle_stage", "matched_on"}
        out.append(shown.model_dump(mode="json", include=limited))
    return out


async def refuse(session: AsyncSession, user: User, keys: Keys, *, confirmed: bool) -> None:
    """409 with the look-alikes, unless `confirmed`; holds each key until the transaction ends,
    so two look-alikes created at once are not both let through unwarned."""
    if confirmed:
        return
    for key in keys.lookups():
        await session.execute(select(func.pg_advisory_xact_lock(_DEDUPE_KEY, func.hashtext(key))))
    found = await find(session, keys)
    if found:
        raise errors.Conflict(
            "possible duplicates",
            code="customer.possible_duplicates",
            detail={"message": "possible duplicates", "duplicates": shown_to(user, found)},
        )
