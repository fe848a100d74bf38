"""Today's aging report read from the receivables summaries (`receivable_balances`,
`receivable_dues`, kept by triggers on `invoices`, migration 0017) is the aging computed
directly from the invoices, page by page, count and totals included, after every way an
invoice's balance moves: issued, partly paid, paid, credited, cancelled, merged into another
customer, written by hand in SQL (many rows at once, deleted, truncated); and as the days
move its due dates across the buckets. An invoice dated after the day asked about leaves the
report as before."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from accounting import domain, receivables
from crm_contracts import CustomersMerged, OrderCancelled, OrderPlaced
from crm_kit.auth import Role
from crm_kit.http import PageParams
from crm_testkit.infra import Infra

from .test_integration import Books, order_placed, running_books

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def books(infra: Infra) -> AsyncIterator[Books]:
    """A database of its own: every invoice in it is one of this module's."""
    async with running_books(infra) as running:
        yield running


# -- the two answers -------------------------------------------------------------------

SUMMARIES_FROM_INVOICES = {
    "receivable_balances": (
        "SELECT customer_id, sum(balance) FROM invoices WHERE balance > 0 GROUP BY customer_id ORDER BY 1",
        "SELECT customer_id, owed FROM receivable_balances ORDER BY 1",
    ),
    "receivable_dues": (
        "SELECT due_date, sum(balance) FROM invoices WHERE balance > 0 GROUP BY due_date ORDER BY 1",
        "SELECT due_date, owed FROM receivable_dues ORDER BY 1",
    ),
}


async def summaries_agree(books: Books) -> None:
    for name, (direct, kept) in SUMMARIES_FROM_INVOICES.items():
        assert [tuple(r) for r in await books.rows(kept)] == [tuple(r) for r in await books.rows(direct)], (
            name
        )


async def direct(books: Books, as_of: date) -> dict[str, Any]:
    """The aging at the end of `as_of` (today or later) from every invoice that owes, as the
    API would answer it whole: rows largest first, the count, the column totals."""
    owing = await books.rows(
        "SELECT customer_id, due_date, balance FROM invoices WHERE balance > 0 AND issue_date <= :d", d=as_of
    )
    aged = domain.age((domain.OpenItem(r.customer_id, r.due_date, r.balance) for r in owing), as_of)
    names = dict(await books.rows("SELECT customer_id, customer_name FROM accounts"))
    items = [
        {"customer_id": str(a.customer_id), "customer_name": names.get(a.customer_id), "total": a.total}
        | {b.value: a.buckets[b] for b in domain.AgingBucket}
        for a in aged
    ]
    totals = {b.value: sum(a.buckets[b] for a in aged) for b in domain.AgingBucket}
    return {
        "as_of": str(as_of),
        "items": items,
        "total": len(aged),
        "totals": totals | {"total": sum(totals.values())},
    }


async def reported(books: Books, as_of: date, limit: int = 2) -> dict[str, Any]:
    """The API's aging at the end of `as_of`, page by page (`limit` rows each) to the end
    and one page past it; every page's count and totals the same."""
    pages = []
    offset = 0
    while True:
        response = await books.http.get(
            "/api/receivables/aging",
            params={"as_of": str(as_of), "limit": limit, "offset": offset},
            headers=books.headers(Role.ACCOUNTANT),
        )
        assert response.status_code == 200, response.text
        pages.append(response.json())
        if not pages[-1]["items"]:
            break
        offset += limit
    first = pages[0]
    for page in pages[1:]:
        assert (page["as_of"], page["total"], page["totals"]) == (
            first["as_of"],
            first["total"],
            first["totals"],
        )
    return {
        "as_of": first["as_of"],
        "items": [item for page in pages for item in page["items"]],
        "total": first["total"],
        "totals": first["totals"],
    }


async def agree(books: Books, *days: date) -> dict[str, Any]:
    """The summaries are the invoices', and the report on each of `days` is the direct one."""
    await summaries_agree(books)
    report: dict[str, Any] = {}
    for day in days or (books.settings.today(),):
        report = await reported(books, day)
        assert report == await direct(books, day), day
    return report


async def summarised(books: Books, as_of: date) -> bool:
    """The report on `as_of` comes from the summaries (not from every invoice that owes)."""
    async with books.db.transaction() as session:
        return await receivables._aging_now(session, as_of, PageParams()) is not None


# -- what moves a balance --------------------------------------------------------------


