# ruff: noqa: E501
# (the loader's SQL reads best one clause to a line, however long)
"""`make bench-scale`: the system at the size of a real distributor, measured through the gateway.

1. load    drops and re-creates `<prefix><service>` for the six services, migrates them with
           their own Alembic migrations, and fills them set-based (one INSERT ... SELECT
           FROM generate_series per table, no HTTP): by default 1,000,000 customers and
           300,000 leads over 34 provinces and 200 salespeople, one order of two lines
           (2,000,000 order lines), one invoice with its payments, revenue facts and one
           care activity per customer (`bench/scale_data.py`); a progress line per table.
2. measure starts the stack on those databases (deploy/local/stack.py, as `make bench`)
           and times, for a manager and for a salesperson who owns 5,000 customers, p50
           and p95 of searches, list pages (first and deep), the customer 360 (API and
           UI), the lead kanban, the reports, and a 100,000-row CSV customer import.

Prints a table and, last, one machine-readable line; writes bench/results/scale-<time>.json.
`--keep` leaves the databases (a later `--no-load` run measures them again).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy" / "local"))
sys.path.insert(0, str(ROOT))

from bench.scale_data import (  # noqa: E402
    GROUPS,
    NAMES,
    PRODUCTS,
    Size,
    company_sql,
    name_params,
    person_sql,
    sql_uid,
    uid,
)
from crm_kit.migrations import drop_database  # noqa: E402
from crm_testkit.infra import delete_namespace, fresh_database, provide_infra  # noqa: E402
from stack import SERVICES, Stack  # noqa: E402

PASSWORD = "scale-password-1"
PREFIX = "scale_"
NAMESPACE = "scale"
#: The salesperson measured: owns customers n with 1 + n % people == 1 (5,000 of 1,000,000).
SELLER = 1


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def say(message: str) -> None:
    print(f"[scale] {message}", flush=True)


# -- loading ---------------------------------------------------------------------------


def person(k: int) -> tuple[str, str]:
    """Salesperson k's username and full name."""
    from bench.scale_data import FAMILY, GIVEN, MIDDLE

    name = f"{FAMILY[k * 3 % len(FAMILY)]} {MIDDLE[k * 5 % len(MIDDLE)]} {GIVEN[k * 13 % len(GIVEN)]}"
    return f"scale.sp{k:03d}", name


async def timed(conn: asyncpg.Connection, table: str, sql: str, *args: Any) -> None:
    started = time.perf_counter()
    status = await conn.execute(sql, *args)
    rows = int(status.split()[-1]) if status.split()[-1].isdigit() else 0
    elapsed = time.perf_counter() - started
    db = conn._params.database  # type: ignore[attr-defined]
    say(f"{db:22} {table:20} {rows:>10,} rows {elapsed:6.1f} s ({rows / max(elapsed, 1e-6):,.0f} rows/s)")


def owner(n: str, size: Size) -> str:
    return sql_uid("user", f"1 + ({n}) % {size.people}")


def region(n: str) -> str:
    return f"(SELECT codes[1 + ({n}) % array_length(codes, 1)] FROM r)"


async def staff(conn: asyncpg.Connection, size: Size, *, with_manager: bool = True) -> None:
    rows = [(uid("user", k), *person(k), "salesperson") for k in range(1, size.people + 1)]
    if with_manager:
        rows.append((uid("user", 0), "scale.manager", "Trần Thị Quản Lý", "sales_manager"))
    await conn.executemany(
        "INSERT INTO staff_directory (user_id, username, full_name, role, active, updated_at) "
        "VALUES ($1, $2, $3, $4, true, now()) ON CONFLICT DO NOTHING",
        rows,
    )


async def known_customers(conn: asyncpg.Connection, size: Size, regions: list[str]) -> None:
    await timed(
        conn,
        "known_customers",
        NAMES + ", r AS (SELECT $13::text[] AS codes) "
        "INSERT INTO known_customers (customer_id, name, region_code, channel_id, details_as_of, owner_id,"
        " owner_as_of, lifecycle_stage, stage_as_of, grade, graded_at) "
        f"SELECT {sql_uid('c', 'n')}, {company_sql('n', False)}, {region('n')},"
        f" {sql_uid('ch', f'1 + n % {size.channels}')}, now(), {owner('n', size)}, now(),"
        " CASE WHEN n % 50 = 7 THEN 'inactive' WHEN n % 5 < 3 THEN 'traditional' ELSE 'prospect' END, now(),"
        " (ARRAY['A','B','C','D'])[1 + n % 4], now() "
        f"FROM p, generate_series(1, {size.customers}) n",
        *name_params(),
        regions,
    )


