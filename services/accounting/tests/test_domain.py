"""Accounting's rules without I/O: invoice arithmetic, settlement, the credit rule, aging."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from accounting import domain
from crm_contracts import MalformedEvent, OrderLine, OrderPlaced

pytestmark = pytest.mark.unit


def line(**overrides: Any) -> OrderLine:
    values: dict[str, Any] = {
        "product_code": "PUMP-1",
        "product_name": "Máy bơm",
        "product_group": "pumps",
        "quantity": 3,
        "unit_price": 1_250_000,
        "discount_pct": 5.0,
        "vat_rate_pct": 8.0,
        "net_amount": 3_562_500,
        "vat_amount": 285_000,
    }
    return OrderLine(**{**values, **overrides})


def order(lines: list[OrderLine], **overrides: Any) -> OrderPlaced:
    net = sum(li.net_amount for li in lines)
    vat = sum(li.vat_amount for li in lines)
    values: dict[str, Any] = {
        "order_id": uuid.uuid4(),
        "order_number": "SO-2026-000001",
        "quote_id": uuid.uuid4(),
        "customer_id": uuid.uuid4(),
        "owner_id": uuid.uuid4(),
        "lines": lines,
        "net_total": net,
        "vat_total": vat,
        "total": net + vat,
        "placed_at": datetime(2026, 3, 2, 3, 0, tzinfo=UTC),
        "order_date": date(2026, 3, 2),
    }
    return OrderPlaced(**{**values, **overrides})


# -- invoice arithmetic ----------------------------------------------------------------


def test_invoice_lines_and_totals_at_8_and_10_percent() -> None:
    eight = line()  # 3 x 1,250,000 less 5% = 3,562,500; 8% VAT = 285,000
    ten = line(
        product_code="VALVE-2",
        quantity=2,
        unit_price=999_999,
        discount_pct=0.0,
        vat_rate_pct=10.0,
        net_amount=1_999_998,
        vat_amount=200_000,  # 199,999.8 rounded
    )
    figures = domain.invoice_figures(order([eight, ten]))

    assert [(li.net_amount, li.vat_amount, li.gross_amount) for li in figures.lines] == [
        (3_562_500, 285_000, 3_847_500),
        (1_999_998, 200_000, 2_199_998),
    ]
    assert [li.vat_rate_pct for li in figures.lines] == [Decimal("8.0"), Decimal("10.0")]
    assert figures.net_total == 5_562_498
    assert figures.vat_total == 485_000
    assert figures.total == 6_047_498


def test_vat_rounded_either_way_to_whole_dong_is_accepted() -> None:
    # 10% of 1,999,998 is 199,999.8: sales may round it up or down, not further.
    for vat in (199_999, 200_000):
        ten = line(quantity=2, unit_price=999_999, discount_pct=0, vat_rate_pct=10, net_amount=1_999_998)
        figures = domain.invoice_figures(order([ten.model_copy(update={"vat_amount": vat})]))
        assert figures.total == 1_999_998 + vat
    with pytest.raises(MalformedEvent, match="vat_amount 199998 is not 10"):
        domain.invoice_figures(
            order(
                [
                    line(
                        quantity=2,
                        unit_price=999_999,
                        discount_pct=0,
                        vat_rate_pct=10,
                        net_amount=1_999_998,
                        vat_amount=199_998,
                    )
                ]
            )
        )


def test_discount_rounded_per_unit_is_accepted_but_a_wrong_net_is_not() -> None:
    # 100 x 33,333 less 7.5% is 3,083,302.5; rounding each unit's price first gives 3,083,300.
    per_unit = line(
        quantity=100, unit_price=33_333, discount_pct=7.5, net_amount=3_083_300, vat_amount=246_664
    )
    assert domain.invoice_figures(order([per_unit])).net_total == 3_083_300
    with pytest.raises(MalformedEvent, match="net_amount 3000000 is not quantity x unit_price"):
        domain.invoice_figures(
            order([per_unit.model_copy(update={"net_amount": 3_000_000, "vat_amount": 240_000})])
        )


@pytest.mark.parametrize(
    ("field", "change"),
    [("net_total", 1), ("vat_total", -1), ("total", 1000)],
)
def test_order_totals_that_disagree_with_its_lines_are_malformed(field: str, change: int) -> None:
    good = order([line()])
    bad = good.model_copy(update={field: getattr(good, field) + change})
    with pytest.raises(MalformedEvent, match=f"{field} .* is not the lines'"):
        domain.invoice_figures(bad)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"quantity": 0}, "quantity 0 is not positive"),
        ({"unit_price": -1}, "negative amount"),
        ({"discount_pct": 120.0}, "discount_pct 120.0 is not 0-100"),
        ({"vat_rate_pct": -8.0}, "vat_rate_pct -8.0 is not 0-100"),
    ],
)
def test_impossible_lines_are_malformed(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(MalformedEvent, match=message):
        domain.invoice_figures(order([line(**overrides)]))


def test_an_order_without_lines_is_malformed() -> None:
    with pytest.raises(MalformedEvent, match="has no lines"):
        domain.invoice_figures(order([], net_total=0, vat_total=0, total=0))


def test_due_date_and_numbers() -> None:
    assert domain.due_date(date(2026, 12, 15), 30) == date(2027, 1, 14)
    assert domain.due_date(date(2026, 3, 2), 0) == date(2026, 3, 2)
    assert domain.document_number("INV", 2026, 1) == "INV-2026-000001"
    assert domain.document_number("CN", 2027, 123_456) == "CN-2027-123456"


# -- settlement ------------------------------------------------------------------------


def test_invoice_status_follows_what_is_left_and_how_it_was_settled() -> None:
    status = domain.invoice_status
    assert status(balance=1000, paid_total=0, credited_total=0) == "open"
    assert status(balance=400, paid_total=600, credited_total=0) == "partially_paid"
    assert status(balance=0, paid_total=1000, credited_total=0) == "paid"
    assert status(balance=0, paid_total=600, credited_total=400) == "paid"
    assert status(balance=700, paid_total=0, credited_total=300) == "open"
    assert status(balance=0, paid_total=0, credited_total=1000) == "credited"


def test_nothing_settles_more_than_is_owed() -> None:
    domain.check_settlement(500, 500, "INV-2026-000001")
    with pytest.raises(domain.ExceedsBalance, match="amount 501 exceeds the open balance 500"):
        domain.check_settlement(501, 500, "INV-2026-000001")


# -- the credit rule -------------------------------------------------------------------


def test_credit_passes_up_to_the_limit_and_fails_beyond_it() -> None:
    at_limit = domain.credit_decision(
        open_receivables=30_000_000, quote_total=20_000_000, credit_limit=50_000_000
    )
    assert at_limit.exposure == 50_000_000
    assert at_limit.passed
    over = domain.credit_decision(
        open_receivables=30_000_000, quote_total=20_000_001, credit_limit=50_000_000
    )
    assert over.exposure == 50_000_001
    assert not over.passed
    assert not domain.credit_decision(0, 1, 0).passed
    assert domain.credit_decision(0, 0, 0).passed


# -- aging -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "bucket"),
    [
        (-10, "current"),
        (0, "current"),
        (1, "days_1_30"),
        (30, "days_1_30"),
        (31, "days_31_60"),
        (60, "days_31_60"),
        (61, "days_61_90"),
        (90, "days_61_90"),
        (91, "over_90"),
        (400, "over_90"),
    ],
)
def test_aging_buckets(days: int, bucket: str) -> None:
    as_of = date(2026, 6, 30)
    due = date.fromordinal(as_of.toordinal() - days)
    assert domain.days_overdue(due, as_of) == days
    assert domain.bucket_of(due, as_of) == bucket


def test_aging_sums_per_customer_largest_first() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    as_of = date(2026, 6, 30)
    rows = domain.age(
        [
            domain.OpenItem(a, date(2026, 7, 15), 100),  # not due yet
            domain.OpenItem(a, date(2026, 6, 1), 200),  # 29 days
            domain.OpenItem(a, date(2026, 3, 1), 300),  # 121 days
            domain.OpenItem(b, date(2026, 4, 15), 5_000),  # 76 days
            domain.OpenItem(b, date(2026, 6, 30), 0),  # settled: not counted
        ],
        as_of,
    )
    assert [r.customer_id for r in rows] == [b, a]
    assert rows[0].buckets == {
        "current": 0,
        "days_1_30": 0,
        "days_31_60": 0,
        "days_61_90": 5_000,
        "over_90": 0,
    }
    assert rows[1].buckets == {
        "current": 100,
        "days_1_30": 200,
        "days_31_60": 0,
        "days_61_90": 0,
        "over_90": 300,
    }
    assert (rows[1].total, rows[1].overdue) == (600, 500)


def test_the_net_part_of_a_credit_is_in_proportion_rounded_half_up() -> None:
    assert domain.net_part(1_100_000, 1_000_000, 1_100_000) == 1_000_000
    assert domain.net_part(1, 1_000_000, 1_100_000) == 1  # 0.909 -> 1
    assert domain.net_part(55, 100, 110) == 50
    assert domain.net_part(11, 100, 108) == 10  # 10.185 -> 10
    assert domain.net_part(500, 0, 0) == 0
