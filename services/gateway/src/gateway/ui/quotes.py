"""Quotes: build one with product lines (live totals in the browser, the official ones
from the API), submit, the managers' approval queue with the credit check, approve or
reject with a reason, send, and the customer's answer."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from crm_kit.auth import Role

from . import core
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


def _amount(text: str) -> str:
    """Dong typed with thousands separators (`1.200.000` or `1,200,000`)."""
    return re.sub(r"[.,\s]", "", text)


async def _builder(
    ui: core.Ui,
    values: dict[str, str],
    lines: list[dict[str, str]],
    problems: core.Problems | None = None,
    status_code: int = 200,
) -> Response:
    customer_id = values.get("customer_id") or None
    products, customers, opportunities = await core.gather(
        ui.api.items("/api/products", active="true", limit=200),
        ui.api.items("/api/sales/customers", limit=200),
        ui.api.items("/api/opportunities", customer_id=customer_id, limit=50) if customer_id else _none(),
    )
    return ui.render(
        "quotes/new.html",
        status_code=status_code,
        values=values,
        lines=lines or [{"product_code": "", "quantity": "1", "discount_pct": "0"}],
        products=products,
        customers=customers,
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
        "lines": [
            {
                "product_code": row["product_code"],
                "quantity": row.get("quantity") or "0",
                **({"unit_price": _amount(row["unit_price"])} if row.get("unit_price") else {}),
                **(
                    {"discount_pct": row["discount_pct"].replace(",", ".")} if row.get("discount_pct") else {}
                ),
            }
            for row in lines
        ],
    }
    body.setdefault("customer_id", "")
    result = await ui.api.post("/api/quotes", body)
    if result.ok:
        return ui.redirect(f"/quotes/{result.data['id']}", flash="flash.quote_created")
    return await _builder(ui, values, lines, core.problems_of(ui, result), status_code=result.status)


async def _quote_page(
    ui: core.Ui, quote_id: str, problems: core.Problems | None = None, status_code: int = 200
) -> Response:
    quote, history = await core.gather(
        ui.api.get(f"/api/quotes/{quote_id}"), ui.api.items(f"/api/quotes/{quote_id}/history", limit=100)
    )
    if not quote.ok:
        return ui.render("error.html", status_code=quote.status, message=ui.t("errors.not_found"))
    return ui.render(
        "quotes/detail.html",
        status_code=status_code,
        quote=quote.data,
        history=history,
        is_manager=ui.is_(Role.SALES_MANAGER, Role.ADMIN),
        problems=problems or core.Problems(),
    )


@router.get("/quotes/{quote_id}")
async def quote_page(quote_id: str, ui: UiDep) -> Response:
    return await _quote_page(ui, quote_id)


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
    queue = await ui.api.items("/api/quotes", status="pending_approval", limit=100)
    return ui.render(
        "quotes/approvals.html",
        status_code=status_code,
        queue=queue,
        problems=problems or core.Problems(),
        failed_id=failed_id,
    )


@router.get("/approvals")
async def approvals(ui: UiDep) -> Response:
    return await _approvals(ui)
