"""Use cases of market volume estimates: enter, revise (keeping the history), list, import,
and the volume of any period (a month's from its quarter's or year's)."""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Collection, Iterator
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crm_kit import errors, spreadsheet
from crm_kit.auth import User
from crm_kit.http import PageParams
from crm_kit.queries import fetch_page
from crm_kit.spreadsheet import RowProblem

from . import domain, product_groups, regions, row_problems
from .domain import VolumeSource
from .models import MarketVolume, MarketVolumeRevision
from .schemas import ImportReport, MarketVolumeCreate, MarketVolumeRevise, RejectedRow

SOURCES = tuple(VolumeSource)
IMPORT_COLUMNS = ("region_code", "product_group", "period", "amount", "source", "note")
REQUIRED_COLUMNS = ("region_code", "product_group", "period", "amount")
MAX_IMPORT_ROWS = 20_000
MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_AMOUNT = 10**15
MAX_PRODUCT_GROUP = 100
MAX_NOTE = 1000
#: What two rows of a file that estimate the same market share.
SAME = "region, product group and period"


@dataclass(frozen=True)
class Estimate:
    region_code: str
    product_group: str
    period: str
    amount: int
    source: str
    note: str | None


async def create(session: AsyncSession, body: MarketVolumeCreate, user: User) -> MarketVolume:
    """A new estimate for an active product group of sales' list (`product_groups.check`),
    kept under the group's code; 409 if its region, group and period have one."""
    region = _region(body.region_code)
    group = await product_groups.check(session, body.product_group)
    existing = await _find(session, region, group, body.period)
    if existing is not None:
        raise errors.Conflict(
            f"{group} in {region} for {body.period} has an estimate already "
            f"({existing.id}); revise it with PUT /api/market-volumes/{existing.id}",
            code="market_volume.exists",
            params={"estimate": existing.id, "product_group": group, "region": region, "period": body.period},
        )
    estimate = Estimate(region, group, body.period, body.amount, body.source, body.note)
    return await _insert(session, estimate, user)


async def revise(
    session: AsyncSession, volume_id: uuid.UUID, body: MarketVolumeRevise, user: User
) -> MarketVolume:
    volume = await session.get(MarketVolume, volume_id, with_for_update=True)
    if volume is None:
        raise errors.NotFound("market volume", volume_id)
    note = body.note if "note" in body.model_fields_set else volume.note
    await _revise(session, volume, body.amount, body.source or volume.source, note, user)
    return volume


async def get(session: AsyncSession, volume_id: uuid.UUID) -> tuple[MarketVolume, list[MarketVolumeRevision]]:
    volume = await session.get(MarketVolume, volume_id)
    if volume is None:
        raise errors.NotFound("market volume", volume_id)
    history = await session.scalars(
        select(MarketVolumeRevision)
        .where(MarketVolumeRevision.volume_id == volume_id)
        .order_by(MarketVolumeRevision.revision)
    )
    return volume, list(history)


async def list_page(
    session: AsyncSession,
    page: PageParams,
    *,
    period: str | None = None,
    region_code: str | None = None,
    product_group: str | None = None,
) -> tuple[list[MarketVolume], int]:
    stmt = select(MarketVolume)
    if period is not None:
        stmt = stmt.where(MarketVolume.period == period)
    if region_code is not None:
        stmt = stmt.where(MarketVolume.region_code == region_code)
    if product_group is not None:
        stmt = stmt.where(MarketVolume.product_group == product_group)
    return await fetch_page(
        session,
        stmt,
        page,
        MarketVolume.period,
        MarketVolume.region_code,
        MarketVolume.product_group,
        MarketVolume.id,
    )


VolumeKey = tuple[str, str]  # (region code, product group)


async def of_period(
    session: AsyncSession,
    period: domain.Period,
    *,
    product_group: str | None = None,
    region_codes: Collection[str] | None = None,
) -> dict[VolumeKey, domain.DerivedVolume]:
    """The market volume of `period` (a year, a quarter or a month) per region and product
    group, from the estimates of its year and the year's quarters
    (`domain.market_volume`); a region and group with nothing to go by is left out."""
    stmt = select(
        MarketVolume.region_code, MarketVolume.product_group, MarketVolume.period, MarketVolume.amount
    )
    stmt = stmt.where(MarketVolume.period.in_([str(p) for p in domain.estimate_periods(period)]))
    if product_group is not None:
        stmt = stmt.where(MarketVolume.product_group == product_group)
    if region_codes is not None:
        stmt = stmt.where(MarketVolume.region_code.in_(list(region_codes)))
    estimates: dict[VolumeKey, dict[str, int]] = defaultdict(dict)
    for region, group, estimated_period, amount in await session.execute(stmt):
        estimates[(region, group)][estimated_period] = int(amount)
    derived = {key: domain.market_volume(period, amounts) for key, amounts in estimates.items()}
    return {key: volume for key, volume in derived.items() if volume is not None}


