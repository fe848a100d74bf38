"""Sales performance as the source asks (hiệu quả bán hàng): per salesperson, channel and
province, or any combination of them, over a period or a range of days, each row with
its attainment against the targets set for exactly its scope; and the grade migration,
how the grades of each salesperson's customers moved between two days.

Sales computes the performance (`GET /api/performance`), marketing holds the targets
(`GET /api/targets/attainment`) and customers the grades (`GET /api/customers/grade-
migration`); this module joins them for the page. A salesperson sees their own rows,
which every API enforces whatever the page sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from crm_kit.auth import Role

from . import core, targets
from .core import UiDep

router = APIRouter(prefix="/performance")

#: What a report may be per, in the order its columns show.
DIMENSIONS = ("salesperson", "channel", "region")
PAGE = 100
#: The grades of the fixed schemes, best first: a move to an earlier one is up.
GRADE_ORDERS = (("A", "B", "C", "D"), ("VIP", "Tier I", "Tier II", "Tier III"))
FILTERS = ("period", "from", "to", "salesperson_id", "channel_id", "region_code")


def dimensions(by: list[str]) -> list[str]:
    """The dimensions asked for (`by` repeated or comma-separated), in column order;
    the salesperson when none is known."""
    asked = {part.strip() for value in by for part in value.split(",")}
    if "salesperson_channel" in asked:
        asked |= {"salesperson", "channel"}
    return [d for d in DIMENSIONS if d in asked] or ["salesperson"]


# -- plan against actual, per row -------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What one performance row covers: a key is None for "every one" (region: summed
    over the provinces, which do not overlap; salesperson and channel: the targets set
    for no salesperson or no channel, since a channel's target covers its sub-channels)."""

    salesperson_id: str | None
    channel_id: str | None
    region_code: str | None

    @classmethod
    def of(cls, row: dict[str, Any], dims: list[str], filters: dict[str, str]) -> Scope:
        def key(dimension: str, row_key: str, filter_key: str) -> str | None:
            value = row.get(row_key) if dimension in dims else filters.get(filter_key)
            return str(value) if value else None

        return cls(
            key("salesperson", "owner_id", "salesperson_id"),
            key("channel", "channel_id", "channel_id"),
            key("region", "region_code", "region_code"),
        )

    def covers(self, target: dict[str, Any]) -> bool:
        if target.get("product_group"):
            return False  # a product group's target is part of another; counted there
        same = (target.get("salesperson_id") or None, target.get("channel_id") or None)
        if same != (self.salesperson_id, self.channel_id):
            return False
        return self.region_code is None or target["region_code"] == self.region_code


def planned(scope: Scope, attainment: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The targets of exactly `scope` summed, with what was sold against them; None
    without any."""
    chosen = [row for row in attainment if scope.covers(row)]
    if not chosen:
        return None
    target = sum(int(row["target"]) for row in chosen)
    actual = sum(int(row["actual"]) for row in chosen)
    ratio = actual / target if target else None
    return {
        "target": target,
        "actual": actual,
        "attainment": ratio,
        "bucket": targets.attainment_bucket(ratio),
        "bar": targets.attainment_bar(ratio),
    }


def named_rows(
    ui: core.Ui,
    report: dict[str, Any],
    dims: list[str],
    filters: dict[str, str],
    chosen: targets.Choices,
    attainment: list[dict[str, Any]] | None,
) -> list[dict[str, Any]]:
    """The report's rows with a name for each key and their plan (None: no period to
    plan against, or no target for the row)."""
    rows = []
    for row in report.get("items", []):
        owner, channel, region = row.get("owner_id"), row.get("channel_id"), row.get("region_code")
        names = {
            "salesperson": chosen.names.get(owner or "", ui.t("channel.someone"))
            if owner
            else ui.t("performance.nobody"),
            "channel": chosen.channel_names.get(channel or "", ui.t("channel.someone"))
            if channel
            else ui.t("performance.no_channel"),
            "region": chosen.regions.get(region, region) if region else "—",
        }
        plan = None if attainment is None else planned(Scope.of(row, dims, filters), attainment)
        label = " · ".join(names[d] for d in dims)
        rows.append({**row, "names": names, "label": label, "plan": plan})
    return rows


def _chart(ui: core.Ui, rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not rows:
        return None
    return {
        "type": "bar",
        "data": {
            "labels": [r["label"] for r in rows],
            "datasets": [
                {"label": ui.t("performance.revenue"), "data": [r["revenue"] for r in rows]},
                {"label": ui.t("share.previous"), "data": [r["previous_revenue"] for r in rows]},
            ],
        },
        "options": {
            "responsive": True,
            "scales": {"y": {"beginAtZero": True, "title": {"display": True, "text": "₫"}}},
        },
    }


def _problems(ui: core.Ui, result: core.ApiResult) -> core.Problems:
    """The report's refusal at its filter, in the user's words where they are known."""
    problems = core.problems_of(ui, result, known_fields=(*FILTERS, "by"))
    if "period" in problems.fields:
        problems.fields["period"] = ui.t("target.err.period")
    for name in ("from", "to"):
        if name in problems.fields and result.status == 422:
            problems.fields[name] = ui.t("performance.err.days")
    return problems


def _filters(ui: core.Ui, given: dict[str, str | None]) -> dict[str, str]:
    shown = {name: (given.get(name) or "").strip() for name in FILTERS}
    if not (shown["from"] or shown["to"]):
        shown["period"] = shown["period"] or targets.this_year(ui)
    if ui.is_(Role.SALESPERSON):
        assert ui.user is not None
        shown["salesperson_id"] = str(ui.user.id)
    return shown


async def _attainment(ui: core.Ui, filters: dict[str, str]) -> list[dict[str, Any]] | None:
    """The period's targets in the filters' scope; None for a range of days (targets are
    set per period) or when they cannot be read."""
    if not filters["period"] or filters["from"] or filters["to"]:
        return None
    scope = {k: filters[k] for k in ("period", "salesperson_id", "channel_id", "region_code")}
    found = await ui.api.get("/api/targets/attainment", **scope)
    return found.data.get("rows", []) if found.ok else None


@router.get("")
async def performance(
    ui: UiDep,
    period: str | None = None,
    from_: Annotated[str | None, Query(alias="from")] = None,
    to: str | None = None,
    by: Annotated[list[str] | None, Query()] = None,
    salesperson_id: str | None = None,
    channel_id: str | None = None,
    region_code: str | None = None,
    offset: int = 0,
) -> Response:
    dims = dimensions(by or [])
    given = {"period": period, "from": from_, "to": to, "salesperson_id": salesperson_id}
    filters = _filters(ui, given | {"channel_id": channel_id, "region_code": region_code})
    offset = max(offset, 0)
    asked = {**filters, "by": ",".join(dims), "limit": PAGE, "offset": offset}
    result, chosen, attainment = await core.gather(
        ui.api.get("/api/performance", **asked), targets.choices(ui), _attainment(ui, filters)
    )
    report = result.data if result.ok else None
    rows = named_rows(ui, report, dims, filters, chosen, attainment) if report else []
    total = int(report["total"]) if report else 0
    here = {**filters, "by": ",".join(dims)}
    return ui.render(
        "performance/report.html",
        status_code=200 if result.ok else result.status,
        filters=filters,
        dims=dims,
        report=report,
        rows=rows,
        planned=attainment is not None,
        chart=_chart(ui, rows),
        c=chosen,
        may_choose_people=ui.is_(Role.ADMIN, Role.SALES_MANAGER),
        previous=targets.query(here, offset=str(max(offset - PAGE, 0))) if offset else None,
        next=targets.query(here, offset=str(offset + PAGE)) if offset + PAGE < total else None,
        problems=core.Problems() if result.ok else _problems(ui, result),
    )


# -- grade migration ----------------------------------------------------------------------


def direction(before: str | None, after: str | None) -> str:
    """`up`, `down` or `same` within a fixed scheme; `new` for a customer that had no
    grade on the first day; `other` between schemes or for the questionnaires' own grades."""
    if before is None:
        return "new" if after is not None else "same"
    if before == after:
        return "same"
    for order in GRADE_ORDERS:
        if before in order and after in order:
            return "up" if order.index(after) < order.index(before) else "down"
    return "other"


