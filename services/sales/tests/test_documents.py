"""The quote and order PDFs: the buyer as sales' customer copy knows it (legal name, tax code,
billing address), the amount in words, English on request, and the same visibility as the
JSON routes."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pypdf
import pytest

from crm_contracts import CompanyProfileUpdated, CustomerPromotedToTraditional, CustomerRegistered
from crm_kit.documents import amount_in_words
from crm_testkit.catalogue import product_group

from .conftest import Actor, Sales, act, approved_quote, lines, orders_of

pytestmark = pytest.mark.integration

B2B = {
    "legal_name": "Công ty TNHH Thiết bị Điện Hòa Phát",
    "tax_code": "0312345678-001",
    "billing_address": "12 Đường Lê Lợi, Phường Bến Nghé, Quận 1, TP. Hồ Chí Minh",
}


async def b2b_customer(sales: Sales, owner: Actor) -> uuid.UUID:
    """A traditional customer with its tax code, legal name and billing address."""
    customer_id = uuid.uuid4()
    common = {
        "customer_id": customer_id,
        "name": f"Hòa Phát {customer_id.hex[:6]}",
        "owner_id": owner.id,
        **B2B,
    }
    await sales.handled(await sales.publish(CustomerRegistered(lifecycle_stage="prospect", **common)))
    promoted = CustomerPromotedToTraditional(promoted_at=datetime.now(UTC), **common)
    await sales.handled(await sales.publish(promoted))
    return customer_id


def pdf_text(body: bytes) -> str:
    """The PDF's text with its line breaks as spaces (a long amount in words wraps)."""
    return " ".join(" ".join(page.extract_text().split()) for page in pypdf.PdfReader(io.BytesIO(body)).pages)


async def download(sales: Sales, actor: Actor, path: str, **params: Any) -> str:
    response = await sales.http.get(path, headers=actor.headers, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    return pdf_text(response.content)


def profile(name: str, at: datetime) -> CompanyProfileUpdated:
    return CompanyProfileUpdated(
        name=name, address="Số 5 Phố Huế, Hà Nội", tax_code="0100233488", updated_at=at
    )


async def test_a_quote_and_its_order_download_as_pdf_with_the_buyer_and_the_words(
    sales: Sales, seller: Actor, manager: Actor, catalogue: dict[str, dict[str, Any]]
) -> None:
    now = datetime.now(UTC)
    await sales.handled(await sales.publish(profile("Công ty CP Thiết bị Đông Á", now)))
    # An older profile, delivered late, changes nothing.
    await sales.handled(await sales.publish(profile("Tên cũ", now - timedelta(days=1))))
    customer_id = await b2b_customer(sales, seller)
    code = f"set-{uuid.uuid4().hex[:6]}"
    await product_group(sales.http, "cabinets", headers=manager.headers)
    made = await sales.http.post(
        "/api/products",
        headers=manager.headers,
        json={
            "code": code,
            "name": "Tủ điện",
            "product_group": "cabinets",
            "unit": "bộ",
            "unit_price": 2_000_000,
        },
    )
    assert made.status_code == 201 and made.json()["unit"] == "bộ", made.text
    wanted = [*lines(catalogue), {"product_code": made.json()["code"], "quantity": 3}]
    quote = await approved_quote(sales, seller, manager, customer_id, wanted)
    assert [line["unit"] for line in quote["lines"]] == [None, None, "bộ"]
    await act(sales, seller, quote, "send")
    path = f"/api/quotes/{quote['id']}/document.pdf"
    # Sending it tells customers, whose timeline links the document the customer got.
    [sent] = await sales.emitted("sales.quote.sent.v1", quote_id=quote["id"])
    assert sent["data"]["document_path"] == path and sent["data"]["total"] == quote["total"]
    assert sent["actor"] == str(seller.id)

    text = await download(sales, seller, path)
    assert "BÁO GIÁ" in text and quote["number"] in text
    assert f"Mã số thuế: {B2B['tax_code']}" in text
    assert B2B["legal_name"] in text and "Phường Bến Nghé" in text
    assert "Máy bơm công nghiệp" in text and "Tủ điện bộ 3 " in text
    assert amount_in_words(quote["total"]) in text
    assert "Báo giá có hiệu lực đến" in text
    assert "Đơn vị bán hàng: Công ty CP Thiết bị Đông Á" in text and "0100233488" in text
    assert "Tên cũ" not in text

    english = await download(sales, manager, path, lang="en")
    assert "QUOTATION" in english and amount_in_words(quote["total"], "en") in english

    someone_else = sales.actor(seller.user.role)
    assert (await sales.http.get(path, headers=someone_else.headers)).status_code == 404
    assert (await sales.http.get(path, headers=seller.headers, params={"lang": "fr"})).status_code == 422

    await act(sales, seller, quote, "accept")
    [order] = [o for o in await orders_of(sales, seller, customer_id) if o["quote_id"] == quote["id"]]
    order_path = f"/api/orders/{order['id']}/document.pdf"
    order_text = await download(sales, seller, order_path)
    assert "ĐƠN ĐẶT HÀNG" in order_text and order["number"] in order_text
    assert B2B["tax_code"] in order_text and amount_in_words(order["total"]) in order_text
    assert "thanh toán trong 30 ngày" in order_text
    [placed] = await sales.emitted("sales.order.placed.v1", quote_id=quote["id"])
    assert [line["unit"] for line in placed["data"]["lines"]] == [None, None, "bộ"]
    assert (await sales.http.get(order_path, headers=someone_else.headers)).status_code == 404


async def test_an_unknown_quote_is_not_found(sales: Sales, seller: Actor) -> None:
    response = await sales.http.get(f"/api/quotes/{uuid.uuid4()}/document.pdf", headers=seller.headers)
    assert response.status_code == 404
