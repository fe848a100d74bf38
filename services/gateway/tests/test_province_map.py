"""The provinces' map without I/O: its tile file against marketing's province list, how a
province's figure is made from the API's rows, and which colour each figure gets."""

from __future__ import annotations

import csv
from itertools import combinations
from pathlib import Path

import pytest

from gateway.ui import i18n, province_map, targets
from gateway.ui.province_map import Attained, Market, attainment_by_province, market_by_province

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
MARKETING_PROVINCES = ROOT / "services" / "marketing" / "src" / "marketing" / "data" / "provinces.csv"


# -- the tiles ---------------------------------------------------------------------------------


def test_the_tiles_are_marketings_34_provinces_each_on_its_own_cell() -> None:
    with MARKETING_PROVINCES.open(encoding="utf-8") as file:
        listed = {r["code"]: r["name"] for r in csv.DictReader(file)}
    tiles = province_map.TILES
    assert len(listed) == 34
    assert {t.code: t.name for t in tiles} == listed
    assert len({(t.col, t.row) for t in tiles}) == len(tiles)
    assert all(0 <= t.col and 0 <= t.row for t in tiles)


def test_the_tiles_keep_the_provinces_north_to_south() -> None:
    """A seat well north of another's is never on a lower row; far north, on a higher one."""
    misplaced = []
    for a, b in combinations(province_map.TILES, 2):
        north, south = (a, b) if a.seat_lat > b.seat_lat else (b, a)
        gap = north.seat_lat - south.seat_lat
        if (gap > 0.3 and north.row > south.row) or (gap > 1.0 and north.row >= south.row):
            misplaced.append((north.name, south.name))
    assert misplaced == []


def test_the_seats_are_in_vietnam_and_the_map_holds_every_tile() -> None:
    for tile in province_map.TILES:
        assert 8.5 < tile.seat_lat < 23.5 and 102 < tile.seat_lon < 110, tile
        assert tile.x + province_map.TILE_W <= province_map.WIDTH
        assert tile.y + province_map.TILE_H <= province_map.HEIGHT


# -- a province's figures -------------------------------------------------------------------------


def row(region: str, target: int, actual: int, **scope: str | None) -> dict[str, object]:
    return {
        "region_code": region,
        "channel_id": None,
        "salesperson_id": None,
        "product_group": None,
        "target": target,
        "actual": actual,
        **scope,
    }


def test_a_province_is_measured_by_its_broadest_target() -> None:
    rows = [
        row("01", 1_000, 250),
        row("01", 400, 200, channel_id="dealer"),
        row("01", 100, 90, salesperson_id="an", product_group="bơm"),
    ]
    assert attainment_by_province(rows) == {"01": Attained(1_000, 250, 1)}


def test_without_a_broad_target_the_narrower_ones_are_added_up() -> None:
    rows = [
        row("79", 400, 100, channel_id="dealer"),
        row("79", 600, 500, channel_id="retail"),
        row("79", 50, 50, channel_id="retail", salesperson_id="an"),
    ]
    found = attainment_by_province(rows)["79"]
    assert found == Attained(1_000, 600, 2)
    assert found.ratio == pytest.approx(0.6)


def test_what_the_map_was_asked_for_does_not_narrow() -> None:
    """Filtered by a product group, every row has it: the group is not a narrowing."""
    rows = [row("48", 200, 50, product_group="bơm"), row("48", 80, 80, product_group="bơm", channel_id="d")]
    assert attainment_by_province(rows, fixed=["product_group"]) == {"48": Attained(200, 50, 1)}


def test_a_target_of_nothing_has_no_attainment() -> None:
    assert Attained(0, 10, 1).ratio is None


def share_row(
    region: str, channel: str | None, revenue: int, volume: int | None = 1_000
) -> dict[str, object]:
    return {"region_code": region, "channel_id": channel, "revenue": revenue, "market_volume": volume}


