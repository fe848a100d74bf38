"""Security suite: two salespeople (A and B), a sales manager and an accountant, and
A's records of every kind (lead, customer, quote, order, account, invoice), made once
through the gateway like any user would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from crm_kit.auth import Role
from crm_testkit.polling import eventually

from ..e2e.test_quotes import product, prospect_known_to_sales, quote, submitted_and_checked
from ..harness import Api, Stack, make_user


@dataclass
class World:
    a: Api
    b: Api
    manager: Api
    accountant: Api
    lead_id: str
    customer_id: str
    #: A draft quote of A's (for edits) and A's accepted quote's order and invoice.
    draft_quote_id: str
    quote_id: str
    order_id: str
    invoice_id: str
    #: The customer the order is for (traditional, with an account in accounting).
    ordering_customer_id: str
    product_code: str


@pytest.fixture(scope="module")
async def world(stack: Stack, admin: Api) -> AsyncIterator[World]:
    a, b = await make_user(stack, admin, Role.SALESPERSON), await make_user(stack, admin, Role.SALESPERSON)
    manager = await make_user(stack, admin, Role.SALES_MANAGER)
    accountant = await make_user(stack, admin, Role.ACCOUNTANT)

    lead = await a.client.post("/api/leads", json={"full_name": "Nguyễn Văn An", "source": "internet"})
    assert lead.status_code == 201, lead.text
    customer = await a.client.post(
        "/api/customers", json={"confirm_duplicate": True, "name": "Công ty Riêng của A"}
    )
    assert customer.status_code == 201, customer.text

    code = await product(manager, price=1_000_000)
    ordering = await prospect_known_to_sales(a, "Đại lý Đặt hàng của A")
    draft = await quote(a, ordering, code, quantity=1, discount=0)
    accepted = await quote(a, ordering, code, quantity=1, discount=0)
    await submitted_and_checked(a, accepted["id"])
    assert (await manager.client.post(f"/api/quotes/{accepted['id']}/approve", json={})).status_code == 200
    assert (await a.client.post(f"/api/quotes/{accepted['id']}/send")).status_code == 200
    assert (await a.client.post(f"/api/quotes/{accepted['id']}/accept")).status_code == 200
    orders = await eventually(
        lambda: a.client.get("/api/orders", params={"customer_id": ordering}),
        until=lambda r: r.json()["total"] == 1,
        timeout=30,
        what="A's order",
    )
    invoices = await eventually(
        lambda: a.client.get("/api/invoices", params={"customer_id": ordering}),
        until=lambda r: r.status_code == 200 and r.json()["total"] == 1,
        timeout=30,
        what="A's invoice",
    )
    yield World(
        a=a,
        b=b,
        manager=manager,
        accountant=accountant,
        lead_id=lead.json()["id"],
        customer_id=customer.json()["id"],
        draft_quote_id=draft["id"],
        quote_id=accepted["id"],
        order_id=orders.json()["items"][0]["id"],
        invoice_id=invoices.json()["items"][0]["id"],
        ordering_customer_id=ordering,
        product_code=code,
    )
    for api in (a, b, manager, accountant):
        await api.client.aclose()
