"""Importing sales targets from a .csv or .xlsx file, row by row, with a report.

Each row names a period and a scope (a province by code or name, optionally a channel
by id or name, a salesperson by username or id, an active product group of sales' list
by its code or name) and an amount. A row whose period and scope have a target revises
it (its history kept); any other creates one. A bad row is reported with every problem
it has, by the same rules as `POST /api/targets`, and the good rows are kept; only a
file that cannot be read as a whole is refused.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_kit import directory, errors, spreadsheet
from crm_kit.auth import User
from crm_kit.spreadsheet import RowProblem
from crm_kit.text import fold

from . import domain, product_groups, regions, row_problems, targets
from .models import Channel
from .schemas import ImportReport, RejectedRow
from .targets import Scope
from .volumes import MAX_PRODUCT_GROUP, parse_amount

IMPORT_COLUMNS = ("period", "region_code", "channel_id", "salesperson", "product_group", "amount")
REQUIRED_COLUMNS = ("period", "region_code", "amount")
MAX_IMPORT_ROWS = 5_000
MAX_IMPORT_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class TargetRow:
    """A row whose own values are well formed; what it names is checked against the
    data by `resolve`."""

    period: str
    region_code: str
    #: A channel's id or name, as the file has it; "" for none.
    channel: str
    #: A salesperson's username or id, as the file has it; "" for none.
    salesperson: str
    product_group: str | None
    amount: int


async def import_file(session: AsyncSession, parsed: list[Parsed], user: User) -> ImportReport:
    """Create or revise targets from a .csv or .xlsx file, row by row; a bad row is
    reported, the good ones are kept. Raises `Invalid` only when the file as a whole is
    unreadable (`TooLarge` when it is too big)."""
    imported = updated = unchanged = 0
    rejected: list[RejectedRow] = []
    seen: dict[tuple[str, Scope], int] = {}
    for line, row, problems in parsed:
        scope = None
        if row is not None:
            scope, problems = await resolve(session, row)
        if row is None or scope is None:
            rejected.append(RejectedRow.of(line, problems))
            continue
        if (row.period, scope) in seen:
            rejected.append(RejectedRow.repeats(line, seen[row.period, scope], "period and scope"))
            continue
        seen[row.period, scope] = line
        # A savepoint per row: whatever a row runs into, the rows before it stay.
        try:
            async with session.begin_nested():
                existing = await targets.find(session, row.period, scope)
                if existing is None:
                    await targets.insert(session, row.period, scope, row.amount, user)
                    imported += 1
                elif existing.amount == row.amount:
                    unchanged += 1
                else:
                    await targets.revise(session, existing.id, row.amount, user)
                    updated += 1
        except errors.Conflict:
            rejected.append(RejectedRow.concurrent(line))
    return ImportReport(imported=imported, updated=updated, unchanged=unchanged, rejected=rejected)


#: A data row of an import file: (row, what it says or None, its problems).
Parsed = tuple[int, TargetRow | None, list[RowProblem]]


def parsed(data: bytes, file_name: str | None) -> list[Parsed]:
    """Every data row of the file, parsed (blocking: the route runs it off the event loop)."""
    return list(parse_sheet(data, file_name))


def parse_sheet(data: bytes, file_name: str | None = "targets.csv") -> Iterator[Parsed]:
    """(row, target row or None, problems) per data row of an import file (.csv or .xlsx)."""
    sheet = spreadsheet.read(file_name, data, max_bytes=MAX_IMPORT_BYTES, max_rows=MAX_IMPORT_ROWS)
    spreadsheet.check_header(sheet, REQUIRED_COLUMNS, IMPORT_COLUMNS)
    for row in sheet.rows:
        parsed, problems = parse_row(row.values(sheet.header))
        yield row.number, parsed, problems


def parse_row(values: dict[str, str]) -> tuple[TargetRow | None, list[RowProblem]]:
    """The row's own values checked (no I/O): the period, the province, the product
    group's length and the amount."""
    problems: list[RowProblem] = []
    period = ""
    try:
        period = str(domain.Period.parse(values.get("period", ""), months=True))
    except domain.InvalidPeriod as exc:
        problems.append(row_problems.refused("period", exc))
    raw_region = values.get("region_code", "")
    resolved = regions.index().resolve(raw_region) if raw_region else None
    if resolved is None:
        problems.append(row_problems.region(raw_region))
    product_group = values.get("product_group") or None
    if product_group is not None and len(product_group) > MAX_PRODUCT_GROUP:
        problems.append(row_problems.too_long("product_group", MAX_PRODUCT_GROUP))
    raw_amount = values.get("amount", "")
    amount = parse_amount(raw_amount)
    if amount is None:
        problems.append(row_problems.amount(raw_amount))
    if problems or resolved is None or amount is None:
        return None, problems
    row = TargetRow(
        period=period,
        region_code=resolved.region.code,
        channel=values.get("channel_id", ""),
        salesperson=values.get("salesperson", ""),
        product_group=product_group,
        amount=amount,
    )
    return row, []


async def resolve(session: AsyncSession, row: TargetRow) -> tuple[Scope | None, list[RowProblem]]:
    """The scope a well-formed row names, or None and what does not fit: a channel or a
    salesperson nobody knows, a salesperson deactivated or not in sales, a product group
    not on sales' list or retired (kept as its code when it is)."""
    problems: list[errors.At] = []
    channel_id = await _channel(session, row.channel) if row.channel else None
    if row.channel and channel_id is None:
        message = f"no channel is {row.channel!r}"
        problems.append(
            errors.At(("channel_id",), message, "target.channel_unknown", {"channel": row.channel})
        )
    salesperson_id, refusal = await _salesperson(session, row.salesperson)
    if refusal is not None:
        problems.append(refusal)
    scope = None
    if not problems:
        scope, problems = await targets.check_scope(
            session, row.region_code, channel_id, salesperson_id, row.product_group
        )
    elif row.product_group is not None:
        _, refused = await product_groups.problem(session, row.product_group)
        if refused is not None:
            problems.append(refused)
    return scope, [row_problems.at_field(p) for p in problems]


async def _channel(session: AsyncSession, text: str) -> uuid.UUID | None:
    """The channel with this id, or this name whatever its case and diacritics."""
    wanted = _uuid(text)
    if wanted is not None:
        found: uuid.UUID | None = await session.scalar(select(Channel.id).where(Channel.id == wanted))
        return found
    by_name: uuid.UUID | None = await session.scalar(select(Channel.id).where(Channel.name_key == fold(text)))
    return by_name


async def _salesperson(session: AsyncSession, text: str) -> tuple[uuid.UUID | None, errors.At | None]:
    """(id, None) of the salesperson a username or an id names, or (None, why not);
    (None, None) for none named."""
    if not text:
        return None, None
    wanted = _uuid(text)
    member = await (directory.by_id(session, wanted) if wanted else directory.by_username(session, text))
    refusal = targets.seller_refusal(member, text, ("salesperson",))
    if refusal is not None or member is None:
        return None, refusal
    return member.user_id, None


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None
