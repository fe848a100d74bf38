"""Accounting's rules: invoice arithmetic, the credit rule, settlement, aging. No I/O.

Money is integer dong throughout; percentages arrive as floats on the wire and are
read through their decimal text (`8.0` -> `Decimal("8.0")`) so no binary-float
error creeps into a comparison.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from crm_contracts import MalformedEvent, OrderLine, OrderPlaced
from crm_kit import errors

#: Accounts, invoices and every amount are in dong; an event in another currency is refused.
CURRENCY = "VND"


class InvoiceStatus(StrEnum):
    OPEN = "open"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    #: Settled by credit notes alone: nothing was paid, nothing is owed.
    CREDITED = "credited"


class InvoiceFilter(StrEnum):
    """The invoice list's `status`: a stored status, or `overdue` (still owing past its due date)."""

    OPEN = "open"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    CREDITED = "credited"
    OVERDUE = "overdue"


class CancellationOutcome(StrEnum):
    """What a cancelled order came to in accounting (`cancelled_orders.outcome`)."""

    #: It had no invoice: none is made for it, even if its order arrives later.
    NOT_INVOICED = "not_invoiced"
    #: Its invoice crossed the cancellation: credited in full, automatically.
    CREDITED = "credited"
    #: Its invoice has payments: the accountant refunds or settles it (`invoices.attention`).
    NEEDS_ACCOUNTANT = "needs_accountant"


def cancellation_attention(order_number: str, reason: str, paid_total: int) -> str:
    """The flag an invoice with payments carries when its order was cancelled afterwards."""
    text = (
        f"order {order_number} was cancelled after {paid_total} VND was paid; "
        f"refund or credit it by hand (reason: {reason})"
    )
    return text[:500]


class LedgerKind(StrEnum):
    INVOICE = "invoice"
    PAYMENT = "payment"
    CREDIT_NOTE = "credit_note"


class PaymentMethod(StrEnum):
    BANK_TRANSFER = "bank_transfer"
    CASH = "cash"
    CARD = "card"


class DocumentSeries(StrEnum):
    """The prefix of a numbered document; each series counts from 1 every year."""

    INVOICE = "INV"
    CREDIT_NOTE = "CN"


def document_number(series: DocumentSeries, year: int, seq: int) -> str:
    """`INV-2026-000001`: the series, the year, and the place in that year's sequence."""
    return f"{series}-{year:04d}-{seq:06d}"


# -- invoices from orders -------------------------------------------------------------


@dataclass(frozen=True)
class LineFigures:
    product_code: str
    product_name: str
    product_group: str
    quantity: int
    unit_price: int
    discount_pct: Decimal
    vat_rate_pct: Decimal
    net_amount: int
    vat_amount: int
    unit: str | None = None

    @property
    def gross_amount(self) -> int:
        return self.net_amount + self.vat_amount


@dataclass(frozen=True)
class InvoiceFigures:
    lines: tuple[LineFigures, ...]
    net_total: int
    vat_total: int

    @property
    def total(self) -> int:
        return self.net_total + self.vat_total


def _pct(value: float) -> Decimal:
    return Decimal(str(value))


def exact_net(quantity: int, unit_price: int, discount_pct: Decimal) -> Decimal:
    """Quantity x unit price less the discount, before any rounding."""
    return Decimal(quantity * unit_price) * (100 - discount_pct) / 100


def exact_vat(net_amount: int, vat_rate_pct: Decimal) -> Decimal:
    """VAT on a line's net at the line's rate, before rounding to whole dong."""
    return Decimal(net_amount) * vat_rate_pct / 100


