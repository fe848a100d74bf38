"""An admin adds a member of staff and later offboards them, handing their portfolio over."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from crm_kit.auth import Role
from gateway.ui.i18n import translate

from ..harness import ADMIN_PASSWORD, Api, Stack

pytestmark = pytest.mark.e2e

LANG = "en"


def t(key: str, **params: object) -> str:
    return translate(LANG, key, **params)


async def test_an_admin_adds_a_user_then_offboards_them_to_a_colleague(
    browser: Browser, stack: Stack, new_user, screenshots: Path
) -> None:
    colleague: Api = await new_user(Role.SALESPERSON)
    accountant: Api = await new_user(Role.ACCOUNTANT)
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.set_default_timeout(20_000)
    page = await context.new_page()
    try:
        await page.goto(f"{stack.url('gateway')}/login")
        # Before logging in, the language is the browser's choice.
        await page.get_by_role("button", name="English").click()
        await expect(page.locator("html")).to_have_attribute("lang", "en")
        await page.get_by_label(t("login.username")).fill("admin")
        await page.get_by_label(t("login.password")).fill(ADMIN_PASSWORD)
        await page.get_by_role("button", name=t("login.submit")).click()
        # Once logged in, the account's own language (Vietnamese, never changed) wins.
        await expect(page.locator("html")).to_have_attribute("lang", "vi")
        await page.get_by_label(translate("vi", "language")).select_option(LANG)
        await page.get_by_role("button", name=translate("vi", "switch")).click()
        await expect(page.locator("html")).to_have_attribute("lang", LANG)
        await page.get_by_role("link", name=t("nav.admin"), exact=True).click()
        await page.get_by_role("link", name=t("admin.new_user"), exact=True).click()

        username = f"leaving{uuid.uuid4().hex[:6]}"
        await page.get_by_label(t("admin.username")).fill(username)
        await page.get_by_label(t("admin.full_name")).fill("Ngô Thị Mai")
        await page.get_by_label(t("admin.role")).select_option("salesperson")
        await page.get_by_label(t("admin.password")).fill("short")
        await page.get_by_role("button", name=t("create"), exact=True).click()
        # The API's answer next to the field; what was typed (but the password) is kept.
        await expect(page.get_by_label(t("admin.password"))).to_have_attribute("aria-invalid", "true")
        await expect(page.locator("#password-error")).to_contain_text("at least 8")
        await expect(page.get_by_label(t("admin.username"))).to_have_value(username)
        await page.get_by_label(t("admin.password")).fill("long-enough-9")
        await page.get_by_role("button", name=t("create"), exact=True).click()
        await expect(page.get_by_role("status")).to_have_text(t("admin.user_created"))
        await expect(page.get_by_test_id("portfolio-total")).to_have_text(t("admin.portfolio_total", n=0))

        # Only a seller may take over a seller's portfolio: the accountant is not offered.
        successors = page.get_by_label(t("admin.reassign_to"))
        await expect(successors.locator(f'option[value="{colleague.user_id}"]')).to_have_count(1)
        await expect(successors.locator(f'option[value="{accountant.user_id}"]')).to_have_count(0)
        await successors.select_option(str(colleague.user_id))
        await page.get_by_role("button", name=t("admin.offboard")).click()
        # A confirmation first, naming the successor; nothing has changed yet.
        confirm = page.get_by_test_id("offboard-confirm")
        await expect(confirm).to_contain_text("Ngô Thị Mai")
        await expect(confirm).to_contain_text(colleague.username)
        await expect(page.get_by_role("heading", level=1)).to_contain_text(t("admin.active"))
        await confirm.get_by_role("button", name=t("admin.offboard_do")).click()
        await expect(page.get_by_role("status")).to_have_text(t("admin.offboarded"))
        await expect(page.get_by_role("heading", level=1)).to_contain_text(t("admin.inactive"))
        await page.screenshot(path=str(screenshots / f"{LANG}-admin-offboarded.png"), full_page=True)

        # The list finds them by name, with their standing.
        await page.goto(f"{stack.url('gateway')}/admin/users")
        await page.get_by_label(t("search")).fill("Ngô Thị Mai")
        await page.get_by_label(t("status")).select_option("no")
        await page.get_by_role("button", name=t("filter")).click()
        rows = page.get_by_test_id("users").locator("tbody tr", has_text=username)
        await expect(rows).to_have_count(1)
        await expect(rows).to_contain_text(t("admin.inactive"))
    finally:
        await context.close()
