"""Planning rules without I/O: the market volume of any period, shares of a market and of
a province's revenue, proposed targets, and the rows of a target import file."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from crm_kit import errors
from marketing import domain, target_import
from marketing.domain import DerivedVolume, Period
from marketing.schemas import TargetProposalIn

pytestmark = pytest.mark.unit


def month(text: str) -> Period:
    return Period.parse(text, months=True)


# -- market share by month and quarter ---------------------------------------------------


def test_the_market_share_report_takes_months_but_volumes_do_not() -> None:
    assert month("2027-03") == Period(2027, 1, 3)
    with pytest.raises(domain.InvalidPeriod):
        Period.parse("2027-03")  # market volumes are estimated per year or quarter


def test_a_period_with_its_own_estimate_has_that_volume() -> None:
    estimates = {"2027": 1_200, "2027-Q1": 600, "2027-Q2": 300}
    assert domain.market_volume(Period(2027), estimates) == DerivedVolume(1_200, ("2027",))
    assert domain.market_volume(Period(2027, 2), estimates) == DerivedVolume(300, ("2027-Q2",))


def test_a_month_is_a_third_of_its_quarter_else_a_twelfth_of_its_year() -> None:
    estimates = {"2027": 1_200, "2027-Q1": 600}
    assert domain.market_volume(month("2027-02"), estimates) == DerivedVolume(200, ("2027-Q1",))
    assert domain.market_volume(month("2027-05"), estimates) == DerivedVolume(100, ("2027",))
    assert domain.market_volume(month("2027-05"), {"2027-Q1": 600}) is None
    assert domain.market_volume(month("2027-05"), {"2026": 1_200, "2028-Q2": 9}) is None


def test_a_quarter_without_an_estimate_is_a_quarter_of_its_year() -> None:
    assert domain.market_volume(Period(2027, 3), {"2027": 1_000, "2027-Q1": 7}) == DerivedVolume(
        250, ("2027",)
    )
    assert domain.market_volume(Period(2027, 3), {"2027-Q1": 7}) is None


def test_a_year_without_an_estimate_is_its_four_quarters_when_all_are_estimated() -> None:
    quarters = {"2027-Q1": 1, "2027-Q2": 20, "2027-Q3": 300, "2027-Q4": 4_000}
    assert domain.market_volume(Period(2027), quarters) == DerivedVolume(
        4_321, ("2027-Q1", "2027-Q2", "2027-Q3", "2027-Q4")
    )
    three = {k: v for k, v in quarters.items() if k != "2027-Q4"}
    assert domain.market_volume(Period(2027), three) is None  # three quarters are not a year


def test_even_parts_are_rounded_to_the_nearest_dong() -> None:
    assert domain.divide_evenly(1_000, 3) == 333
    assert domain.divide_evenly(1_001, 3) == 334
    assert domain.divide_evenly(6, 4) == 2  # 1.5: half up
    assert domain.divide_evenly(0, 12) == 0
    assert domain.market_volume(month("2027-01"), {"2027": 1_000}) == DerivedVolume(83, ("2027",))


def test_a_market_volume_reads_its_year_and_quarters() -> None:
    assert [str(p) for p in domain.estimate_periods(month("2027-11"))] == [
        "2027",
        "2027-Q1",
        "2027-Q2",
        "2027-Q3",
        "2027-Q4",
    ]
    assert domain.estimate_periods(Period(2027)) == domain.estimate_periods(Period(2027, 2))


def test_the_previous_period_of_a_month_is_the_month_before() -> None:
    assert str(month("2027-03").previous()) == "2027-02"
    assert str(month("2027-01").previous()) == "2026-12"


# -- channel mix ----------------------------------------------------------------------


def test_a_channels_part_of_a_provinces_revenue() -> None:
    assert domain.part_of(250, 1_000) == 0.25
    assert domain.part_of(0, 1_000) == 0.0
    assert domain.part_of(1_000, 1_000) == 1.0
    assert domain.part_of(0, 0) is None  # the province sold nothing
    assert domain.part_of(10, -5) is None  # credit notes took more than was sold


# -- proposed targets -----------------------------------------------------------------


def test_a_proposed_target_is_the_volume_times_the_share_rounded() -> None:
    assert domain.proposed_target(1_000_000_000, Decimal("0.15")) == 150_000_000
    assert domain.proposed_target(333, Decimal("0.5")) == 167  # 166.5: half up
    assert domain.proposed_target(999, Decimal(1)) == 999
    assert domain.proposed_target(10**15, Decimal("0.000001")) == 10**9  # exact, no float
    for bad in (Decimal(0), Decimal("-0.1"), Decimal("1.000001")):
        with pytest.raises(ValueError, match="at most 1"):
            domain.proposed_target(1_000, bad)


@pytest.mark.parametrize("share", [0, -0.5, 1.01, 2, "NaN", "Infinity", "0.1234567", "much"])
def test_a_proposal_refuses_a_share_outside_0_to_1(share: object) -> None:
    with pytest.raises(ValidationError) as raised:
        TargetProposalIn.model_validate({"period": "2027", "share": share})
    assert [e["loc"] for e in raised.value.errors()] == [("share",)]


def test_a_proposal_request() -> None:
    body = TargetProposalIn.model_validate(
        {"period": "2027-q2", "share": 0.1, "region_codes": ["79", "79", "Hà Nội"]}
    )
    assert (body.period, body.share, body.region_codes, body.accept) == (
        "2027-Q2",
        Decimal("0.1"),
        ["79", "Hà Nội"],
        False,
    )
    for bad in ({"period": "2027-13"}, {"accept": "maybe"}, {"salesperson_id": None}):
        with pytest.raises(ValidationError):
            TargetProposalIn.model_validate({"period": "2027", "share": 0.1, **bad})


# -- target import rows ---------------------------------------------------------------


def test_target_rows_are_checked_one_by_one() -> None:
    data = (
        "\ufeffPeriod;Region_Code;channel_id;salesperson;product_group;amount\n"
        "2027-03;Bình Dương;Đại lý Bắc;lan.nguyen;pumps;1.500.000\n"
        "2027;01;;;;10000000000\n"
        "2027-13;Atlantis;;;;-1\n"
        ";;;;;\n"
        "2027-q1;48;;;" + "x" * 101 + ";\n"
    ).encode()
    parsed = list(target_import.parse_sheet(data))
    assert [line for line, _, _ in parsed] == [2, 3, 4, 6]
    assert parsed[0][1] == target_import.TargetRow(
        "2027-03", "79", "Đại lý Bắc", "lan.nguyen", "pumps", 1_500_000
    )
    assert parsed[1][1] == target_import.TargetRow("2027", "01", "", "", None, 10_000_000_000)
    assert parsed[2][1] is None
    assert [(p.column, p.code) for p in parsed[2][2]] == [
        ("period", "period.not_year_quarter_or_month"),
        ("region_code", "region.no_match"),
        ("amount", "import.amount_invalid"),
    ]
    assert [p.params for p in parsed[2][2]][1:] == [{"region": "Atlantis"}, {"value": "-1"}]
    assert parsed[3][1] is None
    assert [(p.column, p.code, p.params) for p in parsed[3][2]] == [
        ("product_group", "string_too_long", {"max_length": 100}),
        ("amount", "missing", {}),
    ]
    assert parsed[3][2][1].text() == "amount: missing"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"period,region_code\n2027,01\n", "lacks the column(s) amount"),
        (b"period,region_code,amount,owner\n", "unknown column(s) owner"),
        ("period\n".encode("utf-16"), "not UTF-8"),
    ],
)
def test_unreadable_target_files(data: bytes, message: str) -> None:
    with pytest.raises(errors.Invalid, match=message.replace("(", r"\(").replace(")", r"\)")):
        list(target_import.parse_sheet(data))


def test_a_target_file_past_its_size_is_too_large() -> None:
    with pytest.raises(errors.TooLarge):
        list(
            target_import.parse_sheet(b"period,region_code,amount\n" + b" " * target_import.MAX_IMPORT_BYTES)
        )
