"""The salesperson's pages on a phone (issue 19, point 10): at 390 px wide the header
took half the screen and the quote builder was 485 px wide, cutting off products and
totals. Each page must fit the screen's width, with the header a small part of it."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from crm_kit.auth import Role
from gateway.ui.i18n import translate

from ..e2e.test_quotes import product, prospect_known_to_sales
from ..harness import PASSWORD, Stack

pytestmark = pytest.mark.e2e

WIDTH, HEIGHT = 390, 844
#: The elements of the page's content that reach past the screen's right edge.
STICKING_OUT = """w => [...document.querySelectorAll('main *')]
  .filter(e => e.getBoundingClientRect().right > w + 1)
  .slice(0, 5)
  .map(e => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`)"""
#: Blank space over 40 px in fields stacked in a form row, between them or inside one
#: below its content (a stacked field once took its 180 px flex basis as its height: the
#: /performance filters were mostly blank).
BLANK_GAPS = """() => [...document.querySelectorAll('main form.row')].flatMap(form => {
  const kids = [...form.children].filter(e => e.offsetParent !== null);
  const bottom = e => Math.max(e.getBoundingClientRect().top,
    ...[...e.querySelectorAll('*')].map(d => d.getBoundingClientRect().bottom));
  return kids.map((e, i) => {
    const below = e.getBoundingClientRect().bottom - bottom(e);
    const above = i ? e.getBoundingClientRect().top - kids[i - 1].getBoundingClientRect().bottom : 0;
    const gap = Math.max(below, above);
    return gap > 40 ? `${form.action}: ${Math.round(gap)} px blank at ${e.tagName}.${e.className}` : null;
  }).filter(Boolean);
})"""


async def test_the_salespersons_pages_fit_a_phone(
    browser: Browser, stack: Stack, new_user, screenshots: Path
) -> None:
    seller, manager = await new_user(Role.SALESPERSON), await new_user(Role.SALES_MANAGER)
    code = await product(manager, price=10_000_000)
    cid = await prospect_known_to_sales(seller, f"Công ty TNHH Điện Thoại {uuid.uuid4().hex[:5]}")
    lead = await seller.client.post("/api/leads", json={"full_name": "Ngô Bảo Châu", "source": "trade_fair"})
    assert lead.status_code == 201, lead.text
    base = stack.url("gateway")
    context = await browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}, locale="vi-VN")
    context.set_default_timeout(20_000)
    try:
        page = await context.new_page()
        await page.goto(f"{base}/login")
        await page.get_by_label(translate("vi", "login.username")).fill(seller.username)
        await page.get_by_label(translate("vi", "login.password")).fill(PASSWORD)
        await page.get_by_role("button", name=translate("vi", "login.submit")).click()
        await expect(page.locator("header.top")).to_be_visible()
        pages = {
            "leads": "/leads",
            "lead-capture": "/leads/new",
            "kanban": "/leads/board",
            "customer-360": f"/customers/{cid}",
            "quote-builder": f"/quotes/new?customer_id={cid}",
            "performance": "/performance",
        }
        too_wide, tall_header, gaps = {}, {}, {}
        for name, path in pages.items():
            await page.goto(f"{base}{path}")
            await expect(page.locator("main")).to_be_visible()
            if name == "quote-builder":
                await page.locator("#lines-0-product_code").select_option(code)
            width = await page.evaluate("document.documentElement.scrollWidth")
            header = await page.locator("header.top").bounding_box()
            await page.screenshot(path=str(screenshots / f"vi-phone-{name}.png"), full_page=True)
            if width > WIDTH:  # what sticks out, to say in the failure
                too_wide[name] = await page.evaluate(STICKING_OUT, WIDTH)
            if header is None or header["height"] > HEIGHT * 0.25:
                tall_header[name] = header and header["height"]
            if found := await page.evaluate(BLANK_GAPS):
                gaps[name] = found
        assert too_wide == {}, f"pages wider than a {WIDTH} px screen: {too_wide}"
        assert tall_header == {}, f"headers over a quarter of the screen: {tall_header}"
        assert gaps == {}, f"blank space between stacked fields: {gaps}"
        # The quote builder's total is on the screen, not cut off to the right.
        await page.goto(f"{base}/quotes/new?customer_id={cid}")
        await page.locator("#lines-0-product_code").select_option(code)
        total = await page.get_by_test_id("live-total").bounding_box()
        assert total is not None and total["x"] + total["width"] <= WIDTH
    finally:
        await context.close()
