"""The e-invoice XML built from a document, and the schema in the repository it is checked
against: what it builds validates, and the schema refuses what an e-invoice must not be."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal

import pytest

from accounting import einvoice
from crm_kit import errors
from crm_kit.documents import Document, Kind, Line, Party

pytestmark = pytest.mark.unit

SELLER = Party("Công ty CP Đông Á", "Số 5 Phố Huế, Hà Nội", "0100233488", bank_account="0071001234567")
BUYER = Party("Công ty TNHH Hòa Phát", "12 Lê Lợi, Quận 1, TP. Hồ Chí Minh", "0314409058-002")


def invoice(buyer: Party = BUYER, seller: Party | None = SELLER) -> Document:
    return Document(
        kind=Kind.INVOICE,
        number="INV-2026-000042",
        issued_on=date(2026, 12, 3),
        seller=seller,
        buyer=buyer,
        lines=[
            Line("Máy bơm", 2, 550_000_000, Decimal("10"), Decimal("10"), 990_000_000, 99_000_000, code="P1"),
            Line("Lắp đặt", 1, 10_000_000, Decimal("0"), Decimal("8"), 10_000_000, 800_000),
            Line("Phí khác", 1, 1_000, Decimal("0"), Decimal("5.26"), 1_000, 53),
        ],
    )


def test_the_built_xml_validates_and_says_the_invoice() -> None:
    body = einvoice.build(invoice(), 42, "AA")
    assert body.startswith(b"<?xml")
    assert einvoice.schema().is_valid(body.decode("utf-8"))
    root = ET.fromstring(body)
    general = root.find("DLHDon/TTChung")
    assert general is not None
    assert [general.findtext(tag) for tag in ("KHMSHDon", "KHHDon", "SHDon", "NLap", "DVTTe")] == [
        "1",
        "C26TAA",
        "42",
        "2026-12-03",
        "VND",
    ]
    first = root.find("DLHDon/NDHDon/DSHHDVu/HHDVu")
    assert first is not None
    assert [first.findtext(t) for t in ("STCKhau", "ThTien", "TSuat")] == ["110000000", "990000000", "10%"]
    assert [r.findtext("TSuat") for r in root.iterfind(".//THTTLTSuat/LTSuat")] == ["10%", "8%", "KHAC:5.26%"]
    assert root.findtext(".//TToan/TgTTTBSo") == str(990_000_000 + 99_000_000 + 10_800_000 + 1_053)
    assert root.findtext(".//TToan/TgTTTBChu", "").endswith("đồng")


def test_a_buyer_without_tax_code_and_a_missing_seller_are_named() -> None:
    with pytest.raises(errors.Invalid) as refused:
        einvoice.build(invoice(Party("Khách lẻ", None, None), seller=None), 1, "AA")
    where = [problem["loc"] for problem in refused.value.detail()]
    assert where == [["invoice", "buyer", "tax_code"], ["invoice", "buyer", "address"], ["invoice", "seller"]]


def test_the_schema_refuses_an_invoice_without_the_buyers_tax_code_or_a_bad_rate() -> None:
    root = ET.fromstring(einvoice.build(invoice(), 42, "AA"))
    buyer = root.find("DLHDon/NDHDon/NMua")
    assert buyer is not None
    buyer.remove(buyer.find("MST"))  # type: ignore[arg-type]
    assert not einvoice.schema().is_valid(root)
    again = ET.fromstring(einvoice.build(invoice(), 42, "AA"))
    rate = again.find(".//HHDVu/TSuat")
    assert rate is not None
    rate.text = "7%"
    assert not einvoice.schema().is_valid(again)


def test_rates_as_the_format_writes_them() -> None:
    assert [einvoice.rate(Decimal(v)) for v in ("0", "5.00", "8", "10.0000", "3.5")] == [
        "0%",
        "5%",
        "8%",
        "10%",
        "KHAC:3.50%",
    ]
