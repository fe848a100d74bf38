"""A traditional customer's edit reaches the services that keep a copy of it."""

from __future__ import annotations

import pytest

from crm_kit.auth import Role
from crm_testkit.polling import eventually

pytestmark = pytest.mark.e2e


async def test_a_renamed_and_moved_customer_reaches_sales_and_accounting(stack, new_user):
    seller = await new_user(Role.SALESPERSON)
    created = await seller.client.post(
        "/api/customers",
        json={"confirm_duplicate": True, "name": "Cửa hàng Điện máy Bình Minh", "region_code": "01"},
    )
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    promoted = await seller.client.post(f"/api/customers/{cid}/promote")
    assert promoted.status_code == 200, promoted.text
    await eventually(
        lambda: seller.client.get(f"/api/accounts/{cid}"),
        until=lambda r: r.status_code == 200,
        what="account opened",
    )

    edited = await seller.client.patch(
        f"/api/customers/{cid}", json={"name": "Công ty CP Điện máy Bình Minh", "region_code": "79"}
    )
    assert edited.status_code == 200, edited.text

    in_sales = await eventually(
        lambda: seller.client.get(f"/api/sales/customers/{cid}"),
        until=lambda r: r.status_code == 200 and r.json()["name"] == "Công ty CP Điện máy Bình Minh",
        what="the new name in sales",
    )
    assert (in_sales.json()["region_code"], in_sales.json()["lifecycle_stage"]) == ("79", "traditional")
    account = await eventually(
        lambda: seller.client.get(f"/api/accounts/{cid}"),
        until=lambda r: r.json()["customer_name"] == "Công ty CP Điện máy Bình Minh",
        what="the new name on the account",
    )
    assert account.json()["balance"] == 0