def invoice_figures(order: OrderPlaced) -> InvoiceFigures:
    """The invoice's lines and totals from an order; `MalformedEvent` if the order does not add up.

    Sales prices the order, so its rounded figures stand as long as they are the
    order's own arithmetic within rounding: a line's net within 1 dong per unit of
    quantity x unit price less the discount (rounding per unit or per line), its VAT
    within 1 dong of the net at the line's rate (rounded either way). The totals
    must then be exactly the sums, so the invoice's total is the order's total.
    """
    if not order.lines:
        raise MalformedEvent(f"order {order.order_number} has no lines")
    lines = tuple(_line_figures(order, n, line) for n, line in enumerate(order.lines, start=1))
    figures = InvoiceFigures(
        lines=lines,
        net_total=sum(li.net_amount for li in lines),
        vat_total=sum(li.vat_amount for li in lines),
    )
    for name, stated, summed in (
        ("net_total", order.net_total, figures.net_total),
        ("vat_total", order.vat_total, figures.vat_total),
        ("total", order.total, figures.total),
    ):
        if stated != summed:
            raise MalformedEvent(f"order {order.order_number}: {name} {stated} is not the lines' {summed}")
    if order.payment_terms_days < 0:
        raise MalformedEvent(f"order {order.order_number}: payment_terms_days is negative")
    return figures


def _line_figures(order: OrderPlaced, n: int, line: OrderLine) -> LineFigures:
    """Line `n` of the order as the invoice takes it, if its figures are its own arithmetic."""
    where = f"order {order.order_number} line {n} ({line.product_code})"
    discount, rate = _pct(line.discount_pct), _pct(line.vat_rate_pct)
    if line.quantity <= 0:
        raise MalformedEvent(f"{where}: quantity {line.quantity} is not positive")
    if line.unit_price < 0 or line.net_amount < 0 or line.vat_amount < 0:
        raise MalformedEvent(f"{where}: negative amount")
    if not 0 <= discount <= 100:
        raise MalformedEvent(f"{where}: discount_pct {line.discount_pct} is not 0-100")
    if not 0 <= rate <= 100:
        raise MalformedEvent(f"{where}: vat_rate_pct {line.vat_rate_pct} is not 0-100")
    expected_net = exact_net(line.quantity, line.unit_price, discount)
    if abs(line.net_amount - expected_net) > max(1, line.quantity):
        raise MalformedEvent(
            f"{where}: net_amount {line.net_amount} is not quantity x unit_price "
            f"less {discount}% ({expected_net})"
        )
    expected_vat = exact_vat(line.net_amount, rate)
    if abs(line.vat_amount - expected_vat) >= 1:
        raise MalformedEvent(
            f"{where}: vat_amount {line.vat_amount} is not {rate}% of {line.net_amount} ({expected_vat})"
        )
    return LineFigures(
        product_code=line.product_code,
        product_name=line.product_name,
        product_group=line.product_group,
        quantity=line.quantity,
        unit_price=line.unit_price,
        discount_pct=discount,
        vat_rate_pct=rate,
        net_amount=line.net_amount,
        vat_amount=line.vat_amount,
        unit=line.unit,
    )


def due_date(issue_date: date, payment_terms_days: int) -> date:
    return issue_date + timedelta(days=payment_terms_days)


# -- settlement ------------------------------------------------------------------------


class ExceedsBalance(errors.Invalid):
    """A payment or credit note larger than what the invoice still owes (422; nothing was changed)."""

    def __init__(self, amount: int, balance: int, invoice_number: str) -> None:
        super().__init__(
            f"amount {amount} exceeds the open balance {balance} of invoice {invoice_number}",
            code="invoice.exceeds_balance",
            params={"amount": amount, "balance_amount": balance, "invoice_number": invoice_number},
        )


def check_settlement(amount: int, balance: int, invoice_number: str) -> None:
    if amount > balance:
        raise ExceedsBalance(amount, balance, invoice_number)


def net_part(amount: int, net_total: int, total: int) -> int:
    """The revenue in a credit of `amount` (VAT included) against an invoice of `total`
    whose net is `net_total`: in proportion, rounded half up to the dong."""
    if total <= 0:
        return 0
    return (2 * amount * net_total + total) // (2 * total)


