"""A customer's contacts: several people (name, role, phone, e-mail), exactly one primary.

Each change locks the customer's row first, so two requests cannot both make a primary
(the partial unique index `uq_customer_contacts_primary` would refuse the second anyway).
The first contact is the primary one; making another primary takes it from the one
before; removing the primary hands it to the oldest contact left. Every change is in
the customer's timeline.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm_kit import errors
from crm_kit.auth import User

from .domain import TimelineKind
from .models import Contact, Customer
from .records import get_visible, now, refuse_inactive
from .schemas import ContactIn, ContactPatch
from .timeline import jsonable, record

#: What a contact's timeline entry shows of it.
SHOWN = ("name", "role", "phone", "email", "is_primary")


def _shown(contact: Contact) -> dict[str, Any]:
    return {"contact_id": str(contact.id), **{name: getattr(contact, name) for name in SHOWN}}


async def of_customer(session: AsyncSession, customer_id: uuid.UUID) -> list[Contact]:
    """The customer's contacts, the primary first, then oldest first."""
    rows = await session.scalars(
        select(Contact)
        .where(Contact.customer_id == customer_id)
        .order_by(Contact.is_primary.desc(), Contact.created_at, Contact.id)
    )
    return list(rows)


async def list_contacts(session: AsyncSession, customer_id: uuid.UUID, user: User) -> list[Contact]:
    await get_visible(session, customer_id, user)
    return await of_customer(session, customer_id)


async def _take_primary(session: AsyncSession, customer_id: uuid.UUID) -> None:
    """No contact of the customer is primary any more (one is about to become it)."""
    await session.execute(
        update(Contact)
        .where(Contact.customer_id == customer_id, Contact.is_primary)
        .values(is_primary=False, updated_at=now())
        .execution_options(synchronize_session="fetch")
    )
    await session.flush()


async def add(session: AsyncSession, customer_id: uuid.UUID, data: ContactIn, user: User) -> Contact:
    customer = await get_visible(session, customer_id, user, for_update=True)
    refuse_inactive(customer)
    existing = await of_customer(session, customer.id)
    primary = data.is_primary or not existing
    if primary and existing:
        await _take_primary(session, customer.id)
    at = now()
    contact = Contact(
        id=uuid.uuid4(),
        customer_id=customer.id,
        **data.model_dump(exclude={"is_primary"}),
        is_primary=primary,
        created_at=at,
        updated_at=at,
    )
    session.add(contact)
    await session.flush()
    record(session, customer.id, TimelineKind.CONTACT_ADDED, user.id, _shown(contact))
    return contact


async def _locked(
    session: AsyncSession, customer_id: uuid.UUID, contact_id: uuid.UUID, user: User
) -> tuple[Customer, Contact]:
    customer = await get_visible(session, customer_id, user, for_update=True)
    contact = await session.get(Contact, contact_id, with_for_update=True)
    if contact is None or contact.customer_id != customer.id:
        raise errors.NotFound("contact", contact_id)
    return customer, contact


async def change(
    session: AsyncSession, customer_id: uuid.UUID, contact_id: uuid.UUID, patch: ContactPatch, user: User
) -> Contact:
    """Apply the fields sent; the timeline gets `{field: [old, new]}` of each that changed."""
    customer, contact = await _locked(session, customer_id, contact_id, user)
    changes = patch.changes()
    if changes.get("is_primary") and not contact.is_primary:
        await _take_primary(session, customer.id)
    diff: dict[str, Any] = {}
    for field, new in sorted(changes.items()):
        old = getattr(contact, field)
        if old != new:
            diff[field] = [jsonable(old), jsonable(new)]
            setattr(contact, field, new)
    if diff:
        contact.updated_at = now()
        record(
            session,
            customer.id,
            TimelineKind.CONTACT_UPDATED,
            user.id,
            {"contact_id": str(contact.id), **diff},
        )
        await session.flush()
    return contact


async def remove(session: AsyncSession, customer_id: uuid.UUID, contact_id: uuid.UUID, user: User) -> None:
    """Remove the contact (kept in the timeline); a primary hands its place to the oldest left."""
    customer, contact = await _locked(session, customer_id, contact_id, user)
    shown = _shown(contact)
    await session.delete(contact)
    await session.flush()
    if contact.is_primary:
        rest = await of_customer(session, customer.id)
        if rest:
            rest[0].is_primary = True
            rest[0].updated_at = now()
            shown["primary_now"] = str(rest[0].id)
    record(session, customer.id, TimelineKind.CONTACT_REMOVED, user.id, shown)
    await session.flush()
