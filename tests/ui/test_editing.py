"""Changing what exists, in the browser: a lead, a customer (and a manager's reassign
and deactivate), a quote (edited back to draft, copied), a channel's coverage and
salespeople, a campaign's targeting and audience. Each form also gets one bad input:
the API's answer shows next to its field and what was typed stays."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from crm_kit.auth import Role
from crm_testkit import catalogue
from crm_testkit.polling import eventually
from gateway.ui.i18n import money, translate

from ..harness import PASSWORD, Api, Stack

pytestmark = pytest.mark.e2e

LANG = "vi"
#: Long enough for an event to cross two services.
SETTLE_S = 20


def t(key: str, **params: object) -> str:
    return translate(LANG, key, **params)


def exactly(key: str) -> re.Pattern[str]:
    """A field's label exactly, whether or not it is marked required (`Tên *`)."""
    return re.compile(rf"^{re.escape(t(key))}( \*)?$")


def phone() -> str:
    return f"09{uuid.uuid4().int % 10**8:08d}"


def tag() -> str:
    return uuid.uuid4().hex[:6]


OpenAs = Callable[[Api], Awaitable[Page]]


@pytest.fixture
async def open_as(browser: Browser, stack: Stack) -> AsyncIterator[OpenAs]:
    """A logged-in browser tab for a user (Vietnamese, the default)."""
    contexts: list[BrowserContext] = []

    async def make(user: Api) -> Page:
        context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
        context.set_default_timeout(20_000)
        contexts.append(context)
        page = await context.new_page()
        await page.goto(f"{stack.url('gateway')}/login")
        await page.get_by_label(t("login.username")).fill(user.username)
        await page.get_by_label(t("login.password")).fill(PASSWORD)
        await page.get_by_role("button", name=t("login.submit")).click()
        await expect(page.get_by_role("navigation", name=t("nav.main"))).to_be_visible()
        return page

    yield make
    for context in contexts:
        await context.close()


async def reload_until(page: Page, locator_of: Callable[[], Any], what: str) -> None:
    for _ in range(SETTLE_S * 2):
        if await locator_of().count():
            return
        await page.wait_for_timeout(500)
        await page.reload()
    raise AssertionError(f"not on the page after {SETTLE_S} s: {what}")


async def save(page: Page, key: str = "save") -> None:
    await page.get_by_role("button", name=t(key), exact=True).click()


async def test_a_salesperson_edits_a_lead(stack: Stack, new_user, open_as: OpenAs, screenshots: Path) -> None:
    seller: Api = await new_user(Role.SALESPERSON)
    made = await seller.client.post(
        "/api/leads",
        json={
            "full_name": "Hoàng Văn Nam",
            "company": "Cơ khí Nam Việt",
            "source": "walk_in",
            "phone": phone(),
        },
    )
    assert made.status_code == 201, made.text
    lead_id = made.json()["id"]
    page = await open_as(seller)
    await page.goto(f"{stack.url('gateway')}/leads/{lead_id}")
    await page.get_by_role("link", name=t("lead.edit"), exact=True).click()
    await expect(page.get_by_label(t("lead.full_name"))).to_have_value("Hoàng Văn Nam")
    await expect(page.get_by_label(t("lead.company"))).to_have_value("Cơ khí Nam Việt")

    # A bad e-mail: the answer at the field, everything typed still there.
    await page.get_by_label(t("lead.company")).fill("Cơ khí Nam Việt Thịnh")
    await page.get_by_label(t("lead.email")).fill("không-phải-email")
    await page.get_by_label(t("region")).select_option("79")
    await page.get_by_label(t("lead.planned_contact_on")).fill("2031-03-15")
    await page.get_by_label(t("lead.planned_channel")).select_option("visit")
    await save(page)
    email = page.get_by_label(t("lead.email"))
    await expect(email).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#email-error")).to_have_text(t("err.value_error.email"))
    await expect(email).to_have_value("không-phải-email")
    await expect(page.get_by_label(t("lead.company"))).to_have_value("Cơ khí Nam Việt Thịnh")
    await expect(page.get_by_label(t("region"))).to_have_value("79")
    await expect(page.get_by_label(t("lead.planned_channel"))).to_have_value("visit")
    assert (await seller.client.get(f"/api/leads/{lead_id}")).json()["company"] == "Cơ khí Nam Việt"
    await page.screenshot(path=str(screenshots / f"{LANG}-lead-edit.png"), full_page=True)

    await email.fill("nam@namviet.vn")
    await save(page)
    await expect(page.get_by_role("status")).to_have_text(t("flash.saved"))
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Hoàng Văn Nam")
    details = page.locator("dl.facts")
    await expect(details).to_contain_text("Cơ khí Nam Việt Thịnh")
    await expect(details).to_contain_text("nam@namviet.vn")
    await expect(details).to_contain_text(t("pchannel.visit"))
    edited = page.locator("tr", has_text=t("lhistory.updated"))
    await expect(edited).to_contain_text(f"{t('lead.company')}: Cơ khí Nam Việt → Cơ khí Nam Việt Thịnh")
    lead = (await seller.client.get(f"/api/leads/{lead_id}")).json()
    assert (lead["company"], lead["email"], lead["region_code"]) == (
        "Cơ khí Nam Việt Thịnh",
        "nam@namviet.vn",
        "79",
    )
    assert lead["approach_plan"]["planned_contact_on"] == "2031-03-15"


