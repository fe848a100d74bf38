"""Marketing: channels and the provinces they cover (a channel's page: its parent, its
provinces, its salespeople per province), market volumes, the market-share dashboard
(bar charts by province x channel, against the previous period), campaigns (a
campaign's page: its targeting, its audience, the launch).

Market volumes also come from a file (/marketing/volumes/import), reported row by row as
the targets' import is (`plan_imports`)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.datastructures import FormData

from crm_kit.auth import Role

from . import core, history, plan_imports, product_groups, regions
from .core import UiDep

router = APIRouter(prefix="/marketing")

CHANNEL_KINDS = ("distributor", "dealer", "retail", "agent", "online", "project")
LIFECYCLE_STAGES = ("prospect", "traditional", "inactive")
#: Who may change channels and campaigns (the API says so too; this only hides forms).
PLANNERS = (Role.MARKETING, Role.SALES_MANAGER, Role.ADMIN)
#: Staff the API lets own customers and work channels.
SELLING_ROLES = (Role.SALESPERSON, Role.SALES_MANAGER)
AUDIENCE_PAGE = 50
#: The grades of the fixed schemes (ABCD, VIP), offered before the questionnaires' own.
FIXED_GRADES = ("A", "B", "C", "D", "VIP", "Tier I", "Tier II", "Tier III")


def _this_year(ui: core.Ui) -> str:
    return str(ui.today().year)


async def salespeople(ui: core.Ui) -> list[dict[str, Any]] | None:
    """Active staff who sell, to choose from; None when the caller may not list users
    (only managers and admins may)."""
    if not ui.is_(Role.ADMIN, Role.SALES_MANAGER):
        return None
    return [u for u in await core.every(ui, "/api/users") if u["active"] and u["role"] in SELLING_ROLES]


async def channel_staff(ui: core.Ui) -> list[dict[str, Any]] | None:
    """Whom a planner may assign to a channel's provinces. Managers and admins, who may
    list every user, choose among the active salespeople and sales managers; marketing
    among the active salespeople (`GET /api/users/salespeople`, the narrow list made for
    it). None for anyone who does not plan channels."""
    if ui.is_(Role.ADMIN, Role.SALES_MANAGER):
        return await salespeople(ui)
    if not ui.is_(*PLANNERS):
        return None
    return [{**u, "role": Role.SALESPERSON} for u in await core.every(ui, "/api/users/salespeople")]


def _history(
    ui: core.Ui, trail: tuple[list[dict[str, Any]], int] | None, labels: dict[str, str]
) -> dict[str, Any]:
    """The History section's context: the entries described, and how many there are."""
    if trail is None:
        return {"history_entries": None, "history_total": 0}
    entries, total = trail
    return {"history_entries": history.describe(ui, entries, labels), "history_total": total}


def _list_fields(problems: core.Problems) -> core.Problems:
    """A list's item error (`target.grades.2`) shown at the list's own field."""
    problems.fields = {re.sub(r"(\.\d+)+(?=\.|$)", "", k): v for k, v in problems.fields.items()}
    return problems


async def _channels_page(
    ui: core.Ui,
    values: dict[str, str] | None = None,
    problems: core.Problems | None = None,
    status_code: int = 200,
    chosen: list[str] | None = None,
) -> Response:
    channels, groups = await core.gather(ui.api.items("/api/channels", limit=200), regions.groups(ui))
    return ui.render(
        "marketing/channels.html",
        status_code=status_code,
        channels=channels,
        groups=groups,
        chosen=chosen or [],
        regions=regions.names_in(groups),
        kinds=CHANNEL_KINDS,
        values=values or {"kind": "distributor"},
        problems=problems or core.Problems(),
    )


@router.get("")
async def channels(ui: UiDep) -> Response:
    return await _channels_page(ui)


@router.post("/channels")
async def create_channel(ui: UiDep) -> Response:
    form = await ui.request.form()
    values = core.form_values(form)
    chosen = [str(c) for c in form.getlist("region_codes")]  # the provinces ticked, by name
    body = {"name": values.get("name", ""), "kind": values.get("kind", ""), "region_codes": chosen}
    result = await ui.api.post("/api/channels", body)
    if result.ok:
        return ui.redirect("/marketing", flash="flash.saved")
    problems = _list_fields(core.problems_of(ui, result, ("region_codes",)))
    return await _channels_page(ui, values, problems, status_code=result.status, chosen=chosen)


