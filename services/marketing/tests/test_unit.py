"""Marketing's rules without I/O: the region data, periods, shares, the channel tree, CSV rows."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date

import pytest
from pydantic import ValidationError

from crm_kit import errors
from crm_kit.text import fold
from marketing import domain, regions, volumes
from marketing.domain import Period
from marketing.schemas import CampaignCreate, ChannelCreate, ChannelPatch, MarketVolumeCreate

pytestmark = pytest.mark.unit

#: Decision 19/2025/QĐ-TTg, list and codes of the 34 provincial-level units from 1 July 2025,
#: typed from the decision's table (independently of `provinces.csv`).
OFFICIAL_34 = {
    "01": "Thành phố Hà Nội",
    "04": "Tỉnh Cao Bằng",
    "08": "Tỉnh Tuyên Quang",
    "11": "Tỉnh Điện Biên",
    "12": "Tỉnh Lai Châu",
    "14": "Tỉnh Sơn La",
    "15": "Tỉnh Lào Cai",
    "19": "Tỉnh Thái Nguyên",
    "20": "Tỉnh Lạng Sơn",
    "22": "Tỉnh Quảng Ninh",
    "24": "Tỉnh Bắc Ninh",
    "25": "Tỉnh Phú Thọ",
    "31": "Thành phố Hải Phòng",
    "33": "Tỉnh Hưng Yên",
    "37": "Tỉnh Ninh Bình",
    "38": "Tỉnh Thanh Hóa",
    "40": "Tỉnh Nghệ An",
    "42": "Tỉnh Hà Tĩnh",
    "44": "Tỉnh Quảng Trị",
    "46": "Thành phố Huế",
    "48": "Thành phố Đà Nẵng",
    "51": "Tỉnh Quảng Ngãi",
    "52": "Tỉnh Gia Lai",
    "56": "Tỉnh Khánh Hòa",
    "66": "Tỉnh Đắk Lắk",
    "68": "Tỉnh Lâm Đồng",
    "75": "Tỉnh Đồng Nai",
    "79": "Thành phố Hồ Chí Minh",
    "80": "Tỉnh Tây Ninh",
    "82": "Tỉnh Đồng Tháp",
    "86": "Tỉnh Vĩnh Long",
    "91": "Tỉnh An Giang",
    "92": "Thành phố Cần Thơ",
    "96": "Tỉnh Cà Mau",
}

#: Resolution 202/2025/QH15: the 23 units formed by merging, and the former units each took in.
MERGERS = {
    "08": {"Tuyên Quang", "Hà Giang"},
    "15": {"Lào Cai", "Yên Bái"},
    "19": {"Thái Nguyên", "Bắc Kạn"},
    "25": {"Phú Thọ", "Vĩnh Phúc", "Hòa Bình"},
    "24": {"Bắc Ninh", "Bắc Giang"},
    "33": {"Hưng Yên", "Thái Bình"},
    "31": {"Hải Phòng", "Hải Dương"},
    "37": {"Ninh Bình", "Hà Nam", "Nam Định"},
    "44": {"Quảng Trị", "Quảng Bình"},
    "48": {"Đà Nẵng", "Quảng Nam"},
    "51": {"Quảng Ngãi", "Kon Tum"},
    "52": {"Gia Lai", "Bình Định"},
    "56": {"Khánh Hòa", "Ninh Thuận"},
    "68": {"Lâm Đồng", "Đắk Nông", "Bình Thuận"},
    "66": {"Đắk Lắk", "Phú Yên"},
    "79": {"Hồ Chí Minh", "Bình Dương", "Bà Rịa - Vũng Tàu"},
    "75": {"Đồng Nai", "Bình Phước"},
    "80": {"Tây Ninh", "Long An"},
    "92": {"Cần Thơ", "Sóc Trăng", "Hậu Giang"},
    "86": {"Vĩnh Long", "Bến Tre", "Trà Vinh"},
    "82": {"Đồng Tháp", "Tiền Giang"},
    "96": {"Cà Mau", "Bạc Liêu"},
    "91": {"An Giang", "Kiên Giang"},
}


@pytest.fixture(scope="module")
def index() -> regions.RegionIndex:
    return regions.index()


# -- the region data --------------------------------------------------------------------


def test_the_34_units_are_6_cities_and_28_provinces(index: regions.RegionIndex) -> None:
    loaded = regions.load_regions()
    assert len(loaded) == 34
    assert len({r.code for r in loaded}) == 34
    assert Counter(r.kind for r in loaded) == {"city": 6, "province": 28}
    assert {r.name for r in loaded if r.kind == "city"} == {
        "Hà Nội",
        "Hồ Chí Minh",
        "Hải Phòng",
        "Đà Nẵng",
        "Cần Thơ",
        "Huế",
    }


def test_codes_and_names_are_the_official_list(index: regions.RegionIndex) -> None:
    assert {code: r.official_name for code, r in index.regions.items()} == OFFICIAL_34
    for r in index.regions.values():
        prefix = "Thành phố " if r.kind == "city" else "Tỉnh "
        assert r.official_name == prefix + r.name
        assert r.name_ascii == fold(r.name)


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("01", "Hà Nội"),
        ("79", "Hồ Chí Minh"),
        ("31", "Hải Phòng"),
        ("48", "Đà Nẵng"),
        ("92", "Cần Thơ"),
        ("46", "Huế"),
        ("24", "Bắc Ninh"),
        ("52", "Gia Lai"),
        ("91", "An Giang"),
        ("96", "Cà Mau"),
    ],
)
def test_known_codes(index: regions.RegionIndex, code: str, name: str) -> None:
    region = index.get(code)
    assert region is not None and region.name == name


def test_every_former_province_maps_to_exactly_one_current_unit(index: regions.RegionIndex) -> None:
    former = regions.load_former()
    assert len(former) == 63
    assert len({f.code for f in former}) == 63
    assert all(f.region_code in index.regions for f in former)
    assert all(f.name_ascii == fold(f.name) for f in former)
    taken_in = Counter(f.region_code for f in former)
    assert set(taken_in) == set(index.regions)  # every current unit comes from at least one
    assert Counter(taken_in.values()) == {1: 11, 2: 17, 3: 6}
    for code, names in MERGERS.items():
        assert {f.name for f in former if f.region_code == code} == names, code


def test_a_former_code_that_is_still_in_use_means_the_unit_that_uses_it(index: regions.RegionIndex) -> None:
    # So a stored code reads as "current if it is one, else former" without ambiguity.
    for f in index.former.values():
        if f.code in index.regions:
            assert f.region_code == f.code, f


def test_both_groupings_are_data_and_cover_every_province(index: regions.RegionIndex) -> None:
    groups = regions.load_groups()
    macro = {g.code for g in groups if g.grouping == "macro_region"}
    socio = {g.code for g in groups if g.grouping == "socio_economic_region"}
    assert macro == {"north", "central", "south"}
    assert len(socio) == 6
    assert Counter(r.macro_region for r in index.regions.values()) == {"north": 15, "central": 11, "south": 8}
    assert Counter(r.socio_economic_region for r in index.regions.values()) == {
        "northern_midlands_and_mountains": 9,
        "red_river_delta": 6,
        "north_central_and_central_coast": 8,
        "central_highlands": 3,
        "southeast": 3,
        "mekong_delta": 5,
    }
    # Each socio-economic region lies within one of North / Central / South.
    within: dict[str, set[str]] = {}
    for r in index.regions.values():
        within.setdefault(r.socio_economic_region, set()).add(r.macro_region)
    assert all(len(m) == 1 for m in within.values())
    names = {g.code: g.name for g in groups}
    assert names["central_highlands"] == "Tây Nguyên"
    assert names["mekong_delta"] == "Đồng bằng sông Cửu Long"


def test_every_name_resolves_to_its_unit(index: regions.RegionIndex) -> None:
    for r in index.regions.values():
        for text in (r.name, r.name_ascii, r.official_name, r.name.upper(), r.code):
            resolved = index.resolve(text)
            assert resolved is not None and resolved.region == r, text
    for f in index.former.values():
        for text in (f.name, f.name_ascii, f.code):
            resolved = index.resolve(text)
            assert resolved is not None and resolved.region.code == f.region_code, text


@pytest.mark.parametrize(
    ("query", "code", "matched"),
    [
        ("79", "79", "code"),
        ("1", "01", "code"),
        (" 27 ", "24", "former_code"),
        ("74", "79", "former_code"),
        ("Bắc Giang", "24", "former_name"),
        ("bac giang", "24", "former_name"),
        ("TP. Hồ Chí Minh", "79", "name"),
        ("Thành phố Hồ Chí Minh", "79", "name"),
        ("TPHCM", "79", "alias"),
        ("Sài Gòn", "79", "alias"),
        ("Bà Rịa–Vũng Tàu", "79", "former_name"),
        ("ba ria vung tau", "79", "former_name"),
        ("Thừa Thiên Huế", "46", "former_name"),
        ("Huế", "46", "name"),
        ("Daklak", "66", "name"),
        ("Tỉnh Kon Tum", "51", "former_name"),
        ("Thanh Hoá", "38", "name"),
    ],
)
def test_resolve(index: regions.RegionIndex, query: str, code: str, matched: str) -> None:
    resolved = index.resolve(query)
    assert resolved is not None
    assert (resolved.region.code, resolved.matched) == (code, matched)


@pytest.mark.parametrize("query", ["", "  ", "00", "Atlantis", "VN-HN", "999"])
def test_resolve_nothing(index: regions.RegionIndex, query: str) -> None:
    assert index.resolve(query) is None


def test_filters_on_new_codes_match_former_codes_too(index: regions.RegionIndex) -> None:
    assert index.codes_meaning({"79"}) == {"79", "74", "77"}
    assert index.codes_meaning({"24"}) == {"24", "27"}
    assert index.current_code("77") == "79"
    assert index.current_code("79") == "79"
    assert index.current_code("XX") is None
    south = index.in_groups(["south"])
    assert south == {"75", "79", "80", "82", "86", "91", "92", "96"}
    assert index.in_groups(["central_highlands"]) == {"52", "66", "68"}
    assert "27 (former Bắc Ninh; now 24)" in index.describe_unknown(["27"])


# -- periods and shares -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "period", "previous"),
    [
        ("2026", Period(2026), "2025"),
        ("2026-Q3", Period(2026, 3), "2026-Q2"),
        ("2026-q1", Period(2026, 1), "2025-Q4"),
        (" 2025-Q4 ", Period(2025, 4), "2025-Q3"),
    ],
)
def test_periods(text: str, period: Period, previous: str) -> None:
    parsed = Period.parse(text)
    assert parsed == period
    assert str(parsed.previous()) == previous
    assert Period.parse(str(parsed)) == parsed


@pytest.mark.parametrize(
    "text", ["", "26", "2026-Q5", "2026-Q0", "2026Q3", "2026-03", "Q3-2026", "1999", "2026-H1"]
)
def test_bad_periods(text: str) -> None:
    with pytest.raises(domain.InvalidPeriod):
        Period.parse(text)


def test_quarter_of_a_day() -> None:
    assert Period.of_quarter(date(2026, 1, 1)) == Period(2026, 1)
    assert Period.of_quarter(date(2026, 3, 31)) == Period(2026, 1)
    assert Period.of_quarter(date(2026, 4, 1)) == Period(2026, 2)
    assert Period.of_quarter(date(2026, 12, 31)) == Period(2026, 4)


def test_share_arithmetic() -> None:
    assert domain.share(250, 1000) == 0.25
    assert domain.share(0, 1000) == 0.0
    assert domain.share(1500, 1000) == 1.5  # more than the estimate: the estimate was low
    assert domain.share(100, 0) is None
    assert domain.share(100, None) is None
    assert domain.change(0.25, 0.2) == pytest.approx(0.05)
    assert domain.change(0.25, None) is None
    assert domain.change(None, 0.2) is None


# -- the channel tree -------------------------------------------------------------------

A, B, C, D = (uuid.UUID(int=i) for i in range(1, 5))
#: A <- B <- C (C sells through B, B through A); D stands alone.
TREE: dict[uuid.UUID, uuid.UUID | None] = {A: None, B: A, C: B, D: None}


def test_loops_are_detected() -> None:
    assert domain.would_loop(A, A, TREE)  # its own parent
    assert domain.would_loop(A, B, TREE)  # under its child
    assert domain.would_loop(A, C, TREE)  # under its grandchild
    assert not domain.would_loop(C, A, TREE)  # up the chain is fine
    assert not domain.would_loop(A, D, TREE)
    assert not domain.would_loop(B, None, TREE)
    # A loop already in the data does not hang the check.
    assert domain.would_loop(D, A, {A: B, B: A, D: None})


def test_descendants() -> None:
    assert domain.descendants_and_self([A], TREE) == {A, B, C}
    assert domain.descendants_and_self([B, D], TREE) == {B, C, D}
    assert domain.descendants_and_self([], TREE) == set()


def test_revenue_rolls_up_to_every_ancestor() -> None:
    revenue = {("79", C): 30, ("79", B): 20, ("79", A): 5, ("92", C): 7, ("79", None): 11, ("48", D): 3}
    assert domain.roll_up(revenue, TREE) == {
        ("79", C): 30,
        ("79", B): 50,
        ("79", A): 55,
        ("92", C): 7,
        ("92", B): 7,
        ("92", A): 7,
        ("79", None): 11,
        ("48", D): 3,
    }


# -- CSV rows and request bodies --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1200000", 1_200_000),
        ("1.200.000", 1_200_000),
        ("1,200,000", 1_200_000),
        ("1 200 000", 1_200_000),
        ("0", 0),
        ("1.5", None),
        ("1,200.000", None),
        ("-5", None),
        ("12,00", None),
        ("", None),
        ("abc", None),
        ("1" + "0" * 16, None),
    ],
)
def test_amounts(text: str, value: int | None) -> None:
    assert volumes.parse_amount(text) == value


def test_csv_rows_are_checked_one_by_one() -> None:
    data = (
        "\ufeffRegion_Code;product_group;period;amount;source;note\n"
        "Bình Dương;pumps;2026;1.000.000;survey;from the dealers' survey\n"
        "79;pumps;2026;5;estimate;\n"
        "Atlantis;pumps;2026-Q9;-1;guess;\n"
        ";;;;;\n"
        "92;pumps;2026-q2;300;Industry Report;\n"
        "48;pumps;2026;7;;\n"
    ).encode()
    parsed = list(volumes.parse_sheet(data))
    assert [line for line, _, _ in parsed] == [2, 3, 4, 6, 7]
    first = parsed[0][1]
    assert first == volumes.Estimate("79", "pumps", "2026", 1_000_000, "survey", "from the dealers' survey")
    assert parsed[1][1] is None
    assert [(p.column, p.code, p.params) for p in parsed[1][2]] == [("row", "import.row_repeats", {"row": 2})]
    assert parsed[1][2][0].text() == "row: repeats row 2 (same region, product group and period)"
    assert parsed[2][1] is None
    assert [(p.column, p.code) for p in parsed[2][2]] == [
        ("region_code", "region.no_match"),
        ("period", "period.not_year_or_quarter"),
        ("amount", "import.amount_invalid"),
        ("source", "volume.source_invalid"),
    ]
    assert parsed[2][2][3].params == {"value": "guess", "sources": list(volumes.SOURCES)}
    assert parsed[3][1] == volumes.Estimate("92", "pumps", "2026-Q2", 300, "industry_report", None)
    assert parsed[4][1] == volumes.Estimate("48", "pumps", "2026", 7, "estimate", None)  # no source given


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"region_code,product_group,period,source\n79,p,2026,survey\n", "lacks the column(s) amount"),
        (b"region_code,product_group,period,amount,source,colour\n", "unknown column(s) colour"),
        ("region_code\n".encode("utf-16"), "not UTF-8"),
    ],
)
def test_unreadable_files(data: bytes, message: str) -> None:
    with pytest.raises(errors.Invalid, match=message.replace("(", r"\(").replace(")", r"\)")):
        list(volumes.parse_sheet(data))


def test_request_bodies_forbid_what_they_do_not_name() -> None:
    with pytest.raises(ValidationError):
        ChannelCreate.model_validate({"name": "X", "kind": "dealer", "active": False})
    with pytest.raises(ValidationError):
        ChannelCreate.model_validate({"name": "X", "kind": "wholesale"})
    with pytest.raises(ValidationError):
        ChannelPatch.model_validate({})
    with pytest.raises(ValidationError):
        ChannelPatch.model_validate({"name": None})
    assert ChannelPatch.model_validate({"parent_id": None}).model_fields_set == {"parent_id"}
    body = {
        "region_code": "79",
        "product_group": "pumps",
        "period": "2026-q3",
        "amount": 1,
        "source": "survey",
    }
    assert MarketVolumeCreate.model_validate(body).period == "2026-Q3"
    for bad in ({"amount": -1}, {"period": "2026-Q5"}, {"source": "guess"}, {"entered_by": str(A)}):
        with pytest.raises(ValidationError):
            MarketVolumeCreate.model_validate({**body, **bad})
    with pytest.raises(ValidationError, match="ends_on is before starts_on"):
        CampaignCreate.model_validate({"name": "C", "starts_on": "2026-02-01", "ends_on": "2026-01-01"})
    with pytest.raises(ValidationError):
        CampaignCreate.model_validate(
            {"name": "C", "starts_on": "2026-01-01", "ends_on": "2026-02-01", "status": "launched"}
        )


# -- plan periods and targets -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "start", "end", "previous"),
    [
        ("2027", date(2027, 1, 1), date(2028, 1, 1), "2026"),
        ("2027-Q4", date(2027, 10, 1), date(2028, 1, 1), "2027-Q3"),
        ("2027-03", date(2027, 3, 1), date(2027, 4, 1), "2027-02"),
        ("2027-12", date(2027, 12, 1), date(2028, 1, 1), "2027-11"),
        ("2027-01", date(2027, 1, 1), date(2027, 2, 1), "2026-12"),
    ],
)
def test_plan_periods_take_months(text: str, start: date, end: date, previous: str) -> None:
    period = Period.parse(text, months=True)
    assert (period.start, period.end, str(period.previous())) == (start, end, previous)
    assert str(Period.parse(str(period), months=True)) == text


@pytest.mark.parametrize("text", ["2027-13", "2027-00", "2027-3", "2027-Q5", "march"])
def test_bad_plan_periods(text: str) -> None:
    with pytest.raises(domain.InvalidPeriod, match="or a month"):
        Period.parse(text, months=True)


def test_a_period_is_made_of_its_quarters_and_months() -> None:
    year = Period.parse("2027")
    assert [str(p) for p in year.parts()] == ["2027-Q1", "2027-Q2", "2027-Q3", "2027-Q4"]
    assert [str(p) for p in Period.parse("2027-Q2").parts()] == ["2027-04", "2027-05", "2027-06"]
    assert len(domain.periods_within(year)) == 1 + 4 + 12


def test_a_target_rolls_up_from_what_is_set_inside_it() -> None:
    year = Period.parse("2027")
    assert domain.rolled_up_target(year, {"2027": 9}) == 9
    assert domain.rolled_up_target(year, {"2027": 9, "2027-Q1": 100}) == 9  # its own wins
    months = {"2027-01": 1, "2027-02": 2, "2027-Q2": 40, "2027-05": 1_000}
    assert domain.rolled_up_target(year, months) == 1 + 2 + 40  # Q2 has its own; May does not add
    assert domain.rolled_up_target(Period.parse("2027-Q1"), months) == 3
    assert domain.rolled_up_target(Period.parse("2027-Q3"), months) is None
    assert domain.rolled_up_target(Period.parse("2027-03", months=True), months) is None


def test_attainment_is_a_fraction_of_a_real_target() -> None:
    assert domain.attainment(1_000_000_000, 10_000_000_000) == 0.1
    assert domain.attainment(5, 0) is None
    assert domain.attainment(5, None) is None


def test_a_total_is_split_in_proportion_to_the_dong() -> None:
    assert domain.split_in_proportion(100, [1, 1, 1]) == [34, 33, 33]
    assert domain.split_in_proportion(1_000, [600, 400]) == [600, 400]
    assert domain.split_in_proportion(7, [0, 5, 5]) == [0, 4, 3]
    assert domain.split_in_proportion(5, [0, 0]) == [5, 0]
    assert domain.split_in_proportion(0, [3, 4]) == [0, 0]
    assert domain.split_in_proportion(5, []) == []
    for total, weights in ((999_999, [1, 2, 3, 4]), (10, [7, 3, 1])):
        assert sum(domain.split_in_proportion(total, weights)) == total
