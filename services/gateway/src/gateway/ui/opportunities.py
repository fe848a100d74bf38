"""Repeat business in the UI: the opportunity board by stage (with the moves each card
allows), the forecast by expected close month, a new opportunity for a customer sales
knows (no lead needed), and the lapsed customers to call again."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from crm_kit.auth import Role

from . import core
from .core import UiDep

router = APIRouter()

OPEN_STAGES = ("qualification", "needs_analysis", "proposal", "negotiation")
STAGES = (*OPEN_STAGES, "won", "lost")
#: The board shows this many of the newest cards in each column (the list pages them all).
PER_COLUMN = 50


def moves_from(stage: str) -> list[str]:
    """Where a card may go: forward (skipping is fine), or lost; won and lost are final,
    and won comes from an accepted quote, so it is not offered by hand."""
    if stage not in OPEN_STAGES:
        return []
    return [*OPEN_STAGES[OPEN_STAGES.index(stage) + 1 :], "lost"]


@router.get("/opportunities")
async def board(ui: UiDep, owner_id: str | None = None) -> Response:
    scope = {"owner_id": owner_id} if owner_id and ui.is_(Role.SALES_MANAGER, Role.ADMIN) else {}
    columns = await core.gather(
        *(ui.api.get("/api/opportunities", stage=stage, limit=PER_COLUMN, **scope) for stage in STAGES),
        ui.api.get("/api/opportunities/forecast", **scope),
    )
    *by_stage, forecast = columns
    return ui.render(
        "opportunities/board.html",
        columns=[
            {
                "stage": stage,
                "items": page.data["items"] if page.ok else [],
                "total": page.data["total"] if page.ok else 0,
            }
            for stage, page in zip(STAGES, by_stage, strict=True)
        ],
        moves_from=moves_from,
        forecast=forecast.data if forecast.ok else None,
        owner_id=scope.get("owner_id", ""),
    )


@router.post("/opportunities/{opportunity_id}/stage")
async def move(ui: UiDep, opportunity_id: str) -> Response:
    values = core.form_values(await ui.request.form())
    body = core.blank_to_none(values, "stage", "lost_reason")
    result = await ui.api.post(f"/api/opportunities/{opportunity_id}/stage", body)
    if result.ok:
        return ui.redirect("/opportunities", flash="flash.opportunity_moved")
    problems = core.problems_of(ui, result)
    message = "; ".join([*problems.general, *problems.fields.values()]) or ui.t("errors.unavailable")
    return ui.render("error.html", status_code=result.status, message=message)


@router.get("/opportunities/new")
async def new_opportunity(ui: UiDep, customer_id: str | None = None) -> Response:
    return await _form(ui, {"customer_id": customer_id or ""})


@router.post("/opportunities/new")
async def create_opportunity(ui: UiDep) -> Response:
    values = core.form_values(await ui.request.form())
    body: dict[str, Any] = core.blank_to_none(values, "customer_id", "name", "expected_close_on")
    body.setdefault("customer_id", "")
    if values.get("expected_amount"):
        body["expected_amount"] = core.typed_dong(values["expected_amount"])
    result = await ui.api.post("/api/opportunities", body)
    if result.ok:
        return ui.redirect("/opportunities", flash="flash.opportunity_created")
    return await _form(ui, values, core.problems_of(ui, result), status_code=result.status)


async def _form(
    ui: core.Ui, values: dict[str, str], problems: core.Problems | None = None, status_code: int = 200
) -> Response:
    customers = await ui.api.items("/api/sales/customers", limit=200)
    return ui.render(
        "opportunities/new.html",
        status_code=status_code,
        values=values,
        customers=[c for c in customers if c.get("lifecycle_stage") != "inactive"],
        problems=problems or core.Problems(),
    )


@router.get("/customers/lapsed")
async def lapsed(ui: UiDep, days: str | None = None, grade: str | None = None, offset: int = 0) -> Response:
    params = {"days": days or None, "grade": grade or None}
    result = await ui.api.get("/api/customers/lapsed", limit=50, offset=max(offset, 0), **params)
    page = result.data if result.ok else {"items": [], "total": 0}
    return ui.render(
        "customers/lapsed.html",
        status_code=200 if result.ok or result.status >= 500 else result.status,
        customers=page["items"],
        total=page["total"],
        offset=max(offset, 0),
        days=days or "",
        grade=grade or "",
        problems=None if result.ok else core.problems_of(ui, result),
        today=ui.today(),
    )
