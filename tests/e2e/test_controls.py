"""Business controls that hold, through the gateway (issue 15's two reproductions): nobody
approves a quote they made or own, whatever the credit check said; and the credit check
counts the customer's other quotes, so a deal split in two does not pass twice."""

from __future__ import annotations

import pytest

from crm_kit.auth import Role

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
