"""Edits and deactivations reach the other services' copies: what customers writes to its outbox."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest

from crm_testkit.service import Staff

from .conftest import Harness

pytestmark = pytest.mark.integration

UPDATED = "customers.customer.updated.v1"
DEACTIVATED = "customers.customer.deactivated.v1"


async def patch(harness: Harness, who: Staff, cid: str, body: dict) -> dict:
    response = await harness.http.patch(f"/api/customers/{cid}", headers=who.headers, json=body)
    assert response.status_code == 200, response.text
    result: dict = response.json()
    return result


async def test_an_edit_of_the_name_region_or_channel_is_announced_with_the_current_values(
    harness: Harness, seller: Staff
) -> None:
    channel = uuid.uuid4()
    cid = (await harness.customer(seller, "Đại lý Hoàng Long", region_code="01", phone="0912345678"))["id"]

    edited = await patch(harness, seller, cid, {"name": "Công ty CP Hoàng Long", "region_code": "79"})
    [event] = await harness.outbox(UPDATED, cid)
    assert event["actor"] == str(seller.id)
    assert event["data"] == {
        "customer_id": cid,
        "name": "Công ty CP Hoàng Long",
        "region_code": "79",
        "channel_id": None,
        # The whole current state, the B2B fields too (none given here).
        "tax_code": None,
        "legal_name": None,
        "billing_address": None,
        "updated_at": event["data"]["updated_at"],
    }
    assert datetime.fromisoformat(event["data"]["updated_at"]) == datetime.fromisoformat(edited["updated_at"])

    # The channel alone changed: the event still says the whole current state.
    await patch(harness, seller, cid, {"channel_id": str(channel), "phone": "0987654321"})
    first, second = await harness.outbox(UPDATED, cid)
    assert (second["data"]["name"], second["data"]["region_code"], second["data"]["channel_id"]) == (
        "Công ty CP Hoàng Long",
        "79",
        str(channel),
    )
    assert datetime.fromisoformat(second["data"]["updated_at"]) > datetime.fromisoformat(
        first["data"]["updated_at"]
    )

    # Clearing the region is a change others must hear of too.
    await patch(harness, seller, cid, {"region_code": None})
    assert [e["data"]["region_code"] for e in await harness.outbox(UPDATED, cid)] == ["79", "79", None]


async def test_an_edit_nobody_else_keeps_or_an_unchanged_patch_announces_nothing(
    harness: Harness, seller: Staff
) -> None:
    cid = (await harness.customer(seller, "Cửa hàng Thanh Bình", region_code="48"))["id"]
    await patch(harness, seller, cid, {"phone": "0912 000 111", "address": "3 Bạch Đằng, Đà Nẵng"})
    await patch(harness, seller, cid, {"contact_name": "Lê Văn Tâm", "email": "tam@thanhbinh.vn"})
    await patch(harness, seller, cid, {"name": "Cửa hàng Thanh Bình", "region_code": "48"})  # as it is
    assert await harness.outbox(UPDATED, cid) == []
    # Those edits are audited all the same.
    timeline = (await harness.http.get(f"/api/customers/{cid}/timeline", headers=seller.headers)).json()
    assert [e["kind"] for e in timeline] == ["registered", "updated", "updated"]

    refused = await harness.http.patch(
        f"/api/customers/{cid}", headers=seller.headers, json={"name": "Mới", "region_code": "hanoi"}
    )
    assert refused.status_code == 422
    assert await harness.outbox(UPDATED, cid) == []


async def test_a_deactivation_is_announced_once_with_its_reason(
    harness: Harness, seller: Staff, manager: Staff
) -> None:
    cid = (await harness.customer(seller))["id"]
    response = await harness.http.post(
        f"/api/customers/{cid}/deactivate", headers=manager.headers, json={"reason": "ngừng kinh doanh"}
    )
    assert response.status_code == 200, response.text
    [event] = await harness.outbox(DEACTIVATED, cid)
    assert event["actor"] == str(manager.id)
    assert (event["data"]["customer_id"], event["data"]["reason"]) == (cid, "ngừng kinh doanh")
    assert datetime.fromisoformat(event["data"]["deactivated_at"]) == datetime.fromisoformat(
        response.json()["updated_at"]
    )

    again = await harness.http.post(
        f"/api/customers/{cid}/deactivate", headers=manager.headers, json={"reason": "lần nữa"}
    )
    assert again.status_code == 200
    assert len(await harness.outbox(DEACTIVATED, cid)) == 1  # already inactive: nothing new
    forbidden = await harness.http.post(
        f"/api/customers/{(await harness.customer(seller))['id']}/deactivate",
        headers=seller.headers,
        json={"reason": "x"},
    )
    assert forbidden.status_code == 403
