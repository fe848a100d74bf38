"""Notifications and the remembered language, through the public API (no browser)."""

from __future__ import annotations

import httpx
import pytest

from crm_kit.auth import Role

from ..e2e.helpers import eventually
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
