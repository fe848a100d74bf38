"""Everyday things in the browser: provinces shown by name (not by code) in either
language, a campaign's grades kept as written, grading with the questionnaire the user
picks, and a marketing user assigning a salesperson to a channel's province. Each result
is read back through the API, as any other client would see it."""

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
from gateway.ui.i18n import translate

from ..harness import PASSWORD, Api, Stack
from .words import said

pytestmark = pytest.mark.e2e


def tag() -> str:
    return uuid.uuid4().hex[:6]


def exactly(key: str) -> re.Pattern[str]:
    """A field's label exactly, whether or not it is marked required (`Tên *`)."""
    return re.compile(rf"^{re.escape(translate('vi', key))}( \*)?$")


def phone() -> str:
    return f"09{uuid.uuid4().int % 10**8:08d}"


OpenAs = Callable[..., Awaitable[Page]]


@pytest.fixture
async def open_as(browser: Browser, stack: Stack) -> AsyncIterator[OpenAs]:
    """A logged-in browser tab for a user, in Vietnamese (the default) or switched to English."""
    contexts: list[BrowserContext] = []

    async def make(user: Api, lang: str = "vi") -> Page:
        locale = {"vi": "vi-VN", "en": "en-GB"}[lang]
        context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale=locale)
        context.set_default_timeout(20_000)
        contexts.append(context)
        page = await context.new_page()
        await page.goto(f"{stack.url('gateway')}/login")
        await page.get_by_label(translate("vi", "login.username")).fill(user.username)
        await page.get_by_label(translate("vi", "login.password")).fill(PASSWORD)
        await page.get_by_role("button", name=translate("vi", "login.submit")).click()
        await expect(page.get_by_role("navigation", name=translate("vi", "nav.main"))).to_be_visible()
        if lang != "vi":
            await page.get_by_label(translate("vi", "language")).select_option(lang)
            await page.get_by_role("button", name=translate("vi", "switch")).click()
            await expect(page.locator("html")).to_have_attribute("lang", lang)
        return page

    yield make
    for context in contexts:
        await context.close()


# -- provinces by name ------------------------------------------------------------------

#: What each language shows for Hà Nội (01) and Hồ Chí Minh (79).
PROVINCES = {"vi": ("Hà Nội", "Hồ Chí Minh"), "en": ("Ha Noi", "Ho Chi Minh")}


@pytest.mark.parametrize("lang", ["vi", "en"])
async def test_provinces_show_by_name_on_customer_and_lead_pages(
    lang: str, stack: Stack, new_user, open_as: OpenAs, screenshots: Path
) -> None:
    hanoi, hcmc = PROVINCES[lang]
    seller: Api = await new_user(Role.SALESPERSON)
    customer_name = f"Công ty Thép Hà Nội {tag()}"
    customer = await seller.client.post(
        "/api/customers", json={"confirm_duplicate": True, "name": customer_name, "region_code": "01"}
    )
    assert customer.status_code == 201, customer.text
    company = f"Cơ khí Sài Gòn {tag()}"
    lead = await seller.client.post(
        "/api/leads",
        json={
            "full_name": "Trần Thị Mai",
            "company": company,
            "source": "walk_in",
            "phone": phone(),
            "region_code": "79",
        },
    )
    assert lead.status_code == 201, lead.text
    base = stack.url("gateway")

    page = await open_as(seller, lang)
    await page.goto(f"{base}/customers/{customer.json()['id']}")
    await expect(page.get_by_test_id("customer-region")).to_have_text(hanoi)
    await page.screenshot(path=str(screenshots / f"{lang}-fixes-customer-province.png"), full_page=True)
    await page.goto(f"{base}/customers")
    await expect(page.locator("main tr", has_text=customer_name)).to_contain_text(hanoi)

    await page.goto(f"{base}/leads/{lead.json()['id']}")
    await expect(page.get_by_test_id("lead-region")).to_have_text(hcmc)
    await page.goto(f"{base}/leads")
    row = page.locator("main tr", has_text=company)
    await expect(row).to_contain_text(hcmc)
    await expect(row.get_by_role("cell", name="79", exact=True)).to_have_count(0)


