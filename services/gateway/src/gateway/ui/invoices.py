"""The back office's invoices and money: the invoice list (status open, partially paid,
paid, credited or overdue; customer; issue dates; number; paged), an invoice's page (its
lines, payments, credit notes and balance, the PDF and e-invoice XML, a flag the accountant
must settle) with *Record payment* and *Issue credit note*, and the payment and credit note
lists. Accountants and admins keep the books; sales managers read them."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from crm_kit.auth import Role

from . import core
from .core import UiDep
from .orders import back_office_list, back_office_tabs

router = APIRouter()

INVOICE_FILTERS = ("open", "partially_paid", "paid", "credited", "overdue")
PAYMENT_METHODS = ("bank_transfer", "cash", "card")
BOOKKEEPERS = (Role.ACCOUNTANT, Role.ADMIN)


@router.get("/invoices")
async def list_invoices(
    ui: UiDep,
    status: str | None = None,
    customer_id: str | None = None,
    number: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    offset: int = 0,
) -> Response:
    offset = max(offset, 0)
    filters = {
        "status": status,
        "customer_id": customer_id,
        "number": number,
        "from": date_from,
        "to": date_to,
    }
    result, accounts = await core.gather(
        ui.api.get("/api/invoices", **filters, limit=50, offset=offset),
        ui.api.items("/api/accounts", limit=200),
    )
    page = result.data if result.ok else {"items": [], "total": 0}
    return ui.render(
        "invoices/list.html",
        status_code=200 if result.ok or result.status >= 500 else result.status,
        invoices=page["items"],
        total=page["total"],
        offset=offset,
        values={
            "status": status or "",
            "customer_id": customer_id or "",
            "number": number or "",
            "date_from": date_from or "",
            "date_to": date_to or "",
        },
        statuses=INVOICE_FILTERS,
        customers=[{"id": a["customer_id"], "name": a["customer_name"]} for a in accounts],
        problems=core.Problems() if result.ok else core.problems_of(ui, result),
        tabs=back_office_tabs(ui),
    )


async def _invoice_page(
    ui: core.Ui,
    invoice_id: str,
    problems: core.Problems | None = None,
    status_code: int = 200,
    values: dict[str, str] | None = None,
) -> Response:
    invoice, names = await core.gather(ui.api.get(f"/api/invoices/{invoice_id}"), core.staff_names(ui))
    if not invoice.ok:
        return ui.render("error.html", status_code=invoice.status, message=ui.t("errors.not_found"))
    return ui.render(
        "invoices/detail.html",
        status_code=status_code,
        invoice=invoice.data,
        names=names,
        can_keep_books=ui.is_(*BOOKKEEPERS),
        methods=PAYMENT_METHODS,
        problems=problems or core.Problems(),
        values={"payment.paid_on": ui.today().isoformat(), **(values or {})},
        tabs=back_office_tabs(ui),
    )


@router.get("/invoices/{invoice_id}")
async def invoice_page(invoice_id: str, ui: UiDep) -> Response:
    return await _invoice_page(ui, invoice_id)


@router.post("/invoices/{invoice_id}/payments")
async def record_payment(invoice_id: str, ui: UiDep) -> Response:
    typed = core.form_values(await ui.request.form())
    values = {k.removeprefix("payment."): v for k, v in typed.items()}
    body = {
        "invoice_id": invoice_id,
        "amount": core.typed_dong(values.get("amount", "")),
        "paid_on": values.get("paid_on", ""),
        "method": values.get("method", ""),
        **core.blank_to_none(values, "reference"),
    }
    result = await ui.api.post("/api/payments", body)
    if result.ok:
        return ui.redirect(f"/invoices/{invoice_id}", flash="flash.payment_recorded")
    return await _refused(ui, invoice_id, result, "payment", typed)


@router.post("/invoices/{invoice_id}/credit-notes")
async def issue_credit_note(invoice_id: str, ui: UiDep) -> Response:
    typed = core.form_values(await ui.request.form())
    values = {k.removeprefix("credit."): v for k, v in typed.items()}
    body = {"amount": core.typed_dong(values.get("amount", "")), "reason": values.get("reason", "")}
    result = await ui.api.post(f"/api/invoices/{invoice_id}/credit-notes", body)
    if result.ok:
        return ui.redirect(f"/invoices/{invoice_id}", flash="flash.credit_note_issued")
    return await _refused(ui, invoice_id, result, "credit", typed)


async def _refused(
    ui: core.Ui, invoice_id: str, result: core.ApiResult, form: str, typed: dict[str, str]
) -> Response:
    """The invoice page again with the form's refusal at its fields (`<form>.<field>`)."""
    problems = core.problems_of(ui, result)
    problems.fields = {f"{form}.{k}": v for k, v in problems.fields.items() if k != "invoice_id"}
    return await _invoice_page(ui, invoice_id, problems, status_code=result.status, values=typed)


# -- payments and credit notes ------------------------------------------------------------


@router.get("/payments")
async def list_payments(ui: UiDep, offset: int = 0) -> Response:
    return await back_office_list(ui, "/api/payments", "invoices/payments.html", "payments", offset)


@router.get("/credit-notes")
async def list_credit_notes(ui: UiDep, offset: int = 0) -> Response:
    return await back_office_list(ui, "/api/credit-notes", "invoices/credit_notes.html", "notes", offset)