def invoice_status(balance: int, paid_total: int, credited_total: int) -> InvoiceStatus:
    """What is left to pay decides the status; how it was settled names it."""
    if balance == 0:
        return InvoiceStatus.PAID if paid_total > 0 or credited_total == 0 else InvoiceStatus.CREDITED
    return InvoiceStatus.PARTIALLY_PAID if paid_total > 0 else InvoiceStatus.OPEN


# -- credit ----------------------------------------------------------------------------


class Commitment(StrEnum):
    """Where a quote stands for the credit check (`credit_commitments.status`)."""

    PENDING = "pending"
    APPROVED = "approved"
    ACCEPTED = "accepted"
    #: Rejected, declined, or reopened for an edit: nothing until submitted again.
    CLOSED = "closed"
    #: Its order is invoiced: an open receivable now, never a commitment again.
    INVOICED = "invoiced"


#: Committed until the quote's last valid day.
UNTIL_VALID = (Commitment.PENDING, Commitment.APPROVED)


#: Why a cash-only customer's quote fails its credit check, whatever its total.
CASH_ONLY = "cash only"


@dataclass(frozen=True)
class CreditDecision:
    open_receivables: int
    committed: int
    exposure: int
    credit_limit: int
    cash_only: bool = False

    @property
    def passed(self) -> bool:
        return not self.cash_only and self.exposure <= self.credit_limit

    @property
    def reason(self) -> str | None:
        """Why it failed, when the numbers alone do not say it."""
        return CASH_ONLY if self.cash_only else None


def credit_decision(
    open_receivables: int, quote_total: int, credit_limit: int, committed: int = 0, *, cash_only: bool = False
) -> CreditDecision:
    """The customer may owe up to the limit: open receivables, what their other quotes and
    orders not invoiced yet commit, and this quote, against it. A cash-only customer gets
    no credit at all."""
    return CreditDecision(
        open_receivables=open_receivables,
        committed=committed,
        exposure=open_receivables + committed + quote_total,
        credit_limit=0 if cash_only else credit_limit,
        cash_only=cash_only,
    )


# -- the credit policy -----------------------------------------------------------------


class LimitSource(StrEnum):
    """Where an account's credit limit came from."""

    #: The credit policy: it follows the customer's grade and channel kind.
    POLICY = "policy"
    #: An accountant's hand: it stays until changed by hand again.
    MANUAL = "manual"


class LimitChange(StrEnum):
    """Why a credit limit changed, as its history (`audit_entries.action`) says it."""

    #: The account was opened with the policy's limit.
    OPENED = "opened"
    #: An accountant set it (`PATCH /api/accounts/{id}`).
    MANUAL = "manual"
    #: The policy was re-applied (`POST /api/credit-policy/apply`).
    POLICY = "policy"
    #: The customer's grade or channel changed and the limit followed the policy.
    REGRADE = "regrade"


class ChannelKind(StrEnum):
    """The kinds of channel marketing sells through (those of sales' price lists)."""

    DISTRIBUTOR = "distributor"
    DEALER = "dealer"
    RETAIL = "retail"
    AGENT = "agent"
    ONLINE = "online"
    PROJECT = "project"


@dataclass(frozen=True)
class Limit:
    credit_limit: int
    cash_only: bool = False


@dataclass(frozen=True)
class PolicyRule:
    """A limit for customers of a grade and a channel kind (None: any); both None: the fallback."""

    grade: str | None
    channel_kind: str | None
    credit_limit: int
    cash_only: bool = False

    @property
    def scope(self) -> tuple[str | None, str | None]:
        return (self.grade, self.channel_kind)

    @property
    def limit(self) -> Limit:
        return Limit(0 if self.cash_only else self.credit_limit, self.cash_only)


