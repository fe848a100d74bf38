"""The provinces on a map: Vietnam's 34 provinces as a tile map the project owns, each
province coloured by the measure the user picks (attainment of its targets, market
share, white space, revenue) for a period, product group and channel, with a legend,
and each a link to its figures.

The tiles' places are data, `data/province_tiles.csv`, laid out by hand as
`data/README.md` says. The figures are the same API calls any client makes:
`GET /api/targets/attainment` and `GET /api/market-share`. How a province's figure is
made from their rows, and which colour it gets, is below, without I/O.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from crm_kit.auth import Role

from . import core, i18n, targets
from .core import UiDep

router = APIRouter(prefix="/targets")

TILES_FILE = Path(__file__).with_name("data") / "province_tiles.csv"
#: A tile's size and the grid's step, in the SVG's units.
TILE_W, TILE_H, STEP_X, STEP_Y, MARGIN = 96, 44, 100, 48, 8
#: Columns right of the tiles, for the archipelagos' names.
LABEL_COLUMNS = 1.6
#: Market share at or above each step is one bucket further: < 5%, 5-10%, ..., >= 40%.
SHARE_STEPS = (0.05, 0.10, 0.20, 0.40)
BUCKETS = ("0", "1", "2", "3", "4")


class Measure(StrEnum):
    ATTAINMENT = "attainment"
    SHARE = "share"
    WHITE_SPACE = "white_space"
    REVENUE = "revenue"


@dataclass(frozen=True)
class Tile:
    code: str
    name: str
    col: int
    row: int
    seat: str
    seat_lat: float
    seat_lon: float

    @property
    def x(self) -> int:
        return MARGIN + self.col * STEP_X

    @property
    def y(self) -> int:
        return MARGIN + self.row * STEP_Y


def load_tiles(path: Path = TILES_FILE) -> list[Tile]:
    with path.open(encoding="utf-8", newline="") as file:
        return [
            Tile(
                code=r["code"],
                name=r["name"],
                col=int(r["col"]),
                row=int(r["row"]),
                seat=r["seat"],
                seat_lat=float(r["seat_lat"]),
                seat_lon=float(r["seat_lon"]),
            )
            for r in csv.DictReader(file)
        ]


TILES = load_tiles()
WIDTH = MARGIN * 2 + round((max(t.col for t in TILES) + 1 + LABEL_COLUMNS) * STEP_X)
HEIGHT = MARGIN * 2 + (max(t.row for t in TILES) + 1) * STEP_Y


# -- a province's figures from the API's rows ------------------------------------------------


@dataclass(frozen=True)
class Attained:
    target: int
    actual: int
    #: How many targets were added up (the broadest ones the province has).
    count: int

    @property
    def ratio(self) -> float | None:
        return self.actual / self.target if self.target else None


#: The dimensions that narrow a target's scope below its province.
NARROWING = ("channel_id", "salesperson_id", "product_group")


def attainment_by_province(rows: Iterable[dict[str, Any]], fixed: Iterable[str] = ()) -> dict[str, Attained]:
    """Each province's attainment from its broadest targets: those narrowed by the fewest
    of channel, salesperson and product group (besides the `fixed` ones, which the map
    was asked for), added up. A province with a target for all its channels is measured
    by that one; one with targets for two channels only, by their sum."""
    pinned = set(fixed)

    def narrowness(row: dict[str, Any]) -> int:
        return sum(1 for key in NARROWING if key not in pinned and row.get(key) is not None)

    by_region: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_region[row["region_code"]].append(row)
    found = {}
    for code, its in by_region.items():
        least = min(narrowness(r) for r in its)
        broadest = [r for r in its if narrowness(r) == least]
        found[code] = Attained(
            target=sum(int(r["target"]) for r in broadest),
            actual=sum(int(r["actual"]) for r in broadest),
            count=len(broadest),
        )
    return found


@dataclass(frozen=True)
class Market:
    revenue: int
    volume: int | None
    #: A market and no channel covering it (the API's white space).
    white: bool
    #: A channel sells or is set to sell there.
    covered: bool

    @property
    def share(self) -> float | None:
        return self.revenue / self.volume if self.volume else None


def market_by_province(
    report: dict[str, Any], parents: dict[str, str | None], channel_id: str | None = None
) -> dict[str, Market]:
    """Each province's revenue, market volume and white space from a market-share report.

    With a channel, its rows (its revenue counts what sells through it). Without, the
    province's whole revenue: the report's `region_revenue` where it gives one, else
    the rows of the channels that sell through no other (whose revenue includes their
    sub-channels') and the revenue sold without a channel, so nothing counts twice."""
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in report.get("rows", []):
        if channel_id is None or row.get("channel_id") == channel_id:
            rows[row["region_code"]].append(row)
    white = {w["region_code"]: w.get("market_volume") for w in report.get("white_space", [])}
    found = {}
    for code in set(rows) | set(white):
        its = rows.get(code, [])
        volumes = [r["market_volume"] for r in its if r.get("market_volume") is not None]
        volume = volumes[0] if volumes else white.get(code)
        if channel_id is not None:
            revenue = sum(int(r["revenue"]) for r in its)
        elif any("region_revenue" in r for r in its):
            revenue = int(next(r["region_revenue"] for r in its if "region_revenue" in r))
        else:
            revenue = sum(
                int(r["revenue"])
                for r in its
                if r.get("channel_id") is None or parents.get(r["channel_id"]) is None
            )
        covered = any(r.get("channel_id") is not None for r in its)
        found[code] = Market(revenue, volume, code in white, covered and code not in white)
    return found


# -- colours --------------------------------------------------------------------------------


def revenue_bucket(revenue: int, top: int) -> str:
    """`0` for nothing sold, else `1` to `4`: which quarter of the best province's it is in."""
    if revenue <= 0 or top <= 0:
        return "0"
    return str(min(4, max(1, math.ceil(4 * revenue / top))))


@dataclass
class Shown:
    """What one province shows: its colour bucket, a short text on the tile, the full one."""

    bucket: str
    short: str
    detail: str


def _attainment(ui: core.Ui, figure: Attained | None) -> Shown:
    if figure is None:
        return Shown("none", "", ui.t("map.no_target"))
    ratio = figure.ratio
    detail = ui.t(
        "map.attained",
        pct=i18n.percent(ui.lang, ratio),
        actual=i18n.money(ui.lang, figure.actual),
        target=i18n.money(ui.lang, figure.target),
    )
    if figure.count > 1:
        detail += " · " + ui.t("map.targets_added", n=figure.count)
    return Shown(targets.attainment_bucket(ratio), i18n.percent(ui.lang, ratio, 0), detail)


def _share(ui: core.Ui, figure: Market | None) -> Shown:
    share = figure.share if figure else None
    if figure is None or share is None:
        return Shown("none", "", ui.t("map.no_volume"))
    detail = ui.t(
        "map.share_of",
        pct=i18n.percent(ui.lang, share),
        revenue=i18n.money(ui.lang, figure.revenue),
        volume=i18n.money(ui.lang, figure.volume),
    )
    return Shown(str(targets.stepped(share, SHARE_STEPS)), i18n.percent(ui.lang, share), detail)


def _white_space(ui: core.Ui, figure: Market | None) -> Shown:
    if figure is not None and figure.white:
        volume = i18n.money(ui.lang, figure.volume)
        return Shown("4", i18n.compact_money(ui.lang, figure.volume), ui.t("map.white_detail", volume=volume))
    if figure is not None and figure.covered:
        return Shown("1", "", ui.t("map.covered"))
    return Shown("none", "", ui.t("map.no_market"))


def _revenue(ui: core.Ui, figure: Market | None, top: int) -> Shown:
    revenue = figure.revenue if figure else 0
    return Shown(
        revenue_bucket(revenue, top),
        i18n.compact_money(ui.lang, revenue) if revenue else "",
        ui.t("map.revenue_detail", revenue=i18n.money(ui.lang, revenue)),
    )


def legend(ui: core.Ui, measure: Measure, top: int = 0) -> list[tuple[str, str]]:
    """(bucket, what it means) for each colour the measure uses, `none` last."""
    pct = lambda v: i18n.percent(ui.lang, v, 0)  # noqa: E731
    if measure in (Measure.ATTAINMENT, Measure.SHARE):
        steps = targets.ATTAINMENT_STEPS if measure == Measure.ATTAINMENT else SHARE_STEPS
        labels = [f"< {pct(steps[0])}"]
        labels += [f"{pct(low)} – {pct(high)}" for low, high in pairwise(steps)]
        labels.append(f"≥ {pct(steps[-1])}")
        none = "map.no_target" if measure == Measure.ATTAINMENT else "map.no_volume"
        return [*zip(BUCKETS, labels, strict=True), ("none", ui.t(none))]
    if measure == Measure.WHITE_SPACE:
        return [("4", ui.t("map.white")), ("1", ui.t("map.covered")), ("none", ui.t("map.no_market"))]
    entries = [("0", ui.t("map.nothing_sold"))]
    if top > 0:
        money = lambda v: i18n.compact_money(ui.lang, v)  # noqa: E731
        entries += [
            (str(k), f"{money(math.floor(top * (k - 1) / 4))} – {money(math.ceil(top * k / 4))}")
            for k in range(1, 5)
        ]
    return entries


# -- the page -------------------------------------------------------------------------------


def measures_for(ui: core.Ui) -> list[Measure]:
    """A salesperson sees attainment only (market share is the planners')."""
    return list(Measure) if targets.may_plan(ui) else [Measure.ATTAINMENT]


async def _figures(
    ui: core.Ui, measure: Measure, filters: dict[str, str], channels: list[dict[str, Any]]
) -> tuple[Callable[[str], Shown], int, core.ApiResult]:
    """What each province shows (by code), the best province's revenue, and the API's answer."""
    if measure == Measure.ATTAINMENT:
        params = {k: filters[k] for k in ("period", "product_group", "channel_id")}
        if ui.is_(Role.SALESPERSON):
            assert ui.user is not None
            params["salesperson_id"] = str(ui.user.id)
        result = await ui.api.get("/api/targets/attainment", **params)
        fixed = [k for k, v in params.items() if v]
        attained = attainment_by_province(result.data.get("rows", []), fixed) if result.ok else {}
        return (lambda code: _attainment(ui, attained.get(code))), 0, result
    result = await ui.api.get("/api/market-share", **filters)
    parents = {c["id"]: c.get("parent_id") for c in channels}
    markets = market_by_province(result.data, parents, filters["channel_id"] or None) if result.ok else {}
    top = max((m.revenue for m in markets.values()), default=0)
    if measure == Measure.SHARE:
        return (lambda code: _share(ui, markets.get(code))), top, result
    if measure == Measure.WHITE_SPACE:
        return (lambda code: _white_space(ui, markets.get(code))), top, result
    return (lambda code: _revenue(ui, markets.get(code), top)), top, result


def _href(measure: Measure, filters: dict[str, str], code: str) -> str:
    """A province's figures: its plan against actual, or its market share."""
    page = "/targets/attainment" if measure == Measure.ATTAINMENT else "/marketing/share"
    return f"{page}?{targets.query(filters, region_code=code)}"


@router.get("/map")
async def province_map(
    ui: UiDep,
    measure: str | None = None,
    period: str | None = None,
    product_group: str | None = None,
    channel_id: str | None = None,
) -> Response:
    offered = measures_for(ui)
    chosen = next((m for m in offered if m.value == measure), offered[0])
    filters = {
        "period": (period or "").strip() or targets.this_year(ui),
        "product_group": (product_group or "").strip(),
        "channel_id": (channel_id or "").strip(),
    }
    c = await targets.choices(ui)
    shown, top, result = await _figures(ui, chosen, filters, c.channels)
    figures = {tile.code: shown(tile.code) for tile in TILES}
    provinces = []
    for tile in TILES:
        figure = figures[tile.code]
        name = c.regions.get(tile.code) or tile.name
        provinces.append(
            {
                "code": tile.code,
                "name": name,
                "x": tile.x,
                "y": tile.y,
                "figure": figure,
                "title": f"{name}: {figure.detail}",
                "href": _href(chosen, filters, tile.code),
            }
        )
    entries = legend(ui, chosen, top)
    counts = {
        bucket: _provinces(ui, [f for f in figures.values() if f.bucket == bucket]) for bucket, _ in entries
    }
    return ui.render(
        "targets/map.html",
        status_code=200 if result.ok else result.status,
        measure=chosen,
        measures=offered,
        filters=filters,
        c=c,
        provinces=provinces,
        legend=entries,
        counts=counts,
        size={"w": WIDTH, "h": HEIGHT, "tw": TILE_W, "th": TILE_H},
        islands=_islands(),
        may_plan=targets.may_plan(ui),
        problems=core.Problems() if result.ok else targets.filter_problems(ui, result),
    )


def _provinces(ui: core.Ui, these: list[Shown]) -> str:
    return ui.t("map.provinces.one" if len(these) == 1 else "map.provinces", n=len(these))


def _islands() -> list[dict[str, Any]]:
    """Where the archipelagos' names go: right of Đà Nẵng and of Khánh Hòa."""
    tiles = {t.code: t for t in TILES}
    return [
        {"key": key, "x": tiles[code].x + TILE_W + 14, "y": tiles[code].y + TILE_H // 2}
        for key, code in (("map.hoang_sa", "48"), ("map.truong_sa", "56"))
    ]
