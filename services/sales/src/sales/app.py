"""The sales service process: `uvicorn sales.app:app`."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse

from crm_kit.assembly import create_service_app
from crm_kit.routes import portfolio_router

from . import api, consumers, domain, service
from .settings import Settings

#: Service-layer errors and the HTTP answer each gets; the transaction was rolled back.
ERRORS: dict[type[Exception], int] = {
    service.NotFound: status.HTTP_404_NOT_FOUND,
    service.Conflict: status.HTTP_409_CONFLICT,
    domain.IllegalTransition: status.HTTP_409_CONFLICT,
    service.Invalid: status.HTTP_422_UNPROCESSABLE_CONTENT,
}


def create_app(settings: Settings) -> FastAPI:
    """The sales app; tests pass their own settings."""
    app = create_service_app(
        settings,
        title="CRM sales",
        routers=[*api.routers, portfolio_router("sales", service.holdings)],
        handlers=consumers.build_handlers(settings),
    )
    for error, code in ERRORS.items():
        app.add_exception_handler(error, _answer(code))
    return app


def _answer(code: int) -> Any:
    async def handler(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=code)

    return handler


def __getattr__(name: str) -> Any:
    # `app` is built on first access (uvicorn's `sales.app:app` does that), so tests
    # can import `create_app` without a configured environment.
    if name == "app":
        globals()["app"] = built = create_app(Settings())
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