# -- one channel ------------------------------------------------------------------------


async def _channel_page(
    ui: core.Ui,
    channel_id: str,
    *,
    failed: str | None = None,
    values: dict[str, str] | None = None,
    chosen: list[str] | None = None,
    assigned: dict[str, list[str]] | None = None,
    problems: core.Problems | None = None,
    status_code: int = 200,
) -> Response:
    """The channel, with three forms (details, coverage, salespeople per province); the
    one that `failed` shows the API's answer and what was chosen, the others the record."""
    found = await ui.api.get(f"/api/channels/{channel_id}")
    if not found.ok:
        return ui.render("error.html", status_code=found.status, message=ui.t("errors.not_found"))
    channel = found.data
    channels, groups, people, names, trail = await core.gather(
        ui.api.items("/api/channels", limit=200),
        regions.groups(ui),
        channel_staff(ui),
        core.staff_names(ui),
        history.trail(ui, f"/api/channels/{channel_id}/audit"),
    )
    # Marketing cannot list users: the people it may assign are named from their own list.
    names = {u["id"]: u["full_name"] for u in people or []} | names
    channel_names = {c["id"]: c["name"] for c in channels}
    parent_id = channel["parent_id"]
    if parent_id and parent_id not in channel_names:
        parent = await ui.api.get(f"/api/channels/{parent_id}")
        channel_names[parent_id] = parent.data["name"] if parent.ok else parent_id
    recorded: dict[str, list[str]] = {}
    for a in channel["assignments"]:
        recorded.setdefault(a["region_code"], []).append(a["user_id"])
    active = "1" if channel["active"] else ""
    stored = {"name": channel["name"], "parent_id": parent_id or "", "active": active}
    return ui.render(
        "marketing/channel.html",
        status_code=status_code,
        **_history(ui, trail, {**regions.names_in(groups), **names, **channel_names}),
        channel=channel,
        channel_names=channel_names,
        parents=[c for c in channels if c["id"] != channel["id"]],
        children=[c for c in channels if c["parent_id"] == channel["id"]],
        groups=groups,
        regions=regions.names_in(groups),
        people=people,
        names=names,
        can_plan=ui.is_(*PLANNERS),
        failed=failed,
        values=values if failed == "details" and values is not None else stored,
        chosen=chosen if failed == "coverage" and chosen is not None else channel["region_codes"],
        assigned=assigned if failed == "assignments" and assigned is not None else recorded,
        problems=problems or core.Problems(),
    )


@router.get("/channels/{channel_id}")
async def channel_page(channel_id: str, ui: UiDep) -> Response:
    return await _channel_page(ui, channel_id)


@router.post("/channels/{channel_id}")
async def edit_channel(channel_id: str, ui: UiDep) -> Response:
    values = core.form_values(await ui.request.form())
    body = {
        "name": values.get("name", ""),
        "parent_id": values.get("parent_id") or None,
        "active": values.get("active") == "1",
    }
    result = await ui.api.call("PATCH", f"/api/channels/{channel_id}", json_body=body)
    if result.ok:
        return ui.redirect(f"/marketing/channels/{channel_id}", flash="flash.saved")
    problems = core.problems_of(ui, result, ("name", "parent_id", "active"))
    return await _channel_page(
        ui, channel_id, failed="details", values=values, problems=problems, status_code=result.status
    )


@router.post("/channels/{channel_id}/coverage")
async def set_coverage(channel_id: str, ui: UiDep) -> Response:
    chosen = [str(c) for c in (await ui.request.form()).getlist("region_codes")]
    result = await ui.api.call(
        "PUT", f"/api/channels/{channel_id}/coverage", json_body={"region_codes": chosen}
    )
    if result.ok:
        return ui.redirect(f"/marketing/channels/{channel_id}#coverage", flash="flash.saved")
    problems = _list_fields(core.problems_of(ui, result, ("region_codes",)))
    return await _channel_page(
        ui, channel_id, failed="coverage", chosen=chosen, problems=problems, status_code=result.status
    )


def _assignments_of(form: FormData) -> dict[str, list[str]]:
    """`assign.<province>` holds the ids of the salespeople chosen there."""
    return {
        name.removeprefix("assign."): [str(v) for v in form.getlist(name) if v]
        for name in dict.fromkeys(form.keys())
        if name.startswith("assign.")
    }


