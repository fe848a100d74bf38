"""The documents kit: amounts in words (vi, en), vi/en formatting, totals per VAT rate and a
PDF whose extracted text has the parties, the figures and the words with their diacritics."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pypdf
import pytest

from crm_kit.documents import Document, Kind, Line, Party, Terms, amount_in_words, by_rate, render
from crm_kit.documents import formatting as fmt

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        (0, "Không đồng"),
        (5, "Năm đồng"),
        (10, "Mười đồng"),
        (15, "Mười lăm đồng"),
        (21, "Hai mươi mốt đồng"),
        (25, "Hai mươi lăm đồng"),
        (11, "Mười một đồng"),
        (40, "Bốn mươi đồng"),
        (105, "Một trăm linh năm đồng"),
        (115, "Một trăm mười lăm đồng"),
        (1_001, "Một nghìn không trăm linh một đồng"),
        (310_000, "Ba trăm mười nghìn đồng"),
        (1_000_000, "Một triệu đồng"),
        (2_005_000, "Hai triệu không trăm linh năm nghìn đồng"),
        (1_100_000_000, "Một tỷ một trăm triệu đồng"),
        (1_005_000_000, "Một tỷ không trăm linh năm triệu đồng"),
        (21_000_000_021, "Hai mươi mốt tỷ không trăm hai mươi mốt đồng"),
        (1_000_000_000_000, "Một nghìn tỷ đồng"),
        (-5, "Âm năm đồng"),
    ],
)
def test_vietnamese_words(amount: int, words: str) -> None:
    assert amount_in_words(amount) == words


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        (0, "Zero dong"),
        (21, "Twenty-one dong"),
        (105, "One hundred five dong"),
        (2_005_000, "Two million five thousand dong"),
        (1_100_000_000, "One billion one hundred million dong"),
        (1_000_000_000_000, "One trillion dong"),
    ],
)
def test_english_words(amount: int, words: str) -> None:
    assert amount_in_words(amount, "en") == words


def test_an_amount_that_is_not_whole_is_refused() -> None:
    with pytest.raises(ValueError, match="whole amount"):
        amount_in_words(1.5)  # type: ignore[arg-type]


def test_formatting_vi_and_en() -> None:
    assert fmt.number(1_100_000_000) == "1.100.000.000"
    assert fmt.number(1_100_000_000, "en") == "1,100,000,000"
    assert fmt.percent(Decimal("8.5000")) == "8,5%"
    assert fmt.percent(Decimal("10.0000"), "en") == "10%"
    assert fmt.money(5_000) == "5.000 ₫"
    assert fmt.money(5_000, "en") == "5,000 VND"
    assert fmt.day(date(2026, 12, 3)) == "03/12/2026"
    assert fmt.day(date(2026, 12, 3), "en") == "3 Dec 2026"


def _line(net: int, vat_rate: str, vat: int, name: str = "Máy phát điện") -> Line:
    return Line(name, 1, net, Decimal("0"), Decimal(vat_rate), net, vat)


def test_totals_per_rate_group_equal_rates_highest_first() -> None:
    lines = [_line(100, "8", 8), _line(1_000, "10.00", 100), _line(50, "8.0", 4), _line(7, "0", 0)]
    assert [(r.rate_pct, r.net, r.vat, r.total) for r in by_rate(lines)] == [
        (Decimal("10"), 1_000, 100, 1_100),
        (Decimal("8"), 150, 12, 162),
        (Decimal("0"), 7, 0, 7),
    ]


def _document(lang: str) -> Document:
    return Document(
        kind=Kind.QUOTE,
        number="Q-2026-000042",
        issued_on=date(2026, 12, 3),
        buyer=Party("Công ty TNHH Thiết bị Hòa Phát", "12 Lê Lợi, Quận 1, TP. Hồ Chí Minh", "0312345678-001"),
        seller=Party("Công ty CP Đông Á", "Số 5 Phố Huế, Hà Nội", "0101234567"),
        lines=[_line(1_000_000_000, "10", 100_000_000), _line(0, "8", 0, "Dịch vụ lắp đặt")],
        terms=Terms(valid_until=date(2026, 12, 31), payment_terms_days=30),
        lang=lang,  # type: ignore[arg-type]
    )


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def test_the_pdf_text_has_the_parties_the_figures_and_the_words() -> None:
    pdf = render(_document("vi"))
    assert pdf.startswith(b"%PDF-")
    text = _text(pdf)
    for expected in (
        "BÁO GIÁ",
        "Q-2026-000042",
        "Mã số thuế: 0312345678-001",
        "Công ty TNHH Thiết bị Hòa Phát",
        "Công ty CP Đông Á",
        "Dịch vụ lắp đặt",
        "1.100.000.000 ₫",
        "Một tỷ một trăm triệu đồng",
        "31/12/2026",
    ):
        assert expected in text, expected


def test_the_english_pdf() -> None:
    text = _text(render(_document("en")))
    assert "QUOTATION" in text and "Tax code: 0312345678-001" in text
    assert "One billion one hundred million dong" in text
    assert "BÁO GIÁ" not in text


def test_a_logo_is_drawn() -> None:
    from PIL import Image

    png = io.BytesIO()
    Image.new("RGB", (40, 20), (200, 30, 30)).save(png, format="PNG")
    doc = _document("vi")
    with_logo = Document(**{**doc.__dict__, "seller": Party("Công ty CP Đông Á", logo_png=png.getvalue())})
    assert len(pypdf.PdfReader(io.BytesIO(render(with_logo))).pages[0].images) == 1
    assert len(pypdf.PdfReader(io.BytesIO(render(doc))).pages[0].images) == 0