def by_owner(moves: list[dict[str, Any]], names: dict[str, str], ui: core.Ui) -> list[dict[str, Any]]:
    """Per owner: how many customers went up, down, stayed, are new or moved otherwise,
    and the grid from-grade x to-grade; most customers first."""
    owners: dict[str | None, dict[str, Any]] = {}
    for move in moves:
        owner = move["owner_id"]
        entry = owners.setdefault(
            owner,
            {
                "owner_id": owner,
                "name": names.get(owner or "", ui.t("channel.someone"))
                if owner
                else ui.t("performance.nobody"),
                "counts": dict.fromkeys(("up", "same", "down", "new", "other"), 0),
                "customers": 0,
                "grid": {},
            },
        )
        count = int(move["customers"])
        entry["counts"][direction(move["from_grade"], move["to_grade"])] += count
        entry["customers"] += count
        entry["grid"][(move["from_grade"], move["to_grade"])] = count
    for entry in owners.values():
        # Rows: the grades then; columns: the grades now; "no grade" first where there is one.
        for side, name in ((0, "before"), (1, "after")):
            grades = {pair[side] for pair in entry["grid"]}
            ranked = sorted((g for g in grades if g is not None), key=_grade_rank)
            entry[name] = ([None] if None in grades else []) + ranked
    return sorted(owners.values(), key=lambda e: (-e["customers"], e["name"]))


def _grade_rank(grade: str) -> tuple[int, int, str]:
    for scheme, order in enumerate(GRADE_ORDERS):
        if grade in order:
            return scheme, order.index(grade), grade
    return len(GRADE_ORDERS), 0, grade


@router.get("/grades")
async def grade_migration(
    ui: UiDep,
    from_: Annotated[str | None, Query(alias="from")] = None,
    to: str | None = None,
    owner_id: str | None = None,
) -> Response:
    today = ui.today()
    values = {
        "from": (from_ or "").strip() or (date(today.year, 1, 1) - timedelta(days=1)).isoformat(),
        "to": (to or "").strip() or today.isoformat(),
        "owner_id": (owner_id or "").strip(),
    }
    if ui.is_(Role.SALESPERSON):
        assert ui.user is not None
        values["owner_id"] = str(ui.user.id)
    result, chosen = await core.gather(
        ui.api.get("/api/customers/grade-migration", **values), targets.choices(ui)
    )
    owners = by_owner(result.data.get("rows", []), chosen.names, ui) if result.ok else []
    problems = core.Problems() if result.ok else core.problems_of(ui, result, known_fields=("from", "to"))
    for name in ("from", "to"):
        if name in problems.fields:
            problems.fields[name] = ui.t("performance.err.days")
    return ui.render(
        "performance/grades.html",
        status_code=200 if result.ok else result.status,
        values=values,
        owners=owners,
        c=chosen,
        may_choose_people=ui.is_(Role.ADMIN, Role.SALES_MANAGER),
        problems=problems,
    )