async def load_gateway(conn: asyncpg.Connection, size: Size) -> None:
    from gateway.passwords import hash_password

    hashed = await hash_password(PASSWORD)
    rows = [(uid("user", k), *person(k), "salesperson") for k in range(1, size.people + 1)]
    rows.append((uid("user", 0), "scale.manager", "Trần Thị Quản Lý", "sales_manager"))
    await conn.executemany(
        "INSERT INTO users (id, username, full_name, role, password_hash, active, created_at, language) "
        "VALUES ($1, $2, $3, $4, $5, true, now(), 'vi')",
        [(*r, hashed) for r in rows],
    )
    say(f"{'scale_gateway':22} {'users':20} {len(rows):>10,} rows")


async def load_customers(conn: asyncpg.Connection, size: Size, regions: list[str]) -> None:
    n = size.customers
    await staff(conn, size)
    await timed(
        conn,
        "customers",
        NAMES + ", r AS (SELECT $13::text[] AS codes) "
        "INSERT INTO customers (id, name, name_folded, contact_name, phone, email, address, region_code,"
        " channel_id, owner_id, lifecycle_stage, source, grade, graded_at, next_review_on, care_cadence_days,"
        " last_contact_at, promoted_at, last_purchase_at, last_order_total, created_at, updated_at) "
        f"SELECT {sql_uid('c', 'n')}, {company_sql('n', False)}, {company_sql('n', True)},"
        f" {person_sql('n', False)}, '09' || lpad((n::bigint * 7919 % 100000000)::text, 8, '0'),"
        " 'kh' || n || '@example.vn', 'Số ' || (1 + n % 300) || ' đường Lê Lợi', "
        f"{region('n')}, {sql_uid('ch', f'1 + n % {size.channels}')}, {owner('n', size)},"
        " CASE WHEN n % 50 = 7 THEN 'inactive' WHEN n % 5 < 3 THEN 'traditional' ELSE 'prospect' END,"
        " 'import', (ARRAY['A','B','C','D'])[1 + n % 4], now() - (n % 300) * interval '1 day',"
        " current_date - 60 + (n % 365), (ARRAY[30,45,60,90])[1 + n % 4],"
        " now() - (n % 120) * interval '1 day', now() - (n % 400) * interval '1 day',"
        " now() - (n % 200) * interval '1 day', 10000000 + (n % 97) * 1000000,"
        f" timestamptz '2024-01-01' + n * interval '1 day' * (1000.0 / {n}), now() "
        f"FROM p, generate_series(1, {n}) n",
        *name_params(),
        regions,
    )
    await timed(
        conn,
        "activities",
        "INSERT INTO activities (id, customer_id, kind, status, due_on, note, assignee_id, created_by,"
        " created_at, outcome, done_on, closed_at, closed_by) "
        f"SELECT {sql_uid('act', 'n')}, {sql_uid('c', 'n')}, (ARRAY['call','visit','email','meeting'])[1 + n % 4],"
        " CASE WHEN n % 3 = 0 THEN 'done' ELSE 'planned' END, current_date - 45 + (n % 90),"
        f" 'Gọi lại hỏi nhu cầu', {owner('n', size)}, {owner('n', size)}, now() - interval '60 days',"
        " CASE WHEN n % 3 = 0 THEN 'Đã liên hệ' END, CASE WHEN n % 3 = 0 THEN current_date - (n % 40) END,"
        f" CASE WHEN n % 3 = 0 THEN now() END, CASE WHEN n % 3 = 0 THEN {owner('n', size)} END "
        f"FROM generate_series(1, {n}) n",
    )


async def load_leads(conn: asyncpg.Connection, size: Size, regions: list[str]) -> None:
    await staff(conn, size)
    statuses = (
        "(ARRAY['new','new','new','contacting','contacting','evaluated','converted','closed','closed','new'])"
    )
    await timed(
        conn,
        "leads",
        NAMES + ", r AS (SELECT $13::text[] AS codes) "
        "INSERT INTO leads (id, full_name, company, phone, phone_normalized, email, name_folded,"
        " company_folded, source, region_code, channel_id, owner_id, status, created_at, updated_at) "
        f"SELECT {sql_uid('lead', 'n')}, {person_sql('n', False)}, {company_sql('n + 3', False)},"
        " '08' || lpad((n::bigint * 7907 % 100000000)::text, 8, '0'), '08' || lpad((n::bigint * 7907 % 100000000)::text, 8, '0'),"
        f" 'lead' || n || '@example.vn', {person_sql('n', True)}, {company_sql('n + 3', True)},"
        " (ARRAY['internet','press','partner_referral','trade_fair','walk_in','other'])[1 + n % 6],"
        f" {region('n')}, {sql_uid('ch', f'1 + n % {size.channels}')}, {owner('n', size)},"
        f" {statuses}[1 + n % 10], timestamptz '2024-06-01' + n * interval '1 day' * (900.0 / {size.leads}), now() "
        f"FROM p, generate_series(1, {size.leads}) n",
        *name_params(),
        regions,
    )


def order_date(n: str, size: Size) -> str:
    return f"(date '{size.year}-01-01' + (({n}) % 330))"


