"""What managers configure, in the browser: a product and its price history, the quote
approval rules, a grading questionnaire built with the dynamic form; and a salesperson's
customer import (preview row by row, commit, the list of past imports). Each result is
read back through the API, as any other client would see it."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from crm_kit.auth import Role
from crm_testkit import catalogue
from gateway.ui.i18n import money, translate

from ..harness import PASSWORD, Api, Stack
from .words import said

pytestmark = pytest.mark.e2e

LANG = "vi"


def t(key: str, **params: object) -> str:
    return translate(LANG, key, **params)


def exactly(key: str) -> re.Pattern[str]:
    """A label's whole text (a required field's label ends with "*")."""
    return re.compile(rf"^{re.escape(t(key))}( \*)?$")


def phone() -> str:
    return f"09{uuid.uuid4().int % 10**8:08d}"


async def open_as(browser: Browser, stack: Stack, user: Api) -> Page:
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    context.set_default_timeout(20_000)
    page = await context.new_page()
    await page.goto(f"{stack.url('gateway')}/login")
    await page.get_by_label(t("login.username")).fill(user.username)
    await page.get_by_label(t("login.password")).fill(PASSWORD)
    await page.get_by_role("button", name=t("login.submit")).click()
    await expect(page.get_by_role("navigation", name=t("nav.main"))).to_be_visible()
    return page


@pytest.fixture
async def manager_page(browser: Browser, stack: Stack, new_user) -> AsyncIterator[tuple[Page, Api]]:
    manager: Api = await new_user(Role.SALES_MANAGER)
    page = await open_as(browser, stack, manager)
    yield page, manager
    await page.context.close()


@pytest.fixture
async def seller_page(browser: Browser, stack: Stack, new_user) -> AsyncIterator[tuple[Page, Api]]:
    seller: Api = await new_user(Role.SALESPERSON)
    page = await open_as(browser, stack, seller)
    yield page, seller
    await page.context.close()


async def test_a_manager_adds_a_product_and_a_new_price_joins_its_history(
    manager_page: tuple[Page, Api], screenshots: Path
) -> None:
    page, manager = manager_page
    code = f"BOM-{uuid.uuid4().hex[:6].upper()}"
    group = await catalogue.product_group(manager.client, f"bơm-{code[4:].lower()}")

    await (
        page.get_by_role("navigation", name=t("nav.main")).get_by_role("link", name=t("nav.settings")).click()
    )
    await expect(page.get_by_role("heading", level=1)).to_have_text(t("settings.products"))
    await page.get_by_role("link", name=t("product.new")).click()
    await page.get_by_label(t("product.code")).fill(code.lower())
    await page.get_by_label(exactly("name")).fill("Bơm ly tâm trục ngang")
    await page.get_by_label(t("product.group")).select_option(group)
    await page.get_by_label(t("product.unit_price")).fill("1.200.000")
    await page.get_by_label(t("product.vat_rate")).select_option("8")
    await page.get_by_role("button", name=t("create"), exact=True).click()

    await expect(page.get_by_role("status")).to_have_text(t("flash.product_created"))
    await expect(page.get_by_role("heading", level=1)).to_contain_text(code)  # codes are upper-case
    await expect(page.get_by_test_id("unit-price")).to_have_text(money(LANG, 1_200_000))

    # A new price: the form takes it with thousands separators; the history keeps both.
    await page.get_by_label(t("product.unit_price")).fill("1,350,000")
    await page.get_by_role("button", name=t("save"), exact=True).click()
    await expect(page.get_by_role("status")).to_have_text(t("flash.saved"))
    await expect(page.get_by_test_id("unit-price")).to_have_text(money(LANG, 1_350_000))
    history = page.get_by_test_id("price-history").locator("tbody tr")
    await expect(history).to_have_count(2)
    await expect(history.nth(0)).to_contain_text(money(LANG, 1_350_000))
    await expect(history.nth(1)).to_contain_text(money(LANG, 1_200_000))
    await page.screenshot(path=str(screenshots / f"{LANG}-settings-product.png"), full_page=True)

    prices = (await manager.client.get(f"/api/products/{code}/prices")).json()
    assert [p["unit_price"] for p in prices["items"]] == [1_350_000, 1_200_000]
    assert {p["vat_rate_pct"] for p in prices["items"]} == {8}

    # Deactivated, it is listed among the inactive products of its group.
    await page.get_by_role("button", name=t("product.deactivate")).click()
    await expect(page.get_by_test_id("product-status")).to_have_text(t("product.inactive"))
    assert (await manager.client.get(f"/api/products/{code}")).json()["active"] is False
    await page.get_by_role("link", name=t("settings.products")).click()
    await page.get_by_label(t("product.group")).select_option(group)
    await page.get_by_label(t("status"), exact=True).select_option("false")
    await page.get_by_role("button", name=t("filter")).click()
    rows = page.locator("main table tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows).to_contain_text(code)
    await expect(rows).to_contain_text(money(LANG, 1_350_000))
    await page.screenshot(path=str(screenshots / f"{LANG}-settings-products.png"), full_page=True)


async def test_a_negative_price_shows_the_apis_error_at_the_field_and_keeps_the_form(
    manager_page: tuple[Page, Api], stack: Stack, screenshots: Path
) -> None:
    page, manager = manager_page
    code = f"VAN-{uuid.uuid4().hex[:6].upper()}"
    await catalogue.product_group(manager.client, "van")
    await page.goto(f"{stack.url('gateway')}/settings/products/new")
    await page.get_by_label(t("product.code")).fill(code)
    await page.get_by_label(exactly("name")).fill("Van bi inox")
    await page.get_by_label(t("product.group")).select_option("van")
    price = page.get_by_label(t("product.unit_price"))
    await price.fill("-5.000")
    await page.get_by_role("button", name=t("create"), exact=True).click()

    await expect(price).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#unit_price-error")).to_have_text(t("err.greater_than_equal", limit=0))
    await expect(price).to_have_value("-5.000")
    await expect(page.get_by_label(t("product.code"))).to_have_value(code)
    await expect(page.get_by_label(exactly("name"))).to_have_value("Van bi inox")
    await page.screenshot(path=str(screenshots / f"{LANG}-settings-product-error.png"), full_page=True)
    assert (await manager.client.get(f"/api/products/{code}")).status_code == 404


async def test_a_manager_sets_which_quotes_need_approval(
    manager_page: tuple[Page, Api], screenshots: Path
) -> None:
    page, manager = manager_page
    before = (await manager.client.get("/api/approval-rules")).json()
    try:
        await (
            page.get_by_role("navigation", name=t("nav.main"))
            .get_by_role("link", name=t("nav.settings"))
            .click()
        )
        await page.get_by_role("link", name=t("settings.approval_rules")).click()
        await page.get_by_label(t("rules.mode_threshold")).check()
        await page.get_by_label(t("rules.min_total")).fill("50.000.000")
        await page.get_by_label(t("rules.max_discount_pct")).fill("7,5")
        await page.get_by_role("button", name=t("save"), exact=True).click()

        await expect(page.get_by_role("status")).to_have_text(t("flash.saved"))
        summary = page.get_by_test_id("rules-summary")
        await expect(summary).to_contain_text(money(LANG, 50_000_000))
        await expect(summary).to_contain_text("7,50%")
        await expect(page.get_by_label(t("rules.mode_threshold"))).to_be_checked()
        await page.screenshot(path=str(screenshots / f"{LANG}-settings-approval-rules.png"), full_page=True)
        stored = (await manager.client.get("/api/approval-rules")).json()
        assert stored["mode"] == "threshold"
        assert stored["min_total"] == 50_000_000
        assert Decimal(str(stored["max_discount_pct"])) == Decimal("7.5")

        # "Above a threshold" with no threshold: the API's refusal, and nothing changes.
        await page.get_by_label(t("rules.min_total")).fill("")
        await page.get_by_label(t("rules.max_discount_pct")).fill("")
        await page.get_by_role("button", name=t("save"), exact=True).click()
        await expect(page.get_by_role("alert")).to_contain_text(
            said(LANG, "approval_rules.threshold_needs_one")
        )
        assert (await manager.client.get("/api/approval-rules")).json()["min_total"] == 50_000_000
    finally:
        # The rules are the whole system's: leave them as the other tests expect.
        restored = {k: before[k] for k in ("mode", "min_total", "max_discount_pct")}
        answer = await manager.client.put("/api/approval-rules", json=restored)
        assert answer.status_code == 200, answer.text


async def test_a_manager_defines_a_questionnaire_with_the_dynamic_form(
    manager_page: tuple[Page, Api], stack: Stack, screenshots: Path
) -> None:
    page, manager = manager_page
    name = f"Xếp hạng đại lý {uuid.uuid4().hex[:6]}"
    await page.goto(f"{stack.url('gateway')}/settings/questionnaires")
    await page.get_by_role("link", name=t("questionnaire.new")).click()
    await page.get_by_label(exactly("name")).fill(name)

    await page.locator("#criteria-0-key").fill("Quy mô")  # not a key: the API says so
    await page.locator("#criteria-0-question").fill("Quy mô đội xe")
    await page.locator("#criteria-0-weight").fill("2")
    for j, (label, value, points) in enumerate((("Lớn", "lon", "100"), ("Nhỏ", "nho", "30"))):
        await page.locator(f"#criteria-0-options-{j}-label").fill(label)
        await page.locator(f"#criteria-0-options-{j}-value").fill(value)
        await page.locator(f"#criteria-0-options-{j}-points").fill(points)

    # Another option row: the form comes back with it, ready to type in, and keeps the rest.
    await page.get_by_role("button", name=t("questionnaire.add_option")).click()
    await expect(page.locator("#criteria-0-options-2-value")).to_be_focused()
    await expect(page.locator("#criteria-0-options-0-label")).to_have_value("Lớn")
    await page.locator("#criteria-0-options-2-label").fill("Vừa")
    await page.locator("#criteria-0-options-2-value").fill("vua")
    await page.locator("#criteria-0-options-2-points").fill("60,5")

    await page.get_by_role("button", name=t("questionnaire.add_criterion")).click()
    await page.locator("#criteria-1-key").fill("doanh_thu")
    await page.locator("#criteria-1-question").fill("Doanh thu năm (tỷ đồng)")
    await page.locator("#criteria-1-weight").fill("3")
    await page.locator("#criteria-1-type-range").check()
    await page.locator("#criteria-1-range-min").fill("0")
    await page.locator("#criteria-1-range-max").fill("200")

    # A criterion added by mistake, then removed.
    await page.get_by_role("button", name=t("questionnaire.add_criterion")).click()
    await expect(page.locator("#criteria-2-key")).to_be_visible()
    await page.get_by_role("button", name=t("questionnaire.remove_criterion", n=3)).click()
    await expect(page.locator("#criteria-2-key")).to_have_count(0)
    await expect(page.locator("#criteria-1-range-max")).to_have_value("200")

    await page.get_by_role("button", name=t("questionnaire.save"), exact=True).click()
    key = page.locator("#criteria-0-key")
    await expect(key).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#criteria-0-key-error")).to_be_visible()
    await expect(page.locator("#criteria-0-options-2-points")).to_have_value("60,5")
    await expect(page.locator("#criteria-1-type-range")).to_be_checked()
    await key.fill("quy_mo")
    await page.screenshot(path=str(screenshots / f"{LANG}-settings-questionnaire-form.png"), full_page=True)
    await page.get_by_role("button", name=t("questionnaire.save"), exact=True).click()

    await expect(page.get_by_role("status")).to_have_text(t("flash.questionnaire_saved"))
    await expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    await expect(page.get_by_role("heading", level=3, name=re.compile("Quy mô đội xe"))).to_be_visible()
    await page.screenshot(path=str(screenshots / f"{LANG}-settings-questionnaire.png"), full_page=True)

    listed = [
        q for q in (await manager.client.get("/api/questionnaires")).json()["items"] if q["name"] == name
    ]
    assert len(listed) == 1
    made = listed[0]
    assert made["version"] == 1 and made["latest"] is True
    assert [c["key"] for c in made["criteria"]] == ["quy_mo", "doanh_thu"]
    assert [(o["value"], o["points"]) for o in made["criteria"][0]["options"]] == [
        ("lon", 100),
        ("nho", 30),
        ("vua", 60.5),
    ]
    assert made["criteria"][1]["range"] == {"min": 0, "max": 200, "descending": False}

    # The next version starts from this one; the list then shows it in use.
    await page.get_by_role("link", name=t("questionnaire.new_version")).click()
    await expect(page.locator("#criteria-0-key")).to_have_value("quy_mo")
    await page.locator("#criteria-0-weight").fill("4")
    await page.get_by_role("button", name=t("questionnaire.save_version")).click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("v2")
    await page.get_by_role("link", name=t("settings.questionnaires")).click()
    row = page.locator("main table tbody tr", has_text=name)
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("v2")
    await expect(row).to_contain_text(t("questionnaire.in_use"))
    await page.get_by_role("link", name=t("questionnaire.all_versions")).click()
    await expect(page.locator("main table tbody tr", has_text=name)).to_have_count(2)
    await expect(
        page.locator("main table tbody tr", has_text=name).filter(has_text=t("questionnaire.superseded"))
    ).to_contain_text("v1")
    await page.screenshot(path=str(screenshots / f"{LANG}-settings-questionnaires.png"), full_page=True)


async def test_a_salesperson_imports_customers_from_a_file(
    seller_page: tuple[Page, Api], tmp_path: Path, screenshots: Path
) -> None:
    page, seller = seller_page
    tag = uuid.uuid4().hex[:6]
    known = phone()
    existing = await seller.client.post(
        "/api/customers", json={"confirm_duplicate": True, "name": f"Xưởng cũ {tag}", "phone": known}
    )
    assert existing.status_code == 201, existing.text
    csv_file = tmp_path / f"khach-hang-{tag}.csv"
    csv_file.write_text(
        "name,phone,email,region_code,stage\n"
        f"Công ty Thép {tag},{phone()},thep-{tag}@example.vn,01,prospect\n"
        f"Cơ khí Hưng {tag},{phone()},,79,traditional\n"
        f"Sai số {tag},không-phải-số,,01,\n"
        f"Xưởng cũ (bản sao) {tag},{known},,,\n",
        encoding="utf-8",
    )

    await (
        page.get_by_role("navigation", name=t("nav.main"))
        .get_by_role("link", name=t("nav.customers"), exact=True)
        .click()
    )
    await page.get_by_role("link", name=t("cimport.title")).click()
    await page.get_by_label(t("cimport.file")).set_input_files(str(csv_file))
    await page.get_by_role("button", name=t("cimport.preview")).click()

    await expect(page.get_by_role("status")).to_have_text(t("flash.import_previewed"))
    await expect(page.get_by_test_id("total-rows")).to_have_text("4")
    await expect(page.get_by_test_id("to-import")).to_have_text("2")
    report = page.locator("#report table")
    await expect(report.locator('tr[data-outcome="to_import"]')).to_have_count(2)
    rejected = report.locator('tr[data-outcome="rejected"]')
    await expect(rejected).to_have_count(1)
    await expect(rejected).to_contain_text("4")  # the spreadsheet's own row number
    await expect(rejected).to_contain_text("phone")
    duplicate = report.locator('tr[data-outcome="duplicate"]')
    await expect(duplicate).to_have_count(1)
    await expect(duplicate).to_contain_text(t("lead.matched_on", what=t("match.phone")))
    await expect(duplicate.get_by_role("link")).to_have_attribute(
        "href", f"/customers/{existing.json()['id']}"
    )
    await page.screenshot(path=str(screenshots / f"{LANG}-customer-import-preview.png"), full_page=True)
    import_url = page.url
    assert (await seller.client.get("/api/customers", params={"q": f"Công ty Thép {tag}"})).json()[
        "total"
    ] == 0

    await page.get_by_role("button", name=t("cimport.commit", n=2)).click()
    await expect(page.get_by_role("status")).to_have_text(t("flash.import_committed"))
    await expect(page.get_by_test_id("imported")).to_have_text("2")
    await expect(report.locator('tr[data-outcome="imported"]')).to_have_count(2)
    await expect(page.get_by_role("button", name=t("cimport.commit", n=2))).to_have_count(0)
    await page.screenshot(path=str(screenshots / f"{LANG}-customer-import-done.png"), full_page=True)

    mine = (await seller.client.get("/api/customers", params={"q": tag, "limit": 50})).json()["items"]
    stages = {c["name"]: c["lifecycle_stage"] for c in mine}
    assert stages == {
        f"Xưởng cũ {tag}": "prospect",
        f"Công ty Thép {tag}": "prospect",
        f"Cơ khí Hưng {tag}": "traditional",
    }

    # Listed among past imports, and opened again from there.
    await page.get_by_role("link", name=t("cimport.another")).click()
    past = page.locator("main section", has=page.get_by_role("heading", name=t("cimport.past")))
    listed = past.locator("tbody tr", has_text=csv_file.name)
    await expect(listed).to_have_count(1)
    await expect(listed).to_contain_text(t("cimport.status.committed"))
    await page.screenshot(path=str(screenshots / f"{LANG}-customer-imports.png"), full_page=True)
    await listed.get_by_role("link", name=csv_file.name).click()
    await expect(page).to_have_url(import_url)
    await expect(page.get_by_test_id("imported")).to_have_text("2")


async def test_a_salesperson_reads_the_price_list_but_may_not_change_it(
    seller_page: tuple[Page, Api], stack: Stack, new_user
) -> None:
    page, seller = seller_page
    manager: Api = await new_user(Role.SALES_MANAGER)
    await catalogue.product_group(manager.client, "cảm biến")
    await (
        page.get_by_role("navigation", name=t("nav.main")).get_by_role("link", name=t("nav.settings")).click()
    )
    await expect(page.get_by_role("heading", level=1)).to_have_text(t("settings.products"))
    await expect(page.get_by_role("link", name=t("product.new"))).to_have_count(0)

    # The form reached by its address anyway: the API's refusal, and no product.
    code = f"CAM-{uuid.uuid4().hex[:6].upper()}"
    await page.goto(f"{stack.url('gateway')}/settings/products/new")
    await page.get_by_label(t("product.code")).fill(code)
    await page.get_by_label(exactly("name")).fill("Cảm biến áp suất")
    await page.get_by_label(t("product.group")).select_option("cảm biến")
    await page.get_by_label(t("product.unit_price")).fill("850.000")
    await page.get_by_role("button", name=t("create"), exact=True).click()
    # The kit's 403 for a role, said with the roles it needs.
    await expect(page.get_by_role("alert")).to_contain_text(t("problem.role_needed", roles="").rstrip(". "))
    await expect(page.get_by_label(t("product.code"))).to_have_value(code)
    assert (await seller.client.get(f"/api/products/{code}")).status_code == 404