def policy_limit(
    rules: Iterable[PolicyRule], grade: str | None, channel_kind: str | None, default: int
) -> Limit:
    """The most specific rule that fits: grade and channel kind, then grade alone, then
    channel kind alone, then the fallback; `default` (the setting) if the policy has none."""
    by_scope = {rule.scope: rule for rule in rules}
    # A customer without a grade (or a channel kind) takes the rules for any.
    for scope in ((grade, channel_kind), (grade, None), (None, channel_kind), (None, None)):
        rule = by_scope.get(scope)
        if rule is not None:
            return rule.limit
    return Limit(default)


def policy_problems(rules: Sequence[PolicyRule]) -> list[errors.At]:
    """What is wrong with a policy as a whole (each rule's own fields are the schema's): a
    scope given twice, and a missing fallback."""
    problems: list[errors.At] = []
    seen: dict[tuple[str | None, str | None], int] = {}
    for index, rule in enumerate(rules):
        if rule.scope in seen:
            problems.append(
                errors.At(
                    ("body", "rules", index),
                    f"rule {index} has the scope of rule {seen[rule.scope]} "
                    f"(grade {rule.grade or 'any'}, channel kind {rule.channel_kind or 'any'})",
                    "credit_policy.scope_repeated",
                    {
                        "rule": index,
                        "other_rule": seen[rule.scope],
                        "grade": rule.grade or "",
                        "channel_kind": str(rule.channel_kind or ""),
                    },
                )
            )
        else:
            seen[rule.scope] = index
    if rules and (None, None) not in seen:
        problems.append(
            errors.At(
                ("body", "rules"),
                "the policy needs a fallback rule (no grade, no channel kind)",
                "credit_policy.fallback_missing",
                {},
            )
        )
    return problems


# -- aging -----------------------------------------------------------------------------


class AgingBucket(StrEnum):
    """How long what is owed is overdue; the names are the aging report's columns."""

    CURRENT = "current"
    DAYS_1_30 = "days_1_30"
    DAYS_31_60 = "days_31_60"
    DAYS_61_90 = "days_61_90"
    OVER_90 = "over_90"


#: (bucket, first, last day overdue); `None` is open-ended. Not yet due counts as current.
BUCKETS: tuple[tuple[AgingBucket, int | None, int | None], ...] = (
    (AgingBucket.CURRENT, None, 0),
    (AgingBucket.DAYS_1_30, 1, 30),
    (AgingBucket.DAYS_31_60, 31, 60),
    (AgingBucket.DAYS_61_90, 61, 90),
    (AgingBucket.OVER_90, 91, None),
)


def days_overdue(due: date, as_of: date) -> int:
    """Days past the due date (0 or less: not overdue)."""
    return (as_of - due).days


def bucket_of(due: date, as_of: date) -> AgingBucket:
    days = days_overdue(due, as_of)
    for bucket, first, last in BUCKETS:
        if (first is None or days >= first) and (last is None or days <= last):
            return bucket
    raise AssertionError(f"no aging bucket for {days} days")  # the buckets cover every integer


@dataclass(frozen=True)
class OpenItem:
    """What one invoice still owed on a day."""

    customer_id: uuid.UUID
    due_date: date
    balance: int


@dataclass
class Aging:
    customer_id: uuid.UUID
    buckets: dict[AgingBucket, int] = field(default_factory=lambda: dict.fromkeys(AgingBucket, 0))

    @property
    def total(self) -> int:
        return sum(self.buckets.values())

    @property
    def overdue(self) -> int:
        return self.total - self.buckets[AgingBucket.CURRENT]


def age(items: Iterable[OpenItem], as_of: date) -> list[Aging]:
    """Per customer, what is owed by how long it is overdue; largest total first."""
    by_customer: dict[uuid.UUID, Aging] = {}
    for item in items:
        if item.balance <= 0:
            continue
        aging = by_customer.setdefault(item.customer_id, Aging(item.customer_id))
        aging.buckets[bucket_of(item.due_date, as_of)] += item.balance
    return sorted(by_customer.values(), key=lambda a: (-a.total, str(a.customer_id)))
