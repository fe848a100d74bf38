"""What keeps the customer list fast at a million rows (measured by `make bench-scale`, never
timed here): the folded search is answered by the trigram index, the list's order by its
own index, and deep pages by cursor, with the same rows as offsets."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Select, select, text
from sqlalchemy.dialects import postgresql

from crm_kit.auth import Role, User
from crm_testkit.service import Staff
from customers import care
from customers.models import Customer
from customers.records import search_condition

from .conftest import Harness

pytestmark = pytest.mark.integration


async def plan(harness: Harness, sql: str, *, sorts: bool = True) -> str:
    """EXPLAIN of `sql` with sequential scans priced out, as a table of a million rows is:
    on a test's few rows a scan is cheaper, which says nothing about the index."""
    async with harness.db.transaction() as session:
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        if not sorts:  # sorting a million rows for 50 is what the index spares
            await session.execute(text("SET LOCAL enable_sort = off"))
        rows = (await session.execute(text(f"EXPLAIN {sql}"))).scalars().all()
    return "\n".join(rows)


def compiled(stmt: Select[Any]) -> str:
    return str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))


@pytest.mark.parametrize("q", ["Hòa Phát", "hoa phat", "Thiết bị 100%"])
async def test_the_folded_name_search_is_answered_by_the_trigram_index(harness: Harness, q: str) -> None:
    sql = compiled(select(Customer.id).where(search_condition(q)))
    assert "ix_customers_name_folded_trgm" in await plan(harness, sql)


async def test_a_tax_code_search_is_answered_by_indexes(harness: Harness) -> None:
    sql = compiled(select(Customer.id).where(search_condition("0100233488")))
    found = await plan(harness, sql)
    assert "ix_customers_tax_code" in found and "Seq Scan" not in found


async def test_the_first_page_reads_the_list_order_index(harness: Harness) -> None:
    stmt = select(Customer.id).order_by(Customer.created_at.desc(), Customer.id).limit(50)
    assert "ix_customers_list_order" in await plan(harness, compiled(stmt), sorts=False)


async def test_cursor_pages_give_the_rows_of_offset_pages(
    harness: Harness, manager: Staff, seller: Staff
) -> None:
    tag = uuid.uuid4().hex[:8]
    for i in range(7):
        await harness.customer(seller, f"Công ty Trang {tag} {i}")
    params = {"q": f"trang {tag}", "limit": 3}
    by_offset = []
    for offset in (0, 3, 6):
        page = await harness.http.get(
            "/api/customers", params=params | {"offset": offset}, headers=manager.headers
        )
        by_offset += [c["id"] for c in page.json()["items"]]

    first = (await harness.http.get("/api/customers", params=params, headers=manager.headers)).json()
    walked = [c["id"] for c in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = await harness.http.get(
            "/api/customers", params=params | {"cursor": cursor}, headers=manager.headers
        )
        assert page.status_code == 200, page.text
        walked += [c["id"] for c in page.json()["items"]]
        cursor = page.json()["next_cursor"]

    assert len(by_offset) == 7 and walked == by_offset
    assert (first["total"], first["total_capped"]) == (7, False)


async def test_a_cursor_that_is_not_one_is_a_422(harness: Harness, manager: Staff) -> None:
    answer = await harness.http.get("/api/customers", params={"cursor": "bm9wZQ"}, headers=manager.headers)
    assert answer.status_code == 422
    assert "cursor" in answer.text


@pytest.mark.parametrize("role", [Role.SALES_MANAGER, Role.SALESPERSON])
async def test_care_overdue_reads_the_most_overdue_first_from_its_index(harness: Harness, role: Role) -> None:
    user = User(id=uuid.uuid4(), username="someone", role=role)
    stmt, due_on, _ = care.overdue_statement(
        user, as_of=date(2026, 12, 3), default_cadence_days=30, zone=ZoneInfo("Asia/Ho_Chi_Minh")
    )
    found = await plan(harness, compiled(stmt.order_by(due_on, Customer.id).limit(50)), sorts=False)
    index = "ix_customers_care_due" if role == Role.SALES_MANAGER else "ix_customers_owner_care_due"
    assert index in found, found