# -- a campaign's grades ----------------------------------------------------------------


async def test_a_campaign_keeps_its_grades_as_written(
    stack: Stack, new_user, open_as: OpenAs, screenshots: Path
) -> None:
    marketer: Api = await new_user(Role.MARKETING)
    name = f"Tri ân khách VIP {tag()}"
    today = date.today()
    page = await open_as(marketer)
    await page.goto(f"{stack.url('gateway')}/marketing/campaigns")
    form = page.locator("form", has=page.get_by_role("heading", name=translate("vi", "campaign.new")))
    grades = form.locator("#target-grades")
    other = form.get_by_label(translate("vi", "campaign.other_grades"), exact=True)
    await form.get_by_label(exactly("name")).fill(name)
    await form.get_by_label(exactly("campaign.starts_on")).fill(str(today + timedelta(days=30)))
    # Ends before it starts: refused, and what was ticked and typed stays.
    await form.get_by_label(exactly("campaign.ends_on")).fill(str(today))
    await grades.locator('input[value="VIP"]').check()
    await grades.locator('input[value="Tier II"]').check()
    await other.fill("Khách thân thiết")
    await form.get_by_role("button", name=translate("vi", "create"), exact=True).click()
    await expect(page.get_by_role("alert")).to_contain_text(said("vi", "campaign.ends_before_start"))
    await expect(grades.locator('input[value="VIP"]')).to_be_checked()
    await expect(grades.locator('input[value="Tier II"]')).to_be_checked()
    await expect(grades.locator('input[value="A"]')).not_to_be_checked()
    await expect(other).to_have_value("Khách thân thiết")
    assert not [c for c in await campaigns(marketer) if c["name"] == name]

    await form.get_by_label(exactly("campaign.ends_on")).fill(str(today + timedelta(days=60)))
    await page.screenshot(path=str(screenshots / "vi-fixes-campaign-grades.png"), full_page=True)
    await form.get_by_role("button", name=translate("vi", "create"), exact=True).click()
    await expect(page.get_by_role("status")).to_have_text(translate("vi", "flash.saved"))

    [made] = [c for c in await campaigns(marketer) if c["name"] == name]
    stored = (await marketer.client.get(f"/api/campaigns/{made['id']}")).json()
    # As ticked and typed: not upper-cased (`TIER II`, `KHÁCH THÂN THIẾT`).
    assert stored["target"]["grades"] == ["VIP", "Tier II", "Khách thân thiết"]


async def campaigns(user: Api) -> list[dict[str, Any]]:
    listed = await user.client.get("/api/campaigns", params={"limit": 200})
    assert listed.status_code == 200, listed.text
    items: list[dict[str, Any]] = listed.json()["items"]
    return items


# -- grading with the questionnaire picked ----------------------------------------------


def vip_questionnaire(name: str, question: str) -> dict[str, Any]:
    days = {"review_interval_days": 90, "care_cadence_days": 30}
    return {
        "name": name,
        "scheme": {
            "kind": "vip",
            "grades": [{"min_score": s, **days} for s in (80, 60, 30, 0)],
        },
        "criteria": [
            {
                "key": "doi_xe",
                "question": question,
                "weight": 1,
                "options": [
                    {"value": "lon", "label": "Lớn", "points": 100},
                    {"value": "nho", "label": "Nhỏ", "points": 10},
                ],
            }
        ],
    }


def abcd_questionnaire(name: str, question: str) -> dict[str, Any]:
    days = {"review_interval_days": 90, "care_cadence_days": 30}
    return {
        "name": name,
        "scheme": {"kind": "abcd", "grades": [{"min_score": s, **days} for s in (80, 60, 40, 0)]},
        "criteria": [
            {"key": "doanh_thu", "question": question, "weight": 1, "range": {"min": 0, "max": 100}}
        ],
    }


