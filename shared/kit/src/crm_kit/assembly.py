"""Assembles a service process: FastAPI + database + bus consumer + outbox relay + retention.

Every service's `app.py` is a few lines::

    app = create_service_app(Settings(), title="Accounting", routers=api.routers,
                             handlers=consumers.build_handlers(settings))

What the process holds while it runs is a `runtime.Runtime`; the routes every
service serves (health, readiness, metrics, portfolio) are in `routes`.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import APIRouter, FastAPI
from starlette.types import ASGIApp
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from . import directory, errors, outbox, tracing
from .auth import StaffCheck, TokenVerifier
from .bus import EventBus
from .db import Database
from .deadletters import DeadLetterStore
from .handlers import Handlers
from .http import BodySizeLimitMiddleware, RequestContextMiddleware
from .logs import configure_logging
from .metrics_server import MetricsServer
from .replay import Replayer
from .retention import Retention
from .routes import admin_router, health_router, metrics_router
from .runtime import Runtime
from .settings import ServiceSettings

log = logging.getLogger(__name__)

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
    middleware: Sequence[Callable[[ASGIApp], ASGIApp]] = (),
    version: str = "0.1.0",
) -> FastAPI:
    """A service's app: its database, bus, outbox relay, health routes and `routers`.

    A deactivated member of staff's token is refused (401) by `staff_check(db)`, by
    default the staff directory's when the service keeps it (`directory.register`).
    `middleware`: the service's own ASGI middleware (no options), inside the kit's
    forwarded-headers one, so it sees the client's address and scheme.
    """
    configure_logging(settings.service_name, settings.log_level)
    tracing.configure(settings.service_name)
    runtime = build_runtime(settings, handlers)
    if staff_check is None and handlers is not None and directory.kept_by(handlers):
        staff_check = directory.staff_check
    staff = directory.CachedStaffCheck(staff_check(runtime.db), runtime.db) if staff_check else None

    app = FastAPI(title=title, version=version, lifespan=_lifespan(runtime, staff, on_startup, on_shutdown))
    app.state.runtime = runtime
    app.state.verifier = TokenVerifier(
        settings.key_set(), issuer=settings.jwt_issuer, audience=settings.jwt_audience
    )
    if staff is not None:
        # A deactivated member of staff's token is refused (401) as soon as their
        # deactivation is known here, not only when it expires.
        app.state.staff_check = staff
    app.add_middleware(BodySizeLimitMiddleware)
    app.add_middleware(RequestContextMiddleware, service=settings.service_name)
    errors.install(app)
    if tracing.enabled():
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

        app.add_middleware(
            OpenTelemetryMiddleware, excluded_urls=tracing.UNTRACED_PATHS, exclude_spans=["receive", "send"]
        )
    for own in middleware:
        app.add_middleware(own)
    if settings.forwarded_allow_ips:
        # Outermost, so everything inside sees the client's address and scheme.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.forwarded_allow_ips)
    app.include_router(health_router(runtime))
    if settings.metrics_port is None:
        app.include_router(metrics_router(runtime))
    app.include_router(admin_router(runtime))
    for router in routers:
        app.include_router(router)
    return app


def build_runtime(settings: ServiceSettings, handlers: Handlers | None) -> Runtime:
    """The database, the bus (with `handlers` on its queue), the outbox relay and the
    retention that prunes the outbox and inbox."""
    db = Database(settings.database_url, timeouts=settings.database_timeouts())
    bus = EventBus(settings, db, handlers)
    relay = outbox.OutboxRelay(
        db,
        bus.publish,
        service=settings.service_name,
        batch_size=settings.relay_batch_size,
        poll_interval_s=settings.relay_poll_interval_s,
        linger_s=settings.relay_linger_s,
    )
    retention = Retention.from_settings(db, settings)
    replayer = Replayer(db, bus.publisher, bus.declarations, settings.amqp_url)
    dead_letters = DeadLetterStore(
        db, bus.publisher, bus.declarations, settings.amqp_url, interval_s=settings.dead_letter_interval_s
    )
    return Runtime(
        settings=settings,
        db=db,
        bus=bus,
        relay=relay,
        retention=retention,
        replayer=replayer,
        dead_letters=dead_letters,
    )


def _lifespan(
    runtime: Runtime,
    staff: directory.CachedStaffCheck | None,
    on_startup: Sequence[Hook],
    on_shutdown: Sequence[Hook],
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    settings, bus, relay = runtime.settings, runtime.bus, runtime.relay
    metrics_server = (
        MetricsServer(runtime, settings.metrics_host, settings.metrics_port)
        if settings.metrics_port is not None
        else None
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if metrics_server is not None:  # first: a taken port fails the start at once
            await metrics_server.start()
        await bus.start()
        await runtime.dead_letters.start()
        if settings.relay_enabled:
            await relay.start()
        if settings.retention_enabled:
            await runtime.retention.start()
        if staff is not None:
            await staff.start()
        for hook in on_startup:
            await hook(runtime)
        settle_garbage_collector()
        log.info("%s started", settings.service_name)
        try:
            yield
        finally:
            await runtime.replayer.stop()
            await runtime.dead_letters.stop()
            # The relay first: it publishes through the bus, so its pass in flight
            # finishes while the broker is still connected (what it has not sent
            # stays in the outbox for the next start). Then stop taking messages
            # (in-flight handlers finish and ack), then close the pool.
            await relay.stop()
            await bus.stop()
            await runtime.retention.stop()
            if staff is not None:
                await staff.stop()
            for hook in on_shutdown:
                await hook(runtime)
            if metrics_server is not None:
                await metrics_server.stop()
            await runtime.db.dispose()
            log.info("%s stopped", settings.service_name)

    return lifespan


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
