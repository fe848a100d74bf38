"""Quotes: build one with product lines (live totals in the browser, the official ones
from the API), edit or copy one, submit, the managers' approval queue with the credit
check, approve or reject with a reason, send, and the customer's answer."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from crm_kit.auth import Role

from . import core, i18n
from .core import UiDep

router = APIRouter()

QUOTE_STATUSES = (
    "draft",
    "pending_approval",
    "approved",
    "rejected",
    "sent",
    "accepted",
    "declined",
    "expired",
)
ACTIONS = ("submit", "approve", "reject", "send", "accept", "decline")
#: Where the API takes an edit (anything but a draft goes back to draft).
EDITABLE_STATUSES = ("draft", "pending_approval", "approved", "rejected")
SELLERS = (Role.SALESPERSON, Role.SALES_MANAGER, Role.ADMIN)
_LINE_FIELD = re.compile(r"^lines\.(\d+)\.(product_code|quantity|unit_price|discount_pct)$")


@router.get("/quotes")
async def list_quotes(ui: UiDep, status: str | None = None, offset: int = 0) -> Response:
    result = await ui.api.get("/api/quotes", status=status, limit=50, offset=max(offset, 0))
    page = result.data if result.ok else {"items": [], "total": 0}
    return ui.render(
        "quotes/list.html",
        quotes=page["items"],
        total=page["total"],
        offset=max(offset, 0),
        status=status or "",
        statuses=QUOTE_STATUSES,
    )


def _lines_from(values: dict[str, str]) -> list[dict[str, str]]:
    """The form's line rows in order, the empty ones dropped."""
    rows: dict[int, dict[str, str]] = {}
    for name, value in values.items():
        match = _LINE_FIELD.match(name)
        if match:
            rows.setdefault(int(match[1]), {})[match[2]] = value
    return [row for _, row in sorted(rows.items()) if row.get("product_code")]


def _lines_body(lines: list[dict[str, str]]) -> list[dict[str, Any]]:
    """The form's lines as the API takes them; a line without a price is priced by the API
    (the customer's price list that day, else the product's list price)."""
    return [
        {
            "product_code": row["product_code"],
            "quantity": row.get("quantity") or "0",
            **({"unit_price": core.typed_dong(row["unit_price"])} if row.get("unit_price") else {}),
            **({"discount_pct": row["discount_pct"].replace(",", ".")} if row.get("discount_pct") else {}),
        }
        for row in lines
    ]


async def _builder(
    ui: core.Ui,
    values: dict[str, str],
    lines: list[dict[str, str]],
    problems: core.Problems | None = None,
    status_code: int = 200,
    quote: dict[str, Any] | None = None,
) -> Response:
    """The quote builder: a new quote, or (with `quote`) the lines and validity of one."""
    customer_id = None if quote else values.get("customer_id") or None
    products, customers, opportunities = await core.gather(
        ui.api.items("/api/products", active="true", limit=200),
        _none() if quote else ui.api.items("/api/sales/customers", limit=200),
        ui.api.items("/api/opportunities", customer_id=customer_id, limit=50) if customer_id else _none(),
    )
    return ui.render(
        "quotes/new.html",
        status_code=status_code,
        quote=quote,
        values=values,
        lines=lines or [{"product_code": "", "quantity": "1", "discount_pct": "0"}],
        products=products,
        # The API refuses a new quote for an inactive customer: it is not offered.
        customers=[c for c in customers if c.get("lifecycle_stage") != "inactive"],
        opportunities=opportunities,
        problems=problems or core.Problems(),
    )


async def _none() -> list[Any]:
    return []


@router.get("/quotes/new")
async def new_quote(ui: UiDep, customer_id: str | None = None) -> Response:
    values = {"customer_id": customer_id or ""}
    if customer_id:
        # The customer's one open opportunity is the likely one (the user may change it).
        open_ones = [
            o
            for o in await ui.api.items("/api/opportunities", customer_id=customer_id, limit=50)
            if o["stage"] not in ("won", "lost")
        ]
        if len(open_ones) == 1:
            values["opportunity_id"] = open_ones[0]["id"]
    return await _builder(ui, values, [])


