"""The admin pages: users and roles, offboarding with the portfolio still held."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from crm_kit.auth import Role

from . import core
from .core import UiDep

router = APIRouter()

ROLES = tuple(r.value for r in Role)


# -- users -----------------------------------------------------------------------------


async def _users_page(
    ui: core.Ui,
    values: dict[str, str] | None = None,
    problems: core.Problems | None = None,
    status_code: int = 200,
) -> Response:
    users = await ui.api.items("/api/users", limit=200)
    return ui.render(
        "admin/users.html",
        status_code=status_code,
        users=users,
        roles=ROLES,
        values=values or {"role": Role.SALESPERSON},
        problems=problems or core.Problems(),
    )


@router.get("/admin/users")
async def users(ui: UiDep) -> Response:
    if not ui.is_(Role.ADMIN, Role.SALES_MANAGER):
        return ui.render("error.html", status_code=403, message=ui.t("errors.forbidden"))
    return await _users_page(ui)


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
    return await _users_page(ui, values, core.problems_of(ui, result), status_code=result.status)


async def _user_page(
    ui: core.Ui, user_id: str, problems: core.Problems | None = None, status_code: int = 200
) -> Response:
    account, everyone, portfolio = await core.gather(
        ui.api.get(f"/api/users/{user_id}"),
        ui.api.items("/api/users", limit=200),
        ui.api.get(f"/api/users/{user_id}/portfolio"),
    )
    if not account.ok:
        return ui.render("error.html", status_code=account.status, message=ui.t("errors.not_found"))
    return ui.render(
        "admin/user.html",
        status_code=status_code,
        account=account.data,
        others=[u for u in everyone if u["id"] != user_id and u["active"]],
        portfolio=portfolio.data if portfolio.ok else None,
        roles=ROLES,
        problems=problems or core.Problems(),
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
    values = core.form_values(await ui.request.form())
    target = values.get("offboard.reassign_to", "")
    result = await ui.api.post(f"/api/users/{user_id}/offboard", {"reassign_to": target})
    if result.ok:
        return ui.redirect(f"/admin/users/{user_id}", flash="admin.offboarded")
    problems = core.problems_of(ui, result)
    problems.fields = {f"offboard.{k}": v for k, v in problems.fields.items()}
    return await _user_page(ui, user_id, problems, status_code=result.status)
