"""Price levels in the browser: a sales manager makes a price list for dealers under
*Products & settings* (a wrong entry first, refused at its fields, and nothing made),
reprices it and reads its history; a salesperson adds a quote line without a price for
a dealer's customer, and the quote shows the dealer price and the list it came from.

The set-up other tests do through the API (a product, a dealer channel, a customer, the
price list of the second test) goes through it here too; what is checked is what the
pages show, and the records as the API then has them."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from crm_kit.auth import Role
from crm_testkit import catalogue
from crm_testkit.polling import eventually
from gateway.ui.i18n import DEFAULT_ZONE, money, translate

from ..harness import PASSWORD, Api, Stack

pytestmark = pytest.mark.e2e

LANG = "vi"
LIST_PRICE = 12_000_000
DEALER_PRICE = 10_500_000
#: The business's day, as the pages and the API count days.
TODAY = datetime.now(DEFAULT_ZONE).date()

OpenAs = Callable[[Api], Awaitable[Page]]


def t(key: str, **params: object) -> str:
    return translate(LANG, key, **params)


def exactly(key: str) -> re.Pattern[str]:
    """A field's label exactly, whether or not it is marked required (`Tên *`)."""
    return re.compile(rf"^{re.escape(t(key))}( \*)?$")


def tag() -> str:
    return uuid.uuid4().hex[:6]


@pytest.fixture
async def open_as(browser: Browser, stack: Stack) -> AsyncIterator[OpenAs]:
    """A logged-in browser tab for a user, in Vietnamese."""
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


async def product(manager: Api) -> str:
    code = f"MB-{tag().upper()}"
    await catalogue.product_group(manager.client, "máy bơm", name="Máy bơm")
    made = await manager.client.post(
        "/api/products",
        json={
            "code": code,
            "name": "Máy bơm ly tâm",
            "product_group": "máy bơm",
            "unit_price": LIST_PRICE,
            "vat_rate_pct": 10,
        },
    )
    assert made.status_code == 201, made.text
    return code


async def fill_the_new_list(page: Page, name: str, code: str, *, grade: str) -> None:
    """The new list's form: a name, for dealers (and `grade`, if any), from 1 January, one product."""
    await page.get_by_label(exactly("name")).fill(name)
    await page.get_by_label(t("pl.channel_kind")).select_option(label=t("ckind.dealer"))
    await page.get_by_label(t("pl.grade")).select_option(grade)
    await page.get_by_label(exactly("pl.valid_from")).fill(TODAY.replace(month=1, day=1).isoformat())
    await page.get_by_label(t("pl.item_product", n=1), exact=True).select_option(code)
    await page.get_by_label(t("pl.item_price", n=1), exact=True).fill(f"{DEALER_PRICE:,}".replace(",", "."))
    await page.get_by_role("button", name=t("create"), exact=True).click()


async def test_a_manager_makes_a_dealer_price_list_a_refused_entry_first(
    new_user, open_as: OpenAs, screenshots: Path
) -> None:
    manager: Api = await new_user(Role.SALES_MANAGER)
    code = await product(manager)
    name = f"Giá đại lý {tag()}"
    page = await open_as(manager)
    await (
        page.get_by_role("navigation", name=t("nav.main")).get_by_role("link", name=t("nav.settings")).click()
    )
    await page.get_by_role("link", name=t("settings.price_lists")).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(t("settings.price_lists"))
    await page.get_by_role("link", name=t("pl.new")).click()

    # For dealers and for grade A at once: a list is for one or the other.
    await fill_the_new_list(page, name, code, grade="A")
    kind = page.get_by_label(t("pl.channel_kind"))
    await expect(kind).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#channel_kind-error")).to_have_text(t("pl.err.scope"))
    await expect(page.locator("#grade-error")).to_have_text(t("pl.err.scope"))
    await expect(page.get_by_label(t("pl.item_price", n=1), exact=True)).to_have_value("10.500.000")
    await page.screenshot(path=str(screenshots / f"{LANG}-price-list-refused.png"), full_page=True)
    listed = await manager.client.get("/api/price-lists", params={"product_code": code})
    assert listed.json()["total"] == 0

    await page.get_by_label(t("pl.grade")).select_option("")
    await page.get_by_role("button", name=t("create"), exact=True).click()
    await expect(page.get_by_role("status")).to_have_text(t("flash.price_list_created"))
    await expect(page.get_by_test_id("price-list-name")).to_have_text(name)
    await expect(page.get_by_test_id("price-list-scope")).to_have_text(
        t("pl.for_kind", kind=t("ckind.dealer"))
    )
    await expect(page.get_by_test_id("price-list-state")).to_have_text(t("pl.state.current"))
    item = page.get_by_test_id("price-list-items").locator(f'tr[data-product-code="{code}"]')
    await expect(item).to_contain_text(money(LANG, DEALER_PRICE))
    await expect(item).to_contain_text(money(LANG, LIST_PRICE))
    [made] = (await manager.client.get("/api/price-lists", params={"product_code": code})).json()["items"]
    stored = (await manager.client.get(f"/api/price-lists/{made['id']}")).json()
    assert (stored["name"], stored["channel_kind"], stored["grade"]) == (name, "dealer", None)
    assert stored["items"] == [{"product_code": code, "unit_price": DEALER_PRICE}]

    # Repriced, the history says from what to what.
    await page.get_by_label(t("pl.price_of", product=code)).fill("10.000.000")
    await page.get_by_role("button", name=t("save"), exact=True).click()
    await expect(page.get_by_role("status")).to_have_text(t("flash.saved"))
    edited = page.get_by_test_id("price-list-history").locator("tr", has_text=t("pl.action.edited"))
    await expect(edited).to_contain_text(f"{money(LANG, DEALER_PRICE)} → {money(LANG, 10_000_000)}")
    await page.screenshot(path=str(screenshots / f"{LANG}-price-list.png"), full_page=True)


