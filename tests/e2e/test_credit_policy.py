"""The credit policy through the gateway: a promoted customer's account takes the policy's
limit for its grade, a quote's credit check uses it, and re-graded into a cash-only grade
the next quote fails with "cash only". The policy is restored afterwards (the stack is
shared: the other tests' prospects keep the default limit)."""

from __future__ import annotations

import uuid

import pytest

from crm_kit.auth import Role
from crm_testkit.polling import eventually

from .test_quotes import DEFAULT_LIMIT, product, prospect_known_to_sales, quote, submitted_and_checked

pytestmark = pytest.mark.e2e


def custom_scheme(best: str, worst: str) -> dict:
    """A questionnaire of two custom grades: a revenue of 50 or more is `best`."""
    return {
        "name": f"Hạng tín dụng {best}",
        "scheme": {
            "kind": "custom",
            "grades": [
                {"name": best, "min_score": 50, "review_interval_days": 90, "care_cadence_days": 30},
                {"name": worst, "min_score": 0, "review_interval_days": 90, "care_cadence_days": 30},
            ],
        },
        "criteria": [
            {"key": "revenue", "question": "Doanh thu", "weight": 1, "range": {"min": 0, "max": 100}}
        ],
    }


async def test_a_promoted_customers_limit_comes_from_the_policy_and_follows_its_grade(stack, new_user):
    seller, manager = await new_user(Role.SALESPERSON), await new_user(Role.SALES_MANAGER)
    accountant = await new_user(Role.ACCOUNTANT)
    tag = uuid.uuid4().hex[:6]
    gold, cash = f"Vàng {tag}", f"Tiền mặt {tag}"
    before = (await accountant.client.get("/api/credit-policy")).json()
    kept = [
        {k: r[k] for k in ("grade", "channel_kind", "credit_limit", "cash_only")} for r in before["rules"]
    ]
    others = [r for r in kept if r["grade"] is None and r["channel_kind"] is None] or [
        {"credit_limit": DEFAULT_LIMIT}
    ]
    rules = [
        *[r for r in kept if not (r["grade"] is None and r["channel_kind"] is None)],
        {"grade": gold, "credit_limit": 5_000_000_000},
        {"grade": cash, "cash_only": True},
        *others,
    ]
    put = await accountant.client.put("/api/credit-policy", json={"rules": rules})
    assert put.status_code == 200, put.text
    try:
        questionnaire = await manager.client.post("/api/questionnaires", json=custom_scheme(gold, cash))
        assert questionnaire.status_code == 201, questionnaire.text
        cid = await prospect_known_to_sales(seller, f"Công ty Hạng Vàng {tag}")
        graded = await seller.client.post(
            f"/api/customers/{cid}/assessments",
            json={"questionnaire_id": questionnaire.json()["id"], "answers": {"revenue": 90}},
        )
        assert graded.json()["grade"] == gold, graded.text
        assert (await seller.client.post(f"/api/customers/{cid}/promote")).status_code == 200
        account = await eventually(
            lambda: accountant.client.get(f"/api/accounts/{cid}"),
            until=lambda r: r.status_code == 200,
            what="the account opened on the promotion",
        )
        assert (account.json()["credit_limit"], account.json()["credit_limit_source"]) == (
            5_000_000_000,
            "policy",
        )
        assert account.json()["grade"] == gold

        # A quote 20 times the default limit passes: the check uses the policy's limit.
        code = await product(manager, price=1_000_000_000)
        big = await quote(seller, cid, code, quantity=1, discount=0)
        checked = await submitted_and_checked(seller, big["id"], expect="passed")
        assert checked["credit_check"]["credit_limit"] == 5_000_000_000

        # Re-graded into the cash-only grade, the limit follows, and a small quote fails.
        regraded = await seller.client.post(
            f"/api/customers/{cid}/assessments",
            json={"questionnaire_id": questionnaire.json()["id"], "answers": {"revenue": 10}},
        )
        assert regraded.json()["grade"] == cash, regraded.text
        await eventually(
            lambda: accountant.client.get(f"/api/accounts/{cid}"),
            until=lambda r: r.json()["cash_only"] is True,
            what="the limit following the new grade",
        )
        small = await quote(seller, cid, await product(manager, price=1_000), quantity=1, discount=0)
        await submitted_and_checked(seller, small["id"], expect="failed")
        checks = await accountant.client.get("/api/credit-checks", params={"quote_id": small["id"]})
        assert [c["reason"] for c in checks.json()["items"]] == ["cash only"]
        history = await manager.client.get(f"/api/accounts/{cid}/credit-limit-history")
        assert [e["action"] for e in history.json()["items"]] == ["regrade", "opened"]
    finally:
        restored = await accountant.client.put("/api/credit-policy", json={"rules": kept})
        assert restored.status_code == 200, restored.text
