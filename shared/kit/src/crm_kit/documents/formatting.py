"""Numbers, money, rates and dates as a Vietnamese or an English document prints them:
`1.100.000.000` / `1,100,000,000`, `8,5%` / `8.5%`, `03/12/2026` / `3 Dec 2026`."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from .words import Lang


def number(value: int | Decimal, lang: Lang = "vi") -> str:
    """A number with thousands grouped; decimals only when it has them (trailing zeros dropped)."""
    quantized = Decimal(value)
    text = f"{quantized:,f}" if quantized != quantized.to_integral() else f"{int(quantized):,d}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if lang == "vi":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def money(amount: int, lang: Lang = "vi", currency: str = "VND") -> str:
    """`1.100.000 ₫` (vi) / `1,100,000 VND` (en)."""
    symbol = "₫" if currency == "VND" and lang == "vi" else currency
    return f"{number(amount, lang)} {symbol}"


def percent(rate: int | Decimal, lang: Lang = "vi") -> str:
    return f"{number(rate, lang)}%"


_EN_MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def day(value: date, lang: Lang = "vi") -> str:
    if lang == "vi":
        return value.strftime("%d/%m/%Y")
    return f"{value.day} {_EN_MONTHS[value.month - 1]} {value.year}"
