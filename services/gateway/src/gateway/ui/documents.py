"""The documents a customer receives, for the browser: a quote's, an order's and an
invoice's PDF and an invoice's e-invoice XML, fetched from the API as the user (so the
API's visibility applies) and handed over as they are. `?download=1` saves the file;
without it the browser shows it (to read or print). `?lang=en` for English."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi.responses import Response

from . import problems
from .core import UiDep

router = APIRouter()

#: What the browser may be handed: the API's documents and nothing else.
DOCUMENT_TYPES = ("application/pdf", "application/xml")


async def _document(ui: UiDep, path: str, lang: str | None, download: bool) -> Response:
    params = {"lang": lang} if lang in ("vi", "en") else {}
    answer = await ui.api.document(path, **params)
    content_type = answer.headers.get("content-type", "")
    if answer.status_code != 200 or not content_type.startswith(DOCUMENT_TYPES):
        key = "errors.not_found" if answer.status_code == 404 else "document.unavailable"
        message = ui.t(key)
        if "json" in content_type and (why := _refusal(ui, answer.status_code, answer.json())):
            message = f"{message} {why}"
        return ui.render("error.html", status_code=answer.status_code or 502, message=message)
    disposition = answer.headers.get("content-disposition", "inline")
    if download:
        disposition = disposition.replace("inline", "attachment", 1)
    return Response(
        content=answer.content,
        media_type=content_type,
        headers={"Content-Disposition": disposition, "Cache-Control": "no-store"},
    )


def _refusal(ui: UiDep, status: int, body: object) -> str:
    """The API's refusal in the user's words (an e-invoice's missing fields, each said), or ''."""
    if not isinstance(body, dict):
        return ""
    detail = body.get("detail")
    if isinstance(detail, list) and any(isinstance(item, dict) for item in detail):
        return " ".join(problems.at_field(ui.lang, item) for item in detail if isinstance(item, dict))
    code = body.get("code")
    if isinstance(code, str) and problems.has_words(f"problem.{code}") and status != 404:
        return problems.sentence(ui.lang, status, code, body.get("params"))
    return ""


@router.get("/quotes/{quote_id}/document.pdf")
async def quote_pdf(
    quote_id: uuid.UUID, ui: UiDep, lang: str | None = None, download: bool = False
) -> Response:
    return await _document(ui, f"/api/quotes/{quote_id}/document.pdf", lang, download)


@router.get("/orders/{order_id}/document.pdf")
async def order_pdf(
    order_id: uuid.UUID, ui: UiDep, lang: str | None = None, download: bool = False
) -> Response:
    return await _document(ui, f"/api/orders/{order_id}/document.pdf", lang, download)


@router.get("/invoices/{invoice_id}/document.pdf")
async def invoice_pdf(
    invoice_id: uuid.UUID, ui: UiDep, lang: str | None = None, download: bool = False
) -> Response:
    return await _document(ui, f"/api/invoices/{invoice_id}/document.pdf", lang, download)


@router.get("/invoices/{invoice_id}/einvoice.xml")
async def invoice_xml(invoice_id: uuid.UUID, ui: UiDep, download: bool = True) -> Response:
    return await _document(ui, f"/api/invoices/{invoice_id}/einvoice.xml", None, download)
