"""CustomersMerged in sales: the merged customer's pipeline and orders become the
survivor's, its record goes inactive, lookups lead to the survivor; twice is once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from crm_contracts import CustomersMerged, CustomerUpdated
from crm_testkit.service import Staff as Actor

from .conftest import Sales, act, approved_quote, lines, orders_of, traditional

pytestmark = pytest.mark.integration


async def test_a_merge_moves_quotes_and_orders_to_the_survivor_once(
    sales: Sales, seller: Actor, manager: Actor, catalogue: dict[str, dict[str, Any]]
) -> None:
    kept, gone = await traditional(sales, seller), await traditional(sales, seller)
    quote = await approved_quote(sales, seller, manager, gone, lines(catalogue))
    await act(sales, seller, quote, "send")
    await act(sales, seller, quote, "accept")
    [order] = await orders_of(sales, seller, gone)

    merge = CustomersMerged(
        customer_id=kept, merged_customer_id=gone, owner_id=seller.id, merged_at=datetime.now(UTC)
    )
    await sales.handled(await sales.publish(merge))
    await sales.handled(await sales.publish(merge))  # again, under another event id: nothing more

    assert [o["id"] for o in await orders_of(sales, seller, kept)] == [order["id"]]
    assert await orders_of(sales, seller, gone) == []
    quotes = await sales.http.get("/api/quotes", headers=seller.headers, params={"customer_id": str(kept)})
    assert [q["id"] for q in quotes.json()["items"]] == [quote["id"]]
    opportunities = await sales.scalar("SELECT count(*) FROM opportunities WHERE customer_id = :c", c=gone)
    assert opportunities == 0
    assert (
        await sales.scalar("SELECT lifecycle_stage FROM sales_customers WHERE id = :c", c=gone) == "inactive"
    )
    assert (
        await sales.scalar("SELECT merged_into_id FROM known_customers WHERE customer_id = :c", c=gone)
        == kept
    )
    # The merged customer's id leads to the survivor.
    found = await sales.http.get(f"/api/sales/customers/{gone}", headers=seller.headers)
    assert found.status_code == 200 and found.json()["id"] == str(kept)
    # And no new quote is made for it.
    refused = await sales.http.post(
        "/api/quotes", headers=seller.headers, json={"customer_id": str(gone), "lines": lines(catalogue)}
    )
    assert refused.status_code == 422


async def test_the_copy_keeps_the_tax_code_legal_name_and_billing_address(
    sales: Sales, seller: Actor
) -> None:
    customer_id = await traditional(sales, seller)
    edit = CustomerUpdated(
        customer_id=customer_id,
        name="Hòa Bình",
        tax_code="0100233488",
        legal_name="Công ty TNHH Thiết bị Hòa Bình",
        billing_address="12 Lê Lợi, TP Hồ Chí Minh",
        updated_at=datetime.now(UTC),
    )
    await sales.handled(await sales.publish(edit))
    [row] = await sales.rows(
        "SELECT tax_code, legal_name, billing_address FROM known_customers WHERE customer_id = :c",
        c=customer_id,
    )
    assert tuple(row) == ("0100233488", "Công ty TNHH Thiết bị Hòa Bình", "12 Lê Lợi, TP Hồ Chí Minh")
