"""Assembles a service process: FastAPI + database + bus consumer + outbox relay.

Every service's `app.py` is a few lines::

    app = create_service_app(Settings(), title="Accounting", routers=[api.router],
                             handlers=consumers.handlers)
"""

from __future__ import annotations

import asyncio
import gc
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSession

from . import directory, metrics, outbox, tracing
from .auth import Role, StaffCheck, TokenVerifier, require_roles
from .bus import EventBus, Handlers
from .db import Database
from .http import BodySizeLimitMiddleware, Holdings, RequestContextMiddleware
from .logs import configure_logging
from .settings import ServiceSettings

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """What a running service holds; routes reach it through `request.app.state.runtime`."""

    settings: ServiceSettings
    db: Database
    bus: EventBus
    relay: outbox.OutboxRelay


# Dependencies are `async def` even with nothing to await: FastAPI runs a plain `def`
# dependency in a worker thread, a thread hop on every request.
async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_db(request: Request) -> Database:
    runtime: Runtime = request.app.state.runtime
    return runtime.db


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
DbDep = Annotated[Database, Depends(get_db)]

Hook = Callable[[Runtime], Awaitable[None]]


def create_service_app(
    settings: ServiceSettings,
    *,
    title: str,
    routers: Sequence[APIRouter] = (),
    handlers: Handlers | None = None,
    on_startup: Sequence[Hook] = (),
    on_shutdown: Sequence[Hook] = (),
    staff_check: Callable[[Database], StaffCheck] | None = None,
    version: str = "0.1.0",
) -> FastAPI:
    """A service's app: its database, bus, outbox relay, health routes and `routers`.

    A deactivated member of staff's token is refused (401) by `staff_check(db)`, by
    default the staff directory's when the service keeps it (`directory.register`).
    """
    configure_logging(settings.service_name, settings.log_level)
    tracing.configure(settings.service_name)
    db = Database(settings.database_url)
    bus = EventBus(settings, db, handlers)
    relay = outbox.OutboxRelay(
        db,
        bus.publish,
        service=settings.service_name,
        batch_size=settings.relay_batch_size,
        poll_interval_s=settings.relay_poll_interval_s,
    )
    runtime = Runtime(settings=settings, db=db, bus=bus, relay=relay)
    if staff_check is None and handlers is not None and directory.kept_by(handlers):
        staff_check = directory.staff_check
    staff = directory.CachedStaffCheck(staff_check(db), db) if staff_check is not None else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await bus.start()
        if settings.relay_enabled:
            await relay.start()
        if staff is not None:
            await staff.start()
        for hook in on_startup:
            await hook(runtime)
        settle_garbage_collector()
        log.info("%s started", settings.service_name)
        try:
            yield
        finally:
            # Stop taking messages first (in-flight handlers finish and ack), then
            # let the relay finish its pass, then close the pool.
            await bus.stop()
            await relay.stop()
            if staff is not None:
                await staff.stop()
            for hook in on_shutdown:
                await hook(runtime)
            await db.dispose()
            log.info("%s stopped", settings.service_name)

    app = FastAPI(title=title, version=version, lifespan=lifespan)
    app.state.runtime = runtime
    app.state.verifier = TokenVerifier(
        settings.jwt_public_key, issuer=settings.jwt_issuer, audience=settings.jwt_audience
    )
    if staff is not None:
        # A deactivated member of staff's token is refused (401) as soon as their
        # deactivation is known here, not only when it expires.
        app.state.staff_check = staff
    app.add_middleware(BodySizeLimitMiddleware)
    app.add_middleware(RequestContextMiddleware, service=settings.service_name)
    app.add_exception_handler(sa_exc.DBAPIError, _database_refused)
    app.add_exception_handler(sa_exc.TimeoutError, _database_busy)
    _document_plain_422(app)
    if tracing.enabled():
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

        app.add_middleware(OpenTelemetryMiddleware, exclude_spans=["receive", "send"])
    app.include_router(health_router(runtime))
    for router in routers:
        app.include_router(router)
    return app


#: Collections of the youngest generation happen after this many new container objects
#: (CPython's default is 700); see `settle_garbage_collector`.
GC_YOUNG_THRESHOLD = 10_000


def settle_garbage_collector() -> None:
    """Keep the garbage collector's pauses out of event and request latency.

    A started service holds a few hundred thousand long-lived objects (modules, models,
    compiled statements). CPython's full collections walked all of them every few
    seconds under load: 50-80 ms pauses (seen with `gc.callbacks` during `make bench`),
    which were the p99 of event propagation. `gc.freeze()` moves what exists after
    start-up out of the collector's sight; what is created later is still collected,
    in fewer, larger young collections.
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


async def _database_refused(request: Request, exc: Exception) -> Response:
    """A value the database cannot take (an integer past 64 bits, a NUL character in
    text, ...) is the caller's bad input: 422, not 500 (found by schemathesis). The
    transaction was rolled back, so nothing changed. Any other database error stays a 500."""
    assert isinstance(exc, sa_exc.DBAPIError)
    if exc.connection_invalidated:
        # The database restarted or the connection broke: nothing was done, try again.
        log.warning("database connection lost on %s %s: %s", request.method, request.url.path, exc.orig)
        return JSONResponse(
            {"detail": "the database connection was lost; nothing was changed, try again"},
            status_code=503,
            headers={"Retry-After": "1"},
        )
    cause = exc.orig.__cause__ if exc.orig is not None else None
    sqlstate = str(getattr(exc.orig, "sqlstate", None) or getattr(cause, "sqlstate", None) or "")
    # Class 22 is "data exception"; asyncpg's DataError is a value it could not encode.
    if isinstance(cause, asyncpg.exceptions.DataError) or sqlstate.startswith("22"):
        reason = str(cause or exc.orig).split("\n")[0][:300]
        return JSONResponse(
            {
                "detail": [
                    {"loc": ["request"], "msg": f"a value cannot be stored: {reason}", "type": "value_error"}
                ]
            },
            status_code=422,
        )
    log.error("database error on %s %s", request.method, request.url.path, exc_info=exc)
    return PlainTextResponse("Internal Server Error", status_code=500)


async def _database_busy(request: Request, exc: Exception) -> Response:
    """Every pooled connection stayed busy for the pool's whole timeout: the service is
    overloaded. Nothing was done; the caller may try again shortly."""
    log.warning("no database connection free in time on %s %s", request.method, request.url.path)
    return JSONResponse(
        {"detail": "the service is busy; nothing was changed, try again"},
        status_code=503,
        headers={"Retry-After": "1"},
    )


def _document_plain_422(app: FastAPI) -> None:
    """Services answer some 422s with a sentence in `detail` (a rule of the domain, not
    a field's type): say so in the OpenAPI document, which otherwise promises FastAPI's
    list of field errors only, so clients and schemathesis know both shapes."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            detail = schema.get("components", {}).get("schemas", {}).get("HTTPValidationError", {})
            listed = detail.get("properties", {}).get("detail")
            if listed is not None:
                detail["properties"]["detail"] = {"anyOf": [listed, {"type": "string"}], "title": "Detail"}
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


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

    @router.get("/metrics")
    async def prometheus() -> Response:
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
        async with db.transaction() as session:
            return Holdings(service=service, user_id=user_id, holdings=await count(session, user_id))

    return router
