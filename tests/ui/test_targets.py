"""Sales targets in the browser, in Vietnamese and in English: a marketing user sets a
target for Hà Nội and a dealer channel (a wrong entry first, refused at its fields),
finds it in the list, revises it and reads its history; plan against actual shows it;
the map of the 34 provinces colours Hà Nội by its attainment, which moves once a
salesperson sells through the quote flow; a salesperson reads their own targets only.

The set-up a planner does once (a channel, a product group on sales' list and known to
marketing, a product, a market estimate) and the sale itself go through the API, as in
the other UI tests; what is checked is what the pages show, and the target as the API
then has it."""

from __future__ import annotations

import re
import uuid
from datetime import date
from pathlib import Path

import pytest
from playwright.async_api import Locator, Page, expect

from crm_kit.auth import Role
from crm_testkit import catalogue
from crm_testkit.polling import eventually
from gateway.ui.i18n import money, percent, translate
from gateway.ui.province_map import TILES

from ..harness import PASSWORD, SETTLE_MS, Api, Stack

pytestmark = pytest.mark.e2e

PRICE = 10_000_000
QUANTITY = 3


class Screen:
    """One person's tab, with the page's words in their language."""

    def __init__(self, page: Page, lang: str, shots: Path) -> None:
        self.page = page
        self.lang = lang
        self.shots = shots

    def t(self, key: str, **params: object) -> str:
        return translate(self.lang, key, **params)

    def money(self, amount: int) -> str:
        return money(self.lang, amount)

    def typed(self, amount: int) -> str:
        """An amount as a person types it here: with the language's thousands separator."""
        return f"{amount:,}".replace(",", "." if self.lang == "vi" else ",")

    def hanoi(self) -> str:
        return "Hà Nội" if self.lang == "vi" else "Ha Noi"

    async def shot(self, name: str) -> None:
        await self.page.screenshot(path=str(self.shots / f"{self.lang}-{name}.png"), full_page=True)

    async def nav(self, key: str) -> None:
        await (
            self.page.get_by_role("navigation", name=self.t("nav.main"))
            .get_by_role("link", name=self.t(key), exact=True)
            .click()
        )

    async def tab(self, key: str) -> None:
        await (
            self.page.get_by_role("navigation", name=self.t("targets.sections"))
            .get_by_role("link", name=self.t(key), exact=True)
            .click()
        )

    def province(self, code: str):
        return self.page.locator(f'svg.province-map [data-region-code="{code}"]')

    async def reload_until_bucket(self, code: str, bucket: str) -> None:
        """Reload the map until the province has this colour."""
        await self.reload_until_attribute(self.province(code), "data-bucket", bucket)

    async def reload_until_attribute(self, element: Locator, name: str, value: str) -> None:
        """Reload until the one `element` has this attribute: a page shows what was true
        when it was drawn."""
        for _ in range(SETTLE_MS // 500):
            if await element.count() == 1 and await element.get_attribute(name) == value:
                return
            await self.page.wait_for_timeout(500)
            await self.page.reload()
        raise AssertionError(f"{element} never got {name}={value}")


async def logged_in(contexts, stack: Stack, user: Api, lang: str, shots: Path) -> Screen:
    page = await (await contexts(lang)).new_page()
    screen = Screen(page, lang, shots)
    await page.goto(f"{stack.url('gateway')}/login")
    await page.get_by_label(translate("vi", "login.username")).fill(user.username)
    await page.get_by_label(translate("vi", "login.password")).fill(PASSWORD)
    await page.get_by_role("button", name=translate("vi", "login.submit")).click()
    await expect(page.get_by_role("navigation", name=translate("vi", "nav.main"))).to_be_visible()
    if lang != "vi":
        await page.get_by_label(translate("vi", "language")).select_option(lang)
        await page.get_by_role("button", name=translate("vi", "switch")).click()
        await expect(page.locator("html")).to_have_attribute("lang", lang)
    return screen


async def dealer_channel(planner: Api) -> tuple[str, str]:
    name = f"Đại lý Hà Đông {uuid.uuid4().hex[:6]}"
    made = await planner.client.post(
        "/api/channels", json={"name": name, "kind": "dealer", "region_codes": ["01"]}
    )
    assert made.status_code == 201, made.text
    return made.json()["id"], name


def product_group() -> str:
    return f"máy nén {uuid.uuid4().hex[:6]}"


async def known_to_marketing(manager: Api, marketer: Api, group: str) -> str:
    """`group` on sales' list and in marketing's copy of it: a target or an estimate names
    only such a group, and the list reaches marketing with `ProductGroupChanged`. Waits on
    a proposal without `accept`, which writes nothing."""
    await catalogue.product_group(manager.client, group)
    probe = {"period": str(date.today().year), "share": 0.1, "product_group": group}
    known = await catalogue.once_known(lambda: marketer.client.post("/api/targets/proposals", json=probe))
    assert known.status_code == 200, known.text
    return group


async def sold_through_the_quote_flow(manager: Api, seller: Api, group: str, channel_id: str) -> int:
    """A customer in Hà Nội buying through the channel: product, quote, credit check,
    approval, acceptance, order. Returns the order's net revenue."""
    code = f"MN-{uuid.uuid4().hex[:6].upper()}"
    await catalogue.product_group(manager.client, group)
    made = await manager.client.post(
        "/api/products",
        json={
            "code": code,
            "name": "Máy nén khí",
            "product_group": group,
            "unit_price": PRICE,
            "vat_rate_pct": 10,
        },
    )
    assert made.status_code == 201, made.text
    customer = await seller.client.post(
        "/api/customers",
        json={
            "confirm_duplicate": True,
            "name": f"Công ty Thăng Long {uuid.uuid4().hex[:4]}",
            "region_code": "01",
            "channel_id": channel_id,
        },
    )
    assert customer.status_code == 201, customer.text
    cid = customer.json()["id"]
    await eventually(
        lambda: seller.client.get("/api/sales/customers", params={"stage": "prospect", "limit": 200}),
        until=lambda r: cid in [c["id"] for c in r.json()["items"]],
        what="the prospect known to sales",
    )
    quote = await seller.client.post(
        "/api/quotes",
        json={"customer_id": cid, "lines": [{"product_code": code, "quantity": QUANTITY, "discount_pct": 0}]},
    )
    assert quote.status_code == 201, quote.text
    qid = quote.json()["id"]
    assert (await seller.client.post(f"/api/quotes/{qid}/submit")).status_code == 200
    await eventually(
        lambda: seller.client.get(f"/api/quotes/{qid}"),
        until=lambda r: (r.json().get("credit_check") or {}).get("status") in ("passed", "failed"),
        what="accounting's credit check",
    )
    approved = await manager.client.post(f"/api/quotes/{qid}/approve", json={"override_reason": "khách quen"})
    assert approved.status_code == 200, approved.text
    assert (await seller.client.post(f"/api/quotes/{qid}/send")).status_code == 200
    assert (await seller.client.post(f"/api/quotes/{qid}/accept")).status_code == 200
    orders = await eventually(
        lambda: seller.client.get("/api/orders", params={"customer_id": cid}),
        until=lambda r: r.json()["total"] == 1,
        what="the order placed",
    )
    return int(orders.json()["items"][0]["net_total"])


def labelled(form: Locator, label: str) -> Locator:
    """A form's field by the start of its label (required and optional ones say so after)."""
    return form.get_by_label(re.compile(f"^{re.escape(label)}"))


async def set_in_the_form(me: Screen, marketer: Api, year: str, channel_name: str, group: str) -> str:
    """Hà Nội's target for the channel and group, typed in the form: a wrong period and a
    negative amount first, refused at their fields; then right. Returns its page's URL."""
    page = me.page
    await me.nav("nav.targets")
    await expect(page.get_by_role("heading", level=1)).to_have_text(me.t("targets.title"))
    form = page.locator("#new-target")
    await labelled(form, me.t("period")).fill(f"{year}-13")
    await labelled(form, me.t("region")).select_option(label=f"{me.hanoi()} (01)")
    await labelled(form, me.t("channel")).select_option(label=channel_name)
    await labelled(form, me.t("volume.product_group")).select_option(group)
    amount = labelled(form, me.t("target.amount"))
    await amount.fill(f"-{me.typed(5_000)}")
    await form.get_by_role("button", name=me.t("target.set")).click()

    # Refused at its fields, in the page's language, with what was typed kept.
    await expect(page.locator("#period-error")).to_have_text(me.t("target.err.period"))
    await expect(page.locator("#amount-error")).to_have_text(me.t("err.greater_than_equal", limit=0))
    await expect(amount).to_have_value(f"-{me.typed(5_000)}")
    await expect(amount).to_have_attribute("aria-invalid", "true")
    await me.shot("target-refused")
    assert (await marketer.client.get("/api/targets", params={"product_group": group})).json()["total"] == 0

    await labelled(form, me.t("period")).fill(year)
    await amount.fill(me.typed(60_000_000))
    await form.get_by_role("button", name=me.t("target.set")).click()
    await expect(page.get_by_role("status")).to_have_text(me.t("flash.target_set"))
    await expect(page.get_by_role("heading", level=1)).to_contain_text(me.hanoi())
    await expect(page.get_by_test_id("target-amount")).to_have_text(me.money(60_000_000))
    return page.url


@pytest.mark.parametrize("lang", ["vi", "en"])
async def test_a_marketer_sets_a_target_revises_it_and_sees_its_history_and_attainment(
    lang: str, stack: Stack, new_user, contexts, screenshots: Path
) -> None:
    marketer: Api = await new_user(Role.MARKETING)
    manager: Api = await new_user(Role.SALES_MANAGER)
    channel_id, channel_name = await dealer_channel(marketer)
    group = await known_to_marketing(manager, marketer, product_group())
    year = str(date.today().year)
    me = await logged_in(contexts, stack, marketer, lang, screenshots)
    page = me.page
    target_url = await set_in_the_form(me, marketer, year, channel_name, group)

    # In the list, filtered to its product group.
    await me.tab("targets.title")
    await page.locator("#f-product_group").select_option(group)
    await page.get_by_role("button", name=me.t("filter")).click()
    rows = page.get_by_test_id("targets").locator("tbody tr")
    await expect(rows).to_have_count(1)
    for text in (me.hanoi(), channel_name, group, me.money(60_000_000), year):
        await expect(rows).to_contain_text(text)
    await me.shot("targets-list")

    # Revised from its page: the history keeps who, when, before and after.
    await rows.get_by_role("link", name=me.hanoi()).click()
    await expect(page).to_have_url(target_url)
    await labelled(page.locator("#revise-target"), me.t("target.new_amount")).fill(me.typed(50_000_000))
    await page.locator("#revise-target").get_by_role("button", name=me.t("save")).click()
    await expect(page.get_by_role("status")).to_have_text(me.t("flash.target_revised"))
    await expect(page.get_by_test_id("target-amount")).to_have_text(me.money(50_000_000))
    history = page.get_by_test_id("target-history").locator("tbody tr")
    await expect(history).to_have_count(2)
    newest = history.nth(0).locator("td")
    await expect(newest.nth(1)).to_have_text(me.t("me"))
    await expect(newest.nth(2)).to_have_text(me.money(60_000_000))
    await expect(newest.nth(3)).to_have_text(me.money(50_000_000))
    await expect(history.nth(1).locator("td").nth(2)).to_have_text(me.t("target.first"))
    await me.shot("target-history")

    [stored] = (await marketer.client.get("/api/targets", params={"product_group": group})).json()["items"]
    assert (stored["period"], stored["region_code"], stored["channel_id"]) == (year, "01", channel_id)
    assert (stored["amount"], stored["revision"]) == (50_000_000, 2)

    # Plan against actual: the target, nothing sold yet.
    await page.get_by_role("link", name=me.t("target.see_attainment")).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(me.t("attainment.title"))
    row = page.get_by_test_id("attainment").locator('tbody tr[data-region-code="01"]')
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text(me.money(50_000_000))
    await expect(row).to_contain_text(percent(lang, 0.0))
    await expect(row).to_have_attribute("data-bucket", "0")
    await me.shot("attainment")


@pytest.mark.parametrize("lang", ["vi", "en"])
async def test_a_marketer_imports_market_volumes_from_a_file_and_reads_each_refusal(
    lang: str, stack: Stack, new_user, contexts, screenshots: Path, tmp_path: Path
) -> None:
    marketer: Api = await new_user(Role.MARKETING)
    manager: Api = await new_user(Role.SALES_MANAGER)
    group = await known_to_marketing(manager, marketer, product_group())
    year = str(date.today().year)
    csv_file = tmp_path / "quy-mo.csv"
    csv_file.write_text(
        "region_code,product_group,period,amount\n"
        f"{me_hanoi(lang)},{group},{year},1.500.000.000\n"
        f"Xứ Sở Thần Tiên,{group},{year},1000\n"
        f"01,máy không có {group},{year},1000\n",
        encoding="utf-8",
    )
    me = await logged_in(contexts, stack, marketer, lang, screenshots)
    page = me.page

    await me.nav("nav.marketing")
    await page.get_by_role("link", name=me.t("marketing.volumes"), exact=True).click()
    await page.get_by_role("link", name=me.t("vimport.link")).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(me.t("vimport.title"))
    await page.get_by_label(me.t("cimport.file")).set_input_files(str(csv_file))
    await page.get_by_role("button", name=me.t("import.submit")).click()

    await expect(page.get_by_test_id("imported")).to_have_text("1")
    await expect(page.get_by_test_id("rejected")).to_have_text("2")
    rejected = page.locator('#report tr[data-outcome="rejected"]')
    await expect(rejected).to_have_count(2)
    region = me.t("problem.region.no_match", region="Xứ Sở Thần Tiên")
    await expect(rejected.nth(0)).to_contain_text(f"region_code: {region}")
    unknown = me.t("problem.product_group.unknown", group=f"máy không có {group}")
    await expect(rejected.nth(1)).to_contain_text(f"product_group: {unknown}")
    await me.shot("volume-import")

    [stored] = (
        await marketer.client.get("/api/market-volumes", params={"product_group": group, "period": year})
    ).json()["items"]
    assert (stored["region_code"], stored["amount"]) == ("01", 1_500_000_000)
    await page.get_by_role("link", name=me.t("vimport.see_volumes")).click()
    await expect(page.locator("table tbody")).to_contain_text(me.money(1_500_000_000))


def me_hanoi(lang: str) -> str:
    """Hà Nội by name, as a planner's file spells it: with diacritics in Vietnamese, without in English."""
    return "Hà Nội" if lang == "vi" else "Ha Noi"


async def other_measures(me: Screen, stack: Stack, marketer: Api, group: str, year: str) -> None:
    """The same sale by share of a market estimate, by revenue, and by white space (a
    channel covers Hà Nội)."""
    page = me.page
    volume = await marketer.client.post(
        "/api/market-volumes",
        json={
            "region_code": "01",
            "product_group": group,
            "period": year,
            "amount": 100_000_000,
            "source": "estimate",
        },
    )
    assert volume.status_code == 201, volume.text
    await page.goto(f"{stack.url('gateway')}/targets/map?measure=share&period={year}&product_group={group}")
    await expect(me.province("01")).to_have_attribute("data-bucket", "3")  # 30%
    await expect(page.locator('.legend li[data-bucket="3"]')).to_contain_text(me.t("map.provinces.one", n=1))
    await me.shot("map-share")
    await page.get_by_label(me.t("map.measure")).select_option(label=me.t("map.measure.revenue"))
    await page.get_by_role("button", name=me.t("map.show")).click()
    await expect(me.province("01")).to_have_attribute("data-bucket", "4")  # the only province selling it
    await page.get_by_label(me.t("map.measure")).select_option(label=me.t("map.measure.white_space"))
    await page.get_by_role("button", name=me.t("map.show")).click()
    await expect(me.province("01")).to_have_attribute("data-bucket", "1")  # a channel covers it


@pytest.mark.parametrize("lang", ["vi", "en"])
async def test_the_map_colours_ha_noi_by_its_attainment_and_an_order_moves_it(
    lang: str, stack: Stack, new_user, contexts, screenshots: Path
) -> None:
    marketer: Api = await new_user(Role.MARKETING)
    manager: Api = await new_user(Role.SALES_MANAGER)
    seller: Api = await new_user(Role.SALESPERSON)
    channel_id, _ = await dealer_channel(marketer)
    group = await known_to_marketing(manager, marketer, product_group())
    year = str(date.today().year)
    me = await logged_in(contexts, stack, marketer, lang, screenshots)
    page = me.page

    await me.nav("nav.targets")
    await me.tab("map.title")
    await page.get_by_label(me.t("volume.product_group")).select_option(group)
    await page.get_by_role("button", name=me.t("map.show")).click()
    tiles = page.locator("svg.province-map [data-region-code]")
    await expect(tiles).to_have_count(34)
    codes = await tiles.evaluate_all("(els) => els.map((e) => e.dataset.regionCode)")
    assert sorted(codes) == sorted(t.code for t in TILES)
    await expect(me.province("01")).to_have_attribute("data-bucket", "none")
    await expect(me.province("01")).to_have_attribute("aria-label", re.compile(f"^{me.hanoi()}: "))

    target = await marketer.client.post(
        "/api/targets",
        json={
            "period": year,
            "region_code": "01",
            "channel_id": channel_id,
            "product_group": group,
            "amount": 50_000_000,
        },
    )
    assert target.status_code == 201, target.text
    await page.reload()
    await expect(me.province("01")).to_have_attribute("data-bucket", "0")
    await expect(page.locator('.legend li[data-bucket="0"]')).to_contain_text(me.t("map.provinces.one", n=1))
    await expect(page.locator('.legend li[data-bucket="none"]')).to_contain_text(me.t("map.provinces", n=33))

    net = await sold_through_the_quote_flow(manager, seller, group, channel_id)
    assert net == QUANTITY * PRICE  # 60% of the target: the third colour
    await me.reload_until_bucket("01", "2")
    await expect(me.province("01")).to_contain_text(percent(lang, 0.6, 0))
    await expect(me.province("01")).to_have_class(re.compile(r"\btone-2\b"))
    await me.shot("map-attainment")

    # A click goes to the province's plan against actual.
    await me.province("01").click()
    await expect(page).to_have_url(re.compile(r"/targets/attainment\?.*region_code=01"))
    row = page.get_by_test_id("attainment").locator('tbody tr[data-region-code="01"]')
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text(me.money(net))
    await expect(row).to_contain_text(percent(lang, 0.6))

    await other_measures(me, stack, marketer, group, year)


async def test_a_salesperson_reads_their_own_targets_and_may_not_set_any(
    stack: Stack, new_user, contexts, screenshots: Path
) -> None:
    marketer: Api = await new_user(Role.MARKETING)
    manager: Api = await new_user(Role.SALES_MANAGER)
    seller: Api = await new_user(Role.SALESPERSON)
    other: Api = await new_user(Role.SALESPERSON)
    group = await known_to_marketing(manager, marketer, product_group())
    year = str(date.today().year)

    async def set_for(person: Api, amount: int) -> str:
        body = {
            "period": year,
            "region_code": "79",
            "salesperson_id": str(person.user_id),
            "product_group": group,
        }
        made = await eventually(
            lambda: marketer.client.post("/api/targets", json={**body, "amount": amount}),
            until=lambda r: r.status_code == 201,  # once marketing knows the new salesperson
            what="a target for a new salesperson",
        )
        return str(made.json()["id"])

    mine = await set_for(seller, 20_000_000)
    theirs = await set_for(other, 30_000_000)
    me = await logged_in(contexts, stack, seller, "vi", screenshots)
    page = me.page

    await me.nav("nav.my_targets")
    await expect(page.get_by_role("heading", level=1)).to_have_text(me.t("targets.mine"))
    await expect(page.locator("#new-target")).to_have_count(0)
    await page.locator("#f-product_group").select_option(group)
    await page.get_by_role("button", name=me.t("filter")).click()
    rows = page.get_by_test_id("targets").locator("tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows).to_contain_text(me.money(20_000_000))
    await expect(rows).to_contain_text(me.t("me"))
    await me.shot("my-targets")

    await rows.get_by_role("link").click()
    await expect(page.get_by_test_id("target-amount")).to_have_text(me.money(20_000_000))
    await expect(page.locator("#revise-target")).to_have_count(0)
    assert page.url.endswith(f"/targets/{mine}")

    # Another's target is not there for them, and the map offers their attainment only.
    response = await page.goto(f"{stack.url('gateway')}/targets/{theirs}")
    assert response is not None and response.status == 404
    await page.goto(f"{stack.url('gateway')}/targets/map?measure=share&product_group={group}")
    await expect(page.get_by_label(me.t("map.measure")).locator("option")).to_have_count(1)
    await expect(me.province("79")).to_have_attribute("data-bucket", "0")
    assert (
        await seller.client.post("/api/targets", json={"period": year, "region_code": "79", "amount": 1})
    ).status_code == 403
