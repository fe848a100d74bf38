"""Dates and numbers as the reader expects them (issue 19, point 8), in Vietnamese and in
English: a care activity whose day has passed and that nobody did is shown overdue on the
customer 360, not "scheduled"; one due later is still scheduled, and one done is done.

(The chart's numbers in the page's language and what the conversion rate counts are
checked on the performance page, `test_performance.py`; the quote builder's live total
in `test_quote_builder.py`.)"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.async_api import expect

from crm_kit.auth import Role

from ..harness import Api, Stack
from .test_targets import logged_in

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("lang", ["vi", "en"])
async def test_care_whose_day_has_passed_is_shown_overdue_on_the_customer_page(
    lang: str, stack: Stack, new_user, contexts, screenshots: Path
) -> None:
    seller: Api = await new_user(Role.SALESPERSON)
    made = await seller.client.post(
        "/api/customers", json={"confirm_duplicate": True, "name": "Công ty TNHH Máy Công Trình Phú Thọ"}
    )
    assert made.status_code == 201, made.text
    customer_id = made.json()["id"]
    activities = {}
    for name, due_on, note in (
        ("past", date(2020, 3, 2), "Gọi hỏi máy xúc đã giao"),
        ("later", date.today() + timedelta(days=30), "Thăm kho đầu quý"),
        ("done", date(2020, 4, 6), "Gửi catalogue"),
    ):
        planned = await seller.client.post(
            f"/api/customers/{customer_id}/activities",
            json={"kind": "call", "due_on": due_on.isoformat(), "note": note},
        )
        assert planned.status_code == 201, planned.text
        activities[name] = note
    done_id = next(
        a["id"]
        for a in (await seller.client.get(f"/api/customers/{customer_id}/activities")).json()["items"]
        if a["note"] == activities["done"]
    )
    closed = await seller.client.post(
        f"/api/customers/{customer_id}/activities/{done_id}/complete", json={"outcome": "Đã gửi"}
    )
    assert closed.status_code == 200, closed.text

    me = await logged_in(contexts, stack, seller, lang, screenshots)
    await me.page.goto(f"{stack.url('gateway')}/customers/{customer_id}")
    table = me.page.locator("#activities table")
    for name, status, badge in (
        ("past", "astatus.overdue", "overdue"),
        ("later", "astatus.planned", "planned"),
        ("done", "astatus.done", "done"),
    ):
        row = table.locator("tbody tr", has_text=activities[name])
        await expect(row.locator(f".badge.{badge}")).to_have_text(me.t(status))
    # Overdue is still to be done: it keeps the form that records its outcome.
    await expect(table.locator("tbody tr", has_text=activities["past"]).locator("form")).to_have_count(1)
    await me.shot("customer-care-overdue")