async def customer(books: Books, name: str) -> uuid.UUID:
    customer_id = uuid.uuid4()
    await books.promote(customer_id, name=name)
    await books.account(customer_id)
    return customer_id


async def invoiced(
    books: Books, customer_id: uuid.UUID, net: int, order_date: date
) -> tuple[OrderPlaced, Any]:
    order = order_placed(customer_id, [(1, net, 10.0)], order_date=order_date)
    await books.publish(order)
    return order, await books.invoice_for(order.order_id)


async def pay(books: Books, invoice: dict[str, Any], amount: int) -> None:
    response = await books.http.post(
        "/api/payments",
        headers=books.headers(Role.ACCOUNTANT),
        json={
            "invoice_id": invoice["id"],
            "amount": amount,
            "paid_on": str(books.settings.today()),
            "method": "bank_transfer",
        },
    )
    assert response.status_code == 201, response.text


def cancelled(order: OrderPlaced) -> OrderCancelled:
    return OrderCancelled(
        order_id=order.order_id,
        order_number=order.order_number,
        quote_id=order.quote_id,
        customer_id=order.customer_id,
        owner_id=order.owner_id,
        lines=order.lines,
        net_total=order.net_total,
        total=order.total,
        order_date=order.order_date,
        placed_at=order.placed_at,
        reason="khách đổi ý",
        cancelled_by=uuid.uuid4(),
        cancelled_at=datetime.now(UTC),
    )


def bucket_row(report: dict[str, Any], customer_id: uuid.UUID) -> dict[str, int]:
    [row] = [r for r in report["items"] if r["customer_id"] == str(customer_id)]
    return {b.value: row[b.value] for b in domain.AgingBucket}


async def test_the_summarised_aging_is_the_invoices_own_through_every_change(books: Books) -> None:
    today = books.settings.today()
    tomorrow, next_month = today + timedelta(days=1), today + timedelta(days=31)
    assert await agree(books) == await direct(books, today)  # nothing owed: no rows, zeros
    assert (await reported(books, today))["total"] == 0

    # Issued oldest first (an invoice is never dated before the series' last one); 30-day terms.
    north = await customer(books, "Công ty Miền Bắc")
    south = await customer(books, "Công ty Miền Nam")
    west = await customer(books, "Đại lý Miền Tây")
    _, oldest = await invoiced(books, north, 1_000_000, today - timedelta(days=120))  # due 90 days ago
    _, overdue = await invoiced(books, south, 2_000_000, today - timedelta(days=60))  # due 30 days ago
    await invoiced(books, north, 3_000_000, today - timedelta(days=30))  # due today
    _, kept = await invoiced(books, west, 4_000_000, today)
    gone_order, gone = await invoiced(books, west, 5_000_000, today)
    report = await agree(books, today, tomorrow, next_month)
    # A day on, each due date crosses into the next bucket: 90 -> over 90, 0 -> 1-30, 30 -> 31-60.
    assert bucket_row(report, north) == {
        "current": 0,
        "days_1_30": 0,
        "days_31_60": 3_300_000,
        "days_61_90": 0,
        "over_90": 1_100_000,
    }
    assert bucket_row(await reported(books, today), north) == {
        "current": 3_300_000,
        "days_1_30": 0,
        "days_31_60": 0,
        "days_61_90": 1_100_000,
        "over_90": 0,
    }
    assert bucket_row(await reported(books, tomorrow), south)["days_31_60"] == 2_200_000
    assert bucket_row(await reported(books, tomorrow), north)["days_1_30"] == 3_300_000

    await pay(books, oldest, 400_000)  # partly paid
    await agree(books, today, tomorrow)
    await pay(books, overdue, overdue["total"])  # paid in full: south owes nothing
    report = await agree(books, today, tomorrow)
    assert str(south) not in {r["customer_id"] for r in report["items"]}

    credited = await books.http.post(
        f"/api/invoices/{kept['id']}/credit-notes",
        headers=books.headers(Role.ACCOUNTANT),
        json={"amount": 1_000_000, "reason": "damaged in transit"},
    )
    assert credited.status_code == 201, credited.text
    await agree(books, today, next_month)

    await books.handled(await books.publish(cancelled(gone_order)))  # credited in full
    assert (await books.scalar("SELECT balance FROM invoices WHERE id = :i", i=uuid.UUID(gone["id"]))) == 0
    await agree(books, today, next_month)

    # Three customers owing the same: the report orders them by id, across pages of two.
    triplets = sorted([await customer(books, f"Sinh ba {n}") for n in "ABC"])
    for triplet in triplets:
        await invoiced(books, triplet, 7_000_000, today)
    report = await agree(books, today)
    assert [r["customer_id"] for r in report["items"][:3]] == [str(t) for t in triplets]

    # North merged into west: west owes both, north has no row.
    merge = CustomersMerged(customer_id=west, merged_customer_id=north, merged_at=datetime.now(UTC))
    await books.handled(await books.publish(merge))
    report = await agree(books, today, tomorrow, next_month)
    assert str(north) not in {r["customer_id"] for r in report["items"]}
    assert bucket_row(report, west)["over_90"] == 700_000

    assert await summarised(books, today)

    # An order dated ahead (next year's series, so this year's invoices stay dated today): its
    # invoice is left out before its day and counted from it; the summaries cannot leave it
    # out, so until it is settled the report sums the invoices as before.
    ahead = date(today.year + 1, 1, 15)
    _, early = await invoiced(books, south, 6_000_000, ahead)
    await agree(books, today, next_month, ahead)
    assert str(south) not in {r["customer_id"] for r in (await reported(books, today))["items"]}
    assert bucket_row(await reported(books, ahead), south)["current"] == 6_600_000
    assert not await summarised(books, today)
    assert await summarised(books, ahead)
    credited = await books.http.post(
        f"/api/invoices/{early['id']}/credit-notes",
        headers=books.headers(Role.ACCOUNTANT),
        json={"amount": early["total"], "reason": "dated wrong"},
    )
    assert credited.status_code == 201, credited.text
    assert await summarised(books, today)
    await agree(books, today, ahead)


