"""The sales service's rules: money arithmetic, price levels, quote and opportunity states,
approval rules, contracts, document numbers, the audit trail's vocabulary. No I/O. The rules
of periods and performance are in `performance_rules`."""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from pydantic_core import PydanticCustomError

from crm_kit import errors

# -- money -----------------------------------------------------------------------------

CURRENCY = "VND"
#: VAT rates a product may carry, in percent (Vietnam: 0, 5, 8 (reduced), 10).
VAT_RATES: tuple[int, ...] = (0, 5, 8, 10)


def round_half_up(amount: Fraction) -> int:
    """To the nearest dong, halves away from zero (not banker's rounding)."""
    half = Fraction(1, 2)
    return math.floor(amount + half) if amount >= 0 else -math.floor(-amount + half)


@dataclass(frozen=True)
class LineAmounts:
    """One quote or order line in integer dong. Rounded once, here, per line."""

    gross: int
    discount: int
    net: int
    vat: int

    @property
    def total(self) -> int:
        return self.net + self.vat


def line_amounts(quantity: int, unit_price: int, discount_pct: Decimal, vat_rate_pct: int) -> LineAmounts:
    """quantity x unit price, less the discount (rounded), plus VAT on the net (rounded)."""
    if quantity <= 0:
        raise PydanticCustomError(
            "line.quantity_not_positive", "quantity must be positive", {"quantity": quantity}
        )
    if unit_price < 0:
        raise PydanticCustomError(
            "line.unit_price_negative", "unit price cannot be negative", {"unit_price": unit_price}
        )
    if not Decimal(0) <= discount_pct <= Decimal(100):
        raise PydanticCustomError(
            "line.discount_out_of_range", "discount must be 0-100%", {"discount_pct": str(discount_pct)}
        )
    if vat_rate_pct not in VAT_RATES:
        raise PydanticCustomError(
            "line.vat_rate_invalid",
            f"VAT rate must be one of {VAT_RATES}",
            {"vat_rate_pct": vat_rate_pct, "rates": list(VAT_RATES)},
        )
    gross = quantity * unit_price
    discount = round_half_up(Fraction(gross) * Fraction(discount_pct) / 100)
    net = gross - discount
    vat = round_half_up(Fraction(net) * vat_rate_pct / 100)
    return LineAmounts(gross=gross, discount=discount, net=net, vat=vat)


@dataclass(frozen=True)
class Totals:
    net_total: int
    vat_total: int
    total: int


def totals(lines: Iterable[LineAmounts]) -> Totals:
    """The sum of the lines as rounded: a total never re-rounds what the lines show."""
    items = list(lines)
    net = sum(line.net for line in items)
    vat = sum(line.vat for line in items)
    return Totals(net_total=net, vat_total=vat, total=net + vat)


def max_discount(discounts: Sequence[Decimal]) -> Decimal:
    return max(discounts, default=Decimal(0))


# -- customers ---------------------------------------------------------------------------


class CustomerStage(StrEnum):
    """Where a customer is in its life, as the customers service says (`lifecycle_stage`)."""

    #: Registered, not yet bought: quotable, not open for ordering.
    PROSPECT = "prospect"
    #: Promoted after a first purchase: open for ordering.
    TRADITIONAL = "traditional"
    #: Deactivated: no new quote until a promotion brings it back.
    INACTIVE = "inactive"


#: Customers a quote may be made for.
QUOTABLE_STAGES = frozenset({CustomerStage.PROSPECT, CustomerStage.TRADITIONAL})


# -- price levels ------------------------------------------------------------------------


class ChannelKind(StrEnum):
    DISTRIBUTOR = "distributor"
    DEALER = "dealer"
    RETAIL = "retail"
    AGENT = "agent"
    ONLINE = "online"
    PROJECT = "project"


#: The grades of the customers service's fixed schemes (A-D and VIP/Tier), as it writes them.
GRADES: tuple[str, ...] = ("A", "B", "C", "D", "VIP", "Tier I", "Tier II", "Tier III")


