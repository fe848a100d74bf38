"""Marketing: channels and the provinces they cover, market volumes, the market-share
dashboard (bar charts by province x channel, against the previous period), campaigns."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from . import core, i18n
from .core import UiDep

router = APIRouter(prefix="/marketing")

CHANNEL_KINDS = ("distributor", "dealer", "retail", "agent", "online", "project")


def _this_year() -> str:
    return str(datetime.now(i18n.ZONE).year)


def _codes(text: str) -> list[str]:
    return [part.strip().upper() for part in text.replace(";", ",").split(",") if part.strip()]


async def _regions(ui: core.Ui) -> dict[str, str]:
    return {r["code"]: r["name"] for r in await ui.api.items("/api/regions")}


async def _channels_page(
    ui: core.Ui,
    values: dict[str, str] | None = None,
    problems: core.Problems | None = None,
    status_code: int = 200,
) -> Response:
    channels, regions = await core.gather(ui.api.items("/api/channels", limit=200), _regions(ui))
    return ui.render(
        "marketing/channels.html",
        status_code=status_code,
        channels=channels,
        regions=regions,
        kinds=CHANNEL_KINDS,
        values=values or {"kind": "distributor"},
        problems=problems or core.Problems(),
    )


@router.get("")
async def channels(ui: UiDep) -> Response:
    return await _channels_page(ui)


@router.post("/channels")
async def create_channel(ui: UiDep) -> Response:
    values = core.form_values(await ui.request.form())
    body = {
        "name": values.get("name", ""),
        "kind": values.get("kind", ""),
        "region_codes": _codes(values.get("region_codes", "")),
    }
    result = await ui.api.post("/api/channels", body)
    if result.ok:
        return ui.redirect("/marketing", flash="flash.saved")
    return await _channels_page(ui, values, core.problems_of(ui, result), status_code=result.status)


async def _volumes_page(
    ui: core.Ui,
    period: str,
    values: dict[str, str] | None = None,
    problems: core.Problems | None = None,
    status_code: int = 200,
) -> Response:
    volumes, regions = await core.gather(
        ui.api.items("/api/market-volumes", period=period, limit=200), _regions(ui)
    )
    return ui.render(
        "marketing/volumes.html",
        status_code=status_code,
        volumes=volumes,
        regions=regions,
        period=period,
        values=values or {"period": period},
        problems=problems or core.Problems(),
    )


@router.get("/volumes")
async def volumes(ui: UiDep, period: str | None = None) -> Response:
    return await _volumes_page(ui, period or _this_year())


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
    period = values.get("period") or _this_year()
    if result.ok:
        return ui.redirect(f"/marketing/volumes?period={period}", flash="flash.saved")
    return await _volumes_page(ui, period, values, core.problems_of(ui, result), status_code=result.status)


@router.get("/share")
async def share(ui: UiDep, period: str | None = None, product_group: str | None = None) -> Response:
    period = period or _this_year()
    result = await ui.api.get("/api/market-share", period=period, product_group=product_group)
    report = result.data if result.ok else None
    chart = _share_chart(ui, report) if report else None
    return ui.render(
        "marketing/share.html",
        period=period,
        product_group=product_group or "",
        report=report,
        chart=chart,
        problems=None if result.ok else core.problems_of(ui, result),
    )


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


async def _campaigns_page(
    ui: core.Ui,
    values: dict[str, str] | None = None,
    problems: core.Problems | None = None,
    status_code: int = 200,
) -> Response:
    campaigns = await ui.api.items("/api/campaigns", limit=100)
    return ui.render(
        "marketing/campaigns.html",
        status_code=status_code,
        campaigns=campaigns,
        values=values or {},
        problems=problems or core.Problems(),
    )


@router.get("/campaigns")
async def campaigns(ui: UiDep) -> Response:
    return await _campaigns_page(ui)


@router.post("/campaigns")
async def create_campaign(ui: UiDep) -> Response:
    values = core.form_values(await ui.request.form())
    body = {
        "name": values.get("name", ""),
        "starts_on": values.get("starts_on") or None,
        "ends_on": values.get("ends_on") or None,
        "target": {
            "grades": _codes(values.get("target.grades", "")),
            "region_codes": _codes(values.get("target.region_codes", "")),
        },
    }
    result = await ui.api.post("/api/campaigns", body)
    if result.ok:
        return ui.redirect("/marketing/campaigns", flash="flash.saved")
    return await _campaigns_page(ui, values, core.problems_of(ui, result), status_code=result.status)


@router.post("/campaigns/{campaign_id}/launch")
async def launch(campaign_id: str, ui: UiDep) -> Response:
    result = await ui.api.post(f"/api/campaigns/{campaign_id}/launch")
    if result.ok:
        return ui.redirect("/marketing/campaigns", flash="flash.done")
    return await _campaigns_page(ui, problems=core.problems_of(ui, result), status_code=result.status)