async def test_statements_of_many_invoices_deletes_and_truncation_keep_the_summaries(books: Books) -> None:
    today = books.settings.today()
    ids = [await customer(books, f"Khách {n}") for n in range(3)]
    for n, customer_id in enumerate(ids):
        await invoiced(books, customer_id, 1_000_000 * (n + 1), today)
        await invoiced(books, customer_id, 500_000, today)
    await agree(books, today)

    # One statement moving many invoices' due dates and balances, and one that changes no balance.
    await books.execute(
        "UPDATE invoices SET due_date = due_date - 45 * (customer_id = :c AND total = 550000)::int,"
        " credited_total = credited_total + 100000, balance = balance - 100000,"
        " status = 'partially_paid' WHERE customer_id = ANY(:ids)",
        c=ids[0],
        ids=ids,
    )
    await books.execute("UPDATE invoices SET attention = 'checked' WHERE customer_id = ANY(:ids)", ids=ids)
    await agree(books, today, today + timedelta(days=20))

    before = await books.scalar("SELECT count(*) FROM invoices")
    with pytest.raises(RolledBack):
        await deleted_and_truncated(books, ids[0], today)
    assert await books.scalar("SELECT count(*) FROM invoices") == before
    await agree(books, today)
    assert await summarised(books, today)


class RolledBack(Exception):
    pass


async def deleted_and_truncated(books: Books, customer_id: uuid.UUID, today: date) -> None:
    """In one transaction, rolled back: an invoice deleted, then every invoice truncated."""
    async with books.db.transaction() as session:
        [(victim, due)] = (
            await session.execute(
                text("SELECT id, due_date FROM invoices WHERE customer_id = :c AND due_date < :d"),
                {"c": customer_id, "d": today},
            )
        ).all()
        for table in ("invoice_lines", "ledger_entries"):
            await session.execute(text(f"DELETE FROM {table} WHERE invoice_id = :i"), {"i": victim})
        await session.execute(text("DELETE FROM invoices WHERE id = :i"), {"i": victim})
        for name, (direct_sql, kept_sql) in SUMMARIES_FROM_INVOICES.items():
            kept = (await session.execute(text(kept_sql))).all()
            assert kept == (await session.execute(text(direct_sql))).all(), name
        # Its other invoice still owes; the deleted one's due date owes nothing now.
        assert (
            await session.scalar(
                text("SELECT owed FROM receivable_balances WHERE customer_id = :c"), {"c": customer_id}
            )
            == 1_100_000 - 100_000
        )
        assert (
            await session.scalar(text("SELECT count(*) FROM receivable_dues WHERE due_date = :d"), {"d": due})
            == 0
        )

        await session.execute(text("TRUNCATE invoices CASCADE"))
        for summary in ("receivable_balances", "receivable_dues"):
            assert await session.scalar(text(f"SELECT count(*) FROM {summary}")) == 0
        raise RolledBack  # every invoice back, and the summaries with them
