"""The invoice PDF and e-invoice XML, and the company profile they take the seller from:
the buyer's tax code and the amount in words in the PDF's text, an XML that validates
against the repository's schema, 422 naming a missing buyer tax code, the same
visibility as the invoice's JSON route, and an admin-only profile announced to sales."""

from __future__ import annotations

import io
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

import pypdf
import pytest
from PIL import Image

from accounting import einvoice
from crm_contracts import CompanyProfileUpdated, CustomerPromotedToTraditional
from crm_kit.auth import Role
from crm_kit.documents import amount_in_words

from .test_integration import Books, order_placed

# The fixture, by name.
from .test_integration import books as books

pytestmark = pytest.mark.integration

PROFILE = {
    "name": "Công ty Cổ phần Thiết bị Đông Á",
    "address": "Số 5 Phố Huế, Quận Hai Bà Trưng, Hà Nội",
    "tax_code": "0100233488",
    "phone": "024 3825 1234",
    "bank_account": "0071001234567 - Vietcombank",
}
BUYER_TAX_CODE = "0314409058-002"


def pdf_text(body: bytes) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in pypdf.PdfReader(io.BytesIO(body)).pages)


async def b2b_invoice(
    books: Books, *, tax_code: str | None, owner_id: uuid.UUID | None = None
) -> dict[str, Any]:
    customer_id = uuid.uuid4()
    await books.publish(
        CustomerPromotedToTraditional(
            customer_id=customer_id,
            name=f"Hòa Phát {customer_id.hex[:6]}",
            owner_id=owner_id,
            tax_code=tax_code,
            legal_name="Công ty TNHH Thiết bị Điện Hòa Phát",
            billing_address="12 Đường Lê Lợi, Quận 1, TP. Hồ Chí Minh",
            promoted_at=datetime.now(UTC),
        )
    )
    await books.account(customer_id)
    placed = order_placed(
        customer_id, [(2, 500_000_000, 10.0), (1, 100_000_000, 8.0)], order_date=books.settings.today()
    )
    # The first line's product has a unit in sales; the second's none.
    first = placed.lines[0].model_copy(update={"unit": "bộ"})
    placed = placed.model_copy(update={"lines": [first, *placed.lines[1:]]})
    await books.publish(placed)
    return await books.invoice_for(placed.order_id)


async def set_profile(books: Books) -> None:
    response = await books.http.put("/api/company-profile", headers=books.headers(Role.ADMIN), json=PROFILE)
    assert response.status_code == 200, response.text


async def test_the_company_profile_is_kept_by_an_admin_and_announced(books: Books) -> None:
    admin = books.headers(Role.ADMIN)
    for role in (Role.ACCOUNTANT, Role.SALES_MANAGER, Role.SALESPERSON):
        refused = await books.http.put("/api/company-profile", headers=books.headers(role), json=PROFILE)
        assert refused.status_code == 403, role
    wrong = await books.http.put(
        "/api/company-profile", headers=admin, json={**PROFILE, "tax_code": "0100233489"}
    )
    assert wrong.status_code == 422 and "tax_code" in wrong.text

    await set_profile(books)
    profile = (await books.http.get("/api/company-profile", headers=books.headers(Role.SALESPERSON))).json()
    assert (profile["name"], profile["tax_code"], profile["has_logo"]) == (
        PROFILE["name"],
        "0100233488",
        False,
    )

    not_png = await books.http.put("/api/company-profile/logo", headers=admin, content=b"GIF89a....")
    assert not_png.status_code == 422 and "PNG" in not_png.text
    too_big = await books.http.put(
        "/api/company-profile/logo", headers=admin, content=b"\x89PNG" + b"0" * 300_000
    )
    assert too_big.status_code == 413
    png = io.BytesIO()
    Image.new("RGB", (60, 30), (10, 80, 160)).save(png, format="PNG")
    logo = await books.http.put("/api/company-profile/logo", headers=admin, content=png.getvalue())
    assert logo.status_code == 200 and logo.json()["has_logo"] is True
    served = await books.http.get("/api/company-profile/logo", headers=admin)
    assert served.content == png.getvalue() and served.headers["content-type"] == "image/png"

    announced = await books.emitted(CompanyProfileUpdated, tax_code="0100233488")
    assert announced and announced[-1]["data"]["logo_png_base64"]