async def load_sales(conn: asyncpg.Connection, size: Size, regions: list[str]) -> None:
    n = size.customers
    await staff(conn, size)
    # The managed list every product is filed under (its code folded is itself: ASCII).
    await conn.execute(
        "INSERT INTO product_groups (id, code, name, code_folded, name_folded, active) "
        "SELECT md5('pg-' || g)::uuid, g, g, g, g, true FROM unnest($1::text[]) g",
        GROUPS,
    )
    await conn.executemany(
        "INSERT INTO products (code, name, search_text, product_group, unit_price, vat_rate_pct, active) "
        "VALUES ($1, $2::text, lower($2::text), $3, $4, 10, true)",
        PRODUCTS,
    )
    await conn.executemany(
        "INSERT INTO known_channels (channel_id, name, kind, changed_at) VALUES ($1, $2, $3, now())",
        [
            (uid("ch", k), f"Kênh {k}", "dealer" if k % 2 else "distributor")
            for k in range(1, size.channels + 1)
        ],
    )
    await known_customers(conn, size, regions)
    await timed(
        conn,
        "sales_customers",
        NAMES + ", r AS (SELECT $13::text[] AS codes) "
        "INSERT INTO sales_customers (id, name, name_folded, owner_id, region_code, channel_id, promoted_at,"
        " opened_at, lifecycle_stage, grade, registered_at, stage_as_of) "
        f"SELECT {sql_uid('c', 'n')}, {company_sql('n', False)}, {company_sql('n', True)}, {owner('n', size)},"
        f" {region('n')},"
        f" {sql_uid('ch', f'1 + n % {size.channels}')}, now(), now(),"
        " CASE WHEN n % 50 = 7 THEN 'inactive' WHEN n % 5 < 3 THEN 'traditional' ELSE 'prospect' END,"
        " (ARRAY['A','B','C','D'])[1 + n % 4], now(), now() "
        f"FROM p, generate_series(1, {n}) n",
        *name_params(),
        regions,
    )
    # One order per customer, `size.lines` lines each; totals from the lines' prices.
    products = f"(ARRAY[{', '.join(repr(p[0]) for p in PRODUCTS)}])"
    groups = f"(ARRAY[{', '.join(repr(p[2]) for p in PRODUCTS)}])"
    prices = f"(ARRAY[{', '.join(str(p[3]) for p in PRODUCTS)}])"
    line_net = f"({prices}[1 + (n + l) % {len(PRODUCTS)}]::bigint * (1 + (n + l) % 5))"
    net = f"(SELECT sum({line_net}) FROM generate_series(1, {size.lines}) l)"
    await timed(
        conn,
        "orders",
        NAMES + ", r AS (SELECT $13::text[] AS codes) "
        "INSERT INTO orders (id, number, quote_id, customer_id, customer_name, owner_id, region_code, channel_id,"
        " currency, net_total, vat_total, total, status, needs_contract, payment_terms_days, order_date, placed_at) "
        f"SELECT {sql_uid('o', 'n')}, 'O{size.year}-' || lpad(n::text, 7, '0'), {sql_uid('q', 'n')},"
        f" {sql_uid('c', 'n')}, {company_sql('n', False)}, {owner('n', size)}, {region('n')},"
        f" {sql_uid('ch', f'1 + n % {size.channels}')}, 'VND', {net}, {net} / 10, {net} + {net} / 10, 'placed',"
        f" false, 30, {order_date('n', size)}, {order_date('n', size)}::timestamptz + interval '10 hours' "
        f"FROM p, generate_series(1, {n}) n",
        *name_params(),
        regions,
    )
    await timed(
        conn,
        "order_lines",
        "INSERT INTO order_lines (order_id, position, product_code, product_name, product_group, quantity,"
        " unit_price, discount_pct, vat_rate_pct, net_amount, vat_amount, total, unit) "
        f"SELECT {sql_uid('o', 'n')}, l, {products}[1 + (n + l) % {len(PRODUCTS)}],"
        f" 'Sản phẩm ' || {products}[1 + (n + l) % {len(PRODUCTS)}], {groups}[1 + (n + l) % {len(PRODUCTS)}],"
        f" 1 + (n + l) % 5, {prices}[1 + (n + l) % {len(PRODUCTS)}], 0, 10, {line_net}, {line_net} / 10,"
        f" {line_net} + {line_net} / 10, 'cái' "
        f"FROM generate_series(1, {n}) n, generate_series(1, {size.lines}) l",
    )
    await timed(
        conn,
        "performance_facts",
        "INSERT INTO performance_facts (kind, subject_id, owner_id, channel_id, amount, occurred_at, region_code) "
        "WITH r AS (SELECT $1::text[] AS codes) "
        f"SELECT 'order_placed', {sql_uid('o', 'n')}, {owner('n', size)}, {sql_uid('ch', f'1 + n % {size.channels}')},"
        f" {net}, {order_date('n', size)}::timestamptz + interval '10 hours', {region('n')} "
        f"FROM generate_series(1, {n}) n "
        "UNION ALL "
        f"SELECT 'quote_sent', {sql_uid('q', 'n')}, {owner('n', size)}, {sql_uid('ch', f'1 + n % {size.channels}')},"
        f" 0, {order_date('n', size)}::timestamptz, {region('n')} FROM generate_series(1, {n}) n",
        regions,
    )
    await timed(
        conn,
        "care_activities",
        "INSERT INTO care_activities (activity_id, customer_id, owner_id, channel_id, region_code, due_on,"
        " planned_as_of, status, done_on, closed_at) "
        "WITH r AS (SELECT $1::text[] AS codes) "
        f"SELECT {sql_uid('act', 'n')}, {sql_uid('c', 'n')}, {owner('n', size)},"
        f" {sql_uid('ch', f'1 + n % {size.channels}')}, {region('n')}, current_date - 45 + (n % 90), now(),"
        " CASE WHEN n % 3 = 0 THEN 'done' ELSE 'planned' END, CASE WHEN n % 3 = 0 THEN current_date - (n % 40) END,"
        f" CASE WHEN n % 3 = 0 THEN now() END FROM generate_series(1, {n}) n",
        regions,
    )