async def test_a_customer_is_edited_and_a_manager_reassigns_and_deactivates_it(
    stack: Stack, new_user, open_as: OpenAs, screenshots: Path
) -> None:
    seller: Api = await new_user(Role.SALESPERSON)
    colleague: Api = await new_user(Role.SALESPERSON)
    manager: Api = await new_user(Role.SALES_MANAGER)
    name = f"Công ty Thiết bị Hải Phòng {tag()}"
    made = await seller.client.post(
        "/api/customers", json={"confirm_duplicate": True, "name": name, "region_code": "01"}
    )
    assert made.status_code == 201, made.text
    customer_id = made.json()["id"]
    base = stack.url("gateway")

    page = await open_as(seller)
    await page.goto(f"{base}/customers/{customer_id}")
    await page.get_by_role("link", name=t("customer.edit"), exact=True).click()
    await expect(page.get_by_label(exactly("name"))).to_have_value(name)
    await page.get_by_label(t("customer.contact_name")).fill("Trần Văn Hải")
    await page.get_by_label(t("lead.phone")).fill("12345")
    await page.get_by_label(t("region")).select_option("31")
    await save(page)
    phone_field = page.get_by_label(t("lead.phone"))
    await expect(phone_field).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#phone-error")).to_have_text(t("problem.phone.invalid", value="12345"))
    await expect(phone_field).to_have_value("12345")
    await expect(page.get_by_label(t("customer.contact_name"))).to_have_value("Trần Văn Hải")
    await expect(page.get_by_label(t("region"))).to_have_value("31")
    assert (await seller.client.get(f"/api/customers/{customer_id}")).json()["contact_name"] is None
    await page.screenshot(path=str(screenshots / f"{LANG}-customer-edit.png"), full_page=True)

    await phone_field.fill("0912 345 678")
    await save(page)
    await expect(page.get_by_role("status")).to_have_text(t("flash.saved"))
    details = page.locator("dl.facts").first
    await expect(details).to_contain_text("Trần Văn Hải")
    await expect(details).to_contain_text("0912345678")
    await expect(details).to_contain_text("Hải Phòng")  # the province by name, not its code (31)
    # The customers service records the change in the timeline.
    change = page.locator("tr", has_text=t("timeline.updated"))
    await expect(change).to_contain_text("Trần Văn Hải")
    await expect(change).to_contain_text("Hà Nội → Hải Phòng")

    # A manager hands the customer to a colleague, then deactivates it (with a confirm).
    boss = await open_as(manager)
    await boss.goto(f"{base}/customers/{customer_id}")
    await boss.get_by_label(t("customer.reassign_to")).select_option(str(colleague.user_id))
    await boss.get_by_role("button", name=t("customer.reassign"), exact=True).click()
    await expect(boss.get_by_role("status")).to_have_text(t("flash.saved"))
    await expect(boss.get_by_test_id("customer-owner")).to_have_text(colleague.username)
    await boss.get_by_label(exactly("reason")).fill("Đã giải thể")
    await boss.get_by_role("button", name=t("customer.deactivate"), exact=True).click()
    await expect(boss.locator("#deactivate-confirm-error")).to_have_text(t("customer.confirm_needed"))
    await expect(boss.get_by_label(exactly("reason"))).to_have_value("Đã giải thể")
    assert (await manager.client.get(f"/api/customers/{customer_id}")).json()["lifecycle_stage"] == "prospect"
    await boss.get_by_label(t("customer.deactivate_confirm", name=name)).check()
    await boss.get_by_role("button", name=t("customer.deactivate"), exact=True).click()
    await expect(boss.get_by_role("status")).to_have_text(t("flash.done"))
    await expect(boss.get_by_test_id("lifecycle-stage")).to_have_text(t("stage.inactive"))
    after = (await manager.client.get(f"/api/customers/{customer_id}")).json()
    assert (after["owner_id"], after["lifecycle_stage"]) == (str(colleague.user_id), "inactive")


