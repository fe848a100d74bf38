"""The company profile page and the document links, as a browser gets them: the gateway
on a real database, sales and accounting played by a stand-in whose answers each test
scripts. The proxy hands a PDF and an XML over as they are (bytes and content type)."""

from __future__ import annotations

import uuid
from html import unescape
from typing import Any

import pytest

from crm_kit.auth import Role
from gateway.ui.i18n import translate

from .pages import Html, Pages, Raw, page

pytestmark = pytest.mark.integration

QUOTE = str(uuid.uuid4())
INVOICE = str(uuid.uuid4())
PDF = b"%PDF-1.7\n\x00\xff\xfe binary \x80\x81 %%EOF"


@pytest.fixture
def stand_in(pages: Pages) -> Pages:
    pages.upstream.reset()
    return pages


def profile(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Công ty CP Thiết bị Đông Á",
        "address": "Số 5 Phố Huế, Hà Nội",
        "tax_code": "0100233488",
        "phone": None,
        "bank_account": "0071001234567 - Vietcombank",
        "has_logo": False,
        "updated_at": "2027-01-05T02:00:00Z",
        "updated_by": None,
        **overrides,
    }


async def test_an_admin_sees_and_saves_the_company_profile(stand_in: Pages) -> None:
    admin = await stand_in.person(Role.ADMIN)
    stand_in.upstream.answer("GET", "/api/company-profile", profile())
    html = Html((await admin.get("/settings/company")).text)
    assert html.all(data_testid="company-tax-code")[0].text == "0100233488"
    assert html.by_id("name")["value"] == "Công ty CP Thiết bị Đông Á"
    assert html.has_id("logo")  # the upload form, once a profile exists

    stand_in.upstream.answer("PUT", "/api/company-profile", profile())
    form = {
        "name": "Công ty CP Đông Á",
        "address": "Hà Nội",
        "tax_code": "0100233488",
        "phone": "",
        "bank_account": "",
    }
    answer = await admin.post("/settings/company", form)
    assert answer.status_code == 303
    assert stand_in.upstream.last("PUT", "/api/company-profile").body == {
        "name": "Công ty CP Đông Á",
        "address": "Hà Nội",
        "tax_code": "0100233488",
    }


async def test_a_refused_tax_code_is_shown_at_its_field(stand_in: Pages) -> None:
    admin = await stand_in.person(Role.ADMIN, lang="en")
    stand_in.upstream.answer("GET", "/api/company-profile", {"detail": "no company profile yet"}, status=404)
    refusal = {
        "detail": [
            {
                "loc": ["body", "tax_code"],
                "msg": "0100233489 has a wrong check digit",
                "type": "tax_code.invalid",
                "ctx": {"tax_code": "0100233489"},
            }
        ]
    }
    stand_in.upstream.answer("PUT", "/api/company-profile", refusal, status=422)
    answer = await admin.post("/settings/company", {"name": "X", "address": "Y", "tax_code": "0100233489"})
    assert answer.status_code == 422
    html = Html(answer.text)
    wrong = translate("en", "problem.tax_code.invalid", tax_code="0100233489")
    assert wrong in html.by_id("tax_code-error").text
    assert html.by_id("tax_code")["value"] == "0100233489"
    assert html.all(data_testid="company-none")[0].text == translate("en", "company.none")


async def test_others_read_the_profile_without_its_forms(stand_in: Pages) -> None:
    seller = await stand_in.person(Role.SALESPERSON)
    stand_in.upstream.answer("GET", "/api/company-profile", profile())
    html = Html((await seller.get("/settings/company")).text)
    assert html.all(data_testid="company-tax-code")[0].text == "0100233488"
    assert not html.has_id("name") and not html.has_id("logo")


async def test_the_logo_is_sent_as_the_png_it_is(stand_in: Pages) -> None:
    admin = await stand_in.person(Role.ADMIN)
    stand_in.upstream.answer("GET", "/api/company-profile", profile(has_logo=True))
    stand_in.upstream.answer("PUT", "/api/company-profile/logo", profile(has_logo=True))
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    answer = await admin.http.post(
        "/settings/company/logo",
        data={"csrf_token": "test-csrf-token"},
        files={"logo": ("logo.png", png, "image/png")},
    )
    assert answer.status_code == 303, answer.text
    assert stand_in.upstream.last("PUT", "/api/company-profile/logo").body == png


