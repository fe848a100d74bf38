"""Products and settings: the price list (search, filter, create, edit, deactivate, each
product's price history) and the rules that say which quotes need a sales manager. A
product is filed under one of the product groups (`product_groups.py`), chosen by name.

Everyone may read these; the API lets only sales managers and admins change them, so the
forms are shown to them alone and anyone else who posts gets the API's refusal."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from crm_kit.auth import Role

from . import core, i18n, product_groups
from .core import UiDep

router = APIRouter(prefix="/settings")

VAT_RATES = ("0", "5", "8", "10")
PRODUCT_FIELDS = ("code", "name", "product_group", "unit", "unit_price", "vat_rate_pct")
RULE_FIELDS = ("mode", "min_total", "max_discount_pct", "max_below_level_pct", "second_approval_min_total")
#: The thresholds given as an amount in dong.
DONG_FIELDS = ("min_total", "second_approval_min_total")
#: The thresholds given as a percentage.
PCT_FIELDS = ("max_discount_pct", "max_below_level_pct")
PAGE = 50


def _may_change(ui: core.Ui) -> bool:
    return ui.is_(Role.SALES_MANAGER, Role.ADMIN)


@router.get("")
async def settings_home(ui: UiDep) -> Response:
    return ui.redirect("/settings/products")


# -- the price list -------------------------------------------------------------------------


@router.get("/products")
async def list_products(
    ui: UiDep, q: str | None = None, group: str | None = None, active: str | None = None, offset: int = 0
) -> Response:
    offset = max(offset, 0)
    active = active if active in ("true", "false") else ""
    result, groups = await core.gather(
        ui.api.get("/api/products", q=q, group=group, active=active, limit=PAGE, offset=offset),
        product_groups.listed(ui),
    )
    page = result.data if result.ok else {"items": [], "total": 0}
    return ui.render(
        "settings/products.html",
        products=page["items"],
        total=page["total"],
        offset=offset,
        page_size=PAGE,
        groups=groups,
        group_names=product_groups.names(groups),
        filters={"q": q or "", "group": group or "", "active": active},
        may_change=_may_change(ui),
        problems=None if result.ok else core.problems_of(ui, result),
    )


def _vat_rate(text: str) -> int | str:
    """The API takes the rate as a number (one of its fixed rates), not as text."""
    return int(text) if text.isdigit() else text


def _product_body(values: dict[str, str]) -> dict[str, Any]:
    """The form as the API wants it: amounts without their thousands separators, blanks left
    out so the API names what is missing."""
    body: dict[str, Any] = core.blank_to_none(values, "code", "name", "product_group", "unit")
    if values.get("unit_price"):
        body["unit_price"] = core.typed_dong(values["unit_price"])
    if values.get("vat_rate_pct"):
        body["vat_rate_pct"] = _vat_rate(values["vat_rate_pct"])
    return body


async def _new_product_page(
    ui: core.Ui, values: dict[str, str], problems: core.Problems | None = None, status_code: int = 200
) -> Response:
    return ui.render(
        "settings/product_new.html",
        status_code=status_code,
        values=values,
        groups=await product_groups.listed(ui),
        vat_rates=VAT_RATES,
        problems=problems or core.Problems(),
    )


@router.get("/products/new")
async def new_product(ui: UiDep) -> Response:
    return await _new_product_page(ui, {"vat_rate_pct": "10"})


@router.post("/products/new")
async def create_product(ui: UiDep) -> Response:
    values = core.form_values(await ui.request.form())
    result = await ui.api.post("/api/products", _product_body(values))
    if result.ok:
        return ui.redirect(f"/settings/products/{result.data['code']}", flash="flash.product_created")
    problems = core.problems_of(ui, result, PRODUCT_FIELDS)
    if result.status == 409 and problems.general:
        # The one conflict a new product can have: its code is taken.
        problems.fields["code"] = problems.general.pop()
    return await _new_product_page(ui, values, problems, status_code=result.status)


async def _product_page(
    ui: core.Ui,
    code: str,
    values: dict[str, str] | None = None,
    problems: core.Problems | None = None,
    status_code: int = 200,
) -> Response:
    product, prices, users, groups = await core.gather(
        ui.api.get(f"/api/products/{code}"),
        ui.api.items(f"/api/products/{code}/prices", limit=200),
        ui.api.items("/api/users", limit=200) if _may_change(ui) else _nobody(),
        product_groups.listed(ui),
    )
    if not product.ok:
        return ui.render("error.html", status_code=product.status, message=ui.t("errors.not_found"))
    shown = product.data
    return ui.render(
        "settings/product.html",
        status_code=status_code,
        product=shown,
        prices=prices,
        people=core.names_by_id(users),
        groups=groups,
        group_names=product_groups.names(groups),
        values=values
        or {
            "name": shown["name"],
            "product_group": shown["product_group"],
            "unit": shown.get("unit") or "",
            "unit_price": i18n.number(ui.lang, shown["unit_price"]),
            "vat_rate_pct": str(shown["vat_rate_pct"]),
        },
        vat_rates=VAT_RATES,
        may_change=_may_change(ui),
        problems=problems or core.Problems(),
    )


async def _nobody() -> list[dict[str, Any]]:
    return []


@router.get("/products/{code}")
async def product_page(code: str, ui: UiDep) -> Response:
    return await _product_page(ui, code)


@router.post("/products/{code}")
async def update_product(code: str, ui: UiDep) -> Response:
    values = core.form_values(await ui.request.form())
    body: dict[str, Any] = {
        "name": values.get("name", ""),
        "product_group": values.get("product_group", ""),
        **core.blank_to_none(values, "unit"),
        "unit_price": core.typed_dong(values.get("unit_price", "")),
        "vat_rate_pct": _vat_rate(values.get("vat_rate_pct", "")),
    }
    result = await ui.api.call("PATCH", f"/api/products/{code}", json_body=body)
    if result.ok:
        return ui.redirect(f"/settings/products/{code}", flash="flash.saved")
    problems = core.problems_of(ui, result, PRODUCT_FIELDS)
    return await _product_page(ui, code, values, problems, status_code=result.status)


@router.post("/products/{code}/active")
async def set_active(code: str, ui: UiDep) -> Response:
    """Deactivate (no new quotes may use it) or bring back a product."""
    wanted = core.form_values(await ui.request.form()).get("active") == "true"
    result = await ui.api.call("PATCH", f"/api/products/{code}", json_body={"active": wanted})
    if result.ok:
        return ui.redirect(f"/settings/products/{code}", flash="flash.saved")
    return await _product_page(ui, code, problems=core.problems_of(ui, result), status_code=result.status)


# -- approval rules ---------------------------------------------------------------------------


async def _rules_page(
    ui: core.Ui,
    values: dict[str, str] | None = None,
    problems: core.Problems | None = None,
    status_code: int = 200,
) -> Response:
    rules, users = await core.gather(
        ui.api.get("/api/approval-rules"),
        ui.api.items("/api/users", limit=200) if _may_change(ui) else _nobody(),
    )
    current = rules.data if rules.ok else None
    if values is None and current is not None:
        values = {
            "mode": current["mode"],
            **{name: _dong_shown(ui, current.get(name)) for name in DONG_FIELDS},
            **{name: _pct_shown(ui, current.get(name)) for name in PCT_FIELDS},
        }
    if problems is None and not rules.ok:
        problems = core.problems_of(ui, rules)
    return ui.render(
        "settings/approval_rules.html",
        status_code=status_code,
        rules=current,
        people=core.names_by_id(users),
        values=values or {"mode": "all"},
        may_change=_may_change(ui),
        problems=problems or core.Problems(),
    )


def _dong_shown(ui: core.Ui, value: Any) -> str:
    return "" if value is None else i18n.number(ui.lang, value)


def _pct_shown(ui: core.Ui, value: Any) -> str:
    return "" if value is None else i18n.number(ui.lang, float(value), 2)


@router.get("/approval-rules")
async def approval_rules(ui: UiDep) -> Response:
    return await _rules_page(ui)


@router.post("/approval-rules")
async def set_approval_rules(ui: UiDep) -> Response:
    values = core.form_values(await ui.request.form())
    body: dict[str, Any] = {"mode": values.get("mode", "")}
    # The thresholds belong to the "threshold" choice; with "all" they are not sent, though
    # what was typed stays in the form.
    if body["mode"] == "threshold":
        if values.get("min_total"):
            body["min_total"] = core.typed_dong(values["min_total"])
        for name in PCT_FIELDS:
            if values.get(name):
                body[name] = values[name].replace(",", ".")
    # Two approvers above a total: in either mode.
    if values.get("second_approval_min_total"):
        body["second_approval_min_total"] = core.typed_dong(values["second_approval_min_total"])
    result = await ui.api.call("PUT", "/api/approval-rules", json_body=body)
    if result.ok:
        return ui.redirect("/settings/approval-rules", flash="flash.saved")
    problems = core.problems_of(ui, result, RULE_FIELDS)
    return await _rules_page(ui, values, problems, status_code=result.status)