async def test_a_submitted_quote_is_edited_back_to_draft_and_copied(
    stack: Stack, new_user, open_as: OpenAs, screenshots: Path
) -> None:
    seller: Api = await new_user(Role.SALESPERSON)
    manager: Api = await new_user(Role.SALES_MANAGER)
    code = f"BOM-{tag().upper()}"
    await catalogue.product_group(manager.client, "pumps", name="Bơm công nghiệp")
    product = await manager.client.post(
        "/api/products",
        json={
            "code": code,
            "name": "Bơm ly tâm",
            "product_group": "pumps",
            "unit_price": 5_000_000,
            "vat_rate_pct": 10,
        },
    )
    assert product.status_code == 201, product.text
    name = f"Nhà máy nước Bình Dương {tag()}"
    made = await seller.client.post("/api/customers", json={"confirm_duplicate": True, "name": name})
    assert made.status_code == 201, made.text
    customer_id = made.json()["id"]

    async def known_to_sales() -> bool:
        listed = await seller.client.get("/api/sales/customers", params={"limit": 200})
        return any(c["id"] == customer_id for c in listed.json()["items"])

    await eventually(known_to_sales, what="the customer known to sales", timeout=SETTLE_S, every=0.25)

    page = await open_as(seller)
    await page.goto(f"{stack.url('gateway')}/quotes/new?customer_id={customer_id}")
    await page.locator("#lines-0-product_code").select_option(code)
    await page.locator("#lines-0-quantity").fill("2")
    await save(page, "create")
    await expect(page.get_by_test_id("quote-status")).to_have_text(t("qstatus.draft"))
    await expect(page.get_by_test_id("quote-total")).to_have_text(money(LANG, 11_000_000))
    quote_url = page.url
    number = await page.get_by_test_id("quote-number").inner_text()
    await page.get_by_role("button", name=t("quote.submit"), exact=True).click()
    await expect(page.get_by_test_id("quote-status")).not_to_have_text(t("qstatus.draft"))
    submitted = await page.get_by_test_id("quote-status").inner_text()

    # The builder again, with the quote's lines; the page says saving sends it back to draft.
    await page.get_by_role("link", name=t("quote.edit"), exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(t("quote.edit_title", number=number))
    await expect(page.get_by_test_id("back-to-draft")).to_contain_text(submitted)
    await expect(page.locator("#lines-0-product_code")).to_have_value(code)
    await expect(page.locator("#lines-0-quantity")).to_have_value("2")
    await page.locator("#lines-0-quantity").fill("0")
    await page.locator("#lines-0-discount_pct").fill("10")
    await save(page)
    quantity = page.locator("#lines-0-quantity")
    await expect(quantity).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("tr.line").first.locator(".error")).to_have_text(t("err.greater_than", limit=0))
    await expect(quantity).to_have_value("0")
    await expect(page.locator("#lines-0-discount_pct")).to_have_value("10")
    await page.screenshot(path=str(screenshots / f"{LANG}-quote-edit.png"), full_page=True)

    await quantity.fill("3")
    await save(page)
    await expect(page.get_by_role("status")).to_have_text(t("flash.saved"))
    await expect(page.get_by_test_id("quote-status")).to_have_text(t("qstatus.draft"))
    total = 14_850_000  # 3 x 5,000,000 less 10%, plus 10% VAT
    await expect(page.get_by_test_id("quote-total")).to_have_text(money(LANG, total))
    edited = page.get_by_test_id("quote-history").locator("tr", has_text=t("qhistory.edited"))
    await expect(edited).to_contain_text(f"{submitted} → {t('qstatus.draft')}")
    await expect(edited).to_contain_text(money(LANG, total))

    # A copy is a new draft with the same lines, and the page goes to it.
    await page.get_by_role("button", name=t("quote.copy"), exact=True).click()
    await expect(page.get_by_role("status")).to_have_text(t("flash.quote_copied"))
    await expect(page).not_to_have_url(quote_url)
    await expect(page.get_by_test_id("quote-status")).to_have_text(t("qstatus.draft"))
    await expect(page.get_by_test_id("quote-number")).not_to_have_text(number)
    await expect(page.get_by_test_id("quote-total")).to_have_text(money(LANG, total))
    copy_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    copy = (await seller.client.get(f"/api/quotes/{copy_id}")).json()
    assert (copy["status"], copy["customer_id"], copy["total"]) == ("draft", customer_id, total)


