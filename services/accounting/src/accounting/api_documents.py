"""Accounting's document routes: an invoice as PDF and as e-invoice XML, and the company
profile (the seller on every document) an admin keeps."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from crm_kit import errors
from crm_kit.auth import CurrentUser, Role, require_roles
from crm_kit.documents import Lang, seller
from crm_kit.documents.response import PDF, PDF_RESPONSES, XML, XML_RESPONSES, document
from crm_kit.runtime import DbDep

from . import company, documents
from .api import OWNER_READERS, SettingsDep
from .schemas import CompanyProfileIn, CompanyProfileOut

router = APIRouter()


@router.get(
    "/api/invoices/{invoice_id}/document.pdf",
    tags=["invoices"],
    dependencies=[require_roles(*OWNER_READERS)],
    response_class=Response,
    responses=PDF_RESPONSES,
)
async def invoice_document(
    invoice_id: uuid.UUID, user: CurrentUser, db: DbDep, lang: Lang = "vi"
) -> Response:
    """The invoice as the PDF the customer receives (`?lang=en` for English): the seller
    from the company profile, the buyer's legal name, tax code and address, the lines,
    the totals per VAT rate, the total in words and the payment terms. Whoever may read
    the invoice may download it (else 404)."""
    async with db.transaction() as session:
        number, body = await documents.invoice_pdf(session, invoice_id, user, lang)
    return document(body, PDF, f"{number}.pdf")


@router.get(
    "/api/invoices/{invoice_id}/einvoice.xml",
    tags=["invoices"],
    dependencies=[require_roles(*OWNER_READERS)],
    response_class=Response,
    responses=XML_RESPONSES,
)
async def invoice_einvoice(
    invoice_id: uuid.UUID, user: CurrentUser, db: DbDep, settings: SettingsDep
) -> Response:
    """The invoice as e-invoice data for a provider (Decree 123/2020, Circular 78/2021),
    validated against the schema kept with accounting (`einvoice_schema/einvoice.xsd`).
    422 naming what is missing when the buyer has no tax code or address, or the company
    profile (the seller) is not set."""
    async with db.transaction() as session:
        number, body = await documents.invoice_xml(session, invoice_id, user, settings)
    return document(body, XML, f"{number}.xml")


@router.get("/api/company-profile", tags=["company profile"])
async def get_company_profile(user: CurrentUser, db: DbDep) -> CompanyProfileOut:
    """The seller every document names (404 until an admin sets it)."""
    async with db.transaction() as session:
        return company.shape(await company.get(session))


@router.put("/api/company-profile", tags=["company profile"], dependencies=[require_roles(Role.ADMIN)])
async def put_company_profile(body: CompanyProfileIn, user: CurrentUser, db: DbDep) -> CompanyProfileOut:
    """Set the seller's name, address, tax code (checked), phone and bank account (admin);
    a logo set before stays. Announced as `CompanyProfileUpdated`."""
    async with db.transaction() as session:
        return company.shape(await company.put(session, body, user))


@router.get("/api/company-profile/logo", tags=["company profile"], response_class=Response)
async def get_company_logo(user: CurrentUser, db: DbDep) -> Response:
    """The logo (PNG), 404 when there is none."""
    async with db.transaction() as session:
        row = await company.get(session)
    if row.logo_png is None:
        raise errors.NotFound("company logo", "", message="the company profile has no logo")
    return Response(content=row.logo_png, media_type="image/png")


@router.put(
    "/api/company-profile/logo",
    tags=["company profile"],
    dependencies=[require_roles(Role.ADMIN)],
    openapi_extra={
        "requestBody": {"content": {"image/png": {"schema": {"type": "string", "format": "binary"}}}}
    },
)
async def put_company_logo(request: Request, user: CurrentUser, db: DbDep) -> CompanyProfileOut:
    """Replace the logo with the request's body, a PNG of at most 256 KiB (admin; 413 when
    larger, 422 when not a PNG or before the profile is set)."""
    data = await request.body()
    if len(data) > seller.MAX_LOGO_BYTES:
        raise errors.TooLarge(
            f"the logo is {len(data)} bytes; at most {seller.MAX_LOGO_BYTES} are kept",
            code="company.logo_too_large",
            params={"size": len(data), "max_size": seller.MAX_LOGO_BYTES},
        )
    async with db.transaction() as session:
        return company.shape(await company.put_logo(session, data, user))