def canonical_grade(raw: str) -> str:
    """`tier ii` -> `Tier II`; ValueError for a grade no fixed scheme gives."""
    wanted = " ".join(raw.split()).casefold()
    if (grade := next((g for g in GRADES if g.casefold() == wanted), None)) is None:
        raise PydanticCustomError(
            "grade.unknown",
            f"grade must be one of {', '.join(GRADES)}",
            {"grade": raw, "grades": list(GRADES)},
        )
    return grade


class PriceSource(StrEnum):
    """Where a line's price came from: the product's list price, a price list, or the line."""

    LIST_PRICE = "list_price"
    PRICE_LIST = "price_list"
    MANUAL = "manual"


@dataclass(frozen=True)
class ListedPrice:
    """A product's price in a price list of a grade (or else of a channel kind), valid from-to."""

    price_list_id: uuid.UUID
    for_grade: bool
    valid_from: date
    valid_to: date | None
    created_at: datetime
    unit_price: int


def level_price(prices: Iterable[ListedPrice], day: date) -> ListedPrice | None:
    """Of one product's prices in the lists of a customer's channel kind and grade, the one that
    applies on `day` (None: none). Per scope the list valid from the latest day (made later on a
    tie); between the scopes the lower price, each being a level the customer is entitled to."""
    newest: dict[bool, ListedPrice] = {}
    for price in prices:
        held = newest.get(price.for_grade)
        if price.valid_from <= day and (price.valid_to is None or day <= price.valid_to):
            if held is None or (price.valid_from, price.created_at) > (held.valid_from, held.created_at):
                newest[price.for_grade] = price
    return min(newest.values(), key=lambda p: (p.unit_price, not p.for_grade), default=None)


@dataclass(frozen=True)
class LinePrice:
    """A line's price, the list it came from, and its level: the price it takes when none is given."""

    unit_price: int
    source: PriceSource
    price_list_id: uuid.UUID | None
    level_price: int


def line_price(given: int | None, list_price: int, level: ListedPrice | None) -> LinePrice:
    """The price given (manual), else the applicable price list's, else the list price."""
    base = list_price if level is None else level.unit_price
    if given is not None:
        return LinePrice(given, PriceSource.MANUAL, None, base)
    if level is None:
        return LinePrice(base, PriceSource.LIST_PRICE, None, base)
    return LinePrice(base, PriceSource.PRICE_LIST, level.price_list_id, base)


def below_level_pct(level_price: int | None, quantity: int, net_amount: int) -> Fraction:
    """How far a line's net is below its level, in percent of it; 0 at or above it, or without one."""
    if not level_price:
        return Fraction(0)
    return max(Fraction(0), Fraction(level_price * quantity - net_amount, level_price * quantity) * 100)


# -- quote states ------------------------------------------------------------------------


class QuoteStatus(StrEnum):
    DRAFT = "draft"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    REJECTED = "rejected"
    SENT = "sent"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"


class QuoteAction(StrEnum):
    EDIT = "edit"
    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    SEND = "send"
    ACCEPT = "accept"
    DECLINE = "decline"
    EXPIRE = "expire"


S, A = QuoteStatus, QuoteAction

#: (current status, action) -> next status. Anything not listed is refused.
#: An edit of a submitted, approved or rejected quote sends it back to draft, so
#: approval can never be bypassed; sent and later quotes are frozen.
QUOTE_TRANSITIONS: Mapping[tuple[QuoteStatus, QuoteAction], QuoteStatus] = {
    (S.DRAFT, A.EDIT): S.DRAFT,
    (S.DRAFT, A.SUBMIT): S.PENDING_APPROVAL,
    (S.PENDING_APPROVAL, A.EDIT): S.DRAFT,
    (S.PENDING_APPROVAL, A.APPROVE): S.APPROVED,
    (S.PENDING_APPROVAL, A.REJECT): S.REJECTED,
    (S.APPROVED, A.EDIT): S.DRAFT,
    (S.APPROVED, A.SEND): S.SENT,
    (S.REJECTED, A.EDIT): S.DRAFT,
    (S.SENT, A.ACCEPT): S.ACCEPTED,
    (S.SENT, A.DECLINE): S.DECLINED,
    (S.SENT, A.EXPIRE): S.EXPIRED,
}

#: Quotes still in play: they move with their owner's portfolio.
OPEN_QUOTE_STATUSES = frozenset({S.DRAFT, S.PENDING_APPROVAL, S.APPROVED, S.REJECTED, S.SENT})

