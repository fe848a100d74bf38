"""Migrations 0020 and 0021 on a database that has products and customers: the groups
products name become the managed list (announced, two spellings kept apart) and every
customer's name is folded for the search."""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg
import pytest

from crm_kit.migrations import drop_database
from crm_testkit.infra import Infra, fresh_database

from .test_performance_migration import alembic, plain

pytestmark = pytest.mark.integration

PRODUCT = (
    "INSERT INTO products (code, name, product_group, unit_price, vat_rate_pct, active)"
    " VALUES ($1, $2, $3, 1000, 10, true)"
)


async def test_groups_products_name_become_the_list_and_customers_names_are_folded(infra: Infra) -> None:
    url = await fresh_database(infra, f"crm_mig_sales_{uuid.uuid4().hex[:6]}")
    customers = {uuid.uuid4(): name for name in ("Công ty TNHH Hòa Phát", "ĐẠI LÝ  Đông Á", "Sao Mai")}
    try:
        await asyncio.to_thread(alembic, url, "upgrade", "0019")
        db = await asyncpg.connect(plain(url))
        try:
            await db.execute("DELETE FROM outbox")
            for code, name, group in (
                ("MB-1", "Máy bơm 1", "máy bơm"),
                ("MB-2", "Máy bơm 2", "máy bơm"),
                ("MB-3", "Máy bơm 3", "May bom"),  # a second spelling of the same group
                ("MP-1", "Máy phát 1", "generators"),
            ):
                await db.execute(PRODUCT, code, name, group)
            for customer_id, name in customers.items():
                await db.execute("INSERT INTO sales_customers (id, name) VALUES ($1, $2)", customer_id, name)
        finally:
            await db.close()

        await asyncio.to_thread(alembic, url, "upgrade", "head")
        db = await asyncpg.connect(plain(url))
        try:
            groups = await db.fetch(
                "SELECT code, name, code_folded, active FROM product_groups ORDER BY code"
            )
            announced = await db.fetch(
                "SELECT routing_key, body FROM outbox WHERE routing_key = 'sales.product_group.changed.v1'"
            )
            products = dict(await db.fetch("SELECT code, product_group FROM products"))
            folded = dict(await db.fetch("SELECT id, name_folded FROM sales_customers"))
            with pytest.raises(asyncpg.ForeignKeyViolationError):
                await db.execute(PRODUCT, "X-1", "X", "no such group")
        finally:
            await db.close()
    finally:
        await drop_database(url)

    # Each spelling is a group of its own (no product changes group), the second kept apart.
    assert [(g["code"], g["name"], g["code_folded"], g["active"]) for g in groups] == [
        ("May bom", "May bom", "may bom", True),
        ("generators", "generators", "generators", True),
        ("máy bơm", "máy bơm", "may bom~", True),
    ]
    assert products == {"MB-1": "máy bơm", "MB-2": "máy bơm", "MB-3": "May bom", "MP-1": "generators"}
    # Marketing hears of each once.
    assert sorted(json.loads(row["body"])["data"]["code"] for row in announced) == [
        "May bom",
        "generators",
        "máy bơm",
    ]
    assert {customers[k]: v for k, v in folded.items()} == {
        "Công ty TNHH Hòa Phát": "cong ty tnhh hoa phat",
        "ĐẠI LÝ  Đông Á": "dai ly dong a",
        "Sao Mai": "sao mai",
    }
