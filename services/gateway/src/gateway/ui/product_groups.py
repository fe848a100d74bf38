"""The product groups under Products & settings (issue 19 point 3): sales keeps them as a
list, so that a second spelling ("generator" for "generators") is refused instead of
silently becoming a new market. The list (search, active or retired, paging) with the
form that adds one, a group's page with the form that renames it, retiring it and
bringing it back.

Everyone may read them; the API lets only sales managers and admins change them, so the
forms are shown to them alone and anyone else who posts gets the API's refusal. The other
pages choose a group from `listed` (`group_select` in `_macros.html`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter
from fastapi.responses import Response

from crm_kit.auth import Role
from crm_kit.text import fold

from . import core
from .core import UiDep
from .problems import say

router = APIRouter(prefix="/settings/product-groups")

FIELDS = ("code", "name")
PAGE = 50


def may_change(ui: core.Ui) -> bool:
    return ui.is_(Role.SALES_MANAGER, Role.ADMIN)


async def listed(ui: core.Ui) -> list[dict[str, Any]]:
    """Every group, active and retired, by name: a form offers the active ones and keeps a
    retired current value; a list names each group it shows."""
    return await core.every(ui, "/api/product-groups")


def names(groups: list[dict[str, Any]]) -> dict[str, str]:
    """Each group's name by its code (what products, volumes and targets carry)."""
    return {g["code"]: g["name"] for g in groups}


def href(code: str) -> str:
    """A group's page: the code may hold spaces and diacritics ("máy bơm"), never a `/`."""
    return f"/settings/product-groups/{quote(code, safe='')}"


def group_problems(ui: core.Ui, result: core.ApiResult, typed: dict[str, str]) -> core.Problems:
    """The refusal at the form's fields. A 409 `product_group.exists` is at the field whose
    text is the other group's code or name, and says that text, not the code's."""
    found = core.problems_of(ui, result, FIELDS)
    body = result.data if isinstance(result.data, dict) else {}
    if result.status != 409 or body.get("code") != "product_group.exists":
        return found
    params = body.get("params") or {}
    taken = {fold(str(params.get("existing", ""))), fold(str(params.get("existing_name", "")))}
    name = "code" if "code" in typed and fold(typed["code"]) in taken else "name"
    said = {**params, "group": typed.get(name) or params.get("group", "")}
    return core.Problems(fields={name: say(ui.lang, "problem.product_group.exists", said)})


# -- the list, and adding a group ---------------------------------------------------------


async def _list_page(
    ui: core.Ui,
    filters: dict[str, str],
    offset: int,
    values: dict[str, str] | None = None,
    problems: core.Problems | None = None,
    status_code: int = 200,
) -> Response:
    active = {"true": True, "false": False}.get(filters["active"])
    result = await ui.api.get("/api/product-groups", q=filters["q"], active=active, limit=PAGE, offset=offset)
    page: dict[str, Any] = result.data if result.ok else {"items": [], "total": 0}
    return ui.render(
        "settings/product_groups.html",
        status_code=status_code if result.ok else result.status,
        groups=[{**g, "href": href(g["code"])} for g in page["items"]],
        total=page["total"],
        offset=offset,
        page_size=PAGE,
        filters=filters,
        query=urlencode({k: v for k, v in filters.items() if v}),
        may_change=may_change(ui),
        values=values or {},
        problems=problems or core.Problems(),
        list_problems=None if result.ok else core.problems_of(ui, result),
    )


@router.get("")
async def list_groups(
    ui: UiDep, q: str | None = None, active: str | None = None, offset: int = 0
) -> Response:
    filters = {"q": (q or "").strip(), "active": active if active in ("true", "false") else ""}
    return await _list_page(ui, filters, max(offset, 0))


@router.post("")
async def create_group(ui: UiDep) -> Response:
    values = core.form_values(await ui.request.form())
    result = await ui.api.post("/api/product-groups", core.blank_to_none(values, *FIELDS))
    if result.ok:
        return ui.redirect(href(result.data["code"]), flash="flash.product_group_created")
    found = group_problems(ui, result, values)
    return await _list_page(ui, {"q": "", "active": ""}, 0, values, found, status_code=result.status)


# -- one group --------------------------------------------------------------------------------


async def _group_page(
    ui: core.Ui,
    code: str,
    values: dict[str, str] | None = None,
    problems: core.Problems | None = None,
    status_code: int = 200,
) -> Response:
    found = await ui.api.get(f"/api/product-groups/{quote(code, safe='')}")
    if not found.ok:
        return ui.render("error.html", status_code=found.status, message=ui.t("errors.not_found"))
    group = found.data
    return ui.render(
        "settings/product_group.html",
        status_code=status_code,
        group=group,
        group_href=href(group["code"]),
        products_query=urlencode({"group": group["code"]}),
        values=values or {"name": group["name"]},
        may_change=may_change(ui),
        problems=problems or core.Problems(),
    )


@router.get("/{code}")
async def group_page(code: str, ui: UiDep) -> Response:
    return await _group_page(ui, code)


async def _change(ui: core.Ui, code: str, body: dict[str, Any], values: dict[str, str] | None) -> Response:
    result = await ui.api.call("PATCH", f"/api/product-groups/{quote(code, safe='')}", json_body=body)
    if result.ok:
        return ui.redirect(href(code), flash="flash.saved")
    found = group_problems(ui, result, values or {})
    return await _group_page(ui, code, values, found, status_code=result.status)


@router.post("/{code}")
async def rename_group(code: str, ui: UiDep) -> Response:
    values = core.form_values(await ui.request.form())
    return await _change(ui, code, {"name": values.get("name", "")}, {"name": values.get("name", "")})


@router.post("/{code}/active")
async def set_active(code: str, ui: UiDep) -> Response:
    """Retire a group (no new products, market volumes or targets; what it has keeps it)
    or bring it back."""
    wanted = core.form_values(await ui.request.form()).get("active") == "true"
    return await _change(ui, code, {"active": wanted}, None)