del S, A


class IllegalTransition(errors.Conflict):
    """An operation the record's current state does not allow (HTTP 409)."""


def allowed_actions(current: QuoteStatus) -> list[QuoteAction]:
    return [action for (status, action) in QUOTE_TRANSITIONS if status == current]


def quote_transition(current: QuoteStatus, action: QuoteAction) -> QuoteStatus:
    """The status after `action`; `IllegalTransition` naming what is allowed otherwise."""
    try:
        return QUOTE_TRANSITIONS[(current, action)]
    except KeyError:
        allowed = ", ".join(allowed_actions(current)) or "nothing (the quote is final)"
        raise IllegalTransition(
            f"cannot {action} a quote that is {current}; allowed from {current}: {allowed}",
            code="quote.action_not_allowed",
            params={
                "quote_action": str(action),
                "quote_status": str(current),
                "allowed": [str(a) for a in allowed_actions(current)],
            },
        ) from None


def is_past_validity(valid_until: date, today: date) -> bool:
    """A quote is valid through its `valid_until` day."""
    return today > valid_until


# -- credit check and approval -----------------------------------------------------------


class CreditStatus(StrEnum):
    PENDING = "pending"
    PASSED = "passed"
    FAILED = "failed"


class ApprovalMode(StrEnum):
    #: Every quote needs a sales manager.
    ALL = "all"
    #: Only quotes at or above `min_total`, with a line discount above `max_discount_pct`,
    #: or with a line more than `max_below_level_pct` below its level.
    THRESHOLD = "threshold"


class Approval(StrEnum):
    """How a quote was approved (its `approval_mode`)."""

    MANAGER = "manager"
    #: Below the approval thresholds, with a passed credit check.
    AUTOMATIC = "automatic"


@dataclass(frozen=True)
class ApprovalRules:
    mode: ApprovalMode = ApprovalMode.ALL
    #: Quotes with a total (VAT included) of at least this need a manager.
    min_total: int | None = None
    #: Quotes with any line discount above this percentage need a manager.
    max_discount_pct: Decimal | None = None
    #: Quotes with a line whose net is more than this percentage below its level need a manager.
    max_below_level_pct: Decimal | None = None
    #: Quotes with a total (VAT included) of at least this need two approvers, two different
    #: people, or an admin (the director's role here) alone; in either mode.
    second_approval_min_total: int | None = None

    def problem(self) -> str | None:
        """What is wrong with these rules, or None."""
        given = {self.min_total, self.max_discount_pct, self.max_below_level_pct} - {None}
        if self.mode == ApprovalMode.ALL and given:
            return "mode 'all' takes no min_total, max_discount_pct or max_below_level_pct"
        if self.mode == ApprovalMode.THRESHOLD and not given and self.second_approval_min_total is None:
            return "mode 'threshold' needs min_total, max_discount_pct, max_below_level_pct or several"
        return None

    def needs_second_approver(self, total: int) -> bool:
        return self.second_approval_min_total is not None and total >= self.second_approval_min_total

    def needs_manager(self, total: int, max_line_discount_pct: Decimal, max_below_level: Fraction) -> bool:
        """`max_below_level`: the most any line is below its level, in percent (`below_level_pct`)."""
        if self.mode == ApprovalMode.ALL or self.needs_second_approver(total):
            return True
        if self.min_total is not None and total >= self.min_total:
            return True
        if self.max_below_level_pct is not None and max_below_level > Fraction(self.max_below_level_pct):
            return True
        return self.max_discount_pct is not None and max_line_discount_pct > self.max_discount_pct


def approves_automatically(needs_manager: bool, credit: CreditStatus) -> bool:
    """A quote below the approval thresholds is approved as soon as its credit check passes;
    a failed check always waits for a manager (who must override it)."""
    return not needs_manager and credit == CreditStatus.PASSED


#: The four-eyes rule: who makes or owns a quote is not who approves it.
SELF_APPROVAL = "nobody approves a quote they made or owns: another sales manager or an admin approves it"
#: Above the rules' `second_approval_min_total`: two approvers, not one twice.
SECOND_APPROVER = (
    "you gave this quote its first approval: a second approver (another sales manager or an admin) decides"
)


