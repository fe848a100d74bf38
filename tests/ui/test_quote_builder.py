"""The quote builder's live total (issue 19, point 8): what the API would refuse (a
quantity of -5, a 150% discount) is marked and left out, and the total says it cannot be
shown, instead of a positive amount nobody can quote."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from playwright.async_api import expect

from crm_kit.auth import Role
from gateway.ui.i18n import money

from ..e2e.test_quotes import product, prospect_known_to_sales
from ..harness import Stack
from .test_flow import logged_in

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("lang", ["vi", "en"])
async def test_a_negative_quantity_or_a_discount_over_100_shows_no_total(
    lang: str, stack: Stack, new_user, contexts, screenshots: Path
) -> None:
    seller_api, manager_api = await new_user(Role.SALESPERSON), await new_user(Role.SALES_MANAGER)
    code = await product(manager_api, price=10_000_000)
    cid = await prospect_known_to_sales(seller_api, f"Công ty TNHH Kiểm Tra {uuid.uuid4().hex[:5]}")
    seller = await logged_in(
        await contexts(lang), stack.url("gateway"), seller_api.username, lang, screenshots
    )
    page, t = seller.page, seller.t
    await page.goto(f"{stack.url('gateway')}/quotes/new?customer_id={cid}")
    await page.locator("#lines-0-product_code").select_option(code)
    quantity, discount = page.locator("#lines-0-quantity"), page.locator("#lines-0-discount_pct")
    total, warning = page.get_by_test_id("live-total"), page.get_by_test_id("totals-invalid")

    await quantity.fill("2")
    await expect(total).to_have_text(money(lang, 22_000_000))
    await expect(warning).to_be_hidden()

    await quantity.fill("-5")
    await expect(total).to_have_text("—")
    await expect(quantity).to_have_attribute("aria-invalid", "true")
    await expect(warning).to_have_text(t("quote.totals_invalid"))

    await quantity.fill("2")
    await discount.fill("150")
    await expect(total).to_have_text("—")
    await expect(discount).to_have_attribute("aria-invalid", "true")
    await expect(quantity).not_to_have_attribute("aria-invalid", "true")

    await discount.fill("12,5")
    await expect(total).to_have_text(money(lang, 19_250_000))  # 20m less 12.5%, plus 10% VAT
    await expect(warning).to_be_hidden()
    await expect(discount).not_to_have_attribute("aria-invalid", "true")
