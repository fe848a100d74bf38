"""A salesperson sells to a customer who has bought before, in the browser: a new
opportunity from the customer's page (no lead), its quote, the manager's approval,
the quote sent and printed (its PDF carries the buyer's tax code and the amount in
words), accepted; the customer has two orders and is still one record."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from playwright.async_api import expect

from crm_kit.auth import Role
from crm_kit.documents import amount_in_words
from crm_testkit.polling import eventually
from crm_testkit.values import tax_code
from gateway.ui.i18n import money

from ..e2e.test_documents import b2b_customer_known_to_sales, pdf_text
from ..e2e.test_quotes import product
from ..e2e.test_repeat_business import bought
from ..harness import Stack
from .test_flow import logged_in

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("lang", ["vi", "en"])
async def test_a_customer_who_bought_before_buys_again_and_gets_a_printed_quote(
    lang: str, stack: Stack, new_user, contexts, screenshots: Path
) -> None:
    base = stack.url("gateway")
    seller_api, manager_api = await new_user(Role.SALESPERSON), await new_user(Role.SALES_MANAGER)
    code = await product(manager_api, price=10_000_000)
    mst, legal_name = tax_code(), f"Công ty TNHH Thiết bị Hải Đăng {uuid.uuid4().hex[:6]}"
    cid = await b2b_customer_known_to_sales(seller_api, mst, legal_name)
    await bought(seller_api, manager_api, cid, code)  # the first purchase: now traditional
    await eventually(
        lambda: seller_api.client.get(f"/api/sales/customers/{cid}"),
        until=lambda r: r.status_code == 200 and r.json()["lifecycle_stage"] == "traditional",
        what="the customer traditional in sales after its first order",
    )

    seller = await logged_in(await contexts(lang), base, seller_api.username, lang, screenshots)
    page, t = seller.page, seller.t

    # -- a new opportunity from the customer's page, without a lead -----------------------
    await page.goto(f"{base}/customers/{cid}")
    await expect(page.get_by_test_id("lifecycle-stage")).to_have_text(t("stage.traditional"))
    await page.get_by_role("link", name=t("opportunities.new"), exact=True).first.click()
    picked = page.get_by_label(t("quote.customer")).locator("option:checked")
    await expect(picked).to_contain_text(legal_name.removeprefix("Công ty TNHH "))
    await page.get_by_label(t("lead.opportunity_name")).fill("Mua thêm máy cho quý II")
    await page.get_by_label(t("opportunities.expected_amount")).fill("22.000.000")
    await seller.click("create")
    await expect(page.get_by_role("status")).to_have_text(t("flash.opportunity_created"))
    card = page.get_by_test_id("opportunity-board").locator(
        ".opportunity-card", has_text="Mua thêm máy cho quý II"
    )
    await expect(card).to_have_count(1)
    await expect(card).to_contain_text(money(lang, 22_000_000))
    await expect(card.locator("xpath=ancestor::section[1]")).to_have_attribute("data-stage", "qualification")
    await seller.shot("opportunity-board-repeat")

    # -- its quote: the customer's open opportunity is picked for it -----------------------
    await page.goto(f"{base}/customers/{cid}")
    await page.get_by_role("link", name=t("customer.new_quote")).click()
    await expect(page.get_by_label(t("lead.opportunity_name")).locator("option:checked")).to_have_text(
        "Mua thêm máy cho quý II"
    )
    await page.locator("#lines-0-product_code").select_option(code)
    await page.locator("#lines-0-quantity").fill("2")
    total = 22_000_000  # 2 x 10,000,000 plus 10% VAT
    await expect(page.get_by_test_id("live-total")).to_have_text(money(lang, total))
    await seller.click("create")
    await expect(page.get_by_test_id("quote-status")).to_have_text(t("qstatus.draft"))
    quote_url = page.url
    quote_id = quote_url.rstrip("/").rsplit("/", 1)[-1]
    await seller.click("quote.submit")
    await expect(page.get_by_test_id("quote-status")).to_have_text(
        re.compile(f"{re.escape(t('qstatus.pending_approval'))}|{re.escape(t('qstatus.approved'))}")
    )
    # Accounting's credit check answers by message; the page asks again until it is there.
    await expect(page.get_by_test_id("credit-check")).to_have_text(t("credit.passed"))
    if await page.get_by_test_id("quote-status").inner_text() == t("qstatus.pending_approval"):
        approved = await manager_api.client.post(f"/api/quotes/{quote_id}/approve", json={})
        assert approved.status_code == 200, approved.text
        await page.reload()
    await expect(page.get_by_test_id("quote-status")).to_have_text(t("qstatus.approved"))
    await seller.click("quote.send")
    await expect(page.get_by_test_id("quote-status")).to_have_text(t("qstatus.sent"))

    # -- print it: the links open the quote's PDF, in the user's language and in English ---
    links = page.get_by_test_id("document-links")
    await expect(links.get_by_role("link", name=t("document.print"))).to_have_attribute("target", "_blank")
    href = await links.get_by_role("link", name=t("document.print")).get_attribute("href")
    assert href == f"/quotes/{quote_id}/document.pdf"
    async with page.context.expect_page() as opened:
        await links.get_by_role("link", name=t("document.print")).click()
    printed = await opened.value
    assert printed.url.endswith(href)
    answer = await page.request.get(f"{base}{href}")
    assert answer.status == 200 and answer.headers["content-type"] == "application/pdf"
    text = pdf_text(await answer.body())
    assert mst in text and legal_name in text
    assert amount_in_words(total) in text  # "Hai mươi hai triệu đồng"
    english = await page.request.get(f"{base}{href}?lang=en")
    assert english.status == 200 and "QUOTATION" in pdf_text(await english.body()).upper()
    await seller.shot("quote-sent-printable")

    # -- accepted: the second order, on the one customer record ----------------------------
    await seller.click("quote.accept")
    await expect(page.get_by_test_id("quote-status")).to_have_text(t("qstatus.accepted"))
    await page.goto(f"{base}/customers/{cid}")
    await seller.reload_until(
        lambda: page.get_by_test_id("orders").locator("tbody tr").nth(1),
        "the second order on the customer's page",
    )
    await expect(page.get_by_test_id("orders").locator("tbody tr")).to_have_count(2)
    found = await seller_api.client.get("/api/customers", params={"q": mst})
    assert [c["id"] for c in found.json()["items"]] == [cid], found.text
    won = await seller_api.client.get("/api/opportunities", params={"customer_id": cid, "stage": "won"})
    assert "Mua thêm máy cho quý II" in [o["name"] for o in won.json()["items"]], won.text
