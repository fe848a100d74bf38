"""Sales targets (chỉ tiêu doanh số): the list of a period's targets with its filters and
the form to set one, a target's page with its history and the form to revise it, and
plan against actual (each target's scope, its target, what was sold, the attainment).

Marketing users, sales managers and admins set and revise targets; a salesperson reads
their own ("my targets"), which the API enforces whatever the page sends. The map of
the provinces is `province_map.py`, under the same section.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import Response

from crm_kit.auth import Role

from . import core, history, i18n, marketing, product_groups, regions
from .core import UiDep

router = APIRouter(prefix="/targets")

PLANNERS = marketing.PLANNERS
PAGE = 50
FILTERS = ("period", "region_code", "channel_id", "salesperson_id", "product_group")
TARGET_FIELDS = (*FILTERS, "amount")
#: Attainment at or above each step is one bucket further: < 25%, 25-50%, ..., >= 100%
#: (the bar on plan against actual and the colour on the map).
ATTAINMENT_STEPS = (0.25, 0.5, 0.75, 1.0)


def may_plan(ui: core.Ui) -> bool:
    return ui.is_(*PLANNERS)


def this_year(ui: core.Ui) -> str:
    return str(ui.today().year)


def stepped(value: float, steps: tuple[float, ...]) -> int:
    """How many of `steps` the value reaches: its bucket, 0 to len(steps)."""
    return sum(1 for step in steps if value >= step)


def attainment_bucket(ratio: float | None) -> str:
    """`none` without a target to measure against, else `0` (< 25%) to `4` (>= 100%)."""
    return "none" if ratio is None else str(stepped(ratio, ATTAINMENT_STEPS))


def attainment_bar(ratio: float | None) -> int:
    """How full an attainment bar is, in steps of 5% up to the target (the CSS classes
    `w-0` to `w-100`: the pages carry no inline style, for the Content-Security-Policy)."""
    return 0 if ratio is None else round(min(max(ratio, 0.0), 1.0) * 20) * 5


# -- what the pages choose from and name -------------------------------------------------


@dataclass
class Choices:
    """Provinces, channels, salespeople and product groups, to choose from and to name."""

    groups: list[dict[str, Any]]
    regions: dict[str, str]
    channels: list[dict[str, Any]]
    channel_names: dict[str, str]
    #: Whom a target may name (None: the caller may not choose, a salesperson).
    people: list[dict[str, Any]] | None
    names: dict[str, str]
    #: Sales' product groups, active and retired (`product_groups.listed`).
    product_groups: list[dict[str, Any]] = field(default_factory=list)

    @cached_property
    def group_names(self) -> dict[str, str]:
        return product_groups.names(self.product_groups)

    def group(self, ui: core.Ui, code: str | None) -> str:
        """A target's product group by its name; none is every group."""
        if not code:
            return ui.t("target.all_groups")
        return self.group_names.get(code, code)

    def person(self, ui: core.Ui, user_id: str | None) -> str:
        if not user_id:
            return ui.t("target.everyone")
        return self.names.get(user_id) or ui.t("channel.someone")


async def choices(ui: core.Ui) -> Choices:
    groups, channels, people, names, product_group_list = await core.gather(
        regions.groups(ui),
        core.every(ui, "/api/channels"),
        marketing.channel_staff(ui),
        core.staff_names(ui),
        product_groups.listed(ui),
    )
    # Marketing cannot list users: the salespeople it may choose are named from their list.
    names = {u["id"]: u.get("full_name") or u.get("username", "") for u in people or []} | names
    return Choices(
        groups=groups,
        regions=regions.names_in(groups),
        channels=channels,
        channel_names={c["id"]: c["name"] for c in channels},
        people=people,
        names=names,
        product_groups=product_group_list,
    )


def _filters(ui: core.Ui, given: dict[str, str | None]) -> dict[str, str]:
    """The filters as the page shows them; a salesperson's are always their own."""
    shown = {name: (given.get(name) or "").strip() for name in FILTERS}
    if ui.is_(Role.SALESPERSON):
        assert ui.user is not None
        shown["salesperson_id"] = str(ui.user.id)
    return shown


def query(values: dict[str, str], **more: str) -> str:
    return urlencode({k: v for k, v in {**values, **more}.items() if v})


# -- the API's refusals, in the user's language --------------------------------------------

