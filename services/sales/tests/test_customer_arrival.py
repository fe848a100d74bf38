"""Read your own writes: a quote for a customer whose registration is still on its way
to sales waits for it (bounded), and answers 503 with Retry-After, never a 422 saying
the customer does not exist, when it does not come."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest

from crm_contracts import CustomerRegistered
from crm_testkit.service import Staff as Actor

from .conftest import Sales

pytestmark = pytest.mark.integration


def _quote(customer_id: uuid.UUID, code: str) -> dict[str, Any]:
    return {"customer_id": str(customer_id), "lines": [{"product_code": code, "quantity": 1}]}


async def test_a_quote_waits_for_a_registration_on_its_way(
    sales: Sales, seller: Actor, catalogue: dict[str, dict[str, Any]]
) -> None:
    customer_id = uuid.uuid4()
    asked = asyncio.create_task(
        sales.http.post(
            "/api/quotes", headers=seller.headers, json=_quote(customer_id, catalogue["pump"]["code"])
        )
    )
    await asyncio.sleep(0.3)  # the quote is asked for first; the registration arrives during its wait
    assert not asked.done()
    await sales.publish(
        CustomerRegistered(
            customer_id=customer_id, name="Công ty Vừa Tạo", lifecycle_stage="prospect", owner_id=seller.id
        )
    )
    answer = await asked
    assert answer.status_code == 201, answer.text
    assert answer.json()["customer_id"] == str(customer_id)
    assert answer.json()["customer_name"] == "Công ty Vừa Tạo"


async def test_a_customer_that_never_comes_is_a_503_with_retry_after_and_nothing_changes(
    sales: Sales, seller: Actor, catalogue: dict[str, dict[str, Any]]
) -> None:
    customer_id = uuid.uuid4()
    before = await sales.scalar("SELECT count(*) FROM quotes")
    started = time.monotonic()
    answer = await sales.http.post(
        "/api/quotes", headers=seller.headers, json=_quote(customer_id, catalogue["pump"]["code"])
    )
    waited = time.monotonic() - started
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"] == str(round(sales.settings.customer_wait_s))
    detail = answer.json()["detail"]
    assert str(customer_id) in detail and "on its way" in detail and "may not exist" in detail
    assert sales.settings.customer_wait_s <= waited < sales.settings.customer_wait_s + 2
    assert await sales.scalar("SELECT count(*) FROM quotes") == before
