"""Price levels: price lists for the customers in channels of one kind, or of one grade,
each valid from a day (through another, or until it is ended) and changed with its history
in the audit trail; and the level price of each product for a customer on a day, which a
quote line takes when it is sent without a price (`quotes`)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_kit import directory, errors
from crm_kit.auth import User
from crm_kit.errors import Location
from crm_kit.http import PageParams
from crm_kit.queries import fetch_page

from . import channels, domain
from .catalogue_schemas import PriceListCreate, PriceListEnd, PriceListItemIn, PriceListPatch
from .common import audit, utc_now, where_given
from .domain import AuditAction, Audited, ChannelKind, ListedPrice
from .models import AuditEntry, PriceList, PriceListItem, Product, SalesCustomer

Problems = list[errors.At]

# -- making and changing -----------------------------------------------------------------


async def create_price_list(session: AsyncSession, body: PriceListCreate, user: User) -> PriceList:
    """A new price list; every problem of the request is answered at once, naming its field."""
    problems = _scope_problems(body.channel_kind, body.grade)
    problems += _validity_problems(body.valid_from, body.valid_to)
    problems += await _item_problems(session, body.items)
    if problems:
        raise errors.Invalid.many(problems)
    now = utc_now()
    price_list = PriceList(
        id=uuid.uuid4(),
        name=body.name,
        channel_kind=body.channel_kind,
        grade=body.grade,
        valid_from=body.valid_from,
        valid_to=body.valid_to,
        created_by=user.id,
        created_at=now,
        updated_by=user.id,
        updated_at=now,
        items=[PriceListItem(product_code=i.product_code, unit_price=i.unit_price) for i in body.items],
    )
    session.add(price_list)
    await session.flush()
    await session.refresh(price_list, ["items"])
    changes = {
        "name": price_list.name,
        "channel_kind": price_list.channel_kind,
        "grade": price_list.grade,
        "valid_from": str(price_list.valid_from),
        "valid_to": _day(price_list.valid_to),
        "items": {i.product_code: [None, i.unit_price] for i in price_list.items},
    }
    await audit(session, Audited.PRICE_LIST, price_list.id, AuditAction.CREATED, user.id, changes)
    return price_list


async def update_price_list(
    session: AsyncSession, price_list_id: uuid.UUID, body: PriceListPatch, user: User
) -> PriceList:
    """Rename, move the last day, add, reprice or remove products; each change is kept in
    the list's history. Quotes made before keep the prices they took."""
    price_list = await _locked(session, price_list_id)
    problems: Problems = []
    if "valid_to" in body.model_fields_set:
        problems += _validity_problems(price_list.valid_from, body.valid_to)
    problems += await _item_problems(session, body.items or [])
    problems += _removal_problems(price_list, body)
    if problems:
        raise errors.Invalid.many(problems)
    changes: dict[str, Any] = {}
    if body.name is not None and body.name != price_list.name:
        changes["name"] = [price_list.name, body.name]
        price_list.name = body.name
    if "valid_to" in body.model_fields_set and body.valid_to != price_list.valid_to:
        changes["valid_to"] = [_day(price_list.valid_to), _day(body.valid_to)]
        price_list.valid_to = body.valid_to
    if items := _change_items(price_list, body.items or [], body.remove or []):
        changes["items"] = items
    if changes:
        await _changed(session, price_list, AuditAction.EDITED, user, changes)
    return price_list


async def end_price_list(
    session: AsyncSession, price_list_id: uuid.UUID, body: PriceListEnd, user: User, today: date
) -> PriceList:
    """The list applies through `valid_to` (today unless given) and no longer."""
    price_list = await _locked(session, price_list_id)
    last_day = body.valid_to or today
    if problems := _validity_problems(price_list.valid_from, last_day):
        raise errors.Invalid.many(problems)
    if price_list.valid_to is not None and price_list.valid_to <= last_day:
        raise errors.Conflict(
            f"price list {price_list.id} ended on {price_list.valid_to} already",
            code="price_list.already_ended",
            params={"valid_to": price_list.valid_to},
        )
    changes = {"valid_to": [_day(price_list.valid_to), str(last_day)]}
    price_list.valid_to = last_day
    await _changed(session, price_list, AuditAction.ENDED, user, changes)
    return price_list


async def _changed(
    session: AsyncSession, price_list: PriceList, action: AuditAction, user: User, changes: dict[str, Any]
) -> None:
    price_list.updated_by = user.id
    price_list.updated_at = utc_now()
    await session.flush()
    await session.refresh(price_list, ["items"])
    await audit(session, Audited.PRICE_LIST, price_list.id, action, user.id, changes)


