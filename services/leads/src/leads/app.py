"""The leads service process: `uvicorn leads.app:app`."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from crm_kit.assembly import create_service_app

from . import api, consumers
from .settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """The leads app; tests pass their own settings."""
    return create_service_app(
        settings or Settings(), title="CRM leads", routers=api.routers, handlers=consumers.handlers
    )


def __getattr__(name: str) -> Any:
    # `app` is built on first access (uvicorn's `leads.app:app` does that) rather than
    # at import, so tests and tools can import this module without a configured
    # environment (no JWT public key, no database URL).
    if name == "app":
        globals()["app"] = built = create_app()
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
