"""Price levels under Products & settings: the price lists (filtered by channel kind,
grade, a day they apply on, a product), the form that makes one (for one channel kind or
one grade, valid from a day and optionally to one, several products with their prices),
a list's page with its items and its history, the form that edits it (name, last day,
products added, repriced or taken off) and ending it.

Everyone may read them; the API lets only sales managers and admins change them, so the
forms are shown to them alone and anyone else who posts gets the API's refusal. Which
list a quote line takes is the API's rule (sales' `domain.level_price`), not the pages'.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import Response

from crm_kit.auth import Role

from . import core, i18n, marketing
from . import history as audit_history
from .core import UiDep

router = APIRouter(prefix="/settings/price-lists")

CHANNEL_KINDS = marketing.CHANNEL_KINDS
GRADES = marketing.FIXED_GRADES
FIELDS = ("name", "channel_kind", "grade", "valid_from", "valid_to", "items", "remove")
FILTERS = ("channel_kind", "grade", "valid_on", "product_code")
PAGE = 50
#: Empty product rows a form offers beyond those filled in; "more rows" adds as many again.
BLANK_ROWS = 3
MAX_ROWS = 200
_ROW = re.compile(r"^(items|current)\.(\d+)\.(product_code|unit_price|remove|was)$")


def may_change(ui: core.Ui) -> bool:
    return ui.is_(Role.SALES_MANAGER, Role.ADMIN)


def status_of(price_list: dict[str, Any], today: date) -> str:
    """`upcoming`, `current` or `ended` on `today` (both days are included)."""
    if date.fromisoformat(str(price_list["valid_from"])) > today:
        return "upcoming"
    ends = price_list.get("valid_to")
    if ends and date.fromisoformat(str(ends)) < today:
        return "ended"
    return "current"


# -- the API's refusals, in the user's language -------------------------------------------

#: A field's refusal code (`detail[].type`), and the key of the page's words at the form's row;
#: any other code is said by `ui/problems.py`.
_REFUSALS = {
    "price_list.channel_kind_or_grade": "pl.err.scope",
    "grade.unknown": "pl.err.grade",
    "price_list.ends_before_start": "pl.err.valid_to",
    "price_list.product_repeated": "pl.err.repeated",
    "product.unknown": "pl.err.no_product",
    "price_list.product_not_listed": "pl.err.not_on_list",
}


def _refusal(code: str) -> str | None:
    return _REFUSALS.get(code)


def problems_of(
    ui: core.Ui,
    result: core.ApiResult,
    where: dict[str, str] | None = None,
    known: tuple[str, ...] = FIELDS,
) -> core.Problems:
    """The refusal at the form's fields, the API's own checks in the user's words. `where`
    maps the body's item paths (`items.2`, `remove.0`) to the form's rows."""
    problems = core.problems_of(ui, result, known)
    fields: dict[str, str] = {}
    codes = {
        ".".join(str(p) for p in item.get("loc", []) if p not in ("body", "query", "path")): str(
            item.get("type", "")
        )
        for item in (result.detail if isinstance(result.detail, list) else [])
        if isinstance(item, dict)
    }
    for name, message in problems.fields.items():
        key = _refusal(codes.get(name, ""))
        shown = ui.t(key) if key else message
        fields.setdefault(_on_form(name, where or {}), shown)
    problems.fields = fields
    data = result.data if isinstance(result.data, dict) else {}
    if data.get("code") == "price_list.already_ended":
        problems.general = [ui.t("pl.err.ended_already")]
    return problems


def _on_form(name: str, where: dict[str, str]) -> str:
    """`items.2.unit_price` as the form names that row's field."""
    parts = name.split(".")
    if len(parts) >= 2 and ".".join(parts[:2]) in where:
        return ".".join([where[".".join(parts[:2])], *parts[2:]])
    return name


# -- the form's rows ------------------------------------------------------------------------


@dataclass
class Rows:
    """A form's product rows (`items.<i>.product_code`, `items.<i>.unit_price`) and the
    body's items made of the filled ones, each with the row it came from."""

    rows: list[dict[str, str]]
    items: list[dict[str, Any]]
    where: dict[str, str]


def read_rows(values: dict[str, str], prefix: str = "items") -> list[dict[str, str]]:
    found: dict[int, dict[str, str]] = {}
    for name, value in values.items():
        match = _ROW.match(name)
        if match and match[1] == prefix:
            found.setdefault(int(match[2]), {})[match[3]] = value
    return [row for _, row in sorted(found.items())]


def new_items(values: dict[str, str], start: int = 0) -> Rows:
    """The new product rows that name a product, in order (blank ones dropped), renumbered
    so that item k of the body is row k of the form shown again."""
    filled = [r for r in read_rows(values) if r.get("product_code") or r.get("unit_price")]
    items = [_item(r) for r in filled]
    where = {f"items.{start + k}": f"items.{k}" for k in range(len(filled))}
    return Rows(filled, items, where)


def more_rows(values: dict[str, str]) -> dict[str, str]:
    """The new rows filled in so far and as many blank ones again as the form had, plus more."""
    drawn = read_rows(values)
    filled = [r for r in drawn if r.get("product_code") or r.get("unit_price")]
    return row_values(filled, len(drawn) - len(filled) + BLANK_ROWS)