async def test_a_manager_sets_a_channels_coverage_and_salespeople(
    stack: Stack, new_user, open_as: OpenAs, screenshots: Path
) -> None:
    manager: Api = await new_user(Role.SALES_MANAGER)
    seller: Api = await new_user(Role.SALESPERSON)
    parent = await manager.client.post(
        "/api/channels", json={"name": f"Tổng đại lý {tag()}", "kind": "distributor"}
    )
    assert parent.status_code == 201, parent.text
    name = f"Đại lý Sài Gòn {tag()}"
    made = await manager.client.post("/api/channels", json={"name": name, "kind": "dealer"})
    assert made.status_code == 201, made.text
    channel_id = made.json()["id"]

    page = await open_as(manager)
    await page.goto(f"{stack.url('gateway')}/marketing")
    await page.get_by_role("link", name=name, exact=True).click()
    await expect(page.get_by_test_id("channel-name")).to_have_text(name)
    await expect(page.get_by_test_id("channel-kind")).to_have_text(t("ckind.dealer"))

    # A name too long: the answer at the field, the typed name kept.
    too_long = "Đ" * 201
    await page.get_by_label(exactly("name")).fill(too_long)
    await page.get_by_label(t("channel.parent")).select_option(parent.json()["id"])
    await save(page)
    await expect(page.locator("#name-error")).to_have_text(t("err.string_too_long"))
    await expect(page.get_by_label(exactly("name"))).to_have_value(too_long)
    await expect(page.get_by_label(t("channel.parent"))).to_have_value(parent.json()["id"])
    renamed = f"{name} (Quận 1)"
    await page.get_by_label(exactly("name")).fill(renamed)
    await save(page)
    await expect(page.get_by_role("status")).to_have_text(t("flash.saved"))
    await expect(page.get_by_test_id("channel-name")).to_have_text(renamed)
    await expect(page.get_by_test_id("channel-parent")).to_have_text(parent.json()["name"])

    # Two provinces, then a salesperson in one of them.
    coverage = page.locator("#coverage")
    await coverage.locator('input[name="region_codes"][value="01"]').check()
    await coverage.locator('input[name="region_codes"][value="79"]').check()
    await coverage.get_by_role("button", name=t("channel.save_coverage")).click()
    await expect(page.get_by_role("status")).to_have_text(t("flash.saved"))
    await expect(page.get_by_test_id("channel-regions")).to_have_text("Hà Nội, Hồ Chí Minh")
    await page.locator("#assign-79").select_option(str(seller.user_id))
    await page.get_by_role("button", name=t("channel.save_assignments")).click()
    await expect(page.get_by_role("status")).to_have_text(t("flash.saved"))
    await expect(page.locator("#assign-79 option:checked")).to_have_text(re.compile(seller.username))
    await page.screenshot(path=str(screenshots / f"{LANG}-channel.png"), full_page=True)

    stored = (await manager.client.get(f"/api/channels/{channel_id}")).json()
    assert stored["name"] == renamed
    assert stored["parent_id"] == parent.json()["id"]
    assert stored["region_codes"] == ["01", "79"]
    assert stored["assignments"] == [{"region_code": "79", "user_id": str(seller.user_id)}]

    # Leaving out a staffed province is refused; the boxes stay as they were ticked.
    await coverage.locator('input[name="region_codes"][value="79"]').uncheck()
    await coverage.get_by_role("button", name=t("channel.save_coverage")).click()
    await expect(coverage.get_by_role("alert")).to_contain_text("79")
    await expect(coverage.locator('input[name="region_codes"][value="79"]')).not_to_be_checked()
    await expect(coverage.locator('input[name="region_codes"][value="01"]')).to_be_checked()
    assert (await manager.client.get(f"/api/channels/{channel_id}")).json()["region_codes"] == ["01", "79"]


