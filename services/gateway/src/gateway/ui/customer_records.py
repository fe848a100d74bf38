"""Customers as B2B records in the web UI: a customer created by hand (with the duplicate
warning and its "create anyway", as the leads' capture page has), its contacts (add,
edit, make primary, remove) and a manager's merge of two customers.

Installed before `customers`, whose /customers/{id} would take /customers/new.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from . import core, regions
from .core import UiDep
from .customers import EDITABLE, customer_page_of, tax_code_taken

router = APIRouter(prefix="/customers")

#: What a contact's form sends (`POST /api/customers/{id}/contacts`).
CONTACT_FIELDS = ("name", "role", "phone", "email")


async def _new_page(
    ui: core.Ui,
    values: dict[str, str],
    problems: core.Problems | None = None,
    duplicates: list[dict[str, Any]] | None = None,
    status_code: int = 200,
) -> Response:
    channels, groups = await core.gather(ui.api.items("/api/channels", limit=200), regions.groups(ui))
    return ui.render(
        "customers/new.html",
        status_code=status_code,
        values=values,
        channels=channels,
        groups=groups,
        duplicates=duplicates,
        problems=problems or core.Problems(),
    )


@router.get("/new")
async def new_form(ui: UiDep) -> Response:
    return await _new_page(ui, {})


@router.post("/new")
async def create(ui: UiDep) -> Response:
    values = core.form_values(await ui.request.form())
    body: dict[str, Any] = core.blank_to_none(values, *EDITABLE)
    body["name"] = values.get("name", "")
    if values.get("confirm_duplicate") == "1":
        body["confirm_duplicate"] = True
    result = await ui.api.post("/api/customers", body)
    if result.ok:
        return ui.redirect(f"/customers/{result.data['id']}", flash="flash.saved")
    detail = result.detail
    if result.status == 409 and isinstance(detail, dict) and "duplicates" in detail:
        return await _new_page(ui, values, duplicates=detail["duplicates"], status_code=409)
    problems = tax_code_taken(ui, result) or core.problems_of(ui, result, EDITABLE)
    return await _new_page(ui, values, problems, status_code=result.status)


# -- contacts -----------------------------------------------------------------------------


async def _answer(ui: core.Ui, customer_id: str, result: core.ApiResult, prefix: str) -> Response:
    """Back to the customer 360's contacts when it worked; the page with the problems under
    the form's fields (named `<prefix>.<field>`) when not."""
    if result.ok:
        return ui.redirect(f"/customers/{customer_id}#contacts", flash="flash.saved")
    problems = core.problems_of(ui, result)
    problems.fields = {f"{prefix}.{k}": v for k, v in problems.fields.items()}
    values = core.form_values(await ui.request.form())
    return await customer_page_of(ui, customer_id, problems, values, status_code=result.status)


def _contact(values: dict[str, str], prefix: str, *, clear: bool) -> dict[str, Any]:
    """The contact's fields from the form: blanks cleared (an edit) or left out (a new one)."""
    given = {name: values.get(f"{prefix}.{name}", "") for name in CONTACT_FIELDS}
    if clear:
        return {name: value or None for name, value in given.items()} | {"name": given["name"]}
    return {name: value for name, value in given.items() if value}


@router.post("/{customer_id}/contacts")
async def add_contact(customer_id: str, ui: UiDep) -> Response:
    values = core.form_values(await ui.request.form())
    body = _contact(values, "contact", clear=False) | {"name": values.get("contact.name", "")}
    if values.get("contact.is_primary") == "1":
        body["is_primary"] = True
    result = await ui.api.post(f"/api/customers/{customer_id}/contacts", body)
    return await _answer(ui, customer_id, result, "contact")


@router.post("/{customer_id}/contacts/{contact_id}/edit")
async def edit_contact(customer_id: str, contact_id: str, ui: UiDep) -> Response:
    values = core.form_values(await ui.request.form())
    prefix = f"contact-{contact_id}"
    body = _contact(values, prefix, clear=True)
    path = f"/api/customers/{customer_id}/contacts/{contact_id}"
    return await _answer(ui, customer_id, await ui.api.call("PATCH", path, json_body=body), prefix)


@router.post("/{customer_id}/contacts/{contact_id}/primary")
async def make_primary(customer_id: str, contact_id: str, ui: UiDep) -> Response:
    path = f"/api/customers/{customer_id}/contacts/{contact_id}"
    result = await ui.api.call("PATCH", path, json_body={"is_primary": True})
    return await _answer(ui, customer_id, result, f"contact-{contact_id}")


@router.post("/{customer_id}/contacts/{contact_id}/remove")
async def remove_contact(customer_id: str, contact_id: str, ui: UiDep) -> Response:
    result = await ui.api.call("DELETE", f"/api/customers/{customer_id}/contacts/{contact_id}")
    return await _answer(ui, customer_id, result, f"contact-{contact_id}")


# -- merging ------------------------------------------------------------------------------


@router.post("/{customer_id}/merge")
async def merge(customer_id: str, ui: UiDep) -> Response:
    """Fold another customer (its id, or its page's address) into this one, once confirmed."""
    values = core.form_values(await ui.request.form())
    other = values.get("merge.duplicate_id", "").rstrip("/").rsplit("/", 1)[-1]
    if values.get("merge.confirm") != "1":
        problems = core.Problems(fields={"merge.confirm": ui.t("customer.confirm_needed")})
        return await customer_page_of(ui, customer_id, problems, values, status_code=422)
    result = await ui.api.post(f"/api/customers/{customer_id}/merge", {"duplicate_id": other})
    if result.ok:
        return ui.redirect(f"/customers/{customer_id}", flash="flash.done")
    problems = core.problems_of(ui, result)
    problems.fields = {f"merge.{k}": v for k, v in problems.fields.items()}
    return await customer_page_of(ui, customer_id, problems, values, status_code=result.status)