def _item(row: dict[str, str]) -> dict[str, Any]:
    price = core.typed_dong(row.get("unit_price", ""))
    return {"product_code": row.get("product_code", ""), "unit_price": price}


def row_values(rows: list[dict[str, str]], blanks: int, prefix: str = "items") -> dict[str, str]:
    """The rows as the form's values, and how many rows to draw (at least one blank)."""
    values = {f"{prefix}.{i}.{k}": v for i, row in enumerate(rows) for k, v in row.items()}
    values[f"{prefix}._count"] = str(min(len(rows) + max(blanks, 1), MAX_ROWS))
    return values


async def _products(ui: core.Ui) -> list[dict[str, Any]]:
    return await core.every(ui, "/api/products")


def _query(values: dict[str, str], **more: str) -> str:
    return urlencode({k: v for k, v in {**values, **more}.items() if v})


# -- the lists --------------------------------------------------------------------------------


@router.get("")
async def list_price_lists(
    ui: UiDep,
    channel_kind: str | None = None,
    grade: str | None = None,
    valid_on: str | None = None,
    product_code: str | None = None,
    offset: int = 0,
) -> Response:
    offset = max(offset, 0)
    given = {"channel_kind": channel_kind, "grade": grade, "valid_on": valid_on, "product_code": product_code}
    filters = {k: (v or "").strip() for k, v in given.items()}
    result, products = await core.gather(
        ui.api.get("/api/price-lists", limit=PAGE, offset=offset, **filters), _products(ui)
    )
    page: dict[str, Any] = result.data if result.ok else {"items": [], "total": 0}
    today = ui.today()
    return ui.render(
        "settings/price_lists.html",
        status_code=200 if result.ok else result.status,
        price_lists=[{**p, "state": status_of(p, today)} for p in page["items"]],
        total=page["total"],
        offset=offset,
        filters=filters,
        query=_query(filters),
        kinds=CHANNEL_KINDS,
        grades=GRADES,
        products=products,
        may_change=may_change(ui),
        problems=core.Problems() if result.ok else _filter_problems(ui, result),
    )


def _filter_problems(ui: core.Ui, result: core.ApiResult) -> core.Problems:
    return problems_of(ui, result, known=FILTERS)


async def _new_page(
    ui: core.Ui, values: dict[str, str], problems: core.Problems | None = None, status_code: int = 200
) -> Response:
    return ui.render(
        "settings/price_list_new.html",
        status_code=status_code,
        values=values,
        kinds=CHANNEL_KINDS,
        grades=GRADES,
        products=await _products(ui),
        problems=problems or core.Problems(),
    )


@router.get("/new")
async def new_price_list(ui: UiDep) -> Response:
    values = {"valid_from": ui.today().isoformat(), **row_values([], BLANK_ROWS)}
    return await _new_page(ui, values)


@router.post("/new")
async def create_price_list(ui: UiDep) -> Response:
    values = core.form_values(await ui.request.form())
    rows = new_items(values)
    shown = {k: v for k, v in values.items() if not _ROW.match(k)}
    if values.get("op") == "more":
        return await _new_page(ui, {**shown, **more_rows(values)})
    body: dict[str, Any] = {
        "name": values.get("name", ""),
        **core.blank_to_none(values, "channel_kind", "grade", "valid_from", "valid_to"),
        "items": rows.items,
    }
    result = await ui.api.post("/api/price-lists", body)
    if result.ok:
        return ui.redirect(f"/settings/price-lists/{result.data['id']}", flash="flash.price_list_created")
    problems = problems_of(ui, result, rows.where)
    if "items" in problems.fields and not rows.items:
        problems.fields["items.0.product_code"] = ui.t("pl.err.no_items")
        del problems.fields["items"]
    return await _new_page(
        ui, {**shown, **row_values(rows.rows, BLANK_ROWS)}, problems, status_code=result.status
    )


# -- one list -----------------------------------------------------------------------------------


def describe(ui: core.Ui, entry: dict[str, Any], product_names: dict[str, str]) -> list[str]:
    """A history entry's changes in words: each field's before and after, each product
    added, repriced or taken off."""
    parts: list[str] = []
    changes = entry.get("changes") or {}
    for name in ("name", "valid_to"):
        change = changes.get(name)
        if isinstance(change, list) and len(change) == 2:
            old, new = (_shown(ui, name, v) for v in change)
            parts.append(f"{ui.t('pl.' + name)}: {old} → {new}")
    for code, change in (changes.get("items") or {}).items():
        if not (isinstance(change, list) and len(change) == 2):
            continue
        product = f"{code} · {product_names[code]}" if code in product_names else code
        old, new = change
        if old is None:
            parts.append(ui.t("pl.item_added", product=product, price=i18n.money(ui.lang, new)))
        elif new is None:
            parts.append(ui.t("pl.item_removed", product=product, price=i18n.money(ui.lang, old)))
        else:
            prices = f"{i18n.money(ui.lang, old)} → {i18n.money(ui.lang, new)}"
            parts.append(f"{product}: {prices}")
    return parts