async def load_accounting(conn: asyncpg.Connection, size: Size, regions: list[str]) -> None:
    n = size.customers
    await staff(conn, size)
    await known_customers(conn, size, regions)
    await timed(
        conn,
        "accounts",
        NAMES
        + " INSERT INTO accounts (customer_id, customer_name, owner_id, currency, credit_limit, balance,"
        " opened_at, updated_at) "
        f"SELECT {sql_uid('c', 'n')}, {company_sql('n', False)}, {owner('n', size)}, 'VND', 500000000, 0, now(), now()"
        f" FROM p, generate_series(1, {n}) n",
        *name_params()[:12],
    )
    prices = f"(ARRAY[{', '.join(str(p[3]) for p in PRODUCTS)}])"
    line_net = f"({prices}[1 + (n + l) % {len(PRODUCTS)}]::bigint * (1 + (n + l) % 5))"
    net = f"(SELECT sum({line_net}) FROM generate_series(1, {size.lines}) l)"
    total = f"({net} + {net} / 10)"
    # Half paid, a fifth part paid, the rest open; due 30 days after the order.
    paid = f"(CASE WHEN n % 10 < 5 THEN {total} WHEN n % 10 < 7 THEN {total} / 2 ELSE 0 END)"
    await timed(
        conn,
        "invoices",
        "INSERT INTO invoices (id, number, order_id, order_number, quote_id, customer_id, currency, issue_date,"
        " due_date, payment_terms_days, net_total, vat_total, total, paid_total, credited_total, balance, status,"
        " created_at, updated_at) "
        f"SELECT {sql_uid('inv', 'n')}, 'HD{size.year}-' || lpad(n::text, 7, '0'), {sql_uid('o', 'n')},"
        f" 'O{size.year}-' || lpad(n::text, 7, '0'), {sql_uid('q', 'n')}, {sql_uid('c', 'n')}, 'VND',"
        f" {order_date('n', size)}, {order_date('n', size)} + 30, 30, {net}, {net} / 10, {total}, {paid}, 0,"
        f" {total} - {paid}, CASE WHEN n % 10 < 5 THEN 'paid' WHEN n % 10 < 7 THEN 'partially_paid' ELSE 'open' END,"
        f" {order_date('n', size)}::timestamptz, now() FROM generate_series(1, {n}) n",
    )
    await timed(
        conn,
        "payments",
        "INSERT INTO payments (id, invoice_id, customer_id, amount, paid_on, method, reference, recorded_by,"
        " recorded_at) "
        f"SELECT {sql_uid('pay', 'n')}, {sql_uid('inv', 'n')}, {sql_uid('c', 'n')}, {paid},"
        f" {order_date('n', size)} + 20, 'bank_transfer', 'UNC ' || n, {sql_uid('user', '0')}, now() "
        f"FROM generate_series(1, {n}) n WHERE n % 10 < 7",
    )
    await timed(
        conn,
        "ledger_entries",
        "INSERT INTO ledger_entries (entry_date, customer_id, invoice_id, kind, document_id, amount, currency,"
        " reference) "
        f"SELECT {order_date('n', size)}, {sql_uid('c', 'n')}, {sql_uid('inv', 'n')}, 'invoice', {sql_uid('inv', 'n')},"
        f" {total}, 'VND', 'HD' || n FROM generate_series(1, {n}) n "
        "UNION ALL "
        f"SELECT {order_date('n', size)} + 20, {sql_uid('c', 'n')}, {sql_uid('inv', 'n')}, 'payment',"
        f" {sql_uid('pay', 'n')}, -{paid}, 'VND', 'UNC ' || n FROM generate_series(1, {n}) n WHERE n % 10 < 7",
    )
    await timed(
        conn,
        "accounts.balance",
        "UPDATE accounts a SET balance = i.balance FROM invoices i WHERE i.customer_id = a.customer_id",
    )


