"""Picking a customer by search (issue 19: the pickers offered only the first 200
customers). In the quote builder the salesperson types part of a customer's name; the
matches fill the select, the first is picked, and the quote is made for that customer."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from playwright.async_api import expect

from crm_kit.auth import Role
from crm_testkit import catalogue

from ..e2e.test_quotes import product, prospect_known_to_sales
from ..harness import Api, Stack
from .test_targets import logged_in

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("lang", ["vi", "en"])
async def test_a_customer_is_found_by_typing_part_of_its_name(
    lang: str, stack: Stack, new_user, contexts, screenshots: Path
) -> None:
    seller: Api = await new_user(Role.SALESPERSON)
    manager: Api = await new_user(Role.SALES_MANAGER)
    code = await product(manager, price=4_000_000)
    mark = uuid.uuid4().hex[:6]
    wanted = f"Công ty Thép Ánh Dương {mark}"
    await prospect_known_to_sales(seller, f"Công ty Gỗ Bình Minh {mark}")
    cid = await prospect_known_to_sales(seller, wanted)

    me = await logged_in(contexts, stack, seller, lang, screenshots)
    page = me.page
    await page.goto(f"{stack.url('gateway')}/quotes/new")
    search = page.locator("#customer_id-search")
    await expect(search).to_have_attribute("placeholder", me.t("picker.placeholder"))
    await search.fill(f"Ánh Dương {mark}")
    select = page.locator("select#customer_id")
    await expect(select).to_have_value(cid)
    await expect(page.locator("#customer_id-search-status")).to_have_text(
        me.t("picker.found").replace("{count}", "1")
    )
    await me.shot("picker-customer")
    await page.locator("#lines-0-product_code").select_option(code)
    await page.locator("#lines-0-quantity").fill("2")
    await page.get_by_role("button", name=me.t("create"), exact=True).click()
    await expect(page).to_have_url(re.compile(r"/quotes/[0-9a-f-]{36}$"))
    made = (
        await seller.client.get(
            page.url.replace(stack.url("gateway"), "").replace("/quotes/", "/api/quotes/")
        )
    ).json()
    assert made["customer_id"] == cid

    # Nothing matches: said so, and the choice is left as it was.
    await page.goto(f"{stack.url('gateway')}/quotes/new")
    await page.locator("#customer_id-search").fill(f"không có {uuid.uuid4().hex}")
    await expect(page.locator("#customer_id-search-status")).to_have_text(me.t("picker.none"))
    await expect(select).to_have_value("")


async def sold_product(manager: Api, name: str, price: int) -> str:
    code = f"VB-{uuid.uuid4().hex[:6].upper()}"
    await catalogue.product_group(manager.client, "van công nghiệp", name="Van công nghiệp")
    made = await manager.client.post(
        "/api/products",
        json={
            "code": code,
            "name": name,
            "product_group": "van công nghiệp",
            "unit_price": price,
            "vat_rate_pct": 8,
        },
    )
    assert made.status_code == 201, made.text
    return code


@pytest.mark.parametrize("lang", ["vi", "en"])
async def test_each_quote_line_finds_its_product_by_typing_without_diacritics(
    lang: str, stack: Stack, new_user, contexts, screenshots: Path
) -> None:
    """The line's select holds the first page of the price list; a product beyond it is
    found by the search box under it, on the first line and on one added later, and the
    live total takes the found product's price and VAT rate."""
    seller: Api = await new_user(Role.SALESPERSON)
    manager: Api = await new_user(Role.SALES_MANAGER)
    mark = uuid.uuid4().hex[:6]
    butterfly = await sold_product(manager, f"Van bướm {mark}", 2_000_000)
    gate = await sold_product(manager, f"Van cổng {mark}", 3_000_000)
    cid = await prospect_known_to_sales(seller, f"Nhà máy nước Thủ Đức {mark}")

    me = await logged_in(contexts, stack, seller, lang, screenshots)
    page = me.page
    await page.goto(f"{stack.url('gateway')}/quotes/new")
    await page.locator("#customer_id-search").fill(f"thu duc {mark}")
    await expect(page.locator("select#customer_id")).to_have_value(cid)

    first = page.locator("tr.line").nth(0)
    search = first.locator("input.picker-search")
    await expect(search).to_have_attribute("placeholder", me.t("picker.placeholder_product"))
    await search.fill(f"van buom {mark}")
    await expect(first.locator("select.product")).to_have_value(butterfly)
    await expect(first.locator(".picker-status")).to_have_text(me.t("picker.found").replace("{count}", "1"))
    await page.locator("#lines-0-quantity").fill("2")
    # 2 x 2,000,000 + 8% VAT, from the found product's own price and rate.
    await expect(page.get_by_test_id("live-total")).to_have_text(me.money(4_320_000))

    await page.get_by_role("button", name=me.t("quote.add_line")).click()
    second = page.locator("tr.line").nth(1)
    await second.locator("input.picker-search").fill(f"VAN CONG {mark}")
    await expect(second.locator("select.product")).to_have_value(gate)
    await expect(page.get_by_test_id("live-total")).to_have_text(me.money(4_320_000 + 3_240_000))
    await me.shot("picker-product-lines")

    await page.get_by_role("button", name=me.t("create"), exact=True).click()
    await expect(page).to_have_url(re.compile(r"/quotes/[0-9a-f-]{36}$"))
    made = (
        await seller.client.get(
            page.url.replace(stack.url("gateway"), "").replace("/quotes/", "/api/quotes/")
        )
    ).json()
    assert [(line["product_code"], line["quantity"]) for line in made["lines"]] == [(butterfly, 2), (gate, 1)]