@router.post("/quotes/new")
async def create_quote(ui: UiDep) -> Response:
    values = core.form_values(await ui.request.form())
    lines = _lines_from(values)
    body: dict[str, Any] = {
        **core.blank_to_none(values, "customer_id", "opportunity_id", "valid_until", "note"),
        "lines": _lines_body(lines),
    }
    body.setdefault("customer_id", "")
    result = await ui.api.post("/api/quotes", body)
    if result.ok:
        return ui.redirect(f"/quotes/{result.data['id']}", flash="flash.quote_created")
    return await _builder(ui, values, lines, core.problems_of(ui, result), status_code=result.status)


async def _quote_page(
    ui: core.Ui, quote_id: str, problems: core.Problems | None = None, status_code: int = 200
) -> Response:
    quote, history, names = await core.gather(
        ui.api.get(f"/api/quotes/{quote_id}"),
        ui.api.items(f"/api/quotes/{quote_id}/history", limit=100),
        core.staff_names(ui),
    )
    if not quote.ok:
        return ui.render("error.html", status_code=quote.status, message=ui.t("errors.not_found"))
    opportunity_id = quote.data.get("opportunity_id")
    opportunity = await ui.api.get(f"/api/opportunities/{opportunity_id}") if opportunity_id else None
    return ui.render(
        "quotes/detail.html",
        status_code=status_code,
        quote=quote.data,
        opportunity=opportunity.data if opportunity is not None and opportunity.ok else None,
        price_lists=await price_list_names(ui, quote.data["lines"]),
        history=[{**h, "text": describe_changes(ui, h.get("changes") or {})} for h in history],
        names=names,
        is_manager=ui.is_(Role.SALES_MANAGER, Role.ADMIN),
        can_sell=ui.is_(*SELLERS),
        editable=quote.data["status"] in EDITABLE_STATUSES,
        problems=problems or core.Problems(),
    )


async def price_list_names(ui: core.Ui, lines: list[dict[str, Any]]) -> dict[str, str]:
    """The name of each price list the lines took their price from, by id."""
    ids = sorted({line["price_list_id"] for line in lines if line.get("price_list_id")})
    found = await core.gather(*(ui.api.get(f"/api/price-lists/{i}") for i in ids))
    return {i: r.data["name"] for i, r in zip(ids, found, strict=True) if r.ok}


def describe_changes(ui: core.Ui, changes: dict[str, Any]) -> str:
    """A history entry's `{field: [old, new]}` in words: statuses named, money as money."""
    parts = []
    for name, change in changes.items():
        if not (isinstance(change, list) and len(change) == 2):
            continue  # a credit check's answer, an automatic approval's reason: not a change
        old, new = (_shown(ui, name, v) for v in change)
        label = ui.t(QUOTE_FIELDS[name]) if name in QUOTE_FIELDS else name.replace("_", " ")
        parts.append(f"{label}: {old} → {new}")
    return "; ".join(parts)


QUOTE_FIELDS = {"status": "status", "total": "total", "valid_until": "quote.valid_until", "note": "note"}


