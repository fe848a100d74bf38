"""Orders cancelled in sales reaching accounting in any order, against real Postgres and
RabbitMQ: before their order (never invoiced), after their invoice (credited in full, once,
announced as a cancellation's note), after payments (flagged for the accountant, nothing
lost); the invoice announced to sales; and the invoice list's filters."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crm_contracts import CreditNoteIssued, InvoiceIssued, OrderCancelled, OrderPlaced
from crm_kit.auth import Role
from crm_testkit.infra import Infra

from .test_integration import Books, order_placed, running_books

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def books(infra: Infra) -> AsyncIterator[Books]:
    async with running_books(infra) as running:
        yield running


def cancelled(order: OrderPlaced, reason: str = "khách đổi ý") -> OrderCancelled:
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
        reason=reason,
        cancelled_by=uuid.uuid4(),
        cancelled_at=datetime.now(UTC),
    )


async def customer(books: Books) -> uuid.UUID:
    customer_id = uuid.uuid4()
    await books.promote(customer_id)
    await books.account(customer_id)
    return customer_id


async def test_a_cancellation_before_its_order_means_no_invoice_ever(books: Books) -> None:
    order = order_placed(await customer(books), [(1, 5_000_000, 10.0)], order_date=books.settings.today())
    await books.handled(await books.publish(cancelled(order)))
    await books.handled(await books.publish(order))
    assert await books.scalar("SELECT count(*) FROM invoices WHERE order_id = :o", o=order.order_id) == 0
    assert await books.emitted(InvoiceIssued, order_id=order.order_id) == []
    assert (
        await books.scalar("SELECT outcome FROM cancelled_orders WHERE order_id = :o", o=order.order_id)
        == "not_invoiced"
    )
    account = await books.account(order.customer_id)
    assert account["balance"] == 0


async def test_an_invoice_is_announced_and_a_late_cancellation_credits_it_in_full_once(books: Books) -> None:
    order = order_placed(await customer(books), [(2, 5_000_000, 10.0)], order_date=books.settings.today())
    await books.publish(order)
    invoice = await books.invoice_for(order.order_id)
    [issued] = await books.emitted(InvoiceIssued, order_id=order.order_id)
    assert (issued["data"]["number"], issued["data"]["total"]) == (invoice["number"], 11_000_000)

    cancellation = cancelled(order)
    await books.handled(await books.publish(cancellation))
    await books.handled(await books.publish(cancellation))  # again, under another event id
    accountant = books.headers(Role.ACCOUNTANT)
    after = (await books.http.get(f"/api/invoices/{invoice['id']}", headers=accountant)).json()
    assert (after["status"], after["balance"], after["credited_total"]) == ("credited", 0, 11_000_000)
    [note] = after["credit_notes"]
    assert note["amount"] == 11_000_000 and "khách đổi ý" in note["reason"]
    [announced] = await books.emitted(CreditNoteIssued, invoice_id=invoice["id"])
    assert announced["data"]["order_cancelled"] is True
    assert announced["data"]["net_amount"] == 10_000_000
    assert (await books.account(order.customer_id))["balance"] == 0


async def test_a_cancellation_after_payments_is_flagged_for_the_accountant(books: Books) -> None:
    order = order_placed(await customer(books), [(1, 10_000_000, 10.0)], order_date=books.settings.today())
    await books.publish(order)
    invoice = await books.invoice_for(order.order_id)
    accountant = books.headers(Role.ACCOUNTANT)
    paid = await books.http.post(
        "/api/payments",
        headers=accountant,
        json={
            "invoice_id": invoice["id"],
            "amount": 3_000_000,
            "paid_on": str(books.settings.today()),
            "method": "cash",
        },
    )
    assert paid.status_code == 201, paid.text
    await books.handled(await books.publish(cancelled(order)))
    after = (await books.http.get(f"/api/invoices/{invoice['id']}", headers=accountant)).json()
    assert (after["balance"], after["credit_notes"]) == (8_000_000, [])
    assert "cancelled after 3000000 VND was paid" in after["attention"]
    assert (
        await books.scalar("SELECT outcome FROM cancelled_orders WHERE order_id = :o", o=order.order_id)
        == "needs_accountant"
    )
    assert await books.emitted(CreditNoteIssued, invoice_id=invoice["id"]) == []


async def test_the_invoice_list_filters_by_status_overdue_number_and_dates(books: Books) -> None:
    today = books.settings.today()
    customer_id = await customer(books)
    old = order_placed(customer_id, [(1, 1_000_000, 10.0)], order_date=today)
    new = order_placed(customer_id, [(1, 2_000_000, 10.0)], order_date=today)
    for order in (old, new):
        await books.publish(order)
    old_id = (await books.invoice_for(old.order_id))["id"]
    # Issued 40 days ago, due 10 days ago (the series dates new invoices on its last day).
    await books.execute(
        "UPDATE invoices SET issue_date = :i, due_date = :d WHERE id = :id",
        i=today - timedelta(days=40),
        d=today - timedelta(days=10),
        id=uuid.UUID(old_id),
    )
    old_invoice = (
        await books.http.get(f"/api/invoices/{old_id}", headers=books.headers(Role.ACCOUNTANT))
    ).json()
    new_invoice = await books.invoice_for(new.order_id)
    accountant = books.headers(Role.ACCOUNTANT)

    async def numbers(**params: Any) -> list[str]:
        response = await books.http.get(
            "/api/invoices", headers=accountant, params={"customer_id": str(customer_id), **params}
        )
        assert response.status_code == 200, response.text
        return [i["number"] for i in response.json()["items"]]

    assert await numbers(status="overdue") == [old_invoice["number"]]
    assert await numbers(status="open") == [new_invoice["number"], old_invoice["number"]]
    assert await numbers(status="paid") == []
    assert await numbers(number=new_invoice["number"]) == [new_invoice["number"]]
    assert await numbers(number=new_invoice["number"][:9]) == [new_invoice["number"], old_invoice["number"]]
    assert await numbers(**{"from": str(today - timedelta(days=1))}) == [new_invoice["number"]]
    assert await numbers(**{"to": str(today - timedelta(days=40))}) == [old_invoice["number"]]
    bad = await books.http.get(
        "/api/invoices", headers=accountant, params={"from": str(today), "to": str(today - timedelta(days=1))}
    )
    assert bad.status_code == 422
    assert (
        await books.http.get("/api/invoices", headers=accountant, params={"status": "late"})
    ).status_code == 422