async def dealers_customer(planner: Api, manager: Api, seller: Api, code: str) -> tuple[str, str, str]:
    """A dealer channel, a price list for dealers and a customer of that channel, known to
    sales with its channel's kind; returns (customer id, customer name, price list id)."""
    dealer = await planner.client.post(
        "/api/channels", json={"name": f"Đại lý Đà Nẵng {tag()}", "kind": "dealer", "region_codes": ["48"]}
    )
    assert dealer.status_code == 201, dealer.text
    prices = await manager.client.post(
        "/api/price-lists",
        json={
            "name": f"Giá đại lý {tag()}",
            "channel_kind": "dealer",
            "valid_from": TODAY.replace(month=1, day=1).isoformat(),
            "items": [{"product_code": code, "unit_price": DEALER_PRICE}],
        },
    )
    assert prices.status_code == 201, prices.text
    name = f"Cửa hàng Thiết bị Sơn Trà {tag()}"
    made = await seller.client.post(
        "/api/customers",
        json={
            "confirm_duplicate": True,
            "name": name,
            "region_code": "48",
            "channel_id": dealer.json()["id"],
        },
    )
    assert made.status_code == 201, made.text
    customer_id = made.json()["id"]

    async def priced_by_the_list() -> bool:
        """Sales knows the customer and its channel's kind once a line without a price takes
        the dealer price (a throwaway quote through the API, as the end-to-end test asks)."""
        known = await seller.client.get("/api/sales/customers", params={"stage": "prospect", "limit": 200})
        if customer_id not in [c["id"] for c in known.json()["items"]]:
            return False
        quote = await seller.client.post(
            "/api/quotes",
            json={"customer_id": customer_id, "lines": [{"product_code": code, "quantity": 1}]},
        )
        return quote.status_code == 201 and quote.json()["lines"][0]["price_source"] == "price_list"

    await eventually(priced_by_the_list, what="the dealer price known to sales", timeout=20, every=0.25)
    return customer_id, name, prices.json()["id"]


async def test_a_line_without_a_price_for_a_dealers_customer_takes_the_dealer_price(
    new_user, open_as: OpenAs, stack: Stack, screenshots: Path
) -> None:
    planner, manager, seller = (
        await new_user(Role.MARKETING),
        await new_user(Role.SALES_MANAGER),
        await new_user(Role.SALESPERSON),
    )
    code = await product(manager)
    customer_id, customer_name, list_id = await dealers_customer(planner, manager, seller, code)
    list_name = (await manager.client.get(f"/api/price-lists/{list_id}")).json()["name"]

    page = await open_as(seller)
    await page.goto(f"{stack.url('gateway')}/quotes/new?customer_id={customer_id}")
    await expect(page.get_by_label(t("quote.customer"))).to_have_value(customer_id)
    await expect(page.locator("#price-blank-hint")).to_have_text(t("quote.price_blank_hint"))
    await page.locator("#lines-0-product_code").select_option(code)
    await page.locator("#lines-0-quantity").fill("2")
    await expect(page.locator("#lines-0-unit_price")).to_have_value("")
    await page.get_by_role("button", name=t("create"), exact=True).click()

    await expect(page.get_by_role("status")).to_have_text(t("flash.quote_created"))
    await expect(page.get_by_test_id("line-price")).to_have_text(money(LANG, DEALER_PRICE))
    await expect(page.get_by_test_id("line-source")).to_have_text(
        f"{t('quote.source.price_list')}: {list_name}"
    )
    await expect(page.get_by_test_id("line-level")).to_have_text(money(LANG, DEALER_PRICE))
    total = 2 * DEALER_PRICE * 110 // 100
    await expect(page.get_by_test_id("quote-total")).to_have_text(money(LANG, total))
    await page.screenshot(path=str(screenshots / f"{LANG}-quote-dealer-price.png"), full_page=True)

    # The source links to the list; the quote as the API has it says the same.
    await page.get_by_test_id("line-source").get_by_role("link", name=list_name).click()
    await expect(page.get_by_test_id("price-list-name")).to_have_text(list_name)
    quotes = await seller.client.get("/api/quotes", params={"limit": 200})
    mine = [q for q in quotes.json()["items"] if q["customer_id"] == customer_id and q["total"] == total]
    assert len(mine) == 1, [q["total"] for q in quotes.json()["items"] if q["customer_id"] == customer_id]
    [line] = (await seller.client.get(f"/api/quotes/{mine[0]['id']}")).json()["lines"]
    assert (line["unit_price"], line["price_source"], line["price_list_id"]) == (
        DEALER_PRICE,
        "price_list",
        list_id,
    )
    assert customer_name