@router.post("/channels/{channel_id}/assignments")
async def set_assignments(channel_id: str, ui: UiDep) -> Response:
    assigned = _assignments_of(await ui.request.form())
    body = [{"region_code": code, "user_id": uid} for code, ids in assigned.items() for uid in ids]
    result = await ui.api.call("PUT", f"/api/channels/{channel_id}/assignments", json_body=body)
    if result.ok:
        return ui.redirect(f"/marketing/channels/{channel_id}#assignments", flash="flash.saved")
    problems = core.problems_of(ui, result)
    # An item's error (`3.user_id`) goes to its province's field.
    fields: dict[str, str] = {}
    for name, message in problems.fields.items():
        index = name.split(".")[0]
        if index.isdigit() and int(index) < len(body):
            fields.setdefault(f"assign.{body[int(index)]['region_code']}", message)
        else:
            problems.general.append(message)
    problems.fields = fields
    return await _channel_page(
        ui, channel_id, failed="assignments", assigned=assigned, problems=problems, status_code=result.status
    )


async def _volumes_page(
    ui: core.Ui,
    period: str,
    values: dict[str, str] | None = None,
    problems: core.Problems | None = None,
    status_code: int = 200,
) -> Response:
    volumes, groups, product_group_list = await core.gather(
        ui.api.items("/api/market-volumes", period=period, limit=200),
        regions.groups(ui),
        product_groups.listed(ui),
    )
    return ui.render(
        "marketing/volumes.html",
        status_code=status_code,
        volumes=volumes,
        groups=groups,
        product_groups=product_group_list,
        group_names=product_groups.names(product_group_list),
        regions=regions.names_in(groups),
        period=period,
        values=values or {"period": period},
        problems=problems or core.Problems(),
    )


@router.get("/volumes")
async def volumes(ui: UiDep, period: str | None = None) -> Response:
    return await _volumes_page(ui, period or _this_year(ui))


@router.post("/volumes")
async def create_volume(ui: UiDep) -> Response:
    values = core.form_values(await ui.request.form())
    body: dict[str, Any] = {
        "region_code": values.get("region_code", "").upper(),
        "product_group": values.get("product_group", ""),
        "period": values.get("period", ""),
        "amount": values.get("amount", "").replace(".", "").replace(",", "").replace(" ", "") or None,
        **core.blank_to_none(values, "note"),
    }
    result = await ui.api.post("/api/market-volumes", body)
    period = values.get("period") or _this_year(ui)
    if result.ok:
        return ui.redirect(f"/marketing/volumes?period={period}", flash="flash.saved")
    return await _volumes_page(ui, period, values, core.problems_of(ui, result), status_code=result.status)


#: A market volumes file: its columns and size limit are the API's (`marketing.volumes`).
VOLUME_IMPORT = plan_imports.PlanImport(
    "marketing/volume_import.html",
    "/api/market-volumes/import",
    ("region_code", "product_group", "period", "amount", "source", "note"),
    limit_mb=5,
)


@router.get("/volumes/import")
async def volume_import_page(ui: UiDep) -> Response:
    return VOLUME_IMPORT.page(ui, may_plan=ui.is_(*PLANNERS))


@router.post("/volumes/import")
async def import_volumes(ui: UiDep) -> Response:
    return await VOLUME_IMPORT.upload(ui, may_plan=ui.is_(*PLANNERS))


@router.get("/share")
async def share(
    ui: UiDep,
    period: str | None = None,
    product_group: str | None = None,
    region_code: str | None = None,
    channel_id: str | None = None,
) -> Response:
    """The dashboard, for one province and one channel when asked (the map links here)."""
    filters = {
        "period": period or _this_year(ui),
        "product_group": product_group or "",
        "region_code": region_code or "",
        "channel_id": channel_id or "",
    }
    result, groups, channels, product_group_list = await core.gather(
        ui.api.get("/api/market-share", **filters),
        regions.groups(ui),
        core.every(ui, "/api/channels"),
        product_groups.listed(ui),
    )
    report = result.data if result.ok else None
    chart = _share_chart(ui, report) if report else None
    return ui.render(
        "marketing/share.html",
        status_code=200 if result.ok else result.status,
        period=filters["period"],
        product_group=filters["product_group"],
        filters=filters,
        groups=groups,
        region_names=regions.names_in(groups),
        channels=channels,
        product_groups=product_group_list,
        map_query=urlencode(
            {k: v for k, v in {"measure": "share", **filters}.items() if v and k != "region_code"}
        ),
        report=report,
        chart=chart,
        problems=None if result.ok else share_problems(ui, result),
    )