async def import_file(session: AsyncSession, parsed: list[Parsed], user: User) -> ImportReport:
    """Enter or revise estimates from a .csv or .xlsx file, row by row; a bad row is
    reported, the good ones are kept. A row's product group is one of sales' list and
    active (`product_groups.problem`, once per group the file names), kept under its
    code. Raises `Invalid` only when the file as a whole is unreadable (`TooLarge` when
    it is too big)."""
    imported = updated = unchanged = 0
    rejected: list[RejectedRow] = []
    groups = await _groups(session, {estimate.product_group for _, estimate, _ in parsed if estimate})
    seen: dict[tuple[str, str, str], int] = {}
    for line, estimate, problems in parsed:
        if estimate is not None:
            estimate, problems = _grouped(estimate, groups[estimate.product_group], seen, line)
        if estimate is None:
            rejected.append(RejectedRow.of(line, problems))
            continue
        # A savepoint per row: whatever a row runs into, the rows before it stay.
        try:
            async with session.begin_nested():
                volume = await _find(session, estimate.region_code, estimate.product_group, estimate.period)
                if volume is None:
                    await _insert(session, estimate, user)
                    imported += 1
                elif await _revise(session, volume, estimate.amount, estimate.source, estimate.note, user):
                    updated += 1
                else:
                    unchanged += 1
        except IntegrityError:
            rejected.append(RejectedRow.concurrent(line))
    return ImportReport(imported=imported, updated=updated, unchanged=unchanged, rejected=rejected)


#: A data row of an import file: (row, what it says or None, its problems).
Parsed = tuple[int, Estimate | None, list[RowProblem]]


def parsed(data: bytes, file_name: str | None) -> list[Parsed]:
    """Every data row of the file, parsed (blocking: the route runs it off the event loop)."""
    return list(parse_sheet(data, file_name))


def parse_sheet(data: bytes, file_name: str | None = "volumes.csv") -> Iterator[Parsed]:
    """(row, estimate or None, problems) per data row of an import file (.csv or .xlsx)."""
    sheet = spreadsheet.read(file_name, data, max_bytes=MAX_IMPORT_BYTES, max_rows=MAX_IMPORT_ROWS)
    spreadsheet.check_header(sheet, REQUIRED_COLUMNS, IMPORT_COLUMNS)
    seen: dict[tuple[str, str, str], int] = {}
    for row in sheet.rows:
        estimate, problems = parse_row(row.values(sheet.header))
        if estimate is not None:
            key = (estimate.region_code, estimate.product_group, estimate.period)
            if key in seen:
                estimate, problems = None, RejectedRow.repeats(row.number, seen[key], SAME).problems
            else:
                seen[key] = row.number
        yield row.number, estimate, problems


_GROUPED = re.compile(r"^[0-9]{1,3}([., ][0-9]{3})+$")


def parse_row(row: dict[str, str]) -> tuple[Estimate | None, list[RowProblem]]:
    """The row's own values checked (no I/O): the province, the product group's length,
    the period, the amount, the source and the note's length."""
    problems: list[RowProblem] = []
    raw_region = row.get("region_code", "")
    resolved = regions.index().resolve(raw_region) if raw_region else None
    if resolved is None:
        problems.append(row_problems.region(raw_region))
    product_group = row.get("product_group", "")
    if not product_group:
        problems.append(row_problems.missing("product_group"))
    elif len(product_group) > MAX_PRODUCT_GROUP:
        problems.append(row_problems.too_long("product_group", MAX_PRODUCT_GROUP))
    period = ""
    try:
        period = str(domain.Period.parse(row.get("period", "")))
    except domain.InvalidPeriod as exc:
        problems.append(row_problems.refused("period", exc))
    raw_amount = row.get("amount", "")
    amount = parse_amount(raw_amount)
    if amount is None:
        problems.append(row_problems.amount(raw_amount))
    raw_source = row.get("source", "")
    source = re.sub(r"[\s-]+", "_", raw_source.lower()) or VolumeSource.ESTIMATE
    if source not in SOURCES:
        message = f"{raw_source!r} is not one of {', '.join(SOURCES)}"
        params = {"value": raw_source, "sources": list(SOURCES)}
        problems.append(
            RowProblem(column="source", code="volume.source_invalid", params=params, message=message)
        )
    note = row.get("note") or None
    if note is not None and len(note) > MAX_NOTE:
        problems.append(row_problems.too_long("note", MAX_NOTE))
    if problems or resolved is None or amount is None:
        return None, problems
    return Estimate(resolved.region.code, product_group, period, amount, source, note), []


