"""The back office's pages as a browser gets them: orders (list with filters, a page with
*Cancel order* while cancellable, a refusal in the user's words), contracts, invoices (list
with filters, a page with *Record payment* and *Issue credit note* for the bookkeepers),
payments, credit notes, receivables aging and care overdue. The gateway on a real database,
the services played by a stand-in whose answers each test scripts."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from crm_kit.auth import Role
from gateway.ui import problems as said
from gateway.ui.i18n import translate

from .pages import Html, Pages, page

pytestmark = pytest.mark.integration

ORDER = str(uuid.uuid4())
INVOICE = str(uuid.uuid4())
CUSTOMER = str(uuid.uuid4())


@pytest.fixture
def stand_in(pages: Pages) -> Pages:
    pages.upstream.reset()
    return pages


def order(**overrides: Any) -> dict[str, Any]:
    return {
        "id": ORDER,
        "number": "SO-2027-000042",
        "quote_id": str(uuid.uuid4()),
        "customer_id": CUSTOMER,
        "customer_name": "Công ty TNHH Hòa Bình",
        "opportunity_id": None,
        "owner_id": str(uuid.uuid4()),
        "region_code": "01",
        "channel_id": None,
        "currency": "VND",
        "lines": [
            {
                "position": 1,
                "product_code": "PUMP-1",
                "product_name": "Máy bơm",
                "unit": "cái",
                "quantity": 2,
                "unit_price": 10_000_000,
                "discount_pct": "0.00",
                "vat_rate_pct": "10.00",
                "total": 22_000_000,
            }
        ],
        "net_total": 20_000_000,
        "vat_total": 2_000_000,
        "total": 22_000_000,
        "status": "placed",
        "needs_contract": False,
        "payment_terms_days": 30,
        "order_date": "2027-03-02",
        "placed_at": "2027-03-02T03:00:00Z",
        "invoice_id": None,
        "invoice_number": None,
        "cancelled_at": None,
        "cancelled_by": None,
        "cancel_reason": None,
        "cancellable": True,
        **overrides,
    }


def invoice(**overrides: Any) -> dict[str, Any]:
    return {
        "id": INVOICE,
        "number": "INV-2027-000007",
        "order_id": ORDER,
        "order_number": "SO-2027-000042",
        "quote_id": str(uuid.uuid4()),
        "customer_id": CUSTOMER,
        "customer_name": "Công ty TNHH Hòa Bình",
        "currency": "VND",
        "issue_date": "2027-03-02",
        "due_date": "2027-04-01",
        "payment_terms_days": 30,
        "net_total": 20_000_000,
        "vat_total": 2_000_000,
        "total": 22_000_000,
        "paid_total": 2_000_000,
        "credited_total": 0,
        "balance": 20_000_000,
        "status": "partially_paid",
        "attention": None,
        "created_at": "2027-03-02T03:00:00Z",
        "lines": [],
        "payments": [
            {
                "id": str(uuid.uuid4()),
                "invoice_id": INVOICE,
                "customer_id": CUSTOMER,
                "amount": 2_000_000,
                "paid_on": "2027-03-05",
                "method": "bank_transfer",
                "reference": "UNC 0001",
                "recorded_by": str(uuid.uuid4()),
                "recorded_at": "2027-03-05T03:00:00Z",
            }
        ],
        "credit_notes": [],
        **overrides,
    }


async def test_the_order_list_passes_its_filters_and_links_each_order(stand_in: Pages) -> None:
    manager = await stand_in.person(Role.SALES_MANAGER)
    stand_in.upstream.answer("GET", "/api/orders", page([order(status="cancelled", cancellable=False)]))
    stand_in.upstream.answer("GET", "/api/sales/customers", page([]))
    answer = await manager.get("/orders", status="cancelled", date_from="2027-03-01", date_to="2027-03-31")
    assert answer.status_code == 200, answer.text
    query = stand_in.upstream.last("GET", "/api/orders").query
    assert (query["status"], query["from"], query["to"]) == ("cancelled", "2027-03-01", "2027-03-31")
    html = Html(answer.text)
    [row] = html.all("tr", data_order="SO-2027-000042")
    assert translate("vi", "orstatus.cancelled") in row.text
    assert html.all("a", href=f"/orders/{ORDER}")
    assert html.all("a", href="/invoices")  # the back office's tabs, for a manager


async def test_an_order_is_cancelled_from_its_page_with_the_reason(stand_in: Pages) -> None:
    seller = await stand_in.person(Role.SALESPERSON)
    stand_in.upstream.answer("GET", f"/api/orders/{ORDER}", order())
    stand_in.upstream.answer("GET", "/api/contracts", page([]))
    html = Html((await seller.get(f"/orders/{ORDER}")).text)
    assert html.has_id("cancel") and html.has_id("cancel-reason")
    assert html.all(data_testid="document-links")
    assert not html.all("a", href="/invoices")  # a salesperson's tabs have no invoices

    stand_in.upstream.answer("POST", f"/api/orders/{ORDER}/cancel", order(status="cancelled"))
    answer = await seller.post(f"/orders/{ORDER}/cancel", {"cancel.reason": "Khách đổi ý"})
    assert answer.status_code == 303 and answer.headers["location"] == f"/orders/{ORDER}"
    assert stand_in.upstream.last("POST", f"/api/orders/{ORDER}/cancel").body == {"reason": "Khách đổi ý"}


async def test_a_refused_cancel_shows_the_rule_in_the_users_language(stand_in: Pages) -> None:
    manager = await stand_in.person(Role.SALES_MANAGER, lang="en")
    stand_in.upstream.answer("GET", f"/api/orders/{ORDER}", order())
    stand_in.upstream.answer("GET", "/api/contracts", page([]))
    rule = "order SO-2027-000042 is invoiced (number INV-2027-000007); credit the invoice instead"
    invoiced = {"order": "SO-2027-000042", "invoice_number": "INV-2027-000007"}
    refused = {"detail": rule, "code": "order.invoiced", "params": invoiced}
    stand_in.upstream.answer("POST", f"/api/orders/{ORDER}/cancel", refused, status=409)
    answer = await manager.post(f"/orders/{ORDER}/cancel", {"cancel.reason": "late"})
    assert answer.status_code == 409
    alert = Html(answer.text).by_id("problems").text
    why = said.say("en", "problem.order.invoiced", invoiced)
    assert translate("en", "order.cancel_refused", detail=why) in alert and "INV-2027-000007" in alert

    blank = {"detail": [{"loc": ["body", "reason"], "msg": "too short", "type": "string_too_short"}]}
    stand_in.upstream.answer("POST", f"/api/orders/{ORDER}/cancel", blank, status=422)
    answer = await manager.post(f"/orders/{ORDER}/cancel", {"cancel.reason": ""})
    assert answer.status_code == 422
    assert Html(answer.text).has_id("cancel-reason-error")


async def test_an_invoiced_order_offers_no_cancel_but_links_its_invoice(stand_in: Pages) -> None:
    seller = await stand_in.person(Role.SALESPERSON)
    invoiced = order(invoice_id=INVOICE, invoice_number="INV-2027-000007", cancellable=False)
    stand_in.upstream.answer("GET", f"/api/orders/{ORDER}", invoiced)
    stand_in.upstream.answer("GET", "/api/contracts", page([]))
    html = Html((await seller.get(f"/orders/{ORDER}")).text)
    assert not html.has_id("cancel")
    assert html.all(data_testid="order-invoice")[0].text == "INV-2027-000007"


async def test_an_accountant_records_a_payment_and_a_credit_note_from_the_invoice(stand_in: Pages) -> None:
    accountant = await stand_in.person(Role.ACCOUNTANT)
    stand_in.upstream.answer("GET", f"/api/invoices/{INVOICE}", invoice())
    html = Html((await accountant.get(f"/invoices/{INVOICE}")).text)
    assert (
        html.all(data_testid="invoice-balance")[0].text
        == Html(f"<p>{translate('vi', 'invoice.balance')}</p>").elements[0].text
        or "20.000.000" in html.all(data_testid="invoice-balance")[0].text
    )
    assert "20.000.000" in html.all(data_testid="invoice-balance")[0].text
    assert html.has_id("payment") and html.has_id("credit-note")
    assert html.all("a", href=f"/invoices/{INVOICE}/einvoice.xml")
    assert html.all("a", href=f"/orders/{ORDER}")

    stand_in.upstream.answer("POST", "/api/payments", {"id": str(uuid.uuid4())}, status=201)
    form = {"payment.amount": "5.000.000", "payment.paid_on": "2027-03-10", "payment.method": "cash"}
    answer = await accountant.post(f"/invoices/{INVOICE}/payments", form)
    assert answer.status_code == 303, answer.text
    assert stand_in.upstream.last("POST", "/api/payments").body == {
        "invoice_id": INVOICE,
        "amount": "5000000",
        "paid_on": "2027-03-10",
        "method": "cash",
    }

    over = {"amount": 30000000, "balance_amount": 20000000, "invoice_number": "INV-2027-000007"}
    too_much = {
        "detail": "amount 30000000 exceeds the open balance 20000000 of INV-2027-000007",
        "code": "invoice.exceeds_balance",
        "params": over,
    }
    stand_in.upstream.answer("POST", f"/api/invoices/{INVOICE}/credit-notes", too_much, status=422)
    refused = await accountant.post(
        f"/invoices/{INVOICE}/credit-notes", {"credit.amount": "30.000.000", "credit.reason": "trả hàng"}
    )
    assert refused.status_code == 422
    page_again = Html(refused.text)
    assert said.say("vi", "problem.invoice.exceeds_balance", over) in page_again.by_id("problems").text
    assert page_again.by_id("credit-amount")["value"] == "30.000.000"  # what was typed, kept
    assert stand_in.upstream.last("POST", f"/api/invoices/{INVOICE}/credit-notes").body == {
        "amount": "30000000",
        "reason": "trả hàng",
    }


async def test_a_manager_reads_an_invoice_without_the_bookkeepers_forms(stand_in: Pages) -> None:
    manager = await stand_in.person(Role.SALES_MANAGER)
    flagged = invoice(attention="order SO-2027-000042 was cancelled after 2000000 VND was paid")
    stand_in.upstream.answer("GET", f"/api/invoices/{INVOICE}", flagged)
    html = Html((await manager.get(f"/invoices/{INVOICE}")).text)
    assert not html.has_id("payment") and not html.has_id("credit-note")
    assert "cancelled after 2000000 VND" in html.all(data_testid="invoice-attention")[0].text


async def test_the_invoice_list_passes_its_filters(stand_in: Pages) -> None:
    accountant = await stand_in.person(Role.ACCOUNTANT, lang="en")
    stand_in.upstream.answer("GET", "/api/invoices", page([invoice(status="open")]))
    stand_in.upstream.answer("GET", "/api/accounts", page([]))
    answer = await accountant.get("/invoices", status="overdue", number="INV-2027", date_from="2027-01-01")
    assert answer.status_code == 200, answer.text
    query = stand_in.upstream.last("GET", "/api/invoices").query
    assert (query["status"], query["number"], query["from"]) == ("overdue", "INV-2027", "2027-01-01")
    html = Html(answer.text)
    [row] = html.all("tr", data_invoice="INV-2027-000007")
    assert "Công ty TNHH Hòa Bình" in row.text and translate("en", "istatus.open") in row.text
    assert translate("en", "istatus.overdue") in html.by_id("status").text


async def test_payments_credit_notes_and_aging_are_listed(stand_in: Pages) -> None:
    accountant = await stand_in.person(Role.ACCOUNTANT, lang="en")
    stand_in.upstream.answer("GET", "/api/payments", page(invoice()["payments"]))
    stand_in.upstream.answer("GET", "/api/credit-notes", page([]))
    buckets = {"current": 1_000, "days_1_30": 2_000, "days_31_60": 0, "days_61_90": 0, "over_90": 5_000}
    aging = {
        "as_of": "2027-04-10",
        "items": [
            {"customer_id": CUSTOMER, "customer_name": "Công ty TNHH Hòa Bình", "total": 8_000, **buckets}
        ],
        "total": 1,
        "totals": {**buckets, "total": 8_000},
    }
    stand_in.upstream.answer("GET", "/api/receivables/aging", aging)
    payments = Html((await accountant.get("/payments")).text)
    assert "UNC 0001" in payments.all(data_testid="payments")[0].text
    notes = Html((await accountant.get("/credit-notes")).text)
    assert translate("en", "nothing_yet") in notes.all(data_testid="credit-notes")[0].text
    report = Html((await accountant.get("/receivables", as_of="2027-04-10")).text)
    assert stand_in.upstream.last("GET", "/api/receivables/aging").query["as_of"] == "2027-04-10"
    totals = report.all(data_testid="aging-totals")[0].text
    assert "8,000" in totals and "5,000" in totals


@pytest.mark.parametrize("reader", [Role.SALES_MANAGER, Role.ACCOUNTANT])
async def test_care_overdue_names_the_customer_its_owner_and_the_days(stand_in: Pages, reader: Role) -> None:
    """An accountant, who may not list users, sees the owner's name too (issue 19, point 3:
    owners showed as "—" to accountants and marketing)."""
    manager = await stand_in.person(reader, lang="en")
    seller = await stand_in.person(Role.SALESPERSON)
    owner = seller.id
    stand_in.upstream.answer(
        "GET",
        "/api/customers/care-overdue",
        page(
            [
                {
                    "id": CUSTOMER,
                    "name": "Công ty TNHH Hòa Bình",
                    "owner_id": owner,
                    "last_contact_at": None,
                    "care_due_on": "2020-01-01",
                    "care_cadence_days": 30,
                }
            ]
        ),
    )
    html = Html((await manager.get("/care-overdue")).text)
    [table] = html.all(data_testid="care-overdue")
    assert "Công ty TNHH Hòa Bình" in table.text and seller.user["full_name"] in table.text
    assert translate("en", "care_overdue.every", days=30) in table.text
    assert int(html.all(data_testid="days-overdue")[0].text) > 365
    assert html.all("a", href=f"/customers/{CUSTOMER}")


async def test_the_nav_offers_orders_and_invoices_to_whom_may_use_them(stand_in: Pages) -> None:
    stand_in.upstream.answer("GET", "/api/orders", page([]))
    stand_in.upstream.answer("GET", "/api/sales/customers", page([]))
    for role, orders, invoices in (
        (Role.ACCOUNTANT, True, True),
        (Role.SALES_MANAGER, True, True),
        (Role.SALESPERSON, True, False),
        (Role.MARKETING, False, False),
    ):
        person = await stand_in.person(role)
        [nav] = Html((await person.get("/orders")).text).all("nav", aria_label=translate("vi", "nav.main"))
        words = translate("vi", "nav.orders"), translate("vi", "nav.invoices")
        assert tuple(word in nav.text for word in words) == (orders, invoices), role


async def test_the_approval_queue_shows_who_sells_and_each_lines_discount(stand_in: Pages) -> None:
    """Issue 19, point 7: the queue showed neither the salesperson nor the discounts."""
    manager = await stand_in.person(Role.SALES_MANAGER, lang="en")
    seller = await stand_in.person(Role.SALESPERSON)
    line = order()["lines"][0] | {"discount_pct": "40.00", "total": 13_200_000}
    stand_in.upstream.answer(
        "GET",
        "/api/quotes",
        page(
            [
                {
                    "id": str(uuid.uuid4()),
                    "number": "QT-2027-000007",
                    "customer_id": CUSTOMER,
                    "customer_name": "Công ty TNHH Hòa Bình",
                    "owner_id": seller.id,
                    "created_by": seller.id,
                    "total": 13_200_000,
                    "status": "pending_approval",
                    "lines": [line],
                    "credit_check": {"status": "failed", "exposure": 60_000_000, "credit_limit": 50_000_000},
                    "submitted_at": "2027-01-05T02:00:00Z",
                    "first_approved_by": None,
                }
            ]
        ),
    )
    html = Html((await manager.get("/approvals")).text)
    [item] = html.all(data_testid="queue-item")
    assert seller.user["full_name"] in html.all(data_testid="queue-seller")[0].text
    lines = html.all(data_testid="queue-lines")[0].text
    assert "PUMP-1" in lines and "40.0%" in lines
    assert translate("en", "quote.override_reason") in item.text