def _code(result: core.ApiResult) -> str:
    """The refusal's code (`crm_kit.errors`), "" if the answer carries none."""
    code = result.data.get("code") if isinstance(result.data, dict) else None
    return code if isinstance(code, str) else ""


def share_problems(ui: core.Ui, result: core.ApiResult) -> core.Problems:
    """A period that is not one (a year, a quarter or a month) at the period's field."""
    if result.status == 422 and _code(result).startswith("period."):
        return core.Problems(fields={"period": ui.t("target.err.period")})
    return core.problems_of(ui, result, ("period", "product_group", "region_code", "channel_id"))


def _share_chart(ui: core.Ui, report: dict[str, Any]) -> dict[str, Any]:
    """Grouped bars: one group per province, one bar per channel (share in %)."""
    regions: list[str] = []
    names: dict[str, str] = {}
    channels: dict[str, str] = {}
    for row in report["rows"]:
        if row["region_code"] not in names:
            regions.append(row["region_code"])
            names[row["region_code"]] = row["region_name"]
        key = row["channel_id"] or ""
        channels.setdefault(key, row["channel_name"] or ui.t("share.no_channel"))
    datasets = []
    for key, label in channels.items():
        shares = {r["region_code"]: r["share"] for r in report["rows"] if (r["channel_id"] or "") == key}
        datasets.append(
            {
                "label": label,
                "data": [
                    None if shares.get(code) is None else round(shares[code] * 100, 2) for code in regions
                ],
            }
        )
    return {
        "type": "bar",
        "data": {"labels": [names[c] for c in regions], "datasets": datasets},
        "options": {
            "responsive": True,
            "scales": {"y": {"beginAtZero": True, "title": {"display": True, "text": "%"}}},
        },
    }


CAMPAIGN_FIELDS = ("name", "starts_on", "ends_on", "target")


def _split(text: str) -> list[str]:
    """Grades as typed, comma-separated (a custom grade may be any word, so no upper-casing)."""
    return list(dict.fromkeys(part.strip() for part in text.replace(";", ",").split(",") if part.strip()))


async def grade_choices(ui: core.Ui) -> list[str]:
    """Grades to tick: the fixed schemes' and those of the questionnaires in use, each
    once (the API compares grades without regard to case)."""
    questionnaires = await core.every(ui, "/api/questionnaires")
    named = [*FIXED_GRADES, *(g["name"] for q in questionnaires for g in q["scheme"]["grades"])]
    seen: dict[str, str] = {}
    for grade in named:
        seen.setdefault(grade.casefold(), grade)
    return list(seen.values())


async def _campaigns_page(
    ui: core.Ui,
    values: dict[str, str] | None = None,
    grades: list[str] | None = None,
    problems: core.Problems | None = None,
    status_code: int = 200,
    chosen_regions: list[str] | None = None,
) -> Response:
    campaigns, choices, groups = await core.gather(
        ui.api.items("/api/campaigns", limit=100), grade_choices(ui), regions.groups(ui)
    )
    return ui.render(
        "marketing/campaigns.html",
        status_code=status_code,
        campaigns=campaigns,
        groups=groups,
        chosen_regions=chosen_regions or [],
        grade_choices=choices,
        grades=grades or [],
        values=values or {},
        problems=problems or core.Problems(),
    )


@router.get("/campaigns")
async def campaigns(ui: UiDep) -> Response:
    return await _campaigns_page(ui)


@router.post("/campaigns")
async def create_campaign(ui: UiDep) -> Response:
    form = await ui.request.form()
    values = core.form_values(form)
    # Ticked grades and typed ones, as they are written: a custom grade may be any word.
    ticked = [str(v) for v in form.getlist("target.grades")]
    grades = list(dict.fromkeys([*ticked, *_split(values.get("target.other_grades", ""))]))
    chosen = [str(c) for c in form.getlist("target.region_codes")]  # the provinces ticked
    body = {
        "name": values.get("name", ""),
        "starts_on": values.get("starts_on") or None,
        "ends_on": values.get("ends_on") or None,
        "target": {
            "grades": grades,
            "region_codes": chosen,
        },
    }
    result = await ui.api.post("/api/campaigns", body)
    if result.ok:
        return ui.redirect("/marketing/campaigns", flash="flash.saved")
    problems = _list_fields(core.problems_of(ui, result, CAMPAIGN_FIELDS))
    return await _campaigns_page(
        ui, values, ticked, problems, status_code=result.status, chosen_regions=chosen
    )