def _shown(ui: core.Ui, name: str, value: Any) -> str:
    if value is None or value == "":
        return ui.t("pl.open_ended") if name == "valid_to" else "—"
    return i18n.format_date(ui.lang, str(value)) if name == "valid_to" else str(value)


def edit_values(ui: core.Ui, price_list: dict[str, Any]) -> dict[str, str]:
    """The edit form as the list stands: its name, last day and each item's price."""
    values = {"name": price_list["name"], "valid_to": price_list["valid_to"] or ""}
    for i, item in enumerate(price_list["items"]):
        values[f"current.{i}.product_code"] = item["product_code"]
        values[f"current.{i}.unit_price"] = i18n.number(ui.lang, item["unit_price"])
        values[f"current.{i}.was"] = str(item["unit_price"])
    return {**values, **row_values([], BLANK_ROWS)}


async def _list_page(
    ui: core.Ui,
    price_list_id: str,
    values: dict[str, str] | None = None,
    problems: core.Problems | None = None,
    status_code: int = 200,
) -> Response:
    found, products, names, trail = await core.gather(
        ui.api.get(f"/api/price-lists/{price_list_id}"),
        _products(ui),
        core.staff_names(ui),
        audit_history.trail(ui, f"/api/price-lists/{price_list_id}/audit"),
    )
    # Who by name for everyone who reads the list (sales names them from its staff directory).
    if trail is not None:
        names = {
            str(e["actor_id"]): e["actor_name"] for e in trail[0] if e.get("actor_id") and e.get("actor_name")
        } | names
    if not found.ok:
        status = found.status if found.status in (403, 404) else 404
        return ui.render("error.html", status_code=status, message=ui.t("errors.not_found"))
    price_list = found.data
    by_code = {p["code"]: p for p in products}
    product_names = {code: p["name"] for code, p in by_code.items()}
    history = [
        {**h, "text": describe(ui, h, product_names)} for h in reversed(price_list.get("history") or [])
    ]
    return ui.render(
        "settings/price_list.html",
        status_code=status_code,
        pl=price_list,
        state=status_of(price_list, ui.today()),
        by_code=by_code,
        history=history,
        names=names,
        products=products,
        values=values or edit_values(ui, price_list),
        may_change=may_change(ui),
        problems=problems or core.Problems(),
    )


@router.get("/{price_list_id}")
async def price_list_page(price_list_id: str, ui: UiDep) -> Response:
    return await _list_page(ui, price_list_id)


def edit_body(values: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The edit form as `PATCH` takes it: the name, the last day (blank: open-ended), the
    items whose price was changed or that were added, and the products ticked to go; and
    where each of the body's items and removals sits on the form."""
    items: list[dict[str, Any]] = []
    where: dict[str, str] = {}
    remove: list[str] = []
    for i, row in enumerate(read_rows(values, "current")):
        code = row.get("product_code", "")
        if row.get("remove"):
            where[f"remove.{len(remove)}"] = f"current.{i}.remove"
            remove.append(code)
        elif core.typed_dong(row.get("unit_price", "")) != row.get("was"):
            where[f"items.{len(items)}"] = f"current.{i}"
            items.append(_item(row))
    added = new_items(values, start=len(items))
    items += added.items
    where |= added.where
    body: dict[str, Any] = {"name": values.get("name", ""), "valid_to": values.get("valid_to") or None}
    if items:
        body["items"] = items
    if remove:
        body["remove"] = remove
    return body, where


@router.post("/{price_list_id}")
async def edit_price_list(price_list_id: str, ui: UiDep) -> Response:
    values = core.form_values(await ui.request.form())
    shown = {k: v for k, v in values.items() if not k.startswith("items.")}
    if values.get("op") == "more":
        return await _list_page(ui, price_list_id, {**shown, **more_rows(values)})
    body, where = edit_body(values)
    result = await ui.api.call("PATCH", f"/api/price-lists/{price_list_id}", json_body=body)
    if result.ok:
        return ui.redirect(f"/settings/price-lists/{price_list_id}", flash="flash.saved")
    problems = problems_of(ui, result, where)
    again = {**shown, **row_values(new_items(values).rows, BLANK_ROWS)}
    return await _list_page(ui, price_list_id, again, problems, status_code=result.status)


@router.post("/{price_list_id}/end")
async def end_price_list(price_list_id: str, ui: UiDep) -> Response:
    values = core.form_values(await ui.request.form())
    body = {"valid_to": values["end.valid_to"]} if values.get("end.valid_to") else {}
    result = await ui.api.post(f"/api/price-lists/{price_list_id}/end", body)
    if result.ok:
        return ui.redirect(f"/settings/price-lists/{price_list_id}", flash="flash.price_list_ended")
    problems = problems_of(ui, result)
    problems.fields = {f"end.{k}": v for k, v in problems.fields.items()}
    found = await ui.api.get(f"/api/price-lists/{price_list_id}")
    values_shown = {**(edit_values(ui, found.data) if found.ok else {}), **values}
    return await _list_page(ui, price_list_id, values_shown, problems, status_code=result.status)
