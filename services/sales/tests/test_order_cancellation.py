"""Cancelling an order before it is invoiced, against real Postgres and RabbitMQ: who may,
the reason it needs, the refusal once accounting's invoice is known, what it announces,
and performance going down (a cancelled order, a credit note)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from crm_contracts import CreditNoteIssued, InvoiceIssued
from crm_kit.auth import Role
from crm_testkit.service import Staff as Actor

from .conftest import Sales, act, approved_quote, lines, orders_of, traditional

pytestmark = pytest.mark.integration


async def placed_order(
    sales: Sales, seller: Actor, manager: Actor, catalogue: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    customer_id = await traditional(sales, seller)
    quote = await approved_quote(sales, seller, manager, customer_id, lines(catalogue))
    await act(sales, seller, quote, "send")
    await act(sales, seller, quote, "accept")
    [order] = await orders_of(sales, seller, customer_id)
    return order


async def performance_of(sales: Sales, seller: Actor) -> dict[str, Any]:
    month = sales.settings.local_date(datetime.now(UTC)).strftime("%Y-%m")
    response = await sales.http.get("/api/performance", headers=seller.headers, params={"period": month})
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    if not items:
        return {"orders": 0, "revenue": 0}
    [row] = items
    return dict(row)


async def cancel(sales: Sales, actor: Actor, order: dict[str, Any], reason: str = "khách hủy") -> Any:
    return await sales.http.post(
        f"/api/orders/{order['id']}/cancel", headers=actor.headers, json={"reason": reason}
    )


async def invoiced(sales: Sales, order: dict[str, Any], number: str) -> None:
    await sales.handled(
        await sales.publish(
            InvoiceIssued(
                invoice_id=uuid.uuid4(),
                number=number,
                order_id=uuid.UUID(order["id"]),
                customer_id=uuid.UUID(order["customer_id"]),
                total=order["total"],
                issue_date=order["order_date"],
                issued_at=datetime.now(UTC),
            )
        )
    )


async def test_the_owner_cancels_with_a_reason_and_performance_drops(
    sales: Sales, seller: Actor, manager: Actor, catalogue: dict[str, dict[str, Any]]
) -> None:
    order = await placed_order(sales, seller, manager, catalogue)
    assert order["cancellable"] is True
    before = await performance_of(sales, seller)
    assert (before["orders"], before["revenue"]) == (1, order["net_total"])

    blank = await cancel(sales, seller, order, reason="   ")
    assert blank.status_code == 422, blank.text
    assert (await orders_of(sales, seller, uuid.UUID(order["customer_id"])))[0]["status"] == "placed"

    response = await cancel(sales, seller, order)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["cancel_reason"], body["cancellable"]) == ("cancelled", "khách hủy", False)
    assert body["cancelled_by"] == str(seller.id)

    [event] = await sales.emitted("sales.order.cancelled.v1", order_id=order["id"])
    assert event["data"]["reason"] == "khách hủy"
    assert event["data"]["net_total"] == order["net_total"]
    assert len(event["data"]["lines"]) == 2
    after = await performance_of(sales, seller)
    assert (after["orders"], after["revenue"]) == (0, 0)

    again = await cancel(sales, seller, order)
    assert again.status_code == 409 and "already cancelled" in again.json()["detail"]
    assert again.json()["code"] == "order.already_cancelled"
    assert len(await sales.emitted("sales.order.cancelled.v1", order_id=order["id"])) == 1

    listed = await sales.http.get(
        "/api/orders",
        headers=seller.headers,
        params={"status": "cancelled", "customer_id": order["customer_id"]},
    )
    assert [o["id"] for o in listed.json()["items"]] == [order["id"]]
    placed = await sales.http.get(
        "/api/orders",
        headers=seller.headers,
        params={"status": "placed", "customer_id": order["customer_id"]},
    )
    assert placed.json()["items"] == []


async def test_an_invoiced_order_is_refused_naming_the_invoice(
    sales: Sales, seller: Actor, manager: Actor, catalogue: dict[str, dict[str, Any]]
) -> None:
    order = await placed_order(sales, seller, manager, catalogue)
    await invoiced(sales, order, "INV-2026-900001")
    shown = (await sales.http.get(f"/api/orders/{order['id']}", headers=seller.headers)).json()
    assert (shown["invoice_number"], shown["cancellable"]) == ("INV-2026-900001", False)

    response = await cancel(sales, manager, order)
    assert response.status_code == 409
    assert "INV-2026-900001" in response.json()["detail"]
    assert "credit the invoice instead" in response.json()["detail"]
    # A problem document with its code and the facts the web UI says it with.
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "order.invoiced" and problem["type"] == "urn:crm:problem:order.invoiced"
    assert problem["params"] == {"order": order["number"], "invoice_number": "INV-2026-900001"}
    assert await sales.emitted("sales.order.cancelled.v1", order_id=order["id"]) == []
    assert (await performance_of(sales, seller))["orders"] == 1


async def test_only_its_owner_a_manager_or_an_admin_cancels(
    sales: Sales, seller: Actor, manager: Actor, catalogue: dict[str, dict[str, Any]]
) -> None:
    order = await placed_order(sales, seller, manager, catalogue)
    other = sales.actor(Role.SALESPERSON)
    assert (await cancel(sales, other, order)).status_code == 404
    for role in (Role.ACCOUNTANT, Role.MARKETING):
        assert (await cancel(sales, sales.actor(role), order)).status_code == 403
    response = await cancel(sales, sales.actor(Role.ADMIN), order)
    assert response.status_code == 200, response.text


async def test_a_credit_note_comes_off_performance_revenue_once(
    sales: Sales, seller: Actor, manager: Actor, catalogue: dict[str, dict[str, Any]]
) -> None:
    order = await placed_order(sales, seller, manager, catalogue)
    await invoiced(sales, order, f"INV-2026-9{uuid.uuid4().int % 100000:05d}")
    note = CreditNoteIssued(
        credit_note_id=uuid.uuid4(),
        number="CN-2026-900001",
        invoice_id=uuid.uuid4(),
        order_id=uuid.UUID(order["id"]),
        customer_id=uuid.UUID(order["customer_id"]),
        amount=1_100_000,
        net_amount=1_000_000,
        issued_on=datetime.now(UTC).date(),
        issued_at=datetime.now(UTC),
    )
    await sales.handled(await sales.publish(note))
    await sales.handled(await sales.publish(note))  # the same note again, as another event
    after = await performance_of(sales, seller)
    assert (after["orders"], after["revenue"]) == (1, order["net_total"] - 1_000_000)

    # A note issued because the order was cancelled takes nothing more (the cancel did).
    cancelled_note = note.model_copy(update={"credit_note_id": uuid.uuid4(), "order_cancelled": True})
    await sales.handled(await sales.publish(cancelled_note))
    assert (await performance_of(sales, seller))["revenue"] == order["net_total"] - 1_000_000