async def test_the_customer_page_grades_with_the_questionnaire_picked(
    stack: Stack, new_user, open_as: OpenAs, screenshots: Path
) -> None:
    t = tag()
    manager: Api = await new_user(Role.SALES_MANAGER)
    seller: Api = await new_user(Role.SALESPERSON)
    vip_question, abcd_question = f"Đội xe của khách {t}", f"Doanh thu năm {t}"
    older = await manager.client.post(
        "/api/questionnaires", json=vip_questionnaire(f"Phân hạng VIP {t}", vip_question)
    )
    assert older.status_code == 201, older.text
    newer = await manager.client.post(
        "/api/questionnaires", json=abcd_questionnaire(f"Phân hạng ABCD {t}", abcd_question)
    )
    assert newer.status_code == 201, newer.text
    customer = await seller.client.post(
        "/api/customers", json={"confirm_duplicate": True, "name": f"Công ty Vận tải Bắc Nam {t}"}
    )
    assert customer.status_code == 201, customer.text
    url = f"{stack.url('gateway')}/customers/{customer.json()['id']}"

    page = await open_as(seller)
    await page.goto(url)
    pick = page.get_by_label(translate("vi", "customer.pick_questionnaire"))
    # Never graded: the newest questionnaire.
    await expect(pick).to_have_value(newer.json()["id"])
    await expect(page.get_by_label(abcd_question)).to_be_visible()

    await pick.select_option(older.json()["id"])
    await page.get_by_role("button", name=translate("vi", "customer.use_questionnaire")).click()
    await expect(pick).to_have_value(older.json()["id"])
    await expect(page.get_by_label(abcd_question)).to_have_count(0)
    await page.get_by_label(vip_question).select_option("lon")
    await page.get_by_role("button", name=translate("vi", "customer.grade_now"), exact=True).click()
    await expect(page.get_by_role("status")).to_have_text(translate("vi", "flash.saved"))
    await expect(page.get_by_test_id("grade")).to_have_text("VIP")
    await expect(page.get_by_test_id("assessments")).to_contain_text(f"Phân hạng VIP {t} (v1)")
    await page.screenshot(path=str(screenshots / "vi-fixes-grading-picked.png"), full_page=True)

    assessments = await seller.client.get(f"/api/customers/{customer.json()['id']}/assessments")
    assert assessments.status_code == 200, assessments.text
    assert [a["questionnaire_id"] for a in assessments.json()["items"]] == [older.json()["id"]]

    # Back on the page later: the questionnaire last used for this customer, not the newest.
    await page.goto(url)
    await expect(pick).to_have_value(older.json()["id"])
    await expect(page.get_by_label(vip_question)).to_be_visible()


# -- a marketing user assigns a salesperson ----------------------------------------------


async def test_a_marketing_user_assigns_a_salesperson_on_the_channel_page(
    stack: Stack, new_user, open_as: OpenAs, screenshots: Path
) -> None:
    marketer: Api = await new_user(Role.MARKETING)
    seller: Api = await new_user(Role.SALESPERSON)
    name = f"Đại lý Cần Thơ {tag()}"
    made = await marketer.client.post(
        "/api/channels", json={"name": name, "kind": "dealer", "region_codes": ["92", "96"]}
    )
    assert made.status_code == 201, made.text
    channel_id = made.json()["id"]

    page = await open_as(marketer)
    await page.goto(f"{stack.url('gateway')}/marketing/channels/{channel_id}")
    assignments = page.locator("#assignments")
    # A select per province, labelled by its name.
    await expect(assignments.get_by_label("Cần Thơ", exact=True)).to_be_visible()
    await assignments.get_by_label("Cần Thơ", exact=True).select_option(str(seller.user_id))
    await assignments.get_by_role("button", name=translate("vi", "channel.save_assignments")).click()
    await expect(page.get_by_role("status")).to_have_text(translate("vi", "flash.saved"))
    await expect(page.locator("#assign-92 option:checked")).to_have_text(re.compile(seller.username))
    await expect(page.locator("#assign-96 option:checked")).to_have_count(0)
    await page.screenshot(path=str(screenshots / "vi-fixes-channel-assign.png"), full_page=True)

    stored = (await marketer.client.get(f"/api/channels/{channel_id}")).json()
    assert stored["assignments"] == [{"region_code": "92", "user_id": str(seller.user_id)}]
    # The narrow list is all a marketing user gets: every user is still refused.
    assert (await marketer.client.get("/api/users")).status_code == 403