def _change_items(
    price_list: PriceList, wanted: Sequence[PriceListItemIn], removed: Sequence[str]
) -> dict[str, list[int | None]]:
    """Apply the items added, repriced and removed; each product's [old price, new price]
    (None: not on the list), for those that changed."""
    current = {item.product_code: item for item in price_list.items}
    changes: dict[str, list[int | None]] = {}
    for line in wanted:
        item = current.get(line.product_code)
        if item is None:
            price_list.items.append(PriceListItem(product_code=line.product_code, unit_price=line.unit_price))
            changes[line.product_code] = [None, line.unit_price]
        elif item.unit_price != line.unit_price:
            changes[line.product_code] = [item.unit_price, line.unit_price]
            item.unit_price = line.unit_price
    for code in removed:
        changes[code] = [current[code].unit_price, None]
        price_list.items.remove(current[code])
    return changes


# -- what a request may say ----------------------------------------------------------------


def _scope_problems(channel_kind: ChannelKind | None, grade: str | None) -> Problems:
    if (channel_kind is None) == (grade is None):
        message = "give exactly one of channel_kind and grade: a price list is for one or the other"
        return [
            errors.At(("body", "channel_kind"), message, "price_list.channel_kind_or_grade", {}),
            errors.At(("body", "grade"), message, "price_list.channel_kind_or_grade", {}),
        ]
    return []


def _validity_problems(valid_from: date, valid_to: date | None) -> Problems:
    if valid_to is not None and valid_to < valid_from:
        return [
            errors.At(
                ("body", "valid_to"),
                f"valid_to {valid_to} is before the list's valid_from {valid_from}",
                "price_list.ends_before_start",
                {"valid_to": valid_to, "valid_from": valid_from},
            )
        ]
    return []


async def _item_problems(session: AsyncSession, items: Sequence[PriceListItemIn]) -> Problems:
    """Products that are repeated or that sales does not know, each at its item."""
    codes = {item.product_code for item in items}
    known = set((await session.scalars(select(Product.code).where(Product.code.in_(codes)))).all())
    problems: Problems = []
    first: dict[str, int] = {}
    for index, item in enumerate(items):
        where: Location = ("body", "items", index, "product_code")
        code = item.product_code
        if code in first:
            problems.append(
                errors.At(
                    where,
                    f"product {code} is repeated (item {first[code]})",
                    "price_list.product_repeated",
                    {"product": code, "item": first[code]},
                )
            )
        elif code not in known:
            problems.append(errors.At(where, f"no product {code}", "product.unknown", {"product": code}))
        first.setdefault(code, index)
    return problems


def _removal_problems(price_list: PriceList, body: PriceListPatch) -> Problems:
    on_list = {item.product_code for item in price_list.items}
    repriced = {item.product_code for item in body.items or []}
    problems: Problems = []
    seen: set[str] = set()
    for index, code in enumerate(body.remove or []):
        where: Location = ("body", "remove", index)
        if code in seen:
            problems.append(
                errors.At(
                    where, f"product {code} is repeated", "price_list.removal_repeated", {"product": code}
                )
            )
        elif code in repriced:
            problems.append(
                errors.At(
                    where,
                    f"product {code} is in items too: change it or remove it",
                    "price_list.removal_in_items",
                    {"product": code},
                )
            )
        elif code not in on_list:
            problems.append(
                errors.At(
                    where,
                    f"product {code} is not on the list",
                    "price_list.product_not_listed",
                    {"product": code},
                )
            )
        seen.add(code)
    return problems


# -- reading ---------------------------------------------------------------------------


async def get_price_list(session: AsyncSession, price_list_id: uuid.UUID) -> PriceList:
    price_list = await session.get(PriceList, price_list_id)
    if price_list is None:
        raise errors.NotFound("price list", price_list_id)
    return price_list


async def history(session: AsyncSession, price_list_id: uuid.UUID) -> list[AuditEntry]:
    """Who changed what in the list, oldest first."""
    stmt = (
        select(AuditEntry)
        .where(AuditEntry.entity == Audited.PRICE_LIST, AuditEntry.entity_id == price_list_id)
        .order_by(AuditEntry.at, AuditEntry.id)
    )
    return list((await session.scalars(stmt)).all())


def split_changes(changes: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Sales' `{field: [before, after]}` (items: `{code: [before, after]}`; a value alone: as
    made) as the kit's trail says it, before and after apart."""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for name, value in changes.items():
        if isinstance(value, list) and len(value) == 2:
            before[name], after[name] = value
        elif isinstance(value, dict) and all(isinstance(v, list) and len(v) == 2 for v in value.values()):
            before[name] = {k: v[0] for k, v in value.items() if v[0] is not None}
            after[name] = {k: v[1] for k, v in value.items() if v[1] is not None}
        else:
            after[name] = value
    return before, after