def approval_refusal(
    credit: CreditStatus | None, override_reason: str | None, *, own_quote: bool = False
) -> errors.Conflict | None:
    """Why this approver may not approve now (the refusal to raise), or None when they may;
    `own_quote` when the approver made or owns the quote (refused whatever the credit check said)."""
    if own_quote:
        return errors.Conflict(SELF_APPROVAL, code="quote.own_approval")
    if credit is None or credit == CreditStatus.PENDING:
        return errors.Conflict(
            "the credit check has not answered yet; approve once it has", code="quote.credit_pending"
        )
    if credit == CreditStatus.FAILED and not (override_reason and override_reason.strip()):
        return errors.Conflict(
            "the credit check failed: approving needs an override_reason", code="quote.credit_override_needed"
        )
    return None


# -- opportunities ---------------------------------------------------------------------


class OpportunityStage(StrEnum):
    QUALIFICATION = "qualification"
    NEEDS_ANALYSIS = "needs_analysis"
    PROPOSAL = "proposal"
    NEGOTIATION = "negotiation"
    WON = "won"
    LOST = "lost"


#: Probability of winning, in percent, that weights each stage's pipeline value.
STAGE_PROBABILITY_PCT: Mapping[OpportunityStage, int] = {
    OpportunityStage.QUALIFICATION: 10,
    OpportunityStage.NEEDS_ANALYSIS: 25,
    OpportunityStage.PROPOSAL: 50,
    OpportunityStage.NEGOTIATION: 75,
    OpportunityStage.WON: 100,
    OpportunityStage.LOST: 0,
}

#: Stages in the order an opportunity moves through them (lost may happen from any open one).
STAGE_ORDER: tuple[OpportunityStage, ...] = (
    OpportunityStage.QUALIFICATION,
    OpportunityStage.NEEDS_ANALYSIS,
    OpportunityStage.PROPOSAL,
    OpportunityStage.NEGOTIATION,
    OpportunityStage.WON,
)
CLOSED_STAGES = frozenset({OpportunityStage.WON, OpportunityStage.LOST})


def stage_move(current: OpportunityStage, wanted: OpportunityStage, lost_reason: str | None) -> None:
    """Allow forward moves (skipping is fine) and `lost` with a reason, from open stages only."""
    if current in CLOSED_STAGES:
        raise IllegalTransition(
            f"the opportunity is {current}; a closed opportunity does not move",
            code="opportunity.closed",
            params={"opportunity_stage": str(current)},
        )
    if wanted == OpportunityStage.LOST:
        if not (lost_reason and lost_reason.strip()):
            raise PydanticCustomError(
                "opportunity.lost_reason_needed", "moving an opportunity to lost needs a lost_reason", {}
            )
        return
    if lost_reason is not None:
        raise PydanticCustomError(
            "opportunity.lost_reason_only_lost", "lost_reason is only for the stage lost", {}
        )
    if STAGE_ORDER.index(wanted) <= STAGE_ORDER.index(current):
        later = ", ".join(s.value for s in STAGE_ORDER[STAGE_ORDER.index(current) + 1 :])
        raise IllegalTransition(
            f"an opportunity moves forward only: from {current} to {later} or lost",
            code="opportunity.backwards",
            params={
                "opportunity_stage": str(current),
                "later": [s.value for s in STAGE_ORDER[STAGE_ORDER.index(current) + 1 :]],
            },
        )


def weighted_amount(stage: OpportunityStage, amount: int) -> int:
    return round_half_up(Fraction(amount) * STAGE_PROBABILITY_PCT[stage] / 100)


# -- orders and contracts --------------------------------------------------------------


class OrderStatus(StrEnum):
    PLACED = "placed"
    #: Cancelled before it was invoiced (`orders.cancel_order`).
    CANCELLED = "cancelled"


def cancel_refusal(status: str, number: str, invoice_number: str | None) -> errors.Conflict | None:
    """Why an order may not be cancelled (the refusal to raise), or None when it may: only a
    placed order that sales has not heard was invoiced (`InvoiceIssued`); an invoice is
    credited instead."""
    if status == OrderStatus.CANCELLED:
        return errors.Conflict(
            f"order {number} is already cancelled", code="order.already_cancelled", params={"order": number}
        )
    if invoice_number is not None:
        return errors.Conflict(
            f"order {number} is invoiced (number {invoice_number}); credit the invoice instead",
            code="order.invoiced",
            params={"order": number, "invoice_number": invoice_number},
        )
    return None


