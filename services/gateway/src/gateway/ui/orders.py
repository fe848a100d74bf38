"""The back office's orders and contracts: the order list (status, customer, date range;
paged), an order's page (its lines, totals, customer, quote, invoice, contracts, the PDF,
and *Cancel order* while it may be cancelled), the contract list and a contract's page
with sign, complete and terminate. Every refusal is the API's, shown in the user's words."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from crm_kit.auth import Role

from . import core
from .core import UiDep

router = APIRouter()

ORDER_STATUSES = ("placed", "cancelled")
CONTRACT_STATUSES = ("draft", "signed", "completed", "terminated")
CONTRACT_ACTIONS = ("sign", "complete", "terminate")
#: Who may cancel an order or move a contract (a salesperson their own: the API decides).
SELLERS = (Role.SALESPERSON, Role.SALES_MANAGER, Role.ADMIN)


def back_office_tabs(ui: core.Ui) -> list[tuple[str, str]]:
    """The back office's pages this user may open, as (href, word key)."""
    tabs = [("/orders", "bo.orders"), ("/contracts", "bo.contracts")]
    if ui.is_(Role.ACCOUNTANT, Role.SALES_MANAGER, Role.ADMIN):
        tabs += [
            ("/invoices", "bo.invoices"),
            ("/payments", "bo.payments"),
            ("/credit-notes", "bo.credit_notes"),
            ("/receivables", "bo.aging"),
        ]
    return [*tabs, ("/care-overdue", "bo.care_overdue")]


async def back_office_list(ui: core.Ui, path: str, template: str, items_as: str, offset: int) -> Response:
    """A back-office list without filters (contracts, payments, credit notes): one page of
    `path` from `offset`, its items as `items_as`, the API's refusal on top."""
    offset = max(offset, 0)
    result = await ui.api.get(path, limit=50, offset=offset)
    page = result.data if result.ok else {"items": [], "total": 0}
    return ui.render(
        template,
        status_code=200 if result.ok else result.status,
        total=page["total"],
        offset=offset,
        problems=core.Problems() if result.ok else core.problems_of(ui, result),
        tabs=back_office_tabs(ui),
        **{items_as: page["items"]},
    )


@router.get("/orders")
async def list_orders(
    ui: UiDep,
    status: str | None = None,
    customer_id: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    offset: int = 0,
) -> Response:
    offset = max(offset, 0)
    filters = {"status": status, "customer_id": customer_id, "from": date_from, "to": date_to}
    result, customers = await core.gather(
        ui.api.get("/api/orders", **filters, limit=50, offset=offset),
        ui.api.items("/api/sales/customers", limit=200),
    )
    page = result.data if result.ok else {"items": [], "total": 0}
    problems = core.Problems() if result.ok else core.problems_of(ui, result)
    return ui.render(
        "orders/list.html",
        status_code=200 if result.ok or result.status >= 500 else result.status,
        orders=page["items"],
        total=page["total"],
        offset=offset,
        values={
            "status": status or "",
            "customer_id": customer_id or "",
            "date_from": date_from or "",
            "date_to": date_to or "",
        },
        statuses=ORDER_STATUSES,
        customers=customers,
        problems=problems,
        tabs=back_office_tabs(ui),
    )


async def _order_page(
    ui: core.Ui,
    order_id: str,
    problems: core.Problems | None = None,
    status_code: int = 200,
    values: dict[str, str] | None = None,
) -> Response:
    order, contracts = await core.gather(
        ui.api.get(f"/api/orders/{order_id}"),
        ui.api.items("/api/contracts", order_id=order_id, limit=20),
    )
    if not order.ok:
        return ui.render("error.html", status_code=order.status, message=ui.t("errors.not_found"))
    return ui.render(
        "orders/detail.html",
        status_code=status_code,
        order=order.data,
        contracts=contracts,
        can_cancel=ui.is_(*SELLERS) and order.data.get("cancellable", False),
        can_see_invoices=ui.is_(Role.ACCOUNTANT, Role.SALES_MANAGER, Role.ADMIN, Role.SALESPERSON),
        problems=problems or core.Problems(),
        values=values or {},
        tabs=back_office_tabs(ui),
    )


@router.get("/orders/{order_id}")
async def order_page(order_id: str, ui: UiDep) -> Response:
    return await _order_page(ui, order_id)


@router.post("/orders/{order_id}/cancel")
async def cancel_order(order_id: str, ui: UiDep) -> Response:
    values = {k.removeprefix("cancel."): v for k, v in core.form_values(await ui.request.form()).items()}
    result = await ui.api.post(f"/api/orders/{order_id}/cancel", {"reason": values.get("reason", "")})
    if result.ok:
        return ui.redirect(f"/orders/{order_id}", flash="flash.order_cancelled")
    problems = core.problems_of(ui, result)
    problems.fields = {f"cancel.{k}": v for k, v in problems.fields.items()}
    if result.status == 409:
        problems.general = [ui.t("order.cancel_refused", detail=d) for d in problems.general]
    kept = {f"cancel.{k}": v for k, v in values.items()}
    return await _order_page(ui, order_id, problems, status_code=result.status, values=kept)


# -- contracts ---------------------------------------------------------------------------


@router.get("/contracts")
async def list_contracts(ui: UiDep, offset: int = 0) -> Response:
    return await back_office_list(ui, "/api/contracts", "orders/contracts.html", "contracts", offset)


async def _contract_page(
    ui: core.Ui, contract_id: str, problems: core.Problems | None = None, status_code: int = 200
) -> Response:
    contract = await ui.api.get(f"/api/contracts/{contract_id}")
    if not contract.ok:
        return ui.render("error.html", status_code=contract.status, message=ui.t("errors.not_found"))
    order = await ui.api.get(f"/api/orders/{contract.data['order_id']}")
    return ui.render(
        "orders/contract.html",
        status_code=status_code,
        contract=contract.data,
        order=order.data if order.ok else None,
        can_change=ui.is_(*SELLERS),
        problems=problems or core.Problems(),
        tabs=back_office_tabs(ui),
    )


@router.get("/contracts/{contract_id}")
async def contract_page(contract_id: str, ui: UiDep) -> Response:
    return await _contract_page(ui, contract_id)


@router.post("/contracts/{contract_id}/{action}")
async def contract_action(contract_id: str, action: str, ui: UiDep) -> Response:
    if action not in CONTRACT_ACTIONS:
        return ui.render("error.html", status_code=404, message=ui.t("errors.not_found"))
    values = {k.removeprefix(f"{action}."): v for k, v in core.form_values(await ui.request.form()).items()}
    body: dict[str, Any] = {"reason": values.get("reason", "")} if action == "terminate" else {}
    result = await ui.api.post(f"/api/contracts/{contract_id}/{action}", body)
    if result.ok:
        return ui.redirect(f"/contracts/{contract_id}", flash="flash.done")
    problems = core.problems_of(ui, result)
    problems.fields = {f"{action}.{k}": v for k, v in problems.fields.items()}
    return await _contract_page(ui, contract_id, problems, status_code=result.status)