#: The words of a rule the API checks against its data, by the refusal's code (a field's
#: `type`, or the answer's `code`); a period's codes all start with "period.".
_REFUSALS = {
    "region.no_match": "target.err.region",
    "region.unknown": "target.err.region",
    "target.channel_unknown": "target.err.channel",
    "target.salesperson_unknown": "target.err.salesperson",
    "target.salesperson_deactivated": "target.err.salesperson_deactivated",
    "target.salesperson_not_selling": "target.err.salesperson_not_selling",
    "uuid_parsing": "err.uuid_parsing",
}
#: Where a refusal of the whole request (a filter's) belongs, by its code.
_FILTER_FIELDS = {"region.no_match": "region_code", "region.unknown": "region_code"}


def _refusal(code: str) -> str | None:
    return "target.err.period" if code.startswith("period.") else _REFUSALS.get(code)


def _code(result: core.ApiResult) -> str:
    code = result.data.get("code") if isinstance(result.data, dict) else None
    return code if isinstance(code, str) else ""


def _params(result: core.ApiResult) -> dict[str, Any]:
    params = result.data.get("params") if isinstance(result.data, dict) else None
    return params if isinstance(params, dict) else {}


def target_problems(ui: core.Ui, result: core.ApiResult) -> tuple[core.Problems, str | None]:
    """The refusal at its fields, in the user's language, and the target that is already
    set for the scope (a 409), to link to."""
    problems = core.problems_of(ui, result, TARGET_FIELDS)
    if isinstance(result.detail, list):
        for item in result.detail:
            if not isinstance(item, dict):
                continue
            name = ".".join(str(p) for p in item.get("loc", []) if p not in ("body", "query", "path"))
            key = _refusal(str(item.get("type", "")))
            if key and name in TARGET_FIELDS:
                problems.fields[name] = ui.t(key)
    existing = None
    if result.status == 409 and _code(result) == "target.exists":
        found = _params(result).get("target")
        existing = str(found) if found else None
        problems.general = [ui.t("target.err.exists")]
    return problems, existing


def filter_problems(ui: core.Ui, result: core.ApiResult) -> core.Problems:
    """A refused filter (a period that is not one, a province no one knows) at its field."""
    code = _code(result)
    if result.status == 422 and not isinstance(result.detail, list):
        if code.startswith("period."):
            return core.Problems(fields={"period": ui.t("target.err.period")})
        if code in _FILTER_FIELDS:
            return core.Problems(fields={_FILTER_FIELDS[code]: ui.t("target.err.region")})
    problems, _ = target_problems(ui, result)
    return problems


# -- the list, and setting a target --------------------------------------------------------


def _body(values: dict[str, str]) -> dict[str, Any]:
    """The form as the API takes it: blanks left out (the API names what is missing),
    the amount without its thousands separators."""
    body: dict[str, Any] = core.blank_to_none(values, *FILTERS)
    if values.get("amount"):
        body["amount"] = core.typed_dong(values["amount"])
    return body


async def _list_page(
    ui: core.Ui,
    filters: dict[str, str],
    offset: int,
    *,
    values: dict[str, str] | None = None,
    problems: core.Problems | None = None,
    existing: str | None = None,
    status_code: int = 200,
) -> Response:
    params = {"limit": PAGE, "offset": offset, **filters}
    result, chosen = await core.gather(ui.api.get("/api/targets", **params), choices(ui))
    page = result.data if result.ok else {"items": [], "total": 0}
    defaults = {k: v for k, v in filters.items() if k != "salesperson_id" or may_plan(ui)}
    return ui.render(
        "targets/list.html",
        status_code=status_code if result.ok else result.status,
        targets=page["items"],
        total=page["total"],
        offset=offset,
        filters=filters,
        query=query(filters),
        c=chosen,
        may_plan=may_plan(ui),
        values=values or {**defaults, "period": filters["period"] or this_year(ui)},
        problems=problems or core.Problems(),
        fproblems=core.Problems() if result.ok else filter_problems(ui, result),
        existing=existing,
    )


@router.get("")
async def list_targets(
    ui: UiDep,
    period: str | None = None,
    region_code: str | None = None,
    channel_id: str | None = None,
    salesperson_id: str | None = None,
    product_group: str | None = None,
    offset: int = 0,
) -> Response:
    # No period asked for: this year's; a blank one (the filter emptied): every period.
    given = {
        "period": this_year(ui) if period is None else period,
        "region_code": region_code,
        "channel_id": channel_id,
        "salesperson_id": salesperson_id,
        "product_group": product_group,
    }
    return await _list_page(ui, _filters(ui, given), max(offset, 0))


@router.post("")
async def set_target(ui: UiDep) -> Response:
    values = core.form_values(await ui.request.form())
    result = await ui.api.post("/api/targets", _body(values))
    if result.ok:
        return ui.redirect(f"/targets/{result.data['id']}", flash="flash.target_set")
    problems, existing = target_problems(ui, result)
    # The list beside the form shows the period typed, unless that is what was refused.
    typed = values.get("period") if problems.get("period") is None else None
    filters = _filters(ui, {"period": typed or this_year(ui)})
    return await _list_page(
        ui, filters, 0, values=values, problems=problems, existing=existing, status_code=result.status
    )


