"""Read your own writes across services: a request in sales about a customer the
customers service created a moment ago waits (bounded) for the event that tells sales,
instead of answering that the customer does not exist. Through the gateway, with no
pause between the two calls."""

from __future__ import annotations

import uuid

import pytest

from crm_kit.auth import Role

from .test_quotes import product

pytestmark = pytest.mark.e2e


async def test_a_quote_right_after_its_customer_is_created(stack, new_user):
    seller, manager = await new_user(Role.SALESPERSON), await new_user(Role.SALES_MANAGER)
    code = await product(manager)
    # Several in a row: one alone may happen to lose the race with the event.
    for n in range(5):
        made = await seller.client.post(
            "/api/customers", json={"name": f"Công ty Ngay {n}", "region_code": "79"}
        )
        assert made.status_code == 201, made.text
        quoted = await seller.client.post(
            "/api/quotes",
            json={"customer_id": made.json()["id"], "lines": [{"product_code": code, "quantity": 1}]},
        )
        assert quoted.status_code == 201, quoted.text
        assert quoted.json()["customer_id"] == made.json()["id"]


async def test_a_quote_right_after_a_promotion_is_for_the_traditional_customer(stack, new_user):
    seller, manager = await new_user(Role.SALESPERSON), await new_user(Role.SALES_MANAGER)
    code = await product(manager)
    made = await seller.client.post("/api/customers", json={"name": "Công ty Lên Hạng", "region_code": "01"})
    assert made.status_code == 201, made.text
    cid = made.json()["id"]
    promoted = await seller.client.post(f"/api/customers/{cid}/promote")
    assert promoted.status_code == 200, promoted.text
    quoted = await seller.client.post(
        "/api/quotes", json={"customer_id": cid, "lines": [{"product_code": code, "quantity": 1}]}
    )
    assert quoted.status_code == 201, quoted.text


async def test_a_customer_sales_never_hears_of_is_a_retryable_answer_not_a_422(stack, new_user):
    seller, manager = await new_user(Role.SALESPERSON), await new_user(Role.SALES_MANAGER)
    code = await product(manager)
    unknown = uuid.uuid4()
    quoted = await seller.client.post(
        "/api/quotes", json={"customer_id": str(unknown), "lines": [{"product_code": code, "quantity": 1}]}
    )
    assert quoted.status_code == 503, quoted.text
    assert int(quoted.headers["retry-after"]) >= 1
    detail = quoted.json()["detail"]
    assert str(unknown) in detail and "on its way" in detail and "may not exist" in detail
    listed = await seller.client.get("/api/quotes", params={"customer_id": str(unknown)})
    assert listed.json()["total"] == 0