async def load_marketing(conn: asyncpg.Connection, size: Size, regions: list[str]) -> None:
    n = size.customers
    await staff(conn, size)
    await conn.executemany(
        "INSERT INTO channels (id, name, name_key, kind, active, created_at, updated_at) "
        "VALUES ($1, $2::text, lower($2::text), $3, true, now(), now())",
        [
            (uid("ch", k), f"Kênh {k}", "dealer" if k % 2 else "distributor")
            for k in range(1, size.channels + 1)
        ],
    )
    await conn.executemany(
        "INSERT INTO channel_regions (channel_id, region_code) VALUES ($1, $2)",
        [
            (uid("ch", k), regions[(k + j) % len(regions)])
            for k in range(1, size.channels + 1)
            for j in range(4)
        ],
    )
    await known_customers(conn, size, regions)
    await conn.execute(
        "INSERT INTO known_product_groups (code, name, active, changed_at) "
        "SELECT g, g, true, now() FROM unnest($1::text[]) g",
        GROUPS,
    )
    prices = f"(ARRAY[{', '.join(str(p[3]) for p in PRODUCTS)}])"
    groups = f"(ARRAY[{', '.join(repr(p[2]) for p in PRODUCTS)}])"
    line_net = f"({prices}[1 + (n + l) % {len(PRODUCTS)}]::bigint * (1 + (n + l) % 5))"
    await timed(
        conn,
        "revenue_facts",
        "INSERT INTO revenue_facts (order_id, line_no, customer_id, region_code, source_region_code, channel_id,"
        " product_group, year, quarter, order_date, net_amount, currency, placed_at, owner_id) "
        "WITH r AS (SELECT $1::text[] AS codes) "
        f"SELECT {sql_uid('o', 'n')}, l, {sql_uid('c', 'n')}, {region('n')}, {region('n')},"
        f" {sql_uid('ch', f'1 + n % {size.channels}')}, {groups}[1 + (n + l) % {len(PRODUCTS)}], {size.year},"
        f" extract(quarter FROM {order_date('n', size)})::int, {order_date('n', size)}, {line_net}, 'VND',"
        f" {order_date('n', size)}::timestamptz + interval '10 hours', {owner('n', size)} "
        f"FROM generate_series(1, {n}) n, generate_series(1, {size.lines}) l",
        regions,
    )
    await timed(
        conn,
        "market_volumes",
        "INSERT INTO market_volumes (id, region_code, product_group, period, amount, source, revision, entered_by,"
        " entered_at, updated_at) "
        f"SELECT md5('mv-' || r || g)::uuid, r, g, '{size.year}', 900000000000, 'estimate', 1, {sql_uid('user', '0')},"
        " now(), now() FROM unnest($1::text[]) r, unnest($2::text[]) g",
        regions,
        GROUPS,
    )
    # A year's target per salesperson in each province they sell in, and per province x channel.
    await timed(
        conn,
        "sales_targets",
        "INSERT INTO sales_targets (id, period, region_code, channel_id, salesperson_id, amount, revision,"
        " entered_by, entered_at, updated_at) "
        f"SELECT md5('t-' || k || '-' || r)::uuid, '{size.year}', r, NULL, {sql_uid('user', 'k')}, 3000000000, 1,"
        f" {sql_uid('user', '0')}, now(), now() FROM generate_series(1, {size.people}) k,"
        " unnest($1::text[]) WITH ORDINALITY AS x(r, i) WHERE i % 10 = k % 10 "
        "UNION ALL "
        f"SELECT md5('tc-' || r || '-' || c)::uuid, '{size.year}', r, {sql_uid('ch', 'c')}, NULL, 20000000000, 1,"
        f" {sql_uid('user', '0')}, now(), now() FROM generate_series(1, {size.channels}) c,"
        " unnest($1::text[]) WITH ORDINALITY AS x(r, i) WHERE i % 5 = c % 5",
        regions,
    )


LOADERS: dict[str, Callable[[asyncpg.Connection, Size, list[str]], Awaitable[None]]] = {
    "customers": load_customers,
    "leads": load_leads,
    "sales": load_sales,
    "accounting": load_accounting,
    "marketing": load_marketing,
}


async def drop_undelivered(stack: Stack) -> None:
    """Outbox rows an earlier run left unpublished: their queues went with its bus namespace,
    so this run's relays would only spend the machine on them while it is measured."""
    for service in SERVICES:
        conn = await asyncpg.connect(stack.database(service).replace("+asyncpg", ""))
        try:
            left = await conn.execute("UPDATE outbox SET published_at = now() WHERE published_at IS NULL")
        finally:
            await conn.close()
        if left != "UPDATE 0":
            say(f"{PREFIX}{service}: {left.split()[-1]} events of an earlier run left undelivered, dropped")