async def audit_page(
    session: AsyncSession, price_list_id: uuid.UUID, page: PageParams
) -> tuple[list[dict[str, Any]], int]:
    """The list's trail newest first, in the kit's shape (`crm_kit.audit.AuditEntryOut`),
    who by name from the staff directory. Sales keeps its own `sales_audit` (quotes,
    orders, contracts and price lists share it), read here as the other services' trails."""
    if await session.get(PriceList, price_list_id) is None:
        raise errors.NotFound("price list", price_list_id)
    where = (AuditEntry.entity == Audited.PRICE_LIST, AuditEntry.entity_id == price_list_id)
    total = await session.scalar(select(func.count()).select_from(AuditEntry).where(*where))
    rows = await session.execute(
        select(AuditEntry, directory.staff.c.full_name)
        .outerjoin(directory.staff, directory.staff.c.user_id == AuditEntry.actor_id)
        .where(*where)
        .order_by(AuditEntry.id.desc())
        .limit(page.limit)
        .offset(page.offset)
    )
    items = []
    for entry, full_name in rows:
        before, after = split_changes(entry.changes)
        items.append(
            {
                "id": entry.id,
                "entity": entry.entity,
                "entity_id": entry.entity_id,
                "action": entry.action,
                "actor_id": entry.actor_id,
                "actor_name": full_name,
                "at": entry.at,
                "before": before,
                "after": after,
                "reason": None,
            }
        )
    return items, int(total or 0)


async def list_price_lists(
    session: AsyncSession,
    page: PageParams,
    *,
    channel_kind: ChannelKind | None = None,
    grade: str | None = None,
    valid_on: date | None = None,
    product_code: str | None = None,
) -> tuple[list[PriceList], int]:
    """Newest first (by the day they start); `valid_on` keeps those that apply that day,
    `product_code` those that price the product."""
    if grade is not None:
        try:
            grade = domain.canonical_grade(grade)
        except ValueError as error:
            raise errors.Invalid.at(
                ("query", "grade"),
                str(error),
                code="grade.unknown",
                params={"grade": grade, "grades": list(domain.GRADES)},
            ) from None
    stmt = where_given(select(PriceList), (PriceList.channel_kind, channel_kind), (PriceList.grade, grade))
    if valid_on is not None:
        stmt = stmt.where(_valid_on(valid_on))
    if product_code is not None:
        stmt = stmt.where(
            exists().where(
                PriceListItem.price_list_id == PriceList.id,
                PriceListItem.product_code == product_code.strip().upper(),
            )
        )
    return await fetch_page(session, stmt, page, PriceList.valid_from.desc(), PriceList.created_at.desc())


async def _locked(session: AsyncSession, price_list_id: uuid.UUID) -> PriceList:
    price_list = await session.get(PriceList, price_list_id, with_for_update=True, populate_existing=True)
    if price_list is None:
        raise errors.NotFound("price list", price_list_id)
    return price_list


def _valid_on(day: date) -> ColumnElement[bool]:
    """The lists that apply on `day` (`domain.level_price` says the same of their prices)."""
    return and_(PriceList.valid_from <= day, or_(PriceList.valid_to.is_(None), PriceList.valid_to >= day))


def _day(day: date | None) -> str | None:
    return None if day is None else str(day)


# -- the level a customer's line takes ---------------------------------------------------


async def level_prices(
    session: AsyncSession, customer: SalesCustomer | None, day: date, codes: Collection[str]
) -> dict[str, ListedPrice]:
    """The price list price of each product that applies to the customer on `day`, from the
    lists of its channel's kind and of its grade (`domain.level_price`); products no list
    prices for it are left out."""
    if customer is None or not codes:
        return {}
    scopes = []
    if kind := await channels.kind_of(session, customer.channel_id):
        scopes.append(PriceList.channel_kind == kind)
    if customer.grade:
        scopes.append(PriceList.grade == customer.grade)
    if not scopes:
        return {}
    rows = await session.execute(
        select(
            PriceList.id,
            PriceList.grade,
            PriceList.valid_from,
            PriceList.valid_to,
            PriceList.created_at,
            PriceListItem.product_code,
            PriceListItem.unit_price,
        )
        .join(PriceListItem, PriceListItem.price_list_id == PriceList.id)
        .where(
            or_(*scopes),
            PriceListItem.product_code.in_(list(codes)),
            _valid_on(day),
        )
    )
    prices: dict[str, list[ListedPrice]] = defaultdict(list)
    for row in rows:
        prices[row.product_code].append(
            ListedPrice(
                price_list_id=row.id,
                for_grade=row.grade is not None,
                valid_from=row.valid_from,
                valid_to=row.valid_to,
                created_at=row.created_at,
                unit_price=row.unit_price,
            )
        )
    levels = {code: domain.level_price(listed, day) for code, listed in prices.items()}
    return {code: level for code, level in levels.items() if level is not None}
