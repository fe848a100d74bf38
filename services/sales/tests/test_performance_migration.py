"""Migration 0009 on a database that has history: the facts recorded before it take their
province from what sales keeps, and the quotes lost before it become facts."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import asyncpg
import pytest

from crm_kit.migrations import drop_database
from crm_testkit.infra import Infra, fresh_database

pytestmark = pytest.mark.integration

SALES = Path(__file__).resolve().parents[1]
AT = datetime(2026, 10, 5, 3, tzinfo=UTC)


def plain(url: str) -> str:
    """The database URL without SQLAlchemy's driver name, for asyncpg itself."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def alembic(url: str, *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "alembic", *args],
        cwd=SALES,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]


QUOTE = (
    "INSERT INTO quotes (id, number, customer_id, customer_name, owner_id, status, valid_until, currency,"
    " net_total, vat_total, total, max_discount_pct, submission, created_by, declined_at, rejected_at)"
    " VALUES ($1, $2, $3, 'C', $4, $5, $6, 'VND', 100, 10, 110, 0, 1, $4, $7, $8)"
)
FACT = (
    "INSERT INTO performance_facts (kind, subject_id, owner_id, amount, occurred_at)"
    " VALUES ($1, $2, $3, $4, $5)"
)


async def history(url: str, owner: uuid.UUID) -> dict[str, uuid.UUID]:
    """What sales held before 0009: customers in two provinces, an order, quotes won and lost,
    a converted lead with its opportunity, a lead only captured."""
    ids = {
        name: uuid.uuid4() for name in ("ha_noi", "hcm", "order", "sent", "declined", "expired", "rejected")
    }
    ids |= {name: uuid.uuid4() for name in ("lead", "lead_alone")}
    db = await asyncpg.connect(plain(url))
    try:
        for key, region in (("ha_noi", "01"), ("hcm", "79")):
            await db.execute(
                "INSERT INTO sales_customers (id, name, owner_id, region_code) VALUES ($1, 'C', $2, $3)",
                ids[key],
                owner,
                region,
            )
        await db.execute(
            "INSERT INTO orders (id, number, quote_id, customer_id, customer_name, owner_id, region_code,"
            " currency, net_total, vat_total, total, status, needs_contract, payment_terms_days, order_date,"
            " placed_at) VALUES ($1, 'O-1', $2, $3, 'C', $4, '04', 'VND', 100, 10, 110, 'placed', false, 30,"
            " $5, $6)",
            ids["order"],
            ids["sent"],
            ids["ha_noi"],
            owner,
            AT.date(),
            AT,
        )
        await db.execute(QUOTE, ids["sent"], "Q-1", ids["ha_noi"], owner, "accepted", AT.date(), None, None)
        await db.execute(QUOTE, ids["declined"], "Q-2", ids["hcm"], owner, "declined", AT.date(), AT, None)
        await db.execute(
            QUOTE, ids["expired"], "Q-3", ids["hcm"], owner, "expired", date(2026, 10, 31), None, None
        )
        await db.execute(QUOTE, ids["rejected"], "Q-4", ids["hcm"], owner, "draft", AT.date(), None, AT)
        await db.execute(
            "INSERT INTO opportunities (id, name, customer_id, lead_id, owner_id, expected_amount, stage)"
            " VALUES ($1, 'O', $2, $3, $4, 0, 'qualification')",
            uuid.uuid4(),
            ids["hcm"],
            ids["lead"],
            owner,
        )
        for kind, subject, amount in (
            ("order_placed", "order", 100),
            ("quote_sent", "sent", 110),
            ("quote_accepted", "sent", 110),
            ("quote_sent", "declined", 110),
            ("prospect_gained", "hcm", 0),
            ("lead_qualified", "lead", 0),
            ("lead_captured", "lead_alone", 0),
        ):
            await db.execute(FACT, kind, ids[subject], owner, amount, AT)
    finally:
        await db.close()
    return ids


async def test_facts_take_their_province_and_lost_quotes_become_facts(infra: Infra) -> None:
    url = await fresh_database(infra, f"crm_mig_sales_{uuid.uuid4().hex[:6]}")
    owner = uuid.uuid4()
    try:
        await asyncio.to_thread(alembic, url, "upgrade", "0008")
        ids = await history(url, owner)
        await asyncio.to_thread(alembic, url, "upgrade", "head")
        db = await asyncpg.connect(plain(url))
        try:
            facts = await db.fetch(
                "SELECT kind, subject_id, region_code, occurred_at, amount FROM performance_facts"
            )
        finally:
            await db.close()
    finally:
        await drop_database(url)
    names = {value: key for key, value in ids.items()}
    assert {(f["kind"], names[f["subject_id"]]): f["region_code"] for f in facts} == {
        ("order_placed", "order"): "04",  # the order's own province
        ("quote_sent", "sent"): "01",
        ("quote_accepted", "sent"): "01",
        ("quote_sent", "declined"): "79",
        ("prospect_gained", "hcm"): "79",
        ("lead_qualified", "lead"): "79",  # through its opportunity's customer
        ("lead_captured", "lead_alone"): None,  # nothing says where
        ("quote_declined", "declined"): "79",
        ("quote_expired", "expired"): "79",
        ("quote_rejected", "rejected"): "79",
    }
    lost_kinds = ("quote_declined", "quote_expired", "quote_rejected")
    lost = {names[f["subject_id"]]: (f["occurred_at"], f["amount"]) for f in facts if f["kind"] in lost_kinds}
    assert lost["declined"] == (AT, 110)
    assert lost["rejected"] == (AT, 110)
    # Expired at the start of the day after its validity, in Hà Nội's (the business's) time.
    assert lost["expired"] == (datetime(2026, 10, 31, 17, tzinfo=UTC), 110)
