"""The customers service process: `uvicorn customers.app:app`."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from crm_kit.assembly import create_service_app

from . import api, consumers
from .settings import Settings


def create_app(settings: Settings) -> FastAPI:
    """The customers app; tests pass their own settings."""
    return create_service_app(
        settings,
        title="CRM customers",
        routers=api.routers,
        handlers=consumers.handlers,
    )


def __getattr__(name: str) -> Any:
    # `app` is built on first access (uvicorn's `customers.app:app` does that) rather
    # than at import, so tests and tools can import `create_app` without a configured
    # environment.
    if name == "app":
        globals()["app"] = built = create_app(Settings())
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
