"""Notifications and the remembered language, through the public API (no browser)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from crm_kit.auth import Role
from crm_testkit.polling import eventually

from ..harness import PASSWORD, Api, Stack

pytestmark = pytest.mark.e2e


async def test_a_lead_a_manager_assigns_is_announced_to_its_owner_only(stack: Stack, new_user) -> None:
    seller: Api = await new_user(Role.SALESPERSON)
    manager: Api = await new_user(Role.SALES_MANAGER)
    other: Api = await new_user(Role.SALESPERSON)
    made = await manager.client.post(
        "/api/leads",
        json={
            "full_name": "Hoàng Thị Lan",
            "company": "Lan Anh",
            "source": "partner_referral",
            "owner_id": str(seller.user_id),
        },
    )
    assert made.status_code == 201, made.text

    told = await eventually(
        lambda: seller.client.get("/api/notifications"),
        until=lambda r: r.json()["unread"] == 1,
        what="the owner told about the lead",
    )
    notice = told.json()["items"][0]
    assert (notice["kind"], notice["params"]["name"]) == ("lead_assigned", "Hoàng Thị Lan")
    assert notice["link"] == f"/leads/{made.json()['id']}"
    # Capturing one's own lead tells nobody; nor does anyone else see this one.
    assert (await manager.client.get("/api/notifications")).json()["total"] == 0
    assert (await other.client.post(f"/api/notifications/{notice['id']}/read")).status_code == 404

    marked = await seller.client.post(f"/api/notifications/{notice['id']}/read")
    assert marked.json() == {"marked": 1}
    after = (await seller.client.get("/api/notifications")).json()
    assert (after["unread"], after["total"]) == (0, 1)


async def test_the_language_is_remembered_for_the_user_across_logins(stack: Stack, new_user) -> None:
    seller: Api = await new_user(Role.SALESPERSON)
    assert (await seller.client.get("/api/users/me")).json()["language"] == "vi"
    changed = await seller.client.put("/api/users/me/language", json={"language": "en"})
    assert changed.status_code == 200 and changed.json()["language"] == "en"
    assert (await seller.client.put("/api/users/me/language", json={"language": "fr"})).status_code == 422

    # A new browser (no cookies) logs in through the login form: the page comes in English.
    async with httpx.AsyncClient(base_url=stack.url("gateway"), follow_redirects=True) as browser:
        await browser.get("/login")
        csrf = browser.cookies["crm_csrf"]
        home = await browser.post(
            "/login", data={"username": seller.username, "password": PASSWORD, "csrf_token": csrf}
        )
        assert home.status_code == 200
        assert '<html lang="en">' in home.text
        # A form without the CSRF token is refused and changes nothing.
        refused = await browser.post("/language", data={"language": "vi"})
        assert refused.status_code == 403
    assert (await seller.client.get("/api/users/me")).json()["language"] == "en"


async def test_care_planned_for_today_rings_the_owners_bell_until_it_is_done(stack: Stack, new_user) -> None:
    seller: Api = await new_user(Role.SALESPERSON)
    other: Api = await new_user(Role.SALESPERSON)
    made = await seller.client.post(
        "/api/customers", json={"confirm_duplicate": True, "name": "Công ty TNHH Thiết bị Nam Việt"}
    )
    assert made.status_code == 201, made.text
    customer_id = made.json()["id"]
    today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date().isoformat()
    planned = await seller.client.post(
        f"/api/customers/{customer_id}/activities",
        json={"kind": "call", "due_on": today, "note": "Hỏi lại báo giá máy nén khí"},
    )
    assert planned.status_code == 201, planned.text

    told = await eventually(
        lambda: seller.client.get("/api/notifications"),
        until=lambda r: r.json()["unread"] == 1,
        what="the owner reminded of today's call",
    )
    [notice] = told.json()["items"]
    assert (notice["kind"], notice["link"]) == ("care_due", f"/customers/{customer_id}")
    assert notice["params"] == {
        "customer": "Công ty TNHH Thiết bị Nam Việt",
        "activity_kind": "call",
        "due_on": today,
    }
    assert (await other.client.get("/api/notifications")).json()["total"] == 0

    # The bell in the page header says it in the user's language (Vietnamese by default).
    async with httpx.AsyncClient(base_url=stack.url("gateway"), follow_redirects=True) as browser:
        await browser.get("/login")
        await browser.post(
            "/login",
            data={
                "username": seller.username,
                "password": PASSWORD,
                "csrf_token": browser.cookies["crm_csrf"],
            },
        )
        ringing = await browser.get("/notifications/bell")
        assert ringing.status_code == 200
        assert 'data-testid="unread-count">1<' in ringing.text
        assert "Đến hạn chăm sóc khách hàng Công ty TNHH Thiết bị Nam Việt: Gọi điện" in ringing.text

        done = await seller.client.post(
            f"/api/customers/{customer_id}/activities/{planned.json()['id']}/complete",
            json={"outcome": "Khách đồng ý giá"},
        )
        assert done.status_code == 200, done.text
        await eventually(
            lambda: seller.client.get("/api/notifications"),
            until=lambda r: r.json()["total"] == 0,
            what="the reminder of done work gone",
        )
        quiet = await browser.get("/notifications/bell")
        assert "unread-count" not in quiet.text
        assert "Nam Việt" not in quiet.text
