"""Routes every service serves: health, readiness, metrics, and what it holds for a member of staff."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, HTTPException, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.ext.asyncio import AsyncSession

from . import errors, metrics, outbox
from .auth import Role, require_roles
from .deadletters import DeadLetter, DeadLetterDetail, Requeued, RequeueMany
from .http import Holdings, Page, Paging
from .replay import ReplayRefused, ReplayRequest, ReplayStarted
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


def admin_router(runtime: Runtime) -> APIRouter:
    """What an admin does with the service's events, reached through the gateway at
    `/api/admin/<service>/...` (the gateway sends such a path to that service)."""
    router = APIRouter(tags=["events"])
    service = runtime.settings.service_name

    @router.post(
        f"/api/admin/{service}/events/replay",
        status_code=202,
        dependencies=[require_roles(Role.ADMIN)],
        responses={404: {"description": "no such queue"}, 422: {"description": "not bound, or not ours"}},
    )
    async def replay_events(body: ReplayRequest) -> ReplayStarted:
        """Re-publish this service's sent events of `routing_keys` written since `since`, in order,
        each with its original `event_id`, to the one queue `queue` (bound to `<ns>.replay` with its
        own name as the key) at `rate_per_s` at most (admin). Answers once the first event was
        taken, with how many there are; the rest follow in the background. 404: no such queue;
        422: the queue is not bound, or the service does not publish one of the keys."""
        try:
            return await runtime.replayer.start(body)
        except ReplayRefused as exc:
            raise HTTPException(exc.status, errors.coded(exc.code, exc.detail, **exc.params)) from exc

    _dead_letter_routes(router, runtime, f"/api/admin/{service}/dead-letters")
    return router


def _dead_letter_routes(router: APIRouter, runtime: Runtime, base: str) -> None:
    store = runtime.dead_letters
    admin = [require_roles(Role.ADMIN)]

    @router.get(base, dependencies=admin, tags=["dead letters"])
    async def list_dead_letters(paging: Paging, requeued: bool = False) -> Page[DeadLetter]:
        """The service's dead letters, newest first: id, routing key, reason, when parked (admin).
        Only those not yet requeued, unless `requeued=true`. Reading them takes nothing off a queue:
        they were moved from the dead-letter queue to the service's database."""
        return await store.page(paging, requeued_too=requeued)

    @router.get(base + "/{dead_letter_id}", dependencies=admin, tags=["dead letters"])
    async def show_dead_letter(dead_letter_id: int) -> DeadLetterDetail:
        """One dead letter with its headers and its body as it came (admin); 404 if there is none."""
        return await store.get(dead_letter_id)

    @router.post(base + "/{dead_letter_id}/requeue", dependencies=admin, tags=["dead letters"])
    async def requeue_dead_letter(dead_letter_id: int) -> Requeued:
        """Send one dead letter back to the service's own queue with its original routing key and
        event id, without the counts of its earlier tries (admin). The consumer's inbox makes it a
        no-op if the event was handled before. 404 if there is none; 409 if it was requeued already."""
        return Requeued(requeued=await store.requeue_one(dead_letter_id))

    @router.post(base + "/requeue", dependencies=admin, tags=["dead letters"])
    async def requeue_dead_letters(body: RequeueMany) -> Requeued:
        """Send back the dead letters `ids`, or `all` that are not yet requeued, in the order they were
        parked (admin); how many were sent. 422 unless exactly one of `ids` and `all` is given."""
        if bool(body.ids) == body.all:
            raise errors.Invalid(
                "give either ids or all",
                code="ids_or_all",
                problems=[errors.At(("body", "ids"), "ids or all", "ids_or_all")],
            )
        return Requeued(requeued=await store.requeue(None if body.all else body.ids))


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
