"""The documents a customer receives, through the gateway: a customer with a tax code
buys; its quote's and its invoice's PDF download with the tax code and the amount in
words in their text, the e-invoice XML validates against the repository's schema, and
the sent quote is on the customer's timeline with its document."""

from __future__ import annotations

import io
import uuid

import pypdf
import pytest

from accounting import einvoice
from crm_kit.auth import Role
from crm_kit.documents import amount_in_words
from crm_testkit.polling import eventually
from crm_testkit.values import tax_code

from .test_quotes import product, quote, submitted_and_checked

pytestmark = pytest.mark.e2e


def pdf_text(body: bytes) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in pypdf.PdfReader(io.BytesIO(body)).pages)


async def b2b_customer_known_to_sales(seller, mst: str, legal_name: str) -> str:
    made = await seller.client.post(
        "/api/customers",
        json={
            "confirm_duplicate": True,
            "name": legal_name.removeprefix("Công ty TNHH "),
            "tax_code": mst,
            "legal_name": legal_name,
            "billing_address": "45 Nguyễn Huệ, Phường Bến Nghé, TP Hồ Chí Minh",
            "region_code": "79",
        },
    )
    assert made.status_code == 201, made.text
    cid = made.json()["id"]
    await eventually(
        lambda: seller.client.get("/api/sales/customers", params={"stage": "prospect", "limit": 200}),
        until=lambda r: cid in [c["id"] for c in r.json()["items"]],
        what="the prospect known to sales",
    )
    return cid


async def pdf(api, path: str) -> str:
    answer = await api.client.get(path)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    return pdf_text(answer.content)


async def test_a_b2b_customers_quote_and_invoice_download_through_the_gateway(stack, admin, new_user):
    profile = {
        "name": "Công ty Cổ phần Thiết bị Đông Á",
        "address": "Số 5 Phố Huế, Hà Nội",
        "tax_code": "0100233488",
    }
    assert (await admin.client.put("/api/company-profile", json=profile)).status_code == 200
    seller, manager = await new_user(Role.SALESPERSON), await new_user(Role.SALES_MANAGER)
    code = await product(manager)
    mst, legal_name = tax_code(), f"Công ty TNHH Cơ điện Phương Nam {uuid.uuid4().hex[:6]}"
    cid = await b2b_customer_known_to_sales(seller, mst, legal_name)

    draft = await quote(seller, cid, code)
    await submitted_and_checked(seller, draft["id"])
    assert (await manager.client.post(f"/api/quotes/{draft['id']}/approve", json={})).status_code == 200
    assert (await seller.client.post(f"/api/quotes/{draft['id']}/send")).status_code == 200

    quote_text = await eventually(
        lambda: pdf(seller, f"/api/quotes/{draft['id']}/document.pdf"),
        until=lambda text: profile["name"] in text,
        what="the quote PDF with the seller sales copied",
    )
    assert f"Mã số thuế: {mst}" in quote_text and legal_name in quote_text
    assert amount_in_words(draft["total"]) in quote_text
    timeline = await eventually(
        lambda: seller.client.get(f"/api/customers/{cid}/timeline"),
        until=lambda r: any(e["kind"] == "quote_sent" for e in r.json()),
        what="the sent quote on the timeline",
    )
    [sent] = [e for e in timeline.json() if e["kind"] == "quote_sent"]
    assert sent["detail"]["document"] == f"/api/quotes/{draft['id']}/document.pdf"

    assert (await seller.client.post(f"/api/quotes/{draft['id']}/accept")).status_code == 200
    invoices = await eventually(
        lambda: seller.client.get("/api/invoices", params={"customer_id": cid}),
        until=lambda r: r.status_code == 200 and r.json()["total"] == 1,
        what="the invoice of the order",
    )
    [invoice] = invoices.json()["items"]
    invoice_text = await pdf(seller, f"/api/invoices/{invoice['id']}/document.pdf")
    assert f"Mã số thuế: {mst}" in invoice_text and profile["name"] in invoice_text
    assert amount_in_words(invoice["total"]) in invoice_text

    xml = await seller.client.get(f"/api/invoices/{invoice['id']}/einvoice.xml")
    assert xml.status_code == 200 and xml.headers["content-type"].startswith("application/xml")
    einvoice.schema().validate(xml.content.decode("utf-8"))
    assert f"<MST>{mst}</MST>" in xml.text and amount_in_words(invoice["total"]) in xml.text

    stranger = await new_user(Role.SALESPERSON)
    assert (await stranger.client.get(f"/api/quotes/{draft['id']}/document.pdf")).status_code == 404
