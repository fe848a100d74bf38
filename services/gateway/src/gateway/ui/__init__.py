"""The web UI, served by the gateway: server-rendered pages (Jinja2 + HTMX) over the
public JSON API. `install(app)` adds its routes, its static files and its error pages."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from crm_kit import errors

from . import (
    admin,
    company,
    core,
    credit_limits,
    customer_records,
    customers,
    documents,
    home,
    imports,
    invoices,
    leads,
    marketing,
    opportunities,
    orders,
    performance,
    pickers,
    price_lists,
    pricing,
    product_groups,
    province_map,
    questionnaires,
    quotes,
    receivables,
    target_planning,
    targets,
)


def install(app: FastAPI) -> None:
    # `imports` (/customers/imports), `customer_records` (/customers/new) and
    # `opportunities` (/customers/lapsed) before
    # `customers`, whose /customers/{id} would take them;
    # `province_map` (/targets/map) and `target_planning` (/targets/import, /targets/proposals)
    # before `targets`, for /targets/{id} likewise.
    modules = (
        home,
        leads,
        imports,
        customer_records,
        opportunities,
        customers,
        quotes,
        marketing,
        province_map,
        target_planning,
        targets,
    )
    for module in (
        *modules,
        documents,
        orders,
        invoices,
        receivables,
        performance,
        pricing,
        product_groups,
        company,
        credit_limits,
        pickers,
        price_lists,
        questionnaires,
        admin,
    ):
        app.include_router(module.router, include_in_schema=False)
    app.mount("/static", StaticFiles(directory=core.STATIC), name="static")

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        """For what asks for the old name (the pages link `/static/favicon.svg`)."""
        return FileResponse(core.STATIC / "favicon.svg", media_type="image/svg+xml")

    async def login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, core.LoginRequired)
        return core.login_redirect(request, exc)

    async def csrf_refused(request: Request, exc: Exception) -> Response:
        ui = core.anonymous_ui(request)
        if request.headers.get("hx-request") or request.headers.get(core.CSRF_HEADER):
            return HTMLResponse(ui.t("errors.csrf"), status_code=403)
        return ui.render("error.html", status_code=403, message=ui.t("errors.csrf"))

    async def no_such_page(request: Request, exc: Exception) -> Response:
        """A mistyped address in the browser gets a page in the user's language (after the
        login, for someone not logged in); the API and every other client keep the
        problem document."""
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404 and core.wants_page(request):
            try:
                ui = await core.current_ui(request)
            except core.LoginRequired as login:
                return core.login_redirect(request, login)
            return ui.render("error.html", status_code=404, message=ui.t("errors.not_found"))
        return await errors.http_refused(request, exc)

    app.add_exception_handler(core.LoginRequired, login_required)
    app.add_exception_handler(core.CsrfRefused, csrf_refused)
    app.add_exception_handler(StarletteHTTPException, no_such_page)
