"""The documents a customer receives, for the browser: a quote's, an order's and an
invoice's PDF and an invoice's e-invoice XML, fetched from the API as the user (so the
API's visibility applies) and handed over as they are. `?download=1` saves the file;
without it the browser shows it (to read or print). `?lang=en` for English."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi.responses import Response

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
        detail = answer.json().get("detail") if content_type.startswith("application/json") else None
        message = ui.t(key) if not isinstance(detail, str) else f"{ui.t(key)} {detail}"
        return ui.render("error.html", status_code=answer.status_code or 502, message=message)
    disposition = answer.headers.get("content-disposition", "inline")
    if download:
        disposition = disposition.replace("inline", "attachment", 1)
    return Response(
        content=answer.content,
        media_type=content_type,
        headers={"Content-Disposition": disposition, "Cache-Control": "no-store"},
    )


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
