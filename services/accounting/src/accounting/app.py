"""The accounting service process: `uvicorn accounting.app:app`."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from crm_kit.assembly import create_service_app
from crm_kit.routes import portfolio_router

from . import accounts, api, api_documents, consumers
from .settings import Settings


def create_app(settings: Settings) -> FastAPI:
    """The accounting app; tests pass their own settings."""
    return create_service_app(
        settings,
        title="CRM accounting",
        routers=[
            api.router,
            api.audit_router,
            api_documents.router,
            portfolio_router("accounting", accounts.holdings),
        ],
        handlers=consumers.build_handlers(settings),
    )


def __getattr__(name: str) -> Any:
    # `app` is built on first access (uvicorn's `accounting.app:app` does that), not at
    # import, so tests and tools can import `create_app` without a configured environment.
    if name == "app":
        globals()["app"] = built = create_app(Settings())
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