class ContractStatus(StrEnum):
    DRAFT = "draft"
    SIGNED = "signed"
    COMPLETED = "completed"
    TERMINATED = "terminated"


class ContractAction(StrEnum):
    SIGN = "sign"
    COMPLETE = "complete"
    TERMINATE = "terminate"


#: A draft that was never signed may be terminated too (abandoned), so it never lingers.
CONTRACT_TRANSITIONS: Mapping[tuple[ContractStatus, ContractAction], ContractStatus] = {
    (ContractStatus.DRAFT, ContractAction.SIGN): ContractStatus.SIGNED,
    (ContractStatus.DRAFT, ContractAction.TERMINATE): ContractStatus.TERMINATED,
    (ContractStatus.SIGNED, ContractAction.COMPLETE): ContractStatus.COMPLETED,
    (ContractStatus.SIGNED, ContractAction.TERMINATE): ContractStatus.TERMINATED,
}


def contract_transition(current: ContractStatus, action: ContractAction) -> ContractStatus:
    try:
        return CONTRACT_TRANSITIONS[(current, action)]
    except KeyError:
        allowed = ", ".join(a for (s, a) in CONTRACT_TRANSITIONS if s == current) or "nothing"
        raise IllegalTransition(
            f"cannot {action} a contract that is {current}; allowed from {current}: {allowed}",
            code="contract.action_not_allowed",
            params={
                "contract_action": str(action),
                "contract_status": str(current),
                "allowed": [str(a) for (s, a) in CONTRACT_TRANSITIONS if s == current],
            },
        ) from None


def needs_contract(total: int, threshold: int) -> bool:
    return total >= threshold


# -- document numbers ------------------------------------------------------------------


@dataclass(frozen=True)
class NumberFormat:
    #: The counter's name (`number_sequences.kind`): each kind is numbered on its own.
    kind: str
    prefix: str
    width: int

    def render(self, year: int, sequence: int) -> str:
        return f"{self.prefix}-{year}-{sequence:0{self.width}d}"


QUOTE_NUMBER = NumberFormat("quote", "Q", 5)
ORDER_NUMBER = NumberFormat("order", "O", 5)
CONTRACT_NUMBER = NumberFormat("contract", "HD", 4)

_PRODUCT_CODE = re.compile(r"^[A-Z0-9][A-Z0-9._-]{0,39}$")


def product_code(raw: str) -> str:
    """Product codes are compared upper-case: `pump-01` and `PUMP-01` are one product."""
    code = raw.strip().upper()
    if not _PRODUCT_CODE.match(code):
        raise PydanticCustomError(
            "product.code_invalid",
            "code must be 1-40 letters, digits, '.', '_' or '-', starting with a letter or digit",
            {"product": raw},
        )
    return code


# -- the audit trail -------------------------------------------------------------------


class Audited(StrEnum):
    """What the audit trail (`audit_entries.entity`) records changes of."""

    QUOTE = "quote"
    ORDER = "order"
    CONTRACT = "contract"
    OPPORTUNITY = "opportunity"
    APPROVAL_RULES = "approval_rules"
    PRICE_LIST = "price_list"
    PRODUCT_GROUP = "product_group"


class AuditAction(StrEnum):
    """What was done, as the audit trail and a record's history show it (a contract's
    moves are its `ContractAction`s)."""

    CREATED = "created"
    COPIED = "copied"
    EDITED = "edited"
    CHANGED = "changed"
    SUBMITTED = "submitted"
    CREDIT_CHECKED = "credit_checked"
    APPROVED = "approved"
    #: The first of two approvals a quote above `second_approval_min_total` needs.
    FIRST_APPROVED = "first_approved"
    REJECTED = "rejected"
    SENT = "sent"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    PLACED = "placed"
    CANCELLED = "cancelled"
    INVOICED = "invoiced"
    STAGE_CHANGED = "stage_changed"
    ENDED = "ended"