PARENTS: dict[str, str | None] = {"npp": None, "dealer": "npp", "online": None}


def test_a_provinces_revenue_counts_each_sale_once() -> None:
    report = {
        "rows": [
            share_row("01", "npp", 300),  # includes the dealer's 100
            share_row("01", "dealer", 100),
            share_row("01", "online", 20),
            share_row("01", None, 5),
        ],
        "white_space": [],
    }
    found = market_by_province(report, PARENTS)["01"]
    assert found == Market(revenue=325, volume=1_000, white=False, covered=True)
    assert found.share == pytest.approx(0.325)


def test_a_reports_own_region_total_wins_and_one_channel_is_its_rows() -> None:
    report = {
        "rows": [
            {**share_row("01", "npp", 300), "region_revenue": 333},
            {**share_row("01", "dealer", 100), "region_revenue": 333},
        ],
        "white_space": [],
    }
    assert market_by_province(report, PARENTS)["01"].revenue == 333
    assert market_by_province(report, PARENTS, channel_id="dealer")["01"].revenue == 100


def test_white_space_is_a_market_without_a_channel() -> None:
    report = {
        "rows": [share_row("01", "npp", 0, volume=None)],
        "white_space": [{"region_code": "79", "region_name": "Hồ Chí Minh", "market_volume": 500}],
    }
    found = market_by_province(report, PARENTS)
    assert found["79"] == Market(revenue=0, volume=500, white=True, covered=False)
    assert found["79"].share == 0
    assert found["01"].share is None  # no estimate, no share
    assert found["01"].covered


# -- colours ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ratio", "bucket"),
    [
        (None, "none"),
        (0.0, "0"),
        (0.2499, "0"),
        (0.25, "1"),
        (0.6, "2"),
        (0.75, "3"),
        (0.999, "3"),
        (1.0, "4"),
        (3.0, "4"),
    ],
)
def test_attainment_is_coloured_in_quarters_of_the_target(ratio: float | None, bucket: str) -> None:
    assert targets.attainment_bucket(ratio) == bucket


@pytest.mark.parametrize(
    ("revenue", "bucket"),
    [(0, "0"), (-5, "0"), (1, "1"), (250, "1"), (251, "2"), (750, "3"), (999, "4"), (1_000, "4")],
)
def test_revenue_is_coloured_in_quarters_of_the_best_provinces(revenue: int, bucket: str) -> None:
    assert province_map.revenue_bucket(revenue, 1_000) == bucket


def test_share_steps_and_every_legend_have_a_label_per_colour() -> None:
    assert targets.stepped(0.049, province_map.SHARE_STEPS) == 0
    assert targets.stepped(0.35, province_map.SHARE_STEPS) == 3

    class Ui:
        lang = "vi"

        def t(self, key: str, **params: object) -> str:
            return i18n.translate(self.lang, key, **params)

    ui = Ui()
    for measure in province_map.Measure:
        entries = province_map.legend(ui, measure, top=4_000_000_000)  # type: ignore[arg-type]
        assert all(label and not label.startswith("map.") for _, label in entries), measure
        assert len({bucket for bucket, _ in entries}) == len(entries)
    revenue = dict(province_map.legend(ui, province_map.Measure.REVENUE, top=4_000_000_000))  # type: ignore[arg-type]
    assert revenue["4"] == "3 tỷ ₫ – 4 tỷ ₫"


@pytest.mark.parametrize(
    ("lang", "amount", "shown"),
    [
        ("vi", 1_250_000_000, "1,2 tỷ ₫"),
        ("en", 1_250_000_000, "₫1.2B"),
        ("vi", 30_000_000, "30 tr ₫"),
        ("en", 30_000_000, "₫30M"),
        ("vi", 500, "500 ₫"),
        ("en", None, "—"),
    ],
)
def test_a_tile_writes_amounts_short(lang: str, amount: int | None, shown: str) -> None:
    assert i18n.compact_money(lang, amount) == shown