# -- plan against actual ------------------------------------------------------------------


def attainment_rows(ui: core.Ui, report: dict[str, Any], chosen: Choices) -> list[dict[str, Any]]:
    """Each row of the report with its names, its attainment's bucket and bar width, and
    the map of the same period, channel and product group."""
    rows = []
    for row in report.get("rows", []):
        ratio = row.get("attainment")
        on_map = {
            "measure": "attainment",
            "period": report["period"],
            "channel_id": row["channel_id"] or "",
            "product_group": row["product_group"] or "",
        }
        rows.append(
            {
                **row,
                "map_query": query(on_map),
                "region_name": chosen.regions.get(row["region_code"], row["region_code"]),
                "channel_name": chosen.channel_names.get(row["channel_id"] or "", "")
                if row["channel_id"]
                else ui.t("target.all_channels"),
                "salesperson_name": chosen.person(ui, row["salesperson_id"]),
                "group_name": chosen.group(ui, row["product_group"]),
                "bucket": attainment_bucket(ratio),
                "bar": attainment_bar(ratio),
            }
        )
    return rows


@router.get("/attainment")
async def attainment(
    ui: UiDep,
    period: str | None = None,
    region_code: str | None = None,
    channel_id: str | None = None,
    salesperson_id: str | None = None,
    product_group: str | None = None,
) -> Response:
    filters = _filters(
        ui,
        {
            "period": period or this_year(ui),
            "region_code": region_code,
            "channel_id": channel_id,
            "salesperson_id": salesperson_id,
            "product_group": product_group,
        },
    )
    result, chosen = await core.gather(ui.api.get("/api/targets/attainment", **filters), choices(ui))
    report = result.data if result.ok else None
    return ui.render(
        "targets/attainment.html",
        status_code=200 if result.ok else result.status,
        filters=filters,
        query=query(filters),
        report=report,
        rows=attainment_rows(ui, report, chosen) if report else [],
        c=chosen,
        may_plan=may_plan(ui),
        problems=core.Problems() if result.ok else filter_problems(ui, result),
    )


# -- one target ---------------------------------------------------------------------------


async def _target_page(
    ui: core.Ui,
    target_id: str,
    values: dict[str, str] | None = None,
    problems: core.Problems | None = None,
    status_code: int = 200,
) -> Response:
    found, chosen, trail = await core.gather(
        ui.api.get(f"/api/targets/{target_id}"),
        choices(ui),
        history.trail(ui, f"/api/targets/{target_id}/audit"),
    )
    if not found.ok:
        status = found.status if found.status in (403, 404) else 404
        return ui.render("error.html", status_code=status, message=ui.t("errors.not_found"))
    target = found.data
    channel_id = target["channel_id"]
    if channel_id and channel_id not in chosen.channel_names:
        channel = await ui.api.get(f"/api/channels/{channel_id}")
        chosen.channel_names[channel_id] = channel.data["name"] if channel.ok else channel_id
    scope = {
        "period": target["period"],
        "region_code": target["region_code"],
        "channel_id": channel_id or "",
        "salesperson_id": target["salesperson_id"] or "",
        "product_group": target["product_group"] or "",
    }
    labels = {**chosen.regions, **chosen.channel_names, **chosen.names}
    return ui.render(
        "targets/detail.html",
        status_code=status_code,
        history_entries=history.describe(ui, trail[0], labels) if trail else None,
        history_total=trail[1] if trail else 0,
        target=target,
        history=list(reversed(target["revisions"])),
        c=chosen,
        scope_query=query(scope),
        map_query=query({**scope, "measure": "attainment", "salesperson_id": ""}),
        may_plan=may_plan(ui),
        values=values or {"amount": i18n.number(ui.lang, target["amount"])},
        problems=problems or core.Problems(),
    )


@router.get("/{target_id}")
async def target_page(target_id: str, ui: UiDep) -> Response:
    return await _target_page(ui, target_id)


@router.post("/{target_id}")
async def revise_target(target_id: str, ui: UiDep) -> Response:
    values = core.form_values(await ui.request.form())
    body = {"amount": core.typed_dong(values["amount"])} if values.get("amount") else {}
    result = await ui.api.call("PATCH", f"/api/targets/{target_id}", json_body=body)
    if result.ok:
        return ui.redirect(f"/targets/{target_id}", flash="flash.target_revised")
    problems, _ = target_problems(ui, result)
    return await _target_page(ui, target_id, values, problems, status_code=result.status)
