"""Sales' rules without I/O: money, price levels, quote states, approval, opportunities,
contracts, document numbers (periods and performance: `test_performance_rules.py`)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
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
    IllegalTransition,
    ListedPrice,
    OpportunityStage,
    PriceSource,
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

#: No line below its level.
AT_LEVEL = Fraction(0)


def test_mode_all_needs_a_manager_for_everything() -> None:
    rules = ApprovalRules()
    assert rules.needs_manager(0, Decimal(0), AT_LEVEL)
    assert rules.problem() is None


def test_threshold_on_total_is_inclusive() -> None:
    rules = ApprovalRules(ApprovalMode.THRESHOLD, min_total=100_000_000)
    assert not rules.needs_manager(99_999_999, Decimal(50), AT_LEVEL)
    assert rules.needs_manager(100_000_000, Decimal(0), AT_LEVEL)


def test_threshold_on_discount_is_above_the_limit() -> None:
    rules = ApprovalRules(ApprovalMode.THRESHOLD, max_discount_pct=Decimal(10))
    assert not rules.needs_manager(10**12, Decimal(10), AT_LEVEL)
    assert rules.needs_manager(1, Decimal("10.01"), AT_LEVEL)


def test_both_thresholds_either_one_triggers() -> None:
    rules = ApprovalRules(ApprovalMode.THRESHOLD, min_total=1_000, max_discount_pct=Decimal(5))
    assert not rules.needs_manager(999, Decimal(5), AT_LEVEL)
    assert rules.needs_manager(1_000, Decimal(0), AT_LEVEL)
    assert rules.needs_manager(1, Decimal(6), AT_LEVEL)


def test_inconsistent_rules_are_named() -> None:
    assert ApprovalRules(ApprovalMode.THRESHOLD).problem() is not None
    assert ApprovalRules(ApprovalMode.ALL, min_total=5).problem() is not None
    assert "max_below_level_pct" in str(
        ApprovalRules(ApprovalMode.ALL, max_below_level_pct=Decimal(1)).problem()
    )
    # A threshold of 0 is a threshold: every discounted line needs a manager.
    assert ApprovalRules(ApprovalMode.THRESHOLD, max_discount_pct=Decimal(0)).problem() is None
    assert ApprovalRules(ApprovalMode.THRESHOLD, max_below_level_pct=Decimal(0)).problem() is None


def test_a_line_further_below_its_level_than_the_rules_allow_needs_a_manager() -> None:
    rules = ApprovalRules(ApprovalMode.THRESHOLD, max_below_level_pct=Decimal("5"))
    assert not rules.needs_manager(10**12, Decimal(50), Fraction(5))
    assert rules.needs_manager(1, Decimal(0), Fraction(5) + Fraction(1, 10**6))
    # Without the rule, being below the level needs no manager.
    assert not ApprovalRules(ApprovalMode.THRESHOLD, min_total=10).needs_manager(1, Decimal(0), Fraction(90))
    assert ApprovalRules().needs_manager(0, Decimal(0), AT_LEVEL)


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


# -- price levels -------------------------------------------------------------------------

DAY = date(2027, 3, 15)
MADE = datetime(2027, 1, 1, tzinfo=UTC)


def listed(
    price: int,
    *,
    grade: bool = False,
    valid_from: date = date(2027, 1, 1),
    valid_to: date | None = None,
    made: datetime = MADE,
) -> ListedPrice:
    return ListedPrice(uuid.uuid4(), grade, valid_from, valid_to, made, price)


@pytest.mark.parametrize(
    ("raw", "grade"), [("a", "A"), ("vip", "VIP"), ("  tier   ii ", "Tier II"), ("TIER III", "Tier III")]
)
def test_grades_are_those_of_the_fixed_schemes_written_as_customers_writes_them(raw: str, grade: str) -> None:
    assert domain.canonical_grade(raw) == grade


@pytest.mark.parametrize("raw", ["E", "Tier IV", "gold", ""])
def test_a_grade_no_fixed_scheme_gives_is_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="grade must be one of A, B, C, D, VIP, Tier I"):
        domain.canonical_grade(raw)


def test_a_list_applies_from_its_first_through_its_last_day() -> None:
    first, last = date(2027, 3, 15), date(2027, 3, 31)
    price = listed(100, valid_from=first, valid_to=last)
    assert domain.level_price([price], first) == price
    assert domain.level_price([price], last) == price
    assert domain.level_price([price], first - timedelta(days=1)) is None
    assert domain.level_price([price], last + timedelta(days=1)) is None
    assert domain.level_price([listed(100, valid_from=first)], date(2099, 1, 1)) is not None


def test_no_list_no_level() -> None:
    assert domain.level_price([], DAY) is None


def test_of_two_lists_of_one_scope_the_one_valid_from_the_latest_day_wins_whatever_its_price() -> None:
    older = listed(90, valid_from=date(2027, 1, 1))
    newer = listed(120, valid_from=date(2027, 3, 1))
    assert domain.level_price([older, newer], DAY) == newer
    assert domain.level_price([newer, older], DAY) == newer
    # Before the newer one starts, and after it ends, the older one applies again.
    assert domain.level_price([older, newer], date(2027, 2, 28)) == older
    ended = listed(120, valid_from=date(2027, 3, 1), valid_to=date(2027, 3, 10))
    assert domain.level_price([older, ended], DAY) == older


def test_of_two_lists_valid_from_the_same_day_the_one_made_later_wins() -> None:
    first = listed(90, made=MADE)
    second = listed(95, made=MADE + timedelta(minutes=1))
    assert domain.level_price([second, first], DAY) == second


def test_between_a_channel_kind_list_and_a_grade_list_the_lower_price_wins() -> None:
    dealer = listed(900, valid_from=date(2027, 3, 1))
    vip = listed(850, grade=True, valid_from=date(2027, 1, 1))
    assert domain.level_price([dealer, vip], DAY) == vip
    cheaper_dealer = listed(800)
    assert domain.level_price([cheaper_dealer, vip], DAY) == cheaper_dealer
    # Each scope's newest first, then the lower: an older, cheaper dealer list does not count.
    assert domain.level_price([listed(700), dealer, vip], DAY) == vip


def test_on_equal_prices_the_grade_list_is_the_one_named() -> None:
    dealer, vip = listed(850), listed(850, grade=True)
    assert domain.level_price([dealer, vip], DAY) == vip
    assert domain.level_price([vip, dealer], DAY) == vip


def test_a_line_takes_its_given_price_else_the_level_else_the_list_price() -> None:
    level = listed(850)
    assert domain.line_price(None, 1_000, None) == domain.LinePrice(
        1_000, PriceSource.LIST_PRICE, None, 1_000
    )
    assert domain.line_price(None, 1_000, level) == domain.LinePrice(
        850, PriceSource.PRICE_LIST, level.price_list_id, 850
    )
    # A given price is manual, even when it is the level's; its level is still known.
    assert domain.line_price(850, 1_000, level) == domain.LinePrice(850, PriceSource.MANUAL, None, 850)
    assert domain.line_price(0, 1_000, None) == domain.LinePrice(0, PriceSource.MANUAL, None, 1_000)


def test_below_level_is_measured_on_the_net_after_the_discount() -> None:
    # 2 x 1,000 at level, paid 1,900: 5% below.
    assert domain.below_level_pct(1_000, 2, 1_900) == Fraction(5)
    # A price cut and a discount add up: 950 less 5% (47.5, rounded half up to 48) = 902 of 1,000.
    line = domain.line_amounts(1, 950, Decimal(5), 10)
    assert line.net == 902 and domain.below_level_pct(1_000, 1, line.net) == Fraction(98, 10)
    assert domain.below_level_pct(1_000, 1, 1_200) == 0  # above the level
    assert domain.below_level_pct(None, 1, 10) == 0  # a line from before price levels
    assert domain.below_level_pct(0, 1, 0) == 0  # a free product has nothing below it
