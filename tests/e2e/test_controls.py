"""Business controls that hold, through the gateway (issue 15's two reproductions): nobody
approves a quote they made or own, whatever the credit check said; and the credit check
counts the customer's other quotes, so a deal split in two does not pass twice; and a
promoted customer's credit limit comes from accounting's credit policy and follows its grade."""

from __future__ import annotations

import uuid

import pytest

from crm_kit.auth import Role
from crm_testkit.polling import eventually

from .test_quotes import DEFAULT_LIMIT, product, prospect_known_to_sales, quote, submitted_and_checked

pytestmark = pytest.mark.e2e


async def test_a_manager_may_not_approve_their_own_quote_even_with_an_override(stack, new_user):
    manager, other = await new_user(Role.SALES_MANAGER), await new_user(Role.SALES_MANAGER)
    code = await product(manager, price=3_000_000_000)
    cid = await prospect_known_to_sales(manager, "Công ty CP Thiết bị Bắc Hà")
    made = await quote(manager, cid, code, quantity=1, discount=40)
    assert made["total"] == 1_980_000_000  # 1.8 billion net at 40% off, VAT on top
    await submitted_and_checked(manager, made["id"], expect="failed")

    refused = await manager.client.post(
        f"/api/quotes/{made['id']}/approve", json={"override_reason": "khách quen"}
    )
    assert refused.status_code == 409, refused.text
    assert "made or owns" in refused.json()["detail"]
    assert (await manager.client.get(f"/api/quotes/{made['id']}")).json()["status"] == "pending_approval"

    approved = await other.client.post(
        f"/api/quotes/{made['id']}/approve", json={"override_reason": "giám đốc đồng ý, khách quen"}
    )
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert (body["approved_by"], body["approved_as"]) == (str(other.user_id), "sales_manager")


async def test_a_deal_split_into_two_quotes_is_checked_as_one(stack, new_user):
    seller, manager = await new_user(Role.SALESPERSON), await new_user(Role.SALES_MANAGER)
    code = await product(manager, price=25_000_000)  # 27,500,000 with VAT: 0.55 x the limit
    cid = await prospect_known_to_sales(seller, "Công ty TNHH Chia Đôi")
    first = await quote(seller, cid, code, quantity=1, discount=0)
    second = await quote(seller, cid, code, quantity=1, discount=0)
    assert first["total"] == second["total"] == 27_500_000

    passed = await submitted_and_checked(seller, first["id"], expect="passed")
    assert passed["credit_check"]["committed"] == 0
    failed = await submitted_and_checked(seller, second["id"], expect="failed")
    check = failed["credit_check"]
    assert (check["committed"], check["exposure"], check["credit_limit"]) == (
        first["total"],
        first["total"] + second["total"],
        DEFAULT_LIMIT,
    )

    # Edited back to draft, the first commits nothing more: the second passes when resubmitted.
    edited = await seller.client.patch(f"/api/quotes/{first['id']}", json={"note": "chờ khách xác nhận"})
    assert edited.status_code == 200 and edited.json()["status"] == "draft"
    edited = await seller.client.patch(f"/api/quotes/{second['id']}", json={"note": "gửi lại"})
    assert edited.status_code == 200, edited.text
    again = await submitted_and_checked(seller, second["id"], expect="passed")
    assert again["credit_check"]["committed"] == 0


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
