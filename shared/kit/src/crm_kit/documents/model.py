"""What a document a customer receives says, whichever service prints it: the seller and
the buyer, the lines, the totals per VAT rate and the terms (`pdf` lays it out)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from .words import Lang


class Kind(StrEnum):
    QUOTE = "quote"
    ORDER = "order"
    INVOICE = "invoice"


@dataclass(frozen=True)
class Party:
    """A seller or a buyer as the document names it: its legal name, address and tax code."""

    name: str
    address: str | None = None
    tax_code: str | None = None
    phone: str | None = None
    bank_account: str | None = None
    logo_png: bytes | None = None

    @classmethod
    def of_customer(cls, known: Any, name: str) -> Party:
        """The buyer from this service's customer copy (`crm_kit.customer_copy.known`): its
        legal name when it has one, else `name` (the record's own); no copy, just `name`."""
        if known is None:
            return cls(name=name)
        return cls(
            name=known.legal_name or known.name or name,
            address=known.billing_address,
            tax_code=known.tax_code,
        )


@dataclass(frozen=True)
class Line:
    name: str
    quantity: int
    unit_price: int
    discount_pct: Decimal
    vat_rate_pct: Decimal
    net_amount: int
    vat_amount: int
    code: str | None = None
    unit: str | None = None

    @property
    def total(self) -> int:
        return self.net_amount + self.vat_amount


@dataclass(frozen=True)
class RateTotal:
    """The lines of one VAT rate: their amount before VAT, their VAT and both together."""

    rate_pct: Decimal
    net: int
    vat: int

    @property
    def total(self) -> int:
        return self.net + self.vat


def by_rate(lines: Iterable[Line]) -> list[RateTotal]:
    """Totals per VAT rate, the highest rate first."""
    sums: dict[Decimal, tuple[int, int]] = {}
    for line in lines:
        rate = Decimal(line.vat_rate_pct).normalize()
        net, vat = sums.get(rate, (0, 0))
        sums[rate] = (net + line.net_amount, vat + line.vat_amount)
    return [RateTotal(rate, net, vat) for rate, (net, vat) in sorted(sums.items(), reverse=True)]


@dataclass(frozen=True)
class Terms:
    valid_until: date | None = None
    payment_terms_days: int | None = None
    due_date: date | None = None
    note: str | None = None


@dataclass(frozen=True)
class Document:
    kind: Kind
    number: str
    issued_on: date
    buyer: Party
    lines: list[Line]
    seller: Party | None = None
    currency: str = "VND"
    terms: Terms = field(default_factory=Terms)
    lang: Lang = "vi"

    @property
    def rates(self) -> list[RateTotal]:
        return by_rate(self.lines)

    @property
    def net_total(self) -> int:
        return sum(line.net_amount for line in self.lines)

    @property
    def vat_total(self) -> int:
        return sum(line.vat_amount for line in self.lines)

    @property
    def total(self) -> int:
        return self.net_total + self.vat_total
