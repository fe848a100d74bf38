"""The gateway process: `uvicorn gateway.app:app --port 8000`."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from fastapi import FastAPI

from crm_kit import context, revocation
from crm_kit.assembly import create_service_app
from crm_kit.auth import StaffCheck, Standing, TokenIssuer
from crm_kit.db import Database
from crm_kit.runtime import Runtime

from . import api, consumers, notifications, proxy, transport, ui, users
from .headers import SecurityHeadersMiddleware
from .models import UserAccount
from .ratelimit import LoginThrottle
from .settings import DEFAULT_ADMIN_PASSWORD, GatewaySettings

log = logging.getLogger(__name__)


def create_app(settings: GatewaySettings, *, upstream: transport.Send | None = None) -> FastAPI:
    """The gateway app; tests pass their own settings (and may stub the upstreams)."""
    issuer = TokenIssuer(
        settings.jwt_private_key,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl=timedelta(seconds=settings.token_ttl_s),
    )
    upstreams = proxy.Upstreams(settings, upstream)

    async def seed_admin(runtime: Runtime) -> None:
        # A flow of its own: the UserRegistered it may emit gets a fresh correlation id.
        token = context.correlation_id.set(context.new_correlation_id())
        try:
            async with runtime.db.transaction() as session:
                created = await users.ensure_admin(session, settings.crm_admin_password)
        finally:
            context.correlation_id.reset(token)
        if created:
            log.info("created user %r (role admin)", users.ADMIN_USERNAME)
        if settings.crm_admin_password == DEFAULT_ADMIN_PASSWORD:
            log.warning("CRM_ADMIN_PASSWORD is not set: user 'admin' may have the default password")

    app = create_service_app(
        settings,
        title="CRM gateway",
        # The proxy's catch-all goes last so the gateway's own routes win.
        routers=[
            api.auth_router,
            api.well_known_router,
            api.users_router,
            notifications.router,
            proxy.router,
        ],
        handlers=consumers.build_handlers(settings),
        on_startup=[seed_admin, upstreams.start],
        on_shutdown=[upstreams.close],
        staff_check=staff_check,
        middleware=[SecurityHeadersMiddleware],
    )
    # What a service owns is matched first, before the gateway's own routes and pages.
    app.router.routes.insert(0, proxy.service_paths)
    app.state.issuer = issuer
    app.state.upstreams = upstreams
    app.state.login_throttle = LoginThrottle(
        app.state.runtime.db,
        max_failures=settings.login_max_failures,
        max_per_address=settings.login_max_failures_per_address,
        window_s=settings.login_window_s,
    )
    ui.install(app)
    return app


def staff_check(db: Database) -> StaffCheck:
    """The gateway refuses a deactivated account's token, a token of an older role and a
    token its holder logged out with at once (401), before any service has heard of it;
    unknown ids pass as in the services."""

    async def standing(user_id: uuid.UUID) -> Standing:
        async with db.transaction() as session:
            account = await session.get(UserAccount, user_id)
            revoked = await revocation.revoked_of(session, user_id)
        if account is None:
            return Standing(revoked=revoked)
        return Standing(active=account.active, role=account.role, revoked=revoked)

    return standing


def __getattr__(name: str) -> Any:
    # `app` is built on first access (uvicorn's `gateway.app:app` does that) rather
    # than at import, so tests and tools can import `create_app` without a
    # configured environment (no signing key, no database URL).
    if name == "app":
        globals()["app"] = built = create_app(GatewaySettings())
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
