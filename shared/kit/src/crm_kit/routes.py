"""Routes every service serves: health, readiness, metrics, and what it holds for a member of staff."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.ext.asyncio import AsyncSession

from . import metrics, outbox
from .auth import Role, require_roles
from .http import Holdings
from .runtime import DbDep, Runtime

log = logging.getLogger(__name__)


def health_router(runtime: Runtime) -> APIRouter:
    router = APIRouter(tags=["health"])
    service = runtime.settings.service_name

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Alive: the process answers."""
        return {"status": "ok", "service": service}

    @router.get("/readyz")
    async def readyz() -> JSONResponse:
        """Ready: database reachable, broker connected, consumer attached."""
        checks: dict[str, str] = {}
        try:
            await asyncio.wait_for(runtime.db.ping(), timeout=2.0)
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"unreachable: {type(exc).__name__}"
        checks["broker"] = "ok" if await runtime.bus.broker.ping(timeout=1.0) else "disconnected"
        checks["consumer"] = "ok" if await runtime.bus.ready() else "not attached"
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "service": service, "checks": checks},
            status_code=200 if ready else 503,
        )

    return router


def metrics_router(runtime: Runtime) -> APIRouter:
    """`GET /metrics`: on the main port, or alone on METRICS_PORT (crm_kit.metrics_server)."""
    router = APIRouter(tags=["health"])
    service = runtime.settings.service_name

    @router.get("/metrics")
    async def prometheus() -> Response:
        """The process's metrics in Prometheus' text format. The outbox backlog (events not yet
        published, and the oldest one's age) is read from the database at each scrape; while the
        database does not answer, those two keep their last values and the scrape still succeeds."""
        try:
            async with runtime.db.transaction() as session:
                pending, age = await outbox.backlog(session)
            metrics.OUTBOX_PENDING.labels(service).set(pending)
            metrics.OUTBOX_OLDEST_AGE.labels(service).set(age)
        except Exception as exc:  # metrics must answer even when the database does not
            log.debug("outbox backlog unavailable: %s", exc)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


HoldingsCount = Callable[[AsyncSession, uuid.UUID], Awaitable[dict[str, int]]]


def portfolio_router(service: str, count: HoldingsCount) -> APIRouter:
    """`GET /api/portfolio/{user_id}`: what this service still holds for a member of staff
    (admin, sales_manager); the gateway sums every service's answer."""
    router = APIRouter(tags=["portfolio"])

    @router.get("/api/portfolio/{user_id}", dependencies=[require_roles(Role.ADMIN, Role.SALES_MANAGER)])
    async def portfolio(user_id: uuid.UUID, db: DbDep) -> Holdings:
        """How many records of each kind this service still has for the member of staff (all zero
        once their hand-over is done); the gateway's `GET /api/users/{user_id}/portfolio` asks
        every service and adds up the answers."""
        async with db.transaction() as session:
            return Holdings(service=service, user_id=user_id, holdings=await count(session, user_id))

    return router
