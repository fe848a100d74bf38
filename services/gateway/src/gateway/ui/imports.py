"""Customer import: upload a CSV or Excel file, read the preview's report row by row (to
be imported, duplicate, rejected and why), commit it, and find past imports again.

These pages live under /customers/imports, so `install` adds this router before the
customers one, whose /customers/{customer_id} would otherwise take "imports" for an id."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from crm_kit.auth import Role

from . import core
from .core import UiDep
from .problems import row_note

router = APIRouter(prefix="/customers/imports")

#: Who may upload and commit (the API's rule; the others only see the page's list).
UPLOADERS = (Role.SALESPERSON, Role.SALES_MANAGER, Role.ADMIN)


def report_rows(ui: core.Ui, report: dict[str, Any]) -> list[dict[str, Any]]:
    """Every row the report mentions, in the file's order, with what became of it."""
    imported = {r["row"]: r["customer_id"] for r in report["imported"]}
    committed = report["status"] == "committed"
    rows: list[dict[str, Any]] = []
    for r in report["to_import"]:
        customer_id = imported.get(r["row"])
        done = committed and customer_id is not None
        rows.append(
            {
                "row": r["row"],
                "name": r["name"],
                "outcome": "imported" if done else "to_import",
                "note": "",
                "href": f"/customers/{customer_id}" if done else None,
            }
        )
    for d in report["duplicates"]:
        note = ui.t("lead.matched_on", what=ui.t(f"match.{d['matched_on']}"))
        earlier = isinstance(d["duplicate_of"], int)
        rows.append(
            {
                "row": d["row"],
                "name": "",
                "outcome": "duplicate",
                "note": f"{note} ({ui.t('import.row')} {d['duplicate_of']})" if earlier else note,
                "href": None if earlier else f"/customers/{d['duplicate_of']}",
            }
        )
    for r in report["rejected"]:
        rows.append(
            {"row": r["row"], "name": "", "outcome": "rejected", "note": row_note(ui.lang, r), "href": None}
        )
    return sorted(rows, key=lambda r: r["row"])


async def _page(
    ui: core.Ui,
    report: dict[str, Any] | None = None,
    problems: core.Problems | None = None,
    status_code: int = 200,
) -> Response:
    past, people = await core.gather(ui.api.items("/api/customers/imports", limit=50), core.staff_names(ui))
    return ui.render(
        "customers/import.html",
        status_code=status_code,
        report=report,
        rows=report_rows(ui, report) if report else [],
        past=past,
        people=people,
        may_upload=ui.is_(*UPLOADERS),
        problems=problems or core.Problems(),
    )


@router.get("")
async def imports_page(ui: UiDep) -> Response:
    return await _page(ui)


@router.post("")
async def upload(ui: UiDep) -> Response:
    part = await core.upload_part(await ui.request.form(), "file")
    if part is None:
        return await _page(ui, problems=core.Problems(fields={"file": ui.t("err.missing")}), status_code=422)
    result = await ui.api.call("POST", "/api/customers/imports", files={"file": part})
    if result.ok:
        return ui.redirect(f"/customers/imports/{result.data['id']}", flash="flash.import_previewed")
    return await _page(ui, problems=core.problems_of(ui, result, ("file",)), status_code=result.status)


@router.get("/{import_id}")
async def import_page(import_id: str, ui: UiDep) -> Response:
    found = await ui.api.get(f"/api/customers/imports/{import_id}")
    if not found.ok:
        return ui.render("error.html", status_code=found.status, message=ui.t("errors.not_found"))
    return await _page(ui, found.data)


@router.post("/{import_id}/commit")
async def commit(import_id: str, ui: UiDep) -> Response:
    result = await ui.api.post(f"/api/customers/imports/{import_id}/commit")
    if result.ok:
        return ui.redirect(f"/customers/imports/{import_id}", flash="flash.import_committed")
    found = await ui.api.get(f"/api/customers/imports/{import_id}")
    return await _page(
        ui, found.data if found.ok else None, core.problems_of(ui, result), status_code=result.status
    )