async def load(infra: Any, stack: Stack, size: Size) -> None:
    for service in SERVICES:
        await fresh_database(infra, f"{PREFIX}{service}")
    stack.prepare()
    dsn = {s: stack.database(s).replace("+asyncpg", "") for s in SERVICES}
    marketing = await asyncpg.connect(dsn["marketing"])
    # The 34 provinces and cities of today's map (the marketing migration's reference data).
    regions = [r["code"] for r in await marketing.fetch("SELECT code FROM regions ORDER BY code")]
    await marketing.close()
    conn = await asyncpg.connect(dsn["gateway"])
    await load_gateway(conn, size)
    await conn.close()
    started = time.perf_counter()

    async def one(service: str) -> None:
        conn = await asyncpg.connect(dsn[service])
        try:
            await conn.execute("SET synchronous_commit = off")
            await LOADERS[service](conn, size, regions)
            await timed(conn, "VACUUM ANALYZE", "VACUUM (ANALYZE)")
        finally:
            await conn.close()

    # Two at a time: two cores.
    for pair in (("customers", "sales"), ("accounting", "marketing"), ("leads",)):
        await asyncio.gather(*(one(s) for s in pair))
    say(f"loaded in {time.perf_counter() - started:.0f} s")


# -- measuring -------------------------------------------------------------------------


async def login(base: str, username: str, password: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base, timeout=120)
    answer = await client.post("/api/auth/token", data={"username": username, "password": password})
    answer.raise_for_status()
    token = answer.json()["access_token"]
    client.headers["Authorization"] = f"Bearer {token}"
    client.cookies.set("crm_token", token)
    return client


async def times(client: httpx.AsyncClient, path: str, params: dict[str, Any], repeat: int) -> dict[str, Any]:
    """p50/p95 of `repeat` sequential GETs (after one warm-up), and what the last answered;
    an answer that is not a 2xx (a 504 past the gateway's timeout) is recorded, not raised."""
    await client.get(path, params=params)
    spent: list[float] = []
    statuses: set[int] = set()
    answer: httpx.Response | None = None
    for _ in range(repeat):
        started = time.perf_counter()
        answer = await client.get(path, params=params)
        spent.append((time.perf_counter() - started) * 1000)
        statuses.add(answer.status_code)
    assert answer is not None
    body = answer.json() if answer.headers.get("content-type", "").startswith("application/json") else None
    total = body.get("total") if isinstance(body, dict) else None
    failed = sorted(s for s in statuses if s >= 300)
    return {"p50_ms": statistics.median(spent), "p95_ms": pct(spent, 95), "total": total, "failed": failed}


def deep_cursor_params(page: dict[str, Any]) -> dict[str, Any]:
    return {"cursor": page["next_cursor"]} if page.get("next_cursor") else {}


async def deep_page(client: httpx.AsyncClient, path: str, offset: int, repeat: int) -> dict[str, Any]:
    """A page `offset` rows into the list: by the cursor when the API offers one (the
    cursor of the row before it, from the page that ends there), else by offset."""
    base = (await client.get(path, params={"limit": 50, "offset": max(offset - 50, 0)})).json()
    if base.get("next_cursor"):
        measured = await times(client, path, {"limit": 50, "cursor": base["next_cursor"]}, repeat)
        return measured | {"how": "cursor"}
    return await times(client, path, {"limit": 50, "offset": offset}, repeat) | {"how": "offset"}


def import_file(start: int, rows: int) -> bytes:
    """New customers, named after the run (`start`) so a second run's are new too."""
    out = io.StringIO()
    out.write("name,contact_name,phone,email,address,region_code,stage,grade\n")
    for i in range(start, start + rows):
        out.write(
            f"Công ty TNHH Nhập Khẩu {i},Lê Văn Nhập {i},07{i % 100000000:08d},nhap{i}@example.vn,"
            f"Số {i % 300} đường Trần Phú,01,prospect,\n"
        )
    return out.getvalue().encode()


async def import_rate(client: httpx.AsyncClient, total: int, per_file: int) -> dict[str, Any]:
    """`total` new customers in files of `per_file` rows (the import's row limit): preview and
    commit each, rows per second over the whole. A file the gateway gave up on (504 past its
    timeout) ends the phase, recorded, and counts no rows."""
    started = time.perf_counter()
    done = 0
    failed: list[int] = []
    files: list[dict[str, float]] = []
    run = int(time.time()) % 100_000 * 1_000_000
    for k in range(0, total, per_file):
        content = import_file(run + k, min(per_file, total - k))
        began = time.perf_counter()
        preview = await client.post(
            "/api/customers/imports", files={"file": (f"import-{k}.csv", content, "text/csv")}
        )
        if preview.status_code != 201 and preview.status_code != 200:
            failed.append(preview.status_code)
            break
        previewed = time.perf_counter()
        committed = await client.post(f"/api/customers/imports/{preview.json()['id']}/commit")
        if committed.status_code >= 300:
            failed.append(committed.status_code)
            break
        done += min(per_file, total - k)
        ended = time.perf_counter()
        files.append({"preview_s": round(previewed - began, 3), "commit_s": round(ended - previewed, 3)})
        print(
            f"[scale] import file {len(files)}: preview {previewed - began:.2f} s, commit {ended - previewed:.2f} s"
        )
    elapsed = time.perf_counter() - started
    return {"rows": done, "seconds": elapsed, "rows_per_s": done / elapsed, "failed": failed, "files": files}


