"""Sales' rules without I/O: money, quote states, approval, opportunities, periods, performance."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from sales import domain
from sales.domain import (
    ApprovalMode,
    ApprovalRules,
    ContractAction,
    ContractStatus,
    CreditStatus,
    FactKind,
    IllegalTransition,
    OpportunityStage,
    QuoteAction,
    QuoteStatus,
)

pytestmark = pytest.mark.unit


# -- money -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "rounded"),
    [
        (Fraction(1, 2), 1),
        (Fraction(3, 2), 2),  # banker's rounding would give 2 too
        (Fraction(5, 2), 3),  # ... but 2 here: half-up gives 3
        (Fraction(2499, 1000), 2),
        (Fraction(-5, 2), -3),
        (Fraction(0), 0),
    ],
)
def test_round_half_up(amount: Fraction, rounded: int) -> None:
    assert domain.round_half_up(amount) == rounded


def test_a_line_without_discount_at_10_percent_vat() -> None:
    line = domain.line_amounts(3, 1_500_000, Decimal(0), 10)
    assert (line.gross, line.discount, line.net, line.vat, line.total) == (
        4_500_000,
        0,
        4_500_000,
        450_000,
        4_950_000,
    )


def test_discount_rounds_half_up_to_the_dong() -> None:
    # 1,001 x 50% = 500.5 -> 501 off, net 500
    line = domain.line_amounts(1, 1_001, Decimal("50"), 0)
    assert (line.discount, line.net, line.vat) == (501, 500, 0)


def test_vat_rounds_half_up_on_the_rounded_net() -> None:
    # net 12,345 x 10% = 1,234.5 -> 1,235 (banker's rounding would give 1,234)
    line = domain.line_amounts(1, 12_345, Decimal(0), 10)
    assert (line.net, line.vat, line.total) == (12_345, 1_235, 13_580)


def test_fractional_discount_and_8_percent_vat() -> None:
    # 3 x 333,333 = 999,999; 12.5% off = 124,999.875 -> 125,000; net 874,999;
    # 8% VAT = 69,999.92 -> 70,000
    line = domain.line_amounts(3, 333_333, Decimal("12.5"), 8)
    assert (line.gross, line.discount, line.net, line.vat, line.total) == (
        999_999,
        125_000,
        874_999,
        70_000,
        944_999,
    )


def test_full_discount_leaves_nothing() -> None:
    line = domain.line_amounts(7, 250_000, Decimal(100), 10)
    assert (line.net, line.vat, line.total) == (0, 0, 0)


def test_totals_add_the_rounded_lines_without_rounding_again() -> None:
    lines = [domain.line_amounts(1, 5, Decimal(0), 10) for _ in range(3)]  # each VAT 0.5 -> 1
    totals = domain.totals(lines)
    assert (totals.net_total, totals.vat_total, totals.total) == (15, 3, 18)


@pytest.mark.parametrize(
    ("quantity", "price", "discount", "vat"),
    [(0, 1, Decimal(0), 10), (1, -1, Decimal(0), 10), (1, 1, Decimal(101), 10), (1, 1, Decimal(0), 7)],
)
def test_impossible_lines_are_refused(quantity: int, price: int, discount: Decimal, vat: int) -> None:
    with pytest.raises(ValueError):
        domain.line_amounts(quantity, price, discount, vat)


# -- quote states ------------------------------------------------------------------------

LEGAL = {
    (QuoteStatus.DRAFT, QuoteAction.EDIT): QuoteStatus.DRAFT,
    (QuoteStatus.DRAFT, QuoteAction.SUBMIT): QuoteStatus.PENDING_APPROVAL,
    (QuoteStatus.PENDING_APPROVAL, QuoteAction.EDIT): QuoteStatus.DRAFT,
    (QuoteStatus.PENDING_APPROVAL, QuoteAction.APPROVE): QuoteStatus.APPROVED,
    (QuoteStatus.PENDING_APPROVAL, QuoteAction.REJECT): QuoteStatus.REJECTED,
    (QuoteStatus.APPROVED, QuoteAction.EDIT): QuoteStatus.DRAFT,
    (QuoteStatus.APPROVED, QuoteAction.SEND): QuoteStatus.SENT,
    (QuoteStatus.REJECTED, QuoteAction.EDIT): QuoteStatus.DRAFT,
    (QuoteStatus.SENT, QuoteAction.ACCEPT): QuoteStatus.ACCEPTED,
    (QuoteStatus.SENT, QuoteAction.DECLINE): QuoteStatus.DECLINED,
    (QuoteStatus.SENT, QuoteAction.EXPIRE): QuoteStatus.EXPIRED,
}


@pytest.mark.parametrize(("current", "action"), list(LEGAL))
def test_every_legal_quote_transition(current: QuoteStatus, action: QuoteAction) -> None:
    assert domain.quote_transition(current, action) == LEGAL[(current, action)]


ILLEGAL = [(s, a) for s in QuoteStatus for a in QuoteAction if (s, a) not in LEGAL]


@pytest.mark.parametrize(("current", "action"), ILLEGAL)
def test_every_illegal_quote_transition_names_what_is_allowed(
    current: QuoteStatus, action: QuoteAction
) -> None:
    with pytest.raises(IllegalTransition) as refused:
        domain.quote_transition(current, action)
    message = str(refused.value)
    assert f"cannot {action} a quote that is {current}" in message
    allowed = [a for (s, a) in LEGAL if s == current]
    for name in allowed:
        assert name.value in message
    if not allowed:
        assert "final" in message


def test_the_table_is_exactly_the_legal_set() -> None:
    assert dict(domain.QUOTE_TRANSITIONS) == LEGAL


def test_no_way_around_approval() -> None:
    """Nothing reaches approved except approval, and sending needs approved."""
    into_approved = {k for k, v in domain.QUOTE_TRANSITIONS.items() if v == QuoteStatus.APPROVED}
    assert into_approved == {(QuoteStatus.PENDING_APPROVAL, QuoteAction.APPROVE)}
    into_sent = {k for k, v in domain.QUOTE_TRANSITIONS.items() if v == QuoteStatus.SENT}
    assert into_sent == {(QuoteStatus.APPROVED, QuoteAction.SEND)}


def test_frozen_quotes_cannot_be_edited() -> None:
    for status in (QuoteStatus.SENT, QuoteStatus.ACCEPTED, QuoteStatus.DECLINED, QuoteStatus.EXPIRED):
        with pytest.raises(IllegalTransition):
            domain.quote_transition(status, QuoteAction.EDIT)


def test_validity_is_inclusive_of_its_last_day() -> None:
    assert not domain.is_past_validity(date(2026, 9, 30), date(2026, 9, 30))
    assert domain.is_past_validity(date(2026, 9, 30), date(2026, 10, 1))


# -- approval rules ------------------------------------------------------------------------


def test_mode_all_needs_a_manager_for_everything() -> None:
    rules = ApprovalRules()
    assert rules.needs_manager(0, Decimal(0))
    assert rules.problem() is None


def test_threshold_on_total_is_inclusive() -> None:
    rules = ApprovalRules(ApprovalMode.THRESHOLD, min_total=100_000_000)
    assert not rules.needs_manager(99_999_999, Decimal(50))
    assert rules.needs_manager(100_000_000, Decimal(0))


def test_threshold_on_discount_is_above_the_limit() -> None:
    rules = ApprovalRules(ApprovalMode.THRESHOLD, max_discount_pct=Decimal(10))
    assert not rules.needs_manager(10**12, Decimal(10))
    assert rules.needs_manager(1, Decimal("10.01"))


def test_both_thresholds_either_one_triggers() -> None:
    rules = ApprovalRules(ApprovalMode.THRESHOLD, min_total=1_000, max_discount_pct=Decimal(5))
    assert not rules.needs_manager(999, Decimal(5))
    assert rules.needs_manager(1_000, Decimal(0))
    assert rules.needs_manager(1, Decimal(6))


def test_inconsistent_rules_are_named() -> None:
    assert ApprovalRules(ApprovalMode.THRESHOLD).problem() is not None
    assert ApprovalRules(ApprovalMode.ALL, min_total=5).problem() is not None


@pytest.mark.parametrize(
    ("needs_manager", "credit", "automatic"),
    [
        (False, CreditStatus.PASSED, True),
        (False, CreditStatus.FAILED, False),
        (False, CreditStatus.PENDING, False),
        (True, CreditStatus.PASSED, False),
        (True, CreditStatus.FAILED, False),
    ],
)
def test_automatic_approval_only_below_thresholds_with_a_passed_check(
    needs_manager: bool, credit: CreditStatus, automatic: bool
) -> None:
    assert domain.approves_automatically(needs_manager, credit) is automatic


def test_a_manager_waits_for_the_credit_check() -> None:
    assert domain.approval_refusal(None, None) is not None
    assert domain.approval_refusal(CreditStatus.PENDING, "anyway") is not None


def test_a_failed_check_needs_an_override_reason() -> None:
    assert domain.approval_refusal(CreditStatus.FAILED, None) is not None
    assert domain.approval_refusal(CreditStatus.FAILED, "   ") is not None
    assert domain.approval_refusal(CreditStatus.FAILED, "long-standing customer, paid late once") is None
    assert domain.approval_refusal(CreditStatus.PASSED, None) is None


# -- opportunities ---------------------------------------------------------------------------


def test_stage_probabilities() -> None:
    assert [domain.STAGE_PROBABILITY_PCT[s] for s in OpportunityStage] == [10, 25, 50, 75, 100, 0]


def test_opportunities_move_forward_skipping_is_fine() -> None:
    domain.stage_move(OpportunityStage.QUALIFICATION, OpportunityStage.NEEDS_ANALYSIS, None)
    domain.stage_move(OpportunityStage.QUALIFICATION, OpportunityStage.NEGOTIATION, None)
    domain.stage_move(OpportunityStage.NEGOTIATION, OpportunityStage.WON, None)


def test_opportunities_do_not_move_back_or_stay() -> None:
    for wanted in (
        OpportunityStage.QUALIFICATION,
        OpportunityStage.NEEDS_ANALYSIS,
        OpportunityStage.PROPOSAL,
    ):
        with pytest.raises(IllegalTransition):
            domain.stage_move(OpportunityStage.PROPOSAL, wanted, None)


def test_lost_needs_a_reason_and_closed_ones_are_final() -> None:
    with pytest.raises(ValueError):
        domain.stage_move(OpportunityStage.PROPOSAL, OpportunityStage.LOST, None)
    domain.stage_move(OpportunityStage.PROPOSAL, OpportunityStage.LOST, "price too high")
    for closed in (OpportunityStage.WON, OpportunityStage.LOST):
        with pytest.raises(IllegalTransition):
            domain.stage_move(closed, OpportunityStage.LOST, "again")
        with pytest.raises(IllegalTransition):
            domain.stage_move(closed, OpportunityStage.NEGOTIATION, None)


def test_weighted_amount() -> None:
    assert domain.weighted_amount(OpportunityStage.NEGOTIATION, 1_000_001) == 750_001  # 750,000.75
    assert domain.weighted_amount(OpportunityStage.LOST, 5_000) == 0


# -- contracts and numbers -------------------------------------------------------------------


def test_contract_states() -> None:
    assert domain.contract_transition(ContractStatus.DRAFT, ContractAction.SIGN) == ContractStatus.SIGNED
    assert (
        domain.contract_transition(ContractStatus.SIGNED, ContractAction.COMPLETE) == ContractStatus.COMPLETED
    )
    assert (
        domain.contract_transition(ContractStatus.SIGNED, ContractAction.TERMINATE)
        == ContractStatus.TERMINATED
    )
    for status, action in [
        (ContractStatus.DRAFT, ContractAction.COMPLETE),
        (ContractStatus.COMPLETED, ContractAction.TERMINATE),
        (ContractStatus.TERMINATED, ContractAction.SIGN),
    ]:
        with pytest.raises(IllegalTransition):
            domain.contract_transition(status, action)


def test_contract_threshold_is_inclusive() -> None:
    assert domain.needs_contract(500_000_000, 500_000_000)
    assert not domain.needs_contract(499_999_999, 500_000_000)


def test_document_numbers() -> None:
    assert domain.QUOTE_NUMBER.render(2026, 7) == "Q-2026-00007"
    assert domain.ORDER_NUMBER.render(2026, 12345) == "O-2026-12345"
    assert domain.CONTRACT_NUMBER.render(2026, 3) == "HD-2026-0003"


def test_product_codes_are_upper_case() -> None:
    assert domain.product_code(" pump-01 ") == "PUMP-01"
    with pytest.raises(ValueError):
        domain.product_code("bơm 01")


# -- periods and performance -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "start", "end", "previous"),
    [
        ("2026", date(2026, 1, 1), date(2027, 1, 1), "2025"),
        ("2026-Q3", date(2026, 7, 1), date(2026, 10, 1), "2026-Q2"),
        ("2026-q1", date(2026, 1, 1), date(2026, 4, 1), "2025-Q4"),
        ("2026-09", date(2026, 9, 1), date(2026, 10, 1), "2026-08"),
        ("2026-01", date(2026, 1, 1), date(2026, 2, 1), "2025-12"),
        ("2026-12", date(2026, 12, 1), date(2027, 1, 1), "2026-11"),
    ],
)
def test_periods(text: str, start: date, end: date, previous: str) -> None:
    period = domain.parse_period(text)
    assert (period.start, period.end, period.previous().label) == (start, end, previous)
    assert period.previous().end == period.start


@pytest.mark.parametrize("text", ["26", "2026-Q5", "2026-13", "2026-9", "last year", ""])
def test_bad_periods(text: str) -> None:
    with pytest.raises(ValueError):
        domain.parse_period(text)


def test_conversion_rate_is_of_the_leads_decided() -> None:
    assert domain.conversion_rate(3, 1) == 0.75
    assert domain.conversion_rate(1, 2) == 0.3333
    assert domain.conversion_rate(0, 0) is None


def test_growth_against_the_previous_period() -> None:
    assert domain.growth(150, 100) == 0.5
    assert domain.growth(50, 100) == -0.5
    assert domain.growth(100, 0) is None
    assert domain.growth(0, 0) is None


def test_a_performance_row_from_counted_facts() -> None:
    row = domain.performance(
        {
            FactKind.LEAD_CAPTURED: (10, 0),
            FactKind.LEAD_QUALIFIED: (4, 0),
            FactKind.LEAD_DISQUALIFIED: (4, 0),
            FactKind.PROSPECT_GAINED: (4, 0),
            FactKind.QUOTE_SENT: (3, 900),
            FactKind.QUOTE_ACCEPTED: (2, 600),
            FactKind.ORDER_PLACED: (2, 550),
        },
        previous_revenue=440,
    )
    assert (row.leads_worked, row.converted, row.disqualified, row.prospects_gained) == (10, 4, 4, 4)
    assert (row.quotes_sent, row.quotes_accepted, row.orders, row.revenue) == (3, 2, 2, 550)
    assert row.conversion_rate == 0.5
    assert row.revenue_growth == 0.25


def test_an_empty_row() -> None:
    row = domain.performance({}, previous_revenue=0)
    assert (row.revenue, row.conversion_rate, row.revenue_growth) == (0, None, None)
