"""The back office in the browser: an accountant records a payment and issues a credit note
on an invoice's page and sees its balance go down; a salesperson cancels an order from its
page while accounting is down (the order not invoiced yet) and sees it cancelled, and a
manager's cancel that arrives after the invoice is refused with the rule, in the user's
language. Orders are placed through the API (the quote journey has
browser tests of its own); every step here is a click or a keystroke."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from crm_kit.auth import Role
from crm_testkit import catalogue
from crm_testkit.polling import eventually
from gateway.ui.i18n import money, translate

from ..harness import PASSWORD, Api, Stack
from .words import said

pytestmark = pytest.mark.e2e

OpenAs = Callable[[Api, str], Awaitable[Page]]


@pytest.fixture
async def open_as(browser: Browser, stack: Stack) -> AsyncIterator[OpenAs]:
    """A logged-in browser tab for a user, in Vietnamese or (switched) English."""
    contexts: list[BrowserContext] = []

    async def make(user: Api, lang: str = "vi") -> Page:
        context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
        context.set_default_timeout(20_000)
        contexts.append(context)
        page = await context.new_page()
        await page.goto(f"{stack.url('gateway')}/login")
        await page.get_by_label(translate("vi", "login.username")).fill(user.username)
        await page.get_by_label(translate("vi", "login.password")).fill(PASSWORD)
        await page.get_by_role("button", name=translate("vi", "login.submit")).click()
        await expect(page.locator("header.top")).to_be_visible()
        # A user's language is remembered: switch only when it is not the one wanted.
        shown = await page.locator("html").get_attribute("lang") or "vi"
        if shown != lang:
            await page.get_by_label(translate(shown, "language")).select_option(lang)
            await page.get_by_role("button", name=translate(shown, "switch")).click()
            await expect(page.locator("html")).to_have_attribute("lang", lang)
        return page

    yield make
    for context in contexts:
        await context.close()


async def product(manager: Api) -> str:
    code = f"BO-{uuid.uuid4().hex[:6].upper()}"
    group = await catalogue.product_group(manager.client, f"pumps-{code[3:].lower()}")
    made = await manager.client.post(
        "/api/products",
        json={
            "code": code,
            "name": "Máy bơm chìm",
            "product_group": group,
            "unit_price": 10_000_000,
            "vat_rate_pct": 10,
        },
    )
    assert made.status_code == 201, made.text
    return code


async def placed_order(
    seller: Api, manager: Api, code: str, before_accept: Callable[[], None] | None = None
) -> dict[str, Any]:
    """A new customer's quote accepted: its order (2 x 10,000,000 + 10% VAT = 22,000,000).
    `before_accept` runs once the quote is sent (to stop accounting, say)."""
    made = await seller.client.post(
        "/api/customers",
        json={"name": f"Công ty TNHH {uuid.uuid4().hex[:6]}", "region_code": "79", "confirm_duplicate": True},
    )
    assert made.status_code == 201, made.text
    cid = made.json()["id"]
    await eventually(
        lambda: seller.client.get("/api/sales/customers", params={"stage": "prospect", "limit": 200}),
        until=lambda r: cid in [c["id"] for c in r.json()["items"]],
        what="the customer known to sales",
    )
    quote = await seller.client.post(
        "/api/quotes", json={"customer_id": cid, "lines": [{"product_code": code, "quantity": 2}]}
    )
    assert quote.status_code == 201, quote.text
    qid = quote.json()["id"]
    assert (await seller.client.post(f"/api/quotes/{qid}/submit")).status_code == 200
    await eventually(
        lambda: seller.client.get(f"/api/quotes/{qid}"),
        until=lambda r: (r.json().get("credit_check") or {}).get("status") == "passed",
        what="the credit check",
    )
    assert (await manager.client.post(f"/api/quotes/{qid}/approve", json={})).status_code == 200
    assert (await seller.client.post(f"/api/quotes/{qid}/send")).status_code == 200
    if before_accept is not None:
        before_accept()
    assert (await seller.client.post(f"/api/quotes/{qid}/accept")).status_code == 200
    orders = await eventually(
        lambda: seller.client.get("/api/orders", params={"customer_id": cid}),
        until=lambda r: r.json()["total"] == 1,
        what="the order placed",
    )
    order: dict[str, Any] = orders.json()["items"][0]
    return order


async def invoiced(seller: Api, order: dict[str, Any]) -> dict[str, Any]:
    """The order once sales has heard of its invoice."""
    answer = await eventually(
        lambda: seller.client.get(f"/api/orders/{order['id']}"),
        until=lambda r: r.json()["invoice_number"] is not None,
        what="the invoice announced to sales",
    )
    body: dict[str, Any] = answer.json()
    return body


async def test_an_accountant_records_a_payment_and_a_credit_note_and_sees_the_balance_go_down(
    stack: Stack, new_user, open_as: OpenAs
) -> None:
    seller, manager, accountant = (
        await new_user(Role.SALESPERSON),
        await new_user(Role.SALES_MANAGER),
        await new_user(Role.ACCOUNTANT),
    )
    order = await invoiced(seller, await placed_order(seller, manager, await product(manager)))
    lang = "vi"

    def t(key: str, **params: object) -> str:
        return translate(lang, key, **params)

    page = await open_as(accountant, lang)
    await page.get_by_role("link", name=t("nav.invoices"), exact=True).click()
    await page.get_by_label(t("invoice.number")).fill(order["invoice_number"])
    await page.get_by_role("button", name=t("filter")).click()
    await page.get_by_role("link", name=order["invoice_number"]).click()
    balance = page.get_by_test_id("invoice-balance")
    await expect(balance).to_have_text(money(lang, 22_000_000))

    payment = page.locator("#payment")
    await payment.get_by_label(re.compile(f"^{re.escape(t('payment.amount'))}")).fill("5.000.000")
    await payment.get_by_label(re.compile(f"^{re.escape(t('payment.method'))}")).select_option(
        "bank_transfer"
    )
    await payment.get_by_label(re.compile(f"^{re.escape(t('payment.reference'))}")).fill("UNC 0099")
    await payment.get_by_role("button", name=t("payment.record")).click()
    await expect(page.get_by_role("status")).to_have_text(t("flash.payment_recorded"))
    await expect(balance).to_have_text(money(lang, 17_000_000))
    await expect(page.get_by_test_id("invoice-status")).to_have_text(t("istatus.partially_paid"))
    await expect(page.get_by_test_id("invoice-payments")).to_contain_text("UNC 0099")

    # More than it owes is refused at its field, and nothing changes.
    credit = page.locator("#credit-note")
    await credit.get_by_label(re.compile(f"^{re.escape(t('payment.amount'))}")).fill("99.000.000")
    await credit.get_by_label(re.compile(f"^{re.escape(t('reason'))}")).fill("Trả lại hàng")
    await credit.get_by_role("button", name=t("credit_note.issue")).click()
    await expect(page.get_by_role("alert")).to_contain_text(said(lang, "invoice.exceeds_balance"))
    await expect(balance).to_have_text(money(lang, 17_000_000))

    credit = page.locator("#credit-note")
    await credit.get_by_label(re.compile(f"^{re.escape(t('payment.amount'))}")).fill("2.200.000")
    await credit.get_by_label(re.compile(f"^{re.escape(t('reason'))}")).fill("Trả lại 1 phần")
    await credit.get_by_role("button", name=t("credit_note.issue")).click()
    await expect(page.get_by_role("status")).to_have_text(t("flash.credit_note_issued"))
    await expect(balance).to_have_text(money(lang, 14_800_000))
    await expect(page.get_by_test_id("invoice-credit-notes")).to_contain_text("Trả lại 1 phần")

    # The lists show them too.
    await page.get_by_role("link", name=t("bo.credit_notes"), exact=True).click()
    await expect(page.get_by_test_id("credit-notes")).to_contain_text("Trả lại 1 phần")
    await page.get_by_role("link", name=t("bo.payments"), exact=True).click()
    await expect(page.get_by_test_id("payments")).to_contain_text("UNC 0099")


@asynccontextmanager
async def accounting_down(stack: Stack) -> AsyncIterator[Callable[[], None]]:
    """Accounting stopped (a deploy, an outage, a long queue): orders placed meanwhile
    wait in its queue uninvoiced, the window in which a person may still cancel one.
    Yields what stops it; started again, and ready, on the way out."""
    stopped = False

    def stop() -> None:
        nonlocal stopped
        stack.stop("accounting")
        stopped = True

    try:
        yield stop
    finally:
        if stopped:
            stack.start("accounting")
            stack.wait_ready(("accounting",))


async def test_a_salesperson_cancels_an_order_and_an_invoiced_one_is_refused_with_the_rule(
    stack: Stack, new_user, open_as: OpenAs
) -> None:
    seller, manager, accountant = (
        await new_user(Role.SALESPERSON),
        await new_user(Role.SALES_MANAGER),
        await new_user(Role.ACCOUNTANT),
    )
    code = await product(manager)
    base = stack.url("gateway")

    # An invoiced order offers no cancel. A form drawn while accounting was down, sent once
    # the invoice has reached sales, shows the rule, in English, naming the invoice.
    order = await invoiced(seller, await placed_order(seller, manager, code))
    lang = "en"
    page = await open_as(manager, lang)
    await page.goto(f"{base}/orders/{order['id']}")
    await expect(page.get_by_test_id("order-invoice")).to_have_text(order["invoice_number"])
    await expect(page.locator("#cancel")).to_have_count(0)
    async with accounting_down(stack) as stop:
        late = await placed_order(seller, manager, code, before_accept=stop)
        await page.goto(f"{base}/orders/{late['id']}")
        form = page.locator("#cancel")
        await expect(form).to_have_count(1)
    late = await invoiced(seller, late)
    await form.get_by_label(re.compile(f"^{re.escape(translate(lang, 'reason'))}")).fill(
        "Customer changed mind"
    )
    await form.get_by_role("button", name=translate(lang, "order.cancel")).click()
    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text(translate(lang, "order.cancel_refused", detail=""))
    await expect(alert).to_contain_text(said(lang, "order.invoiced"))
    await expect(alert).to_contain_text(late["invoice_number"])
    await expect(page.get_by_test_id("order-status")).to_have_text(translate(lang, "orstatus.placed"))

    # While accounting is down the salesperson cancels an order from its page: it shows
    # cancelled, with its reason, in Vietnamese. Back up, accounting takes the order and
    # then its cancellation from its queue: the invoice it made is credited in full.
    lang = "vi"
    page = await open_as(seller, lang)
    async with accounting_down(stack) as stop:
        order = await placed_order(seller, manager, code, before_accept=stop)
        await page.get_by_role("link", name=translate(lang, "nav.orders"), exact=True).first.click()
        await page.get_by_role("link", name=order["number"]).click()
        form = page.locator("#cancel")
        await form.get_by_role("button", name=translate(lang, "order.cancel")).click()  # no reason yet
        await expect(page.locator("#cancel-reason-error")).to_be_visible()
        form = page.locator("#cancel")
        await form.get_by_label(re.compile(f"^{re.escape(translate(lang, 'reason'))}")).fill("Khách đổi ý")
        await form.get_by_role("button", name=translate(lang, "order.cancel")).click()
        await expect(page.get_by_role("status")).to_have_text(translate(lang, "flash.order_cancelled"))
        await expect(page.get_by_test_id("order-status")).to_have_text(translate(lang, "orstatus.cancelled"))
        await expect(page.get_by_test_id("order-cancel-reason")).to_have_text("Khách đổi ý")
        await expect(page.locator("#cancel")).to_have_count(0)
    invoices = await eventually(
        lambda: accountant.client.get("/api/invoices", params={"customer_id": order["customer_id"]}),
        until=lambda r: [(i["status"], i["balance"]) for i in r.json()["items"]] == [("credited", 0)],
        what="the order's invoice credited in full once accounting took the cancellation",
    )
    assert invoices.json()["total"] == 1
    await page.get_by_role("link", name=translate(lang, "nav.orders"), exact=True).first.click()
    await page.get_by_label(translate(lang, "status")).select_option("cancelled")
    await page.get_by_role("button", name=translate(lang, "filter")).click()
    await expect(page.get_by_test_id("orders")).to_contain_text(order["number"])
