"""The sales service process: `uvicorn sales.app:app`."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from crm_kit.assembly import create_service_app
from crm_kit.routes import portfolio_router

from . import api, consumers, portfolio
from .settings import Settings


def create_app(settings: Settings) -> FastAPI:
    """The sales app; tests pass their own settings."""
    return create_service_app(
        settings,
        title="CRM sales",
        routers=[*api.routers, portfolio_router("sales", portfolio.holdings)],
        handlers=consumers.build_handlers(settings),
    )


def __getattr__(name: str) -> Any:
    # `app` is built on first access (uvicorn's `sales.app:app` does that), so tests
    # can import `create_app` without a configured environment.
    if name == "app":
        globals()["app"] = built = create_app(Settings())
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
