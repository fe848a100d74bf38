"""Documents a customer receives (quotes, orders, invoices), shared by sales and
accounting: the amount in words (`words`), vi/en formatting (`formatting`), what a
document says (`model`) and its PDF (`pdf`). The DejaVu fonts under `fonts/` are vendored
with their licence (`fonts/LICENSE`, Bitstream Vera / public domain)."""

from .model import Document, Kind, Line, Party, RateTotal, Terms, by_rate
from .pdf import render
from .words import Lang, amount_in_words

__all__ = [
    "Document",
    "Kind",
    "Lang",
    "Line",
    "Party",
    "RateTotal",
    "Terms",
    "amount_in_words",
    "by_rate",
    "render",
]