def parse_amount(text: str) -> int | None:
    """Whole dong: `1200000`, or grouped by thousands as people type it (`1.200.000`,
    `1,200,000`, `1 200 000`). Decimals are refused: dong has no minor unit."""
    text = text.strip()
    if _GROUPED.match(text) and len({c for c in text if not c.isdigit()}) == 1:
        text = re.sub(r"[., ]", "", text)
    if not text.isdigit():
        return None
    value = int(text)
    return value if value <= MAX_AMOUNT else None


# -- helpers ----------------------------------------------------------------------------

#: What a product group named in a file is: (its code, None) or (None, why it is refused).
GroupCheck = tuple[str, None] | tuple[None, errors.At]


async def _groups(session: AsyncSession, named: set[str]) -> dict[str, GroupCheck]:
    """Each product group a file names, checked once however many rows name it."""
    return {group: await product_groups.problem(session, group) for group in sorted(named)}


def _grouped(
    estimate: Estimate, checked: GroupCheck, seen: dict[tuple[str, str, str], int], line: int
) -> tuple[Estimate | None, list[RowProblem]]:
    """The row's estimate under its group's code, or None and why not: a group refused,
    or the row repeats another once both are under the code ("Máy bơm" and "may bom")."""
    code, refusal = checked
    if refusal is not None:
        return None, [row_problems.at_field(refusal)]
    assert code is not None
    estimate = replace(estimate, product_group=code)
    key = (estimate.region_code, code, estimate.period)
    if key in seen:
        return None, RejectedRow.repeats(line, seen[key], SAME).problems
    seen[key] = line
    return estimate, []


def _region(code: str) -> str:
    index = regions.index()
    if index.get(code) is None:
        raise errors.Invalid(
            f"unknown region code {index.describe_unknown([code])}",
            code="region.unknown",
            params={"regions": [code]},
        )
    return code


async def _find(
    session: AsyncSession, region_code: str, product_group: str, period: str
) -> MarketVolume | None:
    volume: MarketVolume | None = await session.scalar(
        select(MarketVolume)
        .where(
            MarketVolume.region_code == region_code,
            MarketVolume.product_group == product_group,
            MarketVolume.period == period,
        )
        .with_for_update()
    )
    return volume


async def _insert(session: AsyncSession, estimate: Estimate, user: User) -> MarketVolume:
    volume = MarketVolume(
        id=uuid.uuid4(),
        region_code=estimate.region_code,
        product_group=estimate.product_group,
        period=estimate.period,
        amount=estimate.amount,
        source=estimate.source,
        note=estimate.note,
        revision=1,
        entered_by=user.id,
    )
    session.add(volume)
    await session.flush()
    session.add(
        MarketVolumeRevision(
            volume_id=volume.id,
            revision=1,
            amount=volume.amount,
            source=volume.source,
            note=volume.note,
            entered_by=user.id,
            entered_at=volume.entered_at,
        )
    )
    await session.flush()
    return volume


async def _revise(
    session: AsyncSession, volume: MarketVolume, amount: int, source: str, note: str | None, user: User
) -> bool:
    """A new revision unless nothing changes; True if one was written."""
    if (volume.amount, volume.source, volume.note) == (amount, source, note):
        return False
    volume.amount, volume.source, volume.note = amount, source, note
    volume.revision += 1
    volume.entered_by = user.id
    await session.flush()
    revision = MarketVolumeRevision(
        volume_id=volume.id,
        revision=volume.revision,
        amount=amount,
        source=source,
        note=note,
        entered_by=user.id,
    )
    session.add(revision)
    await session.flush()
    volume.entered_at = revision.entered_at
    await session.flush()
    return True
