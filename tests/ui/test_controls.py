"""Controls in the browser: an accountant sets a customer's credit limit by hand with a
reason on the Credit limits page and reads the change in its History (who, before ->
after, why); a sales manager changes a channel's coverage and reads it in the channel's
History, provinces by name. The set-up (a promoted customer, a channel) goes through the
API, as in the other UI tests."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from playwright.async_api import expect

from crm_kit.auth import Role
from crm_testkit.polling import eventually

from ..harness import Api, Stack
from .test_targets import logged_in

pytestmark = pytest.mark.e2e


async def promoted_customer(seller: Api, name: str) -> str:
    made = await seller.client.post(
        "/api/customers", json={"confirm_duplicate": True, "name": name, "region_code": "79"}
    )
    assert made.status_code == 201, made.text
    cid = made.json()["id"]
    assert (await seller.client.post(f"/api/customers/{cid}/promote")).status_code == 200
    await eventually(
        lambda: seller.client.get(f"/api/accounts/{cid}"),
        until=lambda r: r.status_code == 200,
        what="the account opened on the promotion",
    )
    return str(cid)


@pytest.mark.parametrize("lang", ["vi", "en"])
async def test_an_accountant_sets_a_limit_by_hand_and_reads_it_in_the_history(
    lang: str, stack: Stack, new_user, contexts, screenshots: Path
) -> None:
    seller: Api = await new_user(Role.SALESPERSON)
    accountant: Api = await new_user(Role.ACCOUNTANT)
    name = f"Công ty Hạn Mức {uuid.uuid4().hex[:6]}"
    cid = await promoted_customer(seller, name)
    before = (await accountant.client.get(f"/api/accounts/{cid}")).json()["credit_limit"]

    me = await logged_in(contexts, stack, accountant, lang, screenshots)
    page = me.page
    await me.nav("nav.credit_limits")
    await expect(page.get_by_role("heading", level=1)).to_have_text(me.t("credit.title"))
    await page.get_by_role("link", name=name).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(name)
    await expect(page.get_by_test_id("credit-limit-source")).to_have_text(me.t("credit.source.policy"))

    form = page.locator("#set-limit")
    await form.get_by_label(me.t("customer.credit_limit"), exact=False).fill(me.typed(80_000_000))
    # Without a reason it is refused, and nothing changes.
    await form.get_by_role("button", name=me.t("save"), exact=True).click()
    await expect(page.locator("#reason-error")).to_have_text(me.t("credit.reason_required"))
    assert (await accountant.client.get(f"/api/accounts/{cid}")).json()["credit_limit"] == before

    await form.get_by_label(me.t("audit.reason"), exact=False).fill("bảo lãnh ngân hàng")
    await form.get_by_role("button", name=me.t("save"), exact=True).click()
    await expect(page.get_by_test_id("credit-limit")).to_have_text(me.money(80_000_000))
    await expect(page.get_by_test_id("credit-limit-source")).to_have_text(me.t("credit.source.manual"))
    newest = page.get_by_test_id("credit-limit-history").locator("tbody tr").first
    await expect(newest).to_contain_text(me.t("audit.action.manual"))
    await expect(newest).to_contain_text(f"{me.money(before)} → {me.money(80_000_000)}")
    await expect(newest).to_contain_text("bảo lãnh ngân hàng")
    full_name = (await accountant.client.get("/api/users/me")).json()["full_name"]
    await expect(newest).to_contain_text(full_name)
    await me.shot("credit-limit-history")

    account = (await accountant.client.get(f"/api/accounts/{cid}")).json()
    assert (account["credit_limit"], account["credit_limit_source"]) == (80_000_000, "manual")


async def test_a_manager_changes_a_channels_coverage_and_reads_it_in_the_history(
    stack: Stack, new_user, contexts, screenshots: Path
) -> None:
    manager: Api = await new_user(Role.SALES_MANAGER)
    made = await manager.client.post(
        "/api/channels",
        json={"name": f"Đại lý Cần Thơ {uuid.uuid4().hex[:6]}", "kind": "dealer", "region_codes": ["01"]},
    )
    assert made.status_code == 201, made.text
    channel_id = made.json()["id"]

    me = await logged_in(contexts, stack, manager, "vi", screenshots)
    page = me.page
    await page.goto(f"{stack.url('gateway')}/marketing/channels/{channel_id}")
    coverage = page.locator("#coverage")
    await coverage.locator('input[value="79"]').check()
    await coverage.get_by_role("button", name=me.t("channel.save_coverage")).click()
    await expect(page.get_by_test_id("channel-regions")).to_contain_text("Hồ Chí Minh")

    newest = page.get_by_test_id("history").locator("tbody tr").first
    await expect(newest).to_contain_text(me.t("audit.action.coverage_set"))
    await expect(newest).to_contain_text("Hà Nội → Hà Nội, ")
    await expect(newest).to_contain_text("Hồ Chí Minh")
    full_name = (await manager.client.get("/api/users/me")).json()["full_name"]
    await expect(newest).to_contain_text(full_name)
    await me.shot("channel-history")

    trail = (await manager.client.get(f"/api/channels/{channel_id}/audit")).json()
    assert trail["items"][0]["after"] == {"region_codes": ["01", "79"]}
