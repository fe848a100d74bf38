"""The login page as its users meet it (issue 19, points 1 and 10): it says why it
refused, keeps the username, and every page has its icon."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from crm_kit.auth import Role
from gateway.ui.i18n import translate

from ..harness import PASSWORD, Stack

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("lang", ["vi", "en"])
async def test_a_wrong_password_is_told_and_the_right_one_then_logs_in(
    lang: str, stack: Stack, new_user, contexts
) -> None:
    user = await new_user(Role.SALESPERSON)
    base = stack.url("gateway")
    page = await (await contexts(lang)).new_page()
    await page.goto(f"{base}/login")
    if lang != "vi":
        await page.get_by_role("button", name="English").click()
    t = lambda key, **params: translate(lang, key, **params)  # noqa: E731
    await page.get_by_label(t("login.username")).fill(user.username)
    await page.get_by_label(t("login.password")).fill("not-my-password")
    await page.get_by_role("button", name=t("login.submit")).click()

    await expect(page.get_by_test_id("login-refusal")).to_have_text(t("login.failed"))
    await expect(page.get_by_label(t("login.username"))).to_have_value(user.username)
    await expect(page.get_by_label(t("login.password"))).to_be_focused()
    await page.get_by_label(t("login.password")).fill(PASSWORD)
    await page.get_by_role("button", name=t("login.submit")).click()
    # Logged in, the page is in the user's remembered language (Vietnamese for a new user).
    await expect(page.get_by_role("navigation", name=translate("vi", "nav.main"))).to_be_visible()
    await expect(page).not_to_have_url(re.compile(r"/login"))

    icon = await page.request.get(f"{base}/favicon.ico")
    assert icon.status == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    linked = await page.locator('link[rel="icon"]').get_attribute("href")
    assert linked and (await page.request.get(f"{base}{linked}")).status == 200
