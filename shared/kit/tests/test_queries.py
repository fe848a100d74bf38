"""`crm_kit.queries.fetch_page`: counts capped at `COUNT_CAP`, and keyset pages by cursor
that give the same rows as offsets, in a mixed order (newest first, then by id)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, insert, select
from sqlalchemy.dialects.postgresql import UUID

from crm_kit import errors, queries
from crm_kit.db import Database
from crm_kit.http import Page, PageParams

pytestmark = pytest.mark.integration

TEST_METADATA = MetaData()
things = Table(
    "paged_things",
    TEST_METADATA,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("n", Integer, nullable=False),
    Column("kind", String(10), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
#: 120 rows, every third one sharing its created_at with the one before (ties broken by id).
START = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
async def filled(database: Database) -> Database:
    async with database.transaction() as session:
        await session.execute(
            insert(things),
            [
                {
                    "id": uuid.uuid4(),
                    "n": i,
                    "kind": "a" if i % 2 else "b",
                    "created_at": START + timedelta(minutes=i - (1 if i % 3 == 0 else 0)),
                }
                for i in range(120)
            ],
        )
    return database


ORDER = (things.c.created_at.desc(), things.c.id)


async def test_cursor_pages_walk_the_same_rows_as_offsets(filled: Database) -> None:
    stmt = select(things).where(things.c.kind == "a")
    async with filled.transaction() as session:
        every, total = await queries.fetch_rows_page(session, stmt, PageParams(limit=200), *ORDER)
        walked: list[uuid.UUID] = []
        cursor = None
        pages = 0
        while True:
            rows, page_total = await queries.fetch_rows_page(
                session, stmt, PageParams(limit=7, cursor=cursor), *ORDER
            )
            walked += [r.id for r in rows]
            pages += 1
            cursor = Page[dict](items=[], total=page_total).next_cursor
            if cursor is None:
                break
    assert total == 60 and not Page[dict](items=[], total=total).total_capped
    assert walked == [r.id for r in every]
    assert pages == 9  # 8 full pages of 7 and the last one of 4


async def test_a_count_past_the_cap_says_so(filled: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(queries, "COUNT_CAP", 50)
    async with filled.transaction() as session:
        _, capped = await queries.fetch_rows_page(session, select(things), PageParams(limit=5), *ORDER)
        _, exact = await queries.fetch_rows_page(
            session, select(things).where(things.c.kind == "b", things.c.n < 80), PageParams(limit=5), *ORDER
        )
    answer = Page[dict](items=[], total=capped)
    assert (answer.total, answer.total_capped) == (50, True)
    assert answer.model_dump()["total"] == 50
    assert (int(exact), Page[dict](items=[], total=exact).total_capped) == (40, False)


@pytest.mark.parametrize("cursor", ["not-base64!", "W10", "WyJ4Il0", "WzEsMiwzXQ"])
async def test_a_cursor_that_is_not_one_of_this_list_is_a_422(filled: Database, cursor: str) -> None:
    async with filled.transaction() as session:
        with pytest.raises(errors.Invalid) as refused:
            await queries.fetch_rows_page(session, select(things), PageParams(limit=5, cursor=cursor), *ORDER)
    assert refused.value.status_code == 422
    assert "cursor" in str(refused.value)