async def test_an_invoice_downloads_as_pdf_and_as_e_invoice_xml(books: Books) -> None:
    await set_profile(books)
    invoice = await b2b_invoice(books, tax_code=BUYER_TAX_CODE)
    accountant = books.headers(Role.ACCOUNTANT)

    pdf = await books.http.get(f"/api/invoices/{invoice['id']}/document.pdf", headers=accountant)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = pdf_text(pdf.content)
    assert "HÓA ĐƠN GIÁ TRỊ GIA TĂNG" in text and invoice["number"] in text
    assert f"Mã số thuế: {BUYER_TAX_CODE}" in text and PROFILE["name"] in text
    assert "Công ty TNHH Thiết bị Điện Hòa Phát" in text
    assert amount_in_words(invoice["total"]) in text
    english = await books.http.get(
        f"/api/invoices/{invoice['id']}/document.pdf", headers=accountant, params={"lang": "en"}
    )
    assert "VAT INVOICE" in pdf_text(english.content)

    xml = await books.http.get(f"/api/invoices/{invoice['id']}/einvoice.xml", headers=accountant)
    assert xml.status_code == 200 and xml.headers["content-type"].startswith("application/xml")
    einvoice.schema().validate(xml.content.decode("utf-8"))
    root = ET.fromstring(xml.content)
    assert root.findtext("DLHDon/NDHDon/NMua/MST") == BUYER_TAX_CODE
    assert root.findtext("DLHDon/NDHDon/NBan/MST") == PROFILE["tax_code"]
    assert root.findtext("DLHDon/TTChung/SHDon") == str(int(invoice["number"].rsplit("-", 1)[1]))
    assert root.findtext("DLHDon/NDHDon/TToan/TgTTTBSo") == str(invoice["total"])
    assert root.findtext("DLHDon/NDHDon/TToan/TgTTTBChu") == amount_in_words(invoice["total"])
    rates = [
        (r.findtext("TSuat"), r.findtext("ThTien"), r.findtext("TThue"))
        for r in root.iterfind("DLHDon/NDHDon/TToan/THTTLTSuat/LTSuat")
    ]
    assert rates == [("10%", "1000000000", "100000000"), ("8%", "100000000", "8000000")]
    assert [line["unit"] for line in invoice["lines"]] == ["bộ", None]
    assert [item.findtext("DVTinh") for item in root.iterfind(".//DSHHDVu/HHDVu")] == ["bộ", None]
    assert " bộ 2 " in text  # the unit column, before the quantity


async def test_an_invoice_without_the_buyers_tax_code_is_no_e_invoice(books: Books) -> None:
    await set_profile(books)
    invoice = await b2b_invoice(books, tax_code=None)
    response = await books.http.get(
        f"/api/invoices/{invoice['id']}/einvoice.xml", headers=books.headers(Role.ACCOUNTANT)
    )
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["invoice", "buyer", "tax_code"]
    assert "has no tax code" in problem["msg"] and invoice["number"] in problem["msg"]


async def test_a_salesperson_downloads_only_their_customers_invoices(books: Books) -> None:
    owner = uuid.uuid4()
    invoice = await b2b_invoice(books, tax_code=BUYER_TAX_CODE, owner_id=owner)
    for path in ("document.pdf", "einvoice.xml"):
        url = f"/api/invoices/{invoice['id']}/{path}"
        other = await books.http.get(url, headers=books.headers(Role.SALESPERSON))
        assert other.status_code == 404, path
        marketer = await books.http.get(url, headers=books.headers(Role.MARKETING))
        assert marketer.status_code == 403, path
    mine = await books.http.get(
        f"/api/invoices/{invoice['id']}/document.pdf", headers=books.headers(Role.SALESPERSON, owner)
    )
    assert mine.status_code == 200
