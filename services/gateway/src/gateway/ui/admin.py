"""The admin pages: users and roles, offboarding with the portfolio still held."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from crm_kit.auth import Role

from ..domain import may_take_over
from . import core
from .core import UiDep

router = APIRouter()

ROLES = tuple(r.value for r in Role)


# -- users -----------------------------------------------------------------------------


async def _new_user_page(
    ui: core.Ui,
    values: dict[str, str] | None = None,
    problems: core.Problems | None = None,
    status_code: int = 200,
) -> Response:
    return ui.render(
        "admin/new_user.html",
        status_code=status_code,
        roles=ROLES,
        values=values or {"role": Role.SALESPERSON},
        problems=problems or core.Problems(),
    )


@router.get("/admin/users")
async def users(
    ui: UiDep, q: str | None = None, role: str | None = None, active: str | None = None, offset: int = 0
) -> Response:
    if not ui.is_(Role.ADMIN, Role.SALES_MANAGER):
        return ui.render("error.html", status_code=403, message=ui.t("errors.forbidden"))
    filters = {"q": (q or "").strip(), "role": role if role in ROLES else "", "active": active or ""}
    flag = {"yes": "true", "no": "false"}.get(filters["active"])
    result = await ui.api.get(
        "/api/users", q=filters["q"], role=filters["role"], active=flag, limit=50, offset=max(offset, 0)
    )
    page = result.data if result.ok else {"items": [], "total": 0}
    return ui.render(
        "admin/users.html",
        users=page["items"],
        total=page["total"],
        offset=max(offset, 0),
        filters=filters,
        roles=ROLES,
        problems=None if result.ok else core.problems_of(ui, result),
    )


@router.get("/admin/users/new")
async def new_user(ui: UiDep) -> Response:
    if not ui.is_(Role.ADMIN):
        return ui.render("error.html", status_code=403, message=ui.t("errors.forbidden"))
    return await _new_user_page(ui)


@router.post("/admin/users")
async def create_user(ui: UiDep) -> Response:
    form = await ui.request.form()
    values = core.form_values(form)
    body = {
        "username": values.get("username", ""),
        "full_name": values.get("full_name", ""),
        "role": values.get("role", ""),
        "password": str(form.get("password") or ""),
    }
    result = await ui.api.post("/api/users", body)
    if result.ok:
        return ui.redirect(f"/admin/users/{result.data['id']}", flash="admin.user_created")
    values.pop("password", None)
    return await _new_user_page(ui, values, core.problems_of(ui, result), status_code=result.status)


async def _user_page(
    ui: core.Ui,
    user_id: str,
    problems: core.Problems | None = None,
    status_code: int = 200,
    confirm: dict[str, Any] | None = None,
) -> Response:
    account, everyone, portfolio = await core.gather(
        ui.api.get(f"/api/users/{user_id}"),
        ui.api.items("/api/users", active="true", limit=200),
        ui.api.get(f"/api/users/{user_id}/portfolio"),
    )
    if not account.ok:
        return ui.render("error.html", status_code=account.status, message=ui.t("errors.not_found"))
    return ui.render(
        "admin/user.html",
        status_code=status_code,
        account=account.data,
        # Only who may hold what the leaving user holds: a seller's portfolio goes to a seller.
        others=[
            u
            for u in everyone
            if u["id"] != user_id and u["active"] and may_take_over(account.data["role"], u["role"])
        ],
        portfolio=portfolio.data if portfolio.ok else None,
        roles=ROLES,
        problems=problems or core.Problems(),
        confirm=confirm,
    )


@router.get("/admin/users/{user_id}")
async def user_page(user_id: str, ui: UiDep) -> Response:
    return await _user_page(ui, user_id)


@router.post("/admin/users/{user_id}/role")
async def change_role(user_id: str, ui: UiDep) -> Response:
    values = core.form_values(await ui.request.form())
    result = await ui.api.call("PATCH", f"/api/users/{user_id}", json_body=core.blank_to_none(values, "role"))
    if result.ok:
        return ui.redirect(f"/admin/users/{user_id}", flash="flash.saved")
    return await _user_page(ui, user_id, core.problems_of(ui, result), status_code=result.status)


@router.post("/admin/users/{user_id}/offboard")
async def offboard(user_id: str, ui: UiDep) -> Response:
    """Two steps: the form asks for the successor and shows what will move to whom; only
    the confirmation (`confirmed`) offboards."""
    values = core.form_values(await ui.request.form())
    target = values.get("offboard.reassign_to", "")
    if values.get("confirmed") != "yes":
        chosen = await ui.api.get(f"/api/users/{target}") if target else None
        if chosen is None or not chosen.ok:
            problems = core.Problems(fields={"offboard.reassign_to": ui.t("admin.pick_successor")})
            return await _user_page(ui, user_id, problems, status_code=422)
        return await _user_page(ui, user_id, confirm=chosen.data)
    result = await ui.api.post(f"/api/users/{user_id}/offboard", {"reassign_to": target})
    if result.ok:
        return ui.redirect(f"/admin/users/{user_id}", flash="admin.offboarded")
    problems = core.problems_of(ui, result)
    problems.fields = {f"offboard.{k}": v for k, v in problems.fields.items()}
    return await _user_page(ui, user_id, problems, status_code=result.status)