@router.post("/campaigns/{campaign_id}/launch")
async def launch(campaign_id: str, ui: UiDep) -> Response:
    # Launched from the campaign's own page, the answer shows there.
    on_its_page = core.form_values(await ui.request.form()).get("next") == "campaign"
    result = await ui.api.post(f"/api/campaigns/{campaign_id}/launch")
    if result.ok:
        back = f"/marketing/campaigns/{campaign_id}" if on_its_page else "/marketing/campaigns"
        return ui.redirect(back, flash="flash.done")
    problems = core.problems_of(ui, result)
    if on_its_page:
        return await _campaign_page(ui, campaign_id, problems=problems, status_code=result.status)
    return await _campaigns_page(ui, problems=problems, status_code=result.status)


# -- one campaign -----------------------------------------------------------------------

#: The targeting's lists chosen by ticking boxes (grades are typed).
TARGET_CHOICES = ("lifecycle_stages", "region_codes", "macro_regions", "channel_ids")


async def _campaign_page(
    ui: core.Ui,
    campaign_id: str,
    *,
    values: dict[str, str] | None = None,
    chosen: dict[str, list[str]] | None = None,
    problems: core.Problems | None = None,
    offset: int = 0,
    status_code: int = 200,
) -> Response:
    found = await ui.api.get(f"/api/campaigns/{campaign_id}")
    if not found.ok:
        return ui.render("error.html", status_code=found.status, message=ui.t("errors.not_found"))
    campaign = found.data
    target = campaign["target"]
    audience, groups, channels, names, trail = await core.gather(
        ui.api.get(f"/api/campaigns/{campaign_id}/audience", limit=AUDIENCE_PAGE, offset=offset),
        regions.groups(ui),
        ui.api.items("/api/channels", limit=200),
        core.staff_names(ui),
        history.trail(ui, f"/api/campaigns/{campaign_id}/audit"),
    )
    page = audience.data if audience.ok else {"items": [], "total": 0}
    channel_names = {c["id"]: c["name"] for c in channels}
    return ui.render(
        "marketing/campaign.html",
        status_code=status_code,
        **_history(ui, trail, {**regions.names_in(groups), **names, **channel_names}),
        campaign=campaign,
        target=target,
        audience=page["items"],
        audience_total=page["total"],
        offset=offset,
        page_size=AUDIENCE_PAGE,
        groups=groups,
        regions=regions.names_in(groups),
        channels=channels,
        channel_names=channel_names,
        names=names,
        stages=LIFECYCLE_STAGES,
        can_plan=ui.is_(*PLANNERS),
        values=values
        or {
            "name": campaign["name"],
            "starts_on": campaign["starts_on"],
            "ends_on": campaign["ends_on"],
            "target.grades": ", ".join(target["grades"]),
        },
        chosen=chosen or {key: target[key] for key in TARGET_CHOICES},
        problems=problems or core.Problems(),
    )


@router.get("/campaigns/{campaign_id}")
async def campaign_page(campaign_id: str, ui: UiDep, offset: int = 0) -> Response:
    return await _campaign_page(ui, campaign_id, offset=max(offset, 0))


@router.post("/campaigns/{campaign_id}")
async def edit_campaign(campaign_id: str, ui: UiDep) -> Response:
    form = await ui.request.form()
    values = core.form_values(form)
    chosen = {key: [str(v) for v in form.getlist(f"target.{key}")] for key in TARGET_CHOICES}
    body = {
        "name": values.get("name", ""),
        "starts_on": values.get("starts_on") or None,
        "ends_on": values.get("ends_on") or None,
        "target": {"grades": _split(values.get("target.grades", "")), **chosen},
    }
    result = await ui.api.call("PATCH", f"/api/campaigns/{campaign_id}", json_body=body)
    if result.ok:
        return ui.redirect(f"/marketing/campaigns/{campaign_id}", flash="flash.saved")
    problems = _list_fields(core.problems_of(ui, result, CAMPAIGN_FIELDS))
    return await _campaign_page(
        ui, campaign_id, values=values, chosen=chosen, problems=problems, status_code=result.status
    )
