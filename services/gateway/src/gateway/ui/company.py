"""The company profile page (Products & settings > Company): the seller's name, address,
tax code, phone, bank account and logo that every quote, order and invoice prints.
Everyone may read it; the API lets only an admin change it, so the forms are shown to
admins alone and anyone else who posts gets the API's refusal."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from crm_kit.auth import Role

from . import core
from .core import UiDep

router = APIRouter(prefix="/settings/company")

FIELDS = ("name", "address", "tax_code", "phone", "bank_account")


async def _page(
    ui: core.Ui,
    values: dict[str, str] | None = None,
    problems: core.Problems | None = None,
    status_code: int = 200,
) -> Response:
    current = await ui.api.get("/api/company-profile")
    profile = current.data if current.ok else None
    if values is None:
        values = {name: (profile or {}).get(name) or "" for name in FIELDS}
    return ui.render(
        "settings/company.html",
        status_code=status_code,
        profile=profile,
        values=values,
        may_change=ui.is_(Role.ADMIN),
        problems=problems or core.Problems(),
    )


@router.get("")
async def company_page(ui: UiDep) -> Response:
    return await _page(ui)


@router.post("")
async def save_company(ui: UiDep) -> Response:
    values = core.form_values(await ui.request.form())
    body: dict[str, Any] = {name: values.get(name, "") for name in ("name", "address", "tax_code")}
    body |= core.blank_to_none(values, "phone", "bank_account")
    result = await ui.api.call("PUT", "/api/company-profile", json_body=body)
    if result.ok:
        return ui.redirect("/settings/company", flash="flash.saved")
    return await _page(ui, values, core.problems_of(ui, result, FIELDS), status_code=result.status)


@router.post("/logo")
async def save_logo(ui: UiDep) -> Response:
    upload = await core.upload_part(await ui.request.form(), "logo")
    if upload is None:
        problems = core.Problems({"logo": ui.t("company.logo_missing")})
        return await _page(ui, problems=problems, status_code=422)
    _, data, content_type = upload
    result = await ui.api.call("PUT", "/api/company-profile/logo", content=(data, content_type))
    if result.ok:
        return ui.redirect("/settings/company", flash="flash.saved")
    return await _page(ui, problems=core.problems_of(ui, result, ("logo",)), status_code=result.status)


@router.get("/logo.png")
async def logo(ui: UiDep) -> Response:
    answer = await ui.api.document("/api/company-profile/logo")
    if answer.status_code != 200:
        return Response(status_code=answer.status_code)
    return Response(content=answer.content, media_type="image/png")
