"""Documents as HTTP answers: the bytes with their content type, shown inline (a browser
opens a PDF in its viewer to read or print; `download` in a link saves it)."""

from __future__ import annotations

from typing import Any

from fastapi import Response

PDF = "application/pdf"
XML = "application/xml"

#: For a route's `responses=`: the document's content type in the OpenAPI description.
PDF_RESPONSES: dict[int | str, dict[str, Any]] = {200: {"content": {PDF: {}}, "description": "The PDF"}}
XML_RESPONSES: dict[int | str, dict[str, Any]] = {200: {"content": {XML: {}}, "description": "The XML"}}


def document(body: bytes, media_type: str, filename: str) -> Response:
    return Response(
        content=body,
        media_type=media_type,
        headers={"Content-Disposition": f'inline; filename="{filename}"', "Cache-Control": "no-store"},
    )