async def test_a_quote_pdf_comes_through_as_bytes_for_download_and_print(stand_in: Pages) -> None:
    seller = await stand_in.person(Role.SALESPERSON)
    path = f"/api/quotes/{QUOTE}/document.pdf"
    disposition = {"content-disposition": 'inline; filename="Q-2027-00001.pdf"'}
    stand_in.upstream.answer("GET", path, Raw(PDF, "application/pdf", disposition))

    shown = await seller.get(f"/quotes/{QUOTE}/document.pdf", lang="en")
    assert shown.status_code == 200 and shown.content == PDF
    assert shown.headers["content-type"] == "application/pdf"
    assert shown.headers["content-disposition"].startswith("inline")
    assert stand_in.upstream.last("GET", path).query == {"lang": "en"}
    saved = await seller.get(f"/quotes/{QUOTE}/document.pdf", download="1")
    assert saved.headers["content-disposition"] == 'attachment; filename="Q-2027-00001.pdf"'

    # The API through the proxy: the same bytes, type and file name.
    api = await stand_in.gateway.http.get(path, headers=stand_in.admin)
    assert (api.status_code, api.content, api.headers["content-type"]) == (200, PDF, "application/pdf")
    assert api.headers["content-disposition"] == disposition["content-disposition"]


async def test_a_refused_e_invoice_shows_why(stand_in: Pages) -> None:
    accountant = await stand_in.person(Role.ACCOUNTANT, lang="en")
    refusal = {
        "detail": [
            {
                "loc": ["invoice", "buyer", "tax_code"],
                "msg": "invoice INV-2027-000001 cannot be an e-invoice: the buyer has no tax code",
                "type": "einvoice.party_incomplete",
                "ctx": {"invoice_number": "INV-2027-000001", "party": "buyer", "einvoice_field": "tax_code"},
            }
        ],
        "code": "invalid",
    }
    stand_in.upstream.answer("GET", f"/api/invoices/{INVOICE}/einvoice.xml", refusal, status=422)
    answer = await accountant.get(f"/invoices/{INVOICE}/einvoice.xml")
    assert answer.status_code == 422
    said = unescape(answer.text)
    assert "INV-2027-000001" in said
    assert translate("en", "problem.einvoice_field.tax_code") in said
    assert translate("en", "problem.party.buyer") in said
    assert answer.headers["content-type"].startswith("text/html")


async def test_the_quote_page_offers_download_and_print(stand_in: Pages) -> None:
    from .test_pricing_pages import LINES, quote

    seller = await stand_in.person(Role.SALESPERSON)
    body = {**quote(LINES), "id": QUOTE}
    stand_in.upstream.answer("GET", f"/api/quotes/{QUOTE}", body)
    stand_in.upstream.answer("GET", f"/api/quotes/{QUOTE}/history", page([]))
    html = Html((await seller.get(f"/quotes/{QUOTE}")).text)
    assert len(html.all(data_testid="document-links")) == 1
    hrefs = [a["href"] for a in html.all("a") if "/document.pdf" in (a.get("href") or "")]
    assert hrefs == [
        f"/quotes/{QUOTE}/document.pdf?download=1",
        f"/quotes/{QUOTE}/document.pdf",
        f"/quotes/{QUOTE}/document.pdf?lang=en",
    ]


async def test_a_products_unit_is_sent_and_shown(stand_in: Pages) -> None:
    manager = await stand_in.person(Role.SALES_MANAGER)
    made = {
        "code": "TD-01",
        "name": "Tủ điện",
        "product_group": "cabinets",
        "unit": "bộ",
        "unit_price": 2_000_000,
        "vat_rate_pct": 10,
        "currency": "VND",
        "active": True,
        "created_at": "2027-01-05T02:00:00Z",
        "updated_at": "2027-01-05T02:00:00Z",
    }
    stand_in.upstream.answer("POST", "/api/products", made, status=201)
    form = {
        "code": "TD-01",
        "name": "Tủ điện",
        "product_group": "cabinets",
        "unit": "bộ",
        "unit_price": "2.000.000",
    }
    assert (await manager.post("/settings/products/new", form)).status_code == 303
    assert stand_in.upstream.last("POST", "/api/products").body["unit"] == "bộ"

    stand_in.upstream.answer("GET", "/api/products/TD-01", made)
    stand_in.upstream.answer("GET", "/api/products/TD-01/prices", page([]))
    stand_in.upstream.answer("GET", "/api/users", page([]))
    html = Html((await manager.get("/settings/products/TD-01")).text)
    assert html.all(data_testid="product-unit")[0].text == "bộ"
    assert html.by_id("unit")["value"] == "bộ"
