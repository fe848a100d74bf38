"""Lapsed customers (issue 15): traditional customers with no order for longer than
their grade allows, the longest without first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crm_testkit.service import Staff

from .conftest import Harness

pytestmark = pytest.mark.integration


async def traditional(
    harness: Harness, owner: Staff, *, grade: str | None, ordered_days_ago: int | None
) -> str:
    customer = await harness.customer(owner)
    promoted = await harness.http.post(f"/api/customers/{customer['id']}/promote", headers=owner.headers)
    assert promoted.status_code == 200, promoted.text
    last = datetime.now(UTC) - timedelta(days=ordered_days_ago) if ordered_days_ago is not None else None
    await harness.execute(
        "UPDATE customers SET grade = :grade, last_purchase_at = :last,"
        " promoted_at = now() - interval '400 days' WHERE id = :id",
        grade=grade,
        last=last,
        id=customer["id"],
    )
    return str(customer["id"])


async def lapsed(harness: Harness, who: Staff, **params: Any) -> dict[str, Any]:
    answer = await harness.http.get("/api/customers/lapsed", headers=who.headers, params=params)
    assert answer.status_code == 200, answer.text
    return {item["id"]: item for item in answer.json()["items"]}


async def test_a_customer_is_lapsed_after_its_grades_number_of_days_without_an_order(
    harness: Harness, seller: Staff, other_seller: Staff, manager: Staff
) -> None:
    harness.settings.lapsed_days_by_grade = {"A": 30}
    harness.settings.lapsed_after_days = 90
    try:
        a_quiet = await traditional(harness, seller, grade="A", ordered_days_ago=45)
        a_fine = await traditional(harness, seller, grade="A", ordered_days_ago=10)
        c_quiet = await traditional(harness, seller, grade="C", ordered_days_ago=120)
        c_fine = await traditional(harness, seller, grade="C", ordered_days_ago=45)
        never = await traditional(harness, seller, grade=None, ordered_days_ago=None)
        elsewhere = await traditional(harness, other_seller, grade="A", ordered_days_ago=200)
        prospect = await harness.customer(seller)

        mine = await lapsed(harness, seller)
        assert {a_quiet, c_quiet, never} <= set(mine)
        assert not {a_fine, c_fine, elsewhere, str(prospect["id"])} & set(mine)
        assert mine[a_quiet]["lapsed_after_days"] == 30 and mine[a_quiet]["days_without_order"] == 45
        assert mine[c_quiet]["lapsed_after_days"] == 90
        assert mine[never]["days_without_order"] >= 400  # counted from its promotion
        order = list(mine)
        assert order.index(never) < order.index(c_quiet) < order.index(a_quiet)  # longest first

        assert elsewhere in await lapsed(harness, manager)
        only_a = await lapsed(harness, seller, grade="A")
        assert set(only_a) & {a_quiet, c_quiet, never} == {a_quiet}
        # One number for every grade: 40 days makes A's 45 and C's 45 lapsed, not A's 10.
        forty = await lapsed(harness, seller, days=40)
        assert {a_quiet, c_fine} <= set(forty) and a_fine not in forty
    finally:
        harness.settings.lapsed_days_by_grade = {}


async def test_a_bad_number_of_days_is_422(harness: Harness, seller: Staff) -> None:
    for days in ("0", "-3", "many", "99999"):
        answer = await harness.http.get(
            "/api/customers/lapsed", headers=seller.headers, params={"days": days}
        )
        assert answer.status_code == 422, days
