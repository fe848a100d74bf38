"""A document as a PDF (fpdf2): A4, the vendored DejaVu Sans (every Vietnamese glyph,
embedded as a TrueType subset, so the text is extractable and searchable), a header with
the seller's logo and identity, the parties, the lines, the totals per VAT rate, the
total in words and the terms."""

from __future__ import annotations

import io
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from . import formatting as fmt
from .labels import LABELS, TITLES
from .model import Document, Party
from .words import amount_in_words

FONTS = Path(__file__).parent / "fonts"
_FAMILY = "DejaVu"
_LINE = 5.5


def _pdf(doc: Document) -> FPDF:
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.add_font(_FAMILY, "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font(_FAMILY, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_title(f"{TITLES[doc.lang][doc.kind]} {doc.number}")
    pdf.set_creator("CRM")
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    return pdf


def _text(pdf: FPDF, text: str, *, bold: bool = False, size: float = 9, align: str = "L") -> None:
    pdf.set_font(_FAMILY, "B" if bold else "", size)
    pdf.multi_cell(0, _LINE, text, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _header(pdf: FPDF, doc: Document) -> None:
    seller = doc.seller
    if seller is not None and seller.logo_png:
        pdf.image(io.BytesIO(seller.logo_png), x=15, y=15, h=18)
        pdf.set_left_margin(50)
        pdf.set_x(50)
    if seller is not None:
        _party(pdf, doc, seller, "seller")
    pdf.set_left_margin(15)
    pdf.set_x(15)
    pdf.ln(4)
    labels = LABELS[doc.lang]
    _text(pdf, TITLES[doc.lang][doc.kind], bold=True, size=15, align="C")
    _text(
        pdf,
        f"{labels['number']}: {doc.number}    {labels['date']}: {fmt.day(doc.issued_on, doc.lang)}",
        align="C",
    )
    pdf.ln(3)


def _party(pdf: FPDF, doc: Document, party: Party, role: str) -> None:
    labels = LABELS[doc.lang]
    _text(pdf, f"{labels[role]}: {party.name}", bold=True, size=10)
    for key in ("tax_code", "address", "phone", "bank_account"):
        value = getattr(party, key)
        if value:
            _text(pdf, f"{labels[key]}: {value}")


def _lines(pdf: FPDF, doc: Document) -> None:
    labels, lang = LABELS[doc.lang], doc.lang
    headings = ("no", "item", "unit", "quantity", "unit_price", "discount", "vat_rate", "net", "vat")
    pdf.set_font(_FAMILY, "", 8)
    bold = FontFace(emphasis="BOLD", fill_color=(235, 235, 235))
    widths = (8, 44, 12, 14, 22, 16, 14, 26, 24)
    with pdf.table(col_widths=widths, headings_style=bold, line_height=4.5, text_align="LEFT") as table:
        table.row([labels[key] for key in headings])
        for position, line in enumerate(doc.lines, start=1):
            name = f"{line.code} – {line.name}" if line.code else line.name
            table.row(
                [
                    str(position),
                    name,
                    line.unit or "",
                    fmt.number(line.quantity, lang),
                    fmt.number(line.unit_price, lang),
                    fmt.percent(line.discount_pct, lang),
                    fmt.percent(line.vat_rate_pct, lang),
                    fmt.number(line.net_amount, lang),
                    fmt.number(line.vat_amount, lang),
                ]
            )
    pdf.ln(3)


def _totals(pdf: FPDF, doc: Document) -> None:
    labels, lang = LABELS[doc.lang], doc.lang
    pdf.set_font(_FAMILY, "", 8)
    bold = FontFace(emphasis="BOLD", fill_color=(235, 235, 235))
    with pdf.table(col_widths=(30, 50, 50, 50), headings_style=bold, line_height=4.5) as table:
        table.row([labels["vat_rate"], labels["net"], labels["vat"], labels["total"]])
        for rate in doc.rates:
            table.row(
                [
                    fmt.percent(rate.rate_pct, lang),
                    fmt.number(rate.net, lang),
                    fmt.number(rate.vat, lang),
                    fmt.number(rate.total, lang),
                ]
            )
    pdf.ln(2)
    _text(pdf, f"{labels['net_total']}: {fmt.money(doc.net_total, lang, doc.currency)}")
    _text(pdf, f"{labels['vat_total']}: {fmt.money(doc.vat_total, lang, doc.currency)}")
    _text(pdf, f"{labels['total']}: {fmt.money(doc.total, lang, doc.currency)}", bold=True, size=10)
    _text(pdf, f"{labels['in_words']}: {amount_in_words(doc.total, lang, doc.currency)}", bold=True)
    pdf.ln(2)


def _terms(pdf: FPDF, doc: Document) -> None:
    labels, lang, terms = LABELS[doc.lang], doc.lang, doc.terms
    if terms.valid_until is not None:
        _text(pdf, f"{labels['valid_until']}: {fmt.day(terms.valid_until, lang)}")
    if terms.payment_terms_days is not None:
        days = labels["payment_days"].format(days=terms.payment_terms_days)
        _text(pdf, f"{labels['payment_terms']}: {days}")
    if terms.due_date is not None:
        _text(pdf, f"{labels['due_date']}: {fmt.day(terms.due_date, lang)}")
    if terms.note:
        _text(pdf, f"{labels['note']}: {terms.note}")
    _text(pdf, f"{labels['currency']}: {doc.currency}")


def render(doc: Document) -> bytes:
    """The document as the bytes of a PDF."""
    pdf = _pdf(doc)
    _header(pdf, doc)
    _party(pdf, doc, doc.buyer, "buyer")
    pdf.ln(3)
    _lines(pdf, doc)
    _totals(pdf, doc)
    _terms(pdf, doc)
    return bytes(pdf.output())