async def test_marketing_edits_a_campaigns_targeting_and_sees_its_audience(
    stack: Stack, new_user, open_as: OpenAs, screenshots: Path
) -> None:
    marketer: Api = await new_user(Role.MARKETING)
    seller: Api = await new_user(Role.SALESPERSON)
    channel = await marketer.client.post(
        "/api/channels", json={"name": f"Kênh dự án {tag()}", "kind": "project"}
    )
    assert channel.status_code == 201, channel.text
    channel_id = channel.json()["id"]
    customer = f"Khu công nghiệp Hòa Khánh {tag()}"
    made = await seller.client.post(
        "/api/customers",
        json={"confirm_duplicate": True, "name": customer, "region_code": "48", "channel_id": channel_id},
    )
    assert made.status_code == 201, made.text
    today = date.today()
    campaign = await marketer.client.post(
        "/api/campaigns",
        json={
            "name": f"Hội chợ máy bơm {tag()}",
            "starts_on": str(today),
            "ends_on": str(today + timedelta(days=30)),
        },
    )
    assert campaign.status_code == 201, campaign.text
    campaign_id = campaign.json()["id"]

    page = await open_as(marketer)
    await page.goto(f"{stack.url('gateway')}/marketing/campaigns")
    await page.get_by_role("link", name=campaign.json()["name"], exact=True).click()
    await expect(page.get_by_test_id("campaign-status")).to_have_text(t("cstatus.draft"))
    edit = page.locator("#edit")

    # An empty name: the answer at the field, the rest of what was typed kept.
    await edit.get_by_label(exactly("name")).fill("")
    await edit.get_by_label(t("campaign.grades")).fill("A, B")
    await edit.locator('input[name="target.lifecycle_stages"][value="prospect"]').check()
    await save(page)
    await expect(page.locator("#name-error")).to_have_text(t("err.string_too_short"))
    await expect(edit.get_by_label(t("campaign.grades"))).to_have_value("A, B")
    await expect(edit.locator('input[name="target.lifecycle_stages"][value="prospect"]')).to_be_checked()

    renamed = f"Hội chợ máy bơm Đà Nẵng {tag()}"
    await edit.get_by_label(exactly("name")).fill(renamed)
    await edit.get_by_label(t("campaign.grades")).fill("")
    await edit.locator('input[name="target.channel_ids"][value="' + channel_id + '"]').check()
    await edit.locator('input[name="target.region_codes"][value="48"]').check()
    await save(page)
    await expect(page.get_by_role("status")).to_have_text(t("flash.saved"))
    await expect(page.get_by_test_id("campaign-name")).to_have_text(renamed)
    target = page.get_by_test_id("campaign-target")
    await expect(target).to_contain_text(channel.json()["name"])
    await expect(target).to_contain_text("Đà Nẵng")
    await expect(target).to_contain_text(t("stage.prospect"))
    # Marketing learns of the customer by message; the audience counts it once it has.
    await reload_until(
        page, lambda: page.get_by_test_id("audience").get_by_text(customer), "the customer in the audience"
    )
    await expect(page.get_by_test_id("audience-size")).to_have_text("1")
    await expect(page.get_by_test_id("audience-total")).to_contain_text(t("campaign.audience_count", n="1"))
    await page.screenshot(path=str(screenshots / f"{LANG}-campaign.png"), full_page=True)
    stored = (await marketer.client.get(f"/api/campaigns/{campaign_id}")).json()
    assert stored["name"] == renamed
    assert stored["target"]["channel_ids"] == [channel_id]
    assert stored["target"]["lifecycle_stages"] == ["prospect"]
    assert stored["target"]["region_codes"] == ["48"]
    assert stored["audience_size"] == 1

    await page.get_by_role("button", name=t("campaign.launch"), exact=True).click()
    await expect(page.get_by_role("status")).to_have_text(t("flash.done"))
    await expect(page.get_by_test_id("campaign-status")).to_have_text(t("cstatus.launched"))
    await expect(page.locator("#edit")).to_have_count(0)