async def measure(stack: Stack, size: Size, repeat: int, import_rows: int, only: set[str]) -> dict[str, Any]:
    base = stack.url("gateway")
    manager = await login(base, "scale.manager", PASSWORD)
    seller = await login(base, person(SELLER)[0], PASSWORD)
    customer_id = str(uid("c", size.people * 7))  # owned by the seller (n % people == SELLER - 1)
    year = str(size.year)
    calls: list[tuple[str, str, httpx.AsyncClient, str, dict[str, Any]]] = []
    for who, client in (("manager", manager), ("seller", seller)):
        calls += [
            ("search", f"customers q=Hòa Phát ({who})", client, "/api/customers", {"q": "Hòa Phát"}),
            ("search", f"customers q=hoa phat ({who})", client, "/api/customers", {"q": "hoa phat"}),
            (
                "search",
                f"customers rare name ({who})",
                client,
                "/api/customers",
                {"q": "Cơ khí Sông Hồng Khánh"},
            ),
            (
                "search",
                f"customers rare folded ({who})",
                client,
                "/api/customers",
                {"q": "co khi song hong khanh"},
            ),
            ("search", f"leads q=Nguyễn Văn ({who})", client, "/api/leads", {"q": "Nguyễn Văn"}),
            ("search", f"leads q=nguyen van ({who})", client, "/api/leads", {"q": "nguyen van"}),
            ("list", f"customers first page ({who})", client, "/api/customers", {"limit": 50}),
            ("list", f"leads first page ({who})", client, "/api/leads", {"limit": 50}),
            ("360", f"customer 360 API ({who})", client, f"/api/customers/{customer_id}", {}),
            ("360", f"customer 360 UI page ({who})", client, f"/customers/{customer_id}", {}),
            ("list", f"lead kanban UI page ({who})", client, "/leads/board", {}),
            (
                "report",
                f"target attainment {year} ({who})",
                client,
                "/api/targets/attainment",
                {"period": year},
            ),
            (
                "report",
                f"performance salesperson x channel ({who})",
                client,
                "/api/performance",
                {"period": year, "by": "salesperson,channel"},
            ),
            ("report", f"care overdue ({who})", client, "/api/customers/care-overdue", {}),
            ("report", f"reviews due ({who})", client, "/api/customers/reviews-due", {}),
        ]
    calls += [
        ("report", f"market share {year} (manager)", manager, "/api/market-share", {"period": year}),
        ("report", "receivables aging (manager)", manager, "/api/receivables/aging", {}),
    ]
    rows: list[dict[str, Any]] = []
    for kind, label, client, path, params in calls:
        if only and kind not in only:
            continue
        result = await times(client, path, params, repeat)
        rows.append({"kind": kind, "label": label, "path": path, "params": params} | result)
        say(
            f"{label:48} p50 {result['p50_ms']:8.1f} ms  p95 {result['p95_ms']:8.1f} ms {result['failed'] or ''}"
        )
    for who, client, offset in (("manager", manager, 100_000), ("seller", seller, 4_000)):
        if only and "deep" not in only:
            break
        for path in ("/api/customers", "/api/leads"):
            offset_here = offset if path == "/api/customers" else offset * 3 // 10
            result = await deep_page(client, path, offset_here, repeat)
            label = f"{path[5:]} page at row {offset_here:,} ({result['how']}, {who})"
            rows.append({"kind": "deep", "label": label, "path": path} | result)
            say(f"{label:48} p50 {result['p50_ms']:8.1f} ms  p95 {result['p95_ms']:8.1f} ms")
    imported: dict[str, Any] = {"rows": 0, "seconds": 0, "rows_per_s": 0.0}
    if not only or "import" in only:
        imported = await import_rate(
            manager, import_rows, int(os.environ.get("SCALE_IMPORT_FILE_ROWS", "10000"))
        )
        say(
            f"import {imported['rows']:,} rows: {imported['rows_per_s']:,.0f} rows/s {imported['failed'] or ''}"
        )
    await manager.aclose()
    await seller.aclose()
    return {"calls": rows, "import": imported}


