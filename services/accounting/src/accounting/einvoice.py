"""The invoice as e-invoice data (XML) for a Vietnamese e-invoice provider, in the shape of
Decree 123/2020 and Circular 78/2021 (`einvoice_schema/einvoice.xsd`, which says what it
keeps). Each export is validated against that schema before it leaves; an invoice whose
buyer or seller lacks what an e-invoice must name is refused (422) with what is missing."""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path

import xmlschema

from crm_kit import errors
from crm_kit.documents import Document, Party, RateTotal, amount_in_words

SCHEMA = Path(__file__).parent / "einvoice_schema" / "einvoice.xsd"
FORMAT_VERSION = "2.0.0"
#: Ký hiệu mẫu số 1: a VAT invoice (hóa đơn giá trị gia tăng).
VAT_INVOICE_FORM = "1"
_STANDARD_RATES = {Decimal(0), Decimal(5), Decimal(8), Decimal(10)}


@functools.cache
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(SCHEMA)


def series(year: int, letters: str) -> str:
    """Ký hiệu hóa đơn: `C` (issued with the tax authority's code), the year's last two
    digits, `T` (a registered business) and the seller's two letters: `C26TAA`."""
    return f"C{year % 100:02d}T{letters}"


def rate(pct: Decimal) -> str:
    """Thuế suất as the format writes it: `10%`, `8%`, or `KHAC:5.26%` for another rate."""
    value = Decimal(pct).normalize()
    if value in _STANDARD_RATES:
        return f"{int(value)}%"
    return f"KHAC:{value.quantize(Decimal('0.01'))}%"


def missing(doc: Document) -> list[errors.At]:
    """What the document lacks to be an e-invoice, each where it belongs in the document,
    with its code and its params."""
    problems: list[errors.At] = []
    for role, party in (("buyer", doc.buyer), ("seller", doc.seller)):
        whose = "the buyer (the customer's record)" if role == "buyer" else "the seller (the company profile)"
        if party is None:
            problems.append(
                errors.At(
                    (role,),
                    f"{whose} is not set: an admin sets the company profile",
                    "einvoice.party_missing",
                    {"invoice_number": doc.number, "party": role},
                )
            )
            continue
        for field, what in (("tax_code", "tax code"), ("address", "address")):
            if not getattr(party, field):
                problems.append(
                    errors.At(
                        (role, field),
                        f"{whose} has no {what}",
                        "einvoice.party_incomplete",
                        {"invoice_number": doc.number, "party": role, "einvoice_field": field},
                    )
                )
    return problems


def _sub(parent: ET.Element, tag: str, text: object | None = None) -> ET.Element:
    element = ET.SubElement(parent, tag)
    if text is not None:
        element.text = str(text)
    return element


def _party(parent: ET.Element, tag: str, party: Party) -> None:
    node = _sub(parent, tag)
    _sub(node, "Ten", party.name)
    _sub(node, "MST", party.tax_code)
    _sub(node, "DChi", party.address)
    if tag == "NBan":
        for field, value in (("SDThoai", party.phone), ("STKNHang", party.bank_account)):
            if value:
                _sub(node, field, value)


def _general(parent: ET.Element, doc: Document, sequence: int, letters: str) -> None:
    general = _sub(parent, "TTChung")
    _sub(general, "PBan", FORMAT_VERSION)
    _sub(general, "THDon", "Hóa đơn giá trị gia tăng")
    _sub(general, "KHMSHDon", VAT_INVOICE_FORM)
    _sub(general, "KHHDon", series(doc.issued_on.year, letters))
    _sub(general, "SHDon", sequence)
    _sub(general, "NLap", doc.issued_on.isoformat())
    _sub(general, "DVTTe", doc.currency)
    _sub(general, "HTTToan", "TM/CK")


def _lines(parent: ET.Element, doc: Document) -> None:
    lines = _sub(parent, "DSHHDVu")
    for position, line in enumerate(doc.lines, start=1):
        item = _sub(lines, "HHDVu")
        _sub(item, "TChat", 1)
        _sub(item, "STT", position)
        if line.code:
            _sub(item, "MHHDVu", line.code)
        _sub(item, "THHDVu", line.name)
        if line.unit:
            _sub(item, "DVTinh", line.unit)
        _sub(item, "SLuong", line.quantity)
        _sub(item, "DGia", line.unit_price)
        _sub(item, "TLCKhau", f"{Decimal(line.discount_pct).normalize():f}")
        _sub(item, "STCKhau", line.quantity * line.unit_price - line.net_amount)
        _sub(item, "ThTien", line.net_amount)
        _sub(item, "TSuat", rate(line.vat_rate_pct))


def _totals(parent: ET.Element, doc: Document, rates: list[RateTotal]) -> None:
    totals = _sub(parent, "TToan")
    per_rate = _sub(totals, "THTTLTSuat")
    for each in rates:
        node = _sub(per_rate, "LTSuat")
        _sub(node, "TSuat", rate(each.rate_pct))
        _sub(node, "ThTien", each.net)
        _sub(node, "TThue", each.vat)
    _sub(totals, "TgTCThue", doc.net_total)
    _sub(totals, "TgTThue", doc.vat_total)
    _sub(totals, "TgTTTBSo", doc.total)
    _sub(totals, "TgTTTBChu", amount_in_words(doc.total, "vi", doc.currency))


def build(doc: Document, sequence: int, letters: str) -> bytes:
    """The e-invoice XML of `doc` (an invoice), number `sequence` of its year's series,
    validated against the schema; 422 naming what is missing first."""
    problems = missing(doc)
    if problems:
        raise errors.Invalid.many(
            [
                errors.At(
                    ("invoice", *problem.loc),
                    f"invoice {doc.number} cannot be an e-invoice: {problem.message}",
                    problem.code,
                    problem.params,
                )
                for problem in problems
            ]
        )
    assert doc.seller is not None
    root = ET.Element("HDon")
    data = _sub(root, "DLHDon")
    data.set("Id", "DLHDon")
    _general(data, doc, sequence, letters)
    content = _sub(data, "NDHDon")
    _party(content, "NBan", doc.seller)
    _party(content, "NMua", doc.buyer)
    _lines(content, doc)
    _totals(content, doc, doc.rates)
    failures = [error.reason or str(error) for error in schema().iter_errors(root)]
    if failures:
        raise errors.Invalid(
            f"invoice {doc.number} does not fit the e-invoice schema: " + "; ".join(failures),
            code="einvoice.schema_mismatch",
            params={"invoice_number": doc.number, "failures": failures},
        )
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