def _shown(ui: core.Ui, name: str, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if name == "status":
        return ui.t(f"qstatus.{value}")
    if name == "total" and isinstance(value, int):
        return i18n.money(ui.lang, value)
    if name == "valid_until":
        return i18n.format_date(ui.lang, str(value))
    return str(value)


@router.get("/quotes/{quote_id}")
async def quote_page(quote_id: str, ui: UiDep) -> Response:
    return await _quote_page(ui, quote_id)


# -- editing and copying ----------------------------------------------------------------


def _pct(value: Any) -> str:
    """`5.00` as `5`, `2.50` as `2.5`: the discount as a person would type it."""
    try:
        return format(Decimal(str(value)).normalize(), "f")
    except InvalidOperation:
        return str(value)


#: Where a line's price came from when the line gave none: saved again without one, the
#: API prices it again (the customer's price list that day, else the list price).
PRICED_BY_THE_API = ("list_price", "price_list")


def _quote_form(lang: str, quote: dict[str, Any]) -> tuple[dict[str, str], list[dict[str, str]]]:
    """The quote as the builder's fields. A line priced by hand keeps its price; one the
    API priced is left without one (its price shown as the estimate), so that saving it
    does not turn its price into a manual one."""
    values = {"valid_until": str(quote["valid_until"]), "note": quote.get("note") or ""}
    lines = []
    for line in quote["lines"]:
        by_api = line.get("price_source") in PRICED_BY_THE_API
        lines.append(
            {
                "product_code": line["product_code"],
                "quantity": str(line["quantity"]),
                "unit_price": "" if by_api else i18n.number(lang, line["unit_price"]),
                "quoted": str(line["unit_price"]) if by_api else "",
                "discount_pct": _pct(line["discount_pct"]),
            }
        )
    return values, lines


@router.get("/quotes/{quote_id}/edit")
async def edit_form(quote_id: str, ui: UiDep) -> Response:
    quote = await ui.api.get(f"/api/quotes/{quote_id}")
    if not quote.ok:
        return ui.render("error.html", status_code=quote.status, message=ui.t("errors.not_found"))
    values, lines = _quote_form(ui.lang, quote.data)
    return await _builder(ui, values, lines, quote=quote.data)


@router.post("/quotes/{quote_id}/edit")
async def edit(quote_id: str, ui: UiDep) -> Response:
    values = core.form_values(await ui.request.form())
    lines = _lines_from(values)
    body: dict[str, Any] = {"lines": _lines_body(lines), "note": values.get("note") or None}
    if values.get("valid_until"):
        body["valid_until"] = values["valid_until"]
    result = await ui.api.call("PATCH", f"/api/quotes/{quote_id}", json_body=body)
    if result.ok:
        return ui.redirect(f"/quotes/{quote_id}", flash="flash.saved")
    quote = await ui.api.get(f"/api/quotes/{quote_id}")
    if not quote.ok:
        return ui.render("error.html", status_code=quote.status, message=ui.t("errors.not_found"))
    problems = core.problems_of(ui, result)
    return await _builder(ui, values, lines, problems, status_code=result.status, quote=quote.data)


@router.post("/quotes/{quote_id}/copy")
async def copy(quote_id: str, ui: UiDep) -> Response:
    result = await ui.api.post(f"/api/quotes/{quote_id}/copy")
    if result.ok:
        return ui.redirect(f"/quotes/{result.data['id']}", flash="flash.quote_copied")
    return await _quote_page(ui, quote_id, core.problems_of(ui, result), status_code=result.status)


@router.post("/quotes/{quote_id}/{action}")
async def quote_action(quote_id: str, action: str, ui: UiDep) -> Response:
    if action not in ACTIONS:
        return ui.render("error.html", status_code=404, message=ui.t("errors.not_found"))
    # Each action's form names its fields `<action>.<field>`, so errors land at the right form.
    values = {k.removeprefix(f"{action}."): v for k, v in core.form_values(await ui.request.form()).items()}
    body: dict[str, Any] | None = None
    if action == "approve":
        body = core.blank_to_none(values, "override_reason")
    elif action in ("reject", "decline"):
        body = core.blank_to_none(values, "reason")
        if action == "reject":
            body.setdefault("reason", "")
    result = await ui.api.post(f"/api/quotes/{quote_id}/{action}", body)
    wanted = values.get("next", "")
    back = wanted if wanted in ("/approvals", "/") else f"/quotes/{quote_id}"
    if result.ok:
        return ui.redirect(back, flash="flash.done")
    problems = core.problems_of(ui, result)
    problems.fields = {f"{action}.{k}": v for k, v in problems.fields.items()}
    if back == "/approvals":
        return await _approvals(ui, problems, quote_id, status_code=result.status)
    return await _quote_page(ui, quote_id, problems, status_code=result.status)


async def _approvals(
    ui: core.Ui, problems: core.Problems | None = None, failed_id: str | None = None, status_code: int = 200
) -> Response:
    queue, names = await core.gather(
        ui.api.items("/api/quotes", status="pending_approval", limit=100), core.staff_names(ui)
    )
    return ui.render(
        "quotes/approvals.html",
        status_code=status_code,
        queue=queue,
        names=names,
        problems=problems or core.Problems(),
        failed_id=failed_id,
    )


@router.get("/approvals")
async def approvals(ui: UiDep) -> Response:
    return await _approvals(ui)