def rss_mb(pid: int) -> float:
    """Resident memory of `pid` in MB (0 once it has exited)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return 0.0


class MemoryWatch:
    """Each service process's resident memory when the measures start, its peak (sampled
    every half second) and at the end: that it stays bounded through a million-row
    database, deep pages and a 100,000-row import (issue 18)."""

    def __init__(self, stack: Stack, every_s: float = 0.5) -> None:
        self.pids = {service: process.pid for service, process in stack.processes.items()}
        self.every_s = every_s
        self.start = {service: rss_mb(pid) for service, pid in self.pids.items()}
        self.peak = dict(self.start)
        self._task = asyncio.create_task(self._sample())

    async def _sample(self) -> None:
        while True:
            for service, pid in self.pids.items():
                self.peak[service] = max(self.peak[service], rss_mb(pid))
            await asyncio.sleep(self.every_s)

    async def stop(self) -> dict[str, dict[str, float]]:
        self._task.cancel()
        end = {service: rss_mb(pid) for service, pid in self.pids.items()}
        return {
            service: {"start": self.start[service], "peak": self.peak[service], "end": end[service]}
            for service in self.pids
        }


def summary(rows: list[dict[str, Any]], kind: str) -> float:
    return max((r["p95_ms"] for r in rows if r["kind"] == kind), default=0.0)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--leads", type=int, default=300_000)
    parser.add_argument("--salespeople", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=20, help="timed calls per measure")
    parser.add_argument("--import-rows", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="leave the databases for another run")
    parser.add_argument("--no-load", action="store_true", help="measure the databases a --keep run left")
    parser.add_argument(
        "--only",
        default="",
        help="measure only these kinds: search,list,deep,360,report,import (comma-separated)",
    )
    parser.add_argument("--port-base", type=int, default=int(os.environ.get("BENCH_PORT_BASE", "28400")))
    args = parser.parse_args()
    size = Size(customers=args.customers, leads=args.leads, people=args.salespeople)
    infra = provide_infra()
    stack = Stack(
        amqp_url=infra.amqp_url,
        database_server_url=infra.database_url,
        port_base=args.port_base,
        namespace=NAMESPACE,
        database_prefix=PREFIX,
        state_dir=ROOT / ".local" / "scale-keys",
        admin_password="scale-admin",
        log_dir=ROOT / ".local" / "scale-logs",
    )
    started = time.perf_counter()
    if args.no_load:
        stack.prepare()
        await drop_undelivered(stack)
    else:
        await load(infra, stack, size)
    load_seconds = time.perf_counter() - started
    stack.start_all()
    try:
        stack.wait_ready(timeout=180)
        memory = MemoryWatch(stack)
        measured = await measure(
            stack, size, args.repeat, args.import_rows, {k for k in args.only.split(",") if k}
        )
        measured["memory_mb"] = await memory.stop()
    finally:
        stack.stop_all()
        await delete_namespace(infra.amqp_url, NAMESPACE, list(SERVICES))
        if not args.keep:
            for service in SERVICES:
                await drop_database(infra.database(f"{PREFIX}{service}"))
            say(f"databases {PREFIX}<service> dropped")
        infra.stop()
    rows = measured["calls"]
    results = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "size": size.__dict__,
        "load_seconds": load_seconds,
        **measured,
        "scale_search_p95_ms": summary(rows, "search"),
        "scale_list_p95_ms": summary(rows, "list"),
        "scale_deep_page_p95_ms": summary(rows, "deep"),
        "scale_360_p95_ms": summary(rows, "360"),
        "scale_report_p95_ms": summary(rows, "report"),
        "import_rows_per_s": measured["import"]["rows_per_s"],
    }
    out = ROOT / "bench" / "results" / f"scale-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(
        f"\n{size.customers:,} customers, {size.leads:,} leads, {size.people} salespeople; loaded in {load_seconds:.0f} s"
    )
    print(f"{'measure':60} {'p50 ms':>9} {'p95 ms':>9} {'total':>10}")
    for r in rows:
        total = "" if r.get("total") is None else f"{r['total']:,}"
        failed = f" answered {r['failed']}" if r.get("failed") else ""
        print(f"{r['label']:60} {r['p50_ms']:9.1f} {r['p95_ms']:9.1f} {total:>10}{failed}")
    print(f"{'import (rows/s)':60} {results['import_rows_per_s']:9.0f}")
    print(f"{'resident memory, MB':60} {'start':>9} {'peak':>9} {'end':>10}")
    for service, mb in measured["memory_mb"].items():
        print(f"{'  ' + service:60} {mb['start']:9.0f} {mb['peak']:9.0f} {mb['end']:10.0f}")
    print(f"results: {out.relative_to(ROOT)}")
    print(
        " ".join(
            f"{key}={results[key]:.0f}" if key == "import_rows_per_s" else f"{key}={results[key]:.1f}"
            for key in (
                "scale_search_p95_ms",
                "scale_list_p95_ms",
                "scale_deep_page_p95_ms",
                "scale_360_p95_ms",
                "scale_report_p95_ms",
                "import_rows_per_s",
            )
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
