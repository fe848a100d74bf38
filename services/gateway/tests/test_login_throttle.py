"""Failed logins are throttled per username and address, and per address alone, with
the count kept in the gateway's database so every replica sees the same one."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from crm_kit.auth import generate_keypair
from crm_testkit.infra import Infra
from crm_testkit.service import ServiceUnderTest, running_service
from gateway.app import create_app
from gateway.ratelimit import LoginThrottle
from gateway.settings import GatewaySettings

pytestmark = pytest.mark.integration

ADMIN_PASSWORD = "throttle-admin-pw"
PER_ADDRESS = 8


@pytest.fixture(scope="module")
async def gateway(infra: Infra) -> AsyncIterator[ServiceUnderTest[GatewaySettings]]:
    private, public = generate_keypair()
    async with running_service(
        infra,
        "gateway",
        create_app,
        GatewaySettings,
        keys=(private, public),
        jwt_private_key=private,
        crm_admin_password=ADMIN_PASSWORD,
        login_max_failures=3,
        login_max_failures_per_address=PER_ADDRESS,
    ) as running:
        yield running


@asynccontextmanager
async def replica(gateway: ServiceUnderTest[GatewaySettings]) -> AsyncIterator[FastAPI]:
    """Another gateway process on the same database."""
    app = create_app(gateway.settings)
    async with app.router.lifespan_context(app):
        yield app


async def login(app: FastAPI, address: str, username: str, password: str) -> httpx.Response:
    transport = httpx.ASGITransport(app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        return await client.post("/api/auth/token", data={"username": username, "password": password})


def an_address() -> str:
    return f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}"


async def test_random_usernames_from_one_address_are_throttled_too(
    gateway: ServiceUnderTest[GatewaySettings],
) -> None:
    """Issue 16: the throttle counted per (username, address), so a flood of logins with
    a new username each time was never throttled and every one ran a password hash."""
    flood, bystander = an_address(), an_address()
    answers = [
        (await login(gateway.app, flood, f"nobody{i}-{uuid.uuid4().hex[:6]}", "guess")).status_code
        for i in range(PER_ADDRESS)
    ]
    assert answers == [401] * PER_ADDRESS
    throttled = await login(gateway.app, flood, f"another-{uuid.uuid4().hex[:6]}", "guess")
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) > 0
    # Even the right password waits at that address; elsewhere it works.
    assert (await login(gateway.app, flood, "admin", ADMIN_PASSWORD)).status_code == 429
    assert (await login(gateway.app, bystander, "admin", ADMIN_PASSWORD)).status_code == 200


async def test_the_count_holds_across_gateway_replicas(gateway: ServiceUnderTest[GatewaySettings]) -> None:
    """Issue 16: each replica counted in its own memory, so N replicas allowed N times
    the guesses."""
    address = an_address()
    async with replica(gateway) as other:
        assert (await login(gateway.app, address, "admin", "guess-1")).status_code == 401
        assert (await login(other, address, "admin", "guess-2")).status_code == 401
        assert (await login(gateway.app, address, "admin", "guess-3")).status_code == 401
        assert (await login(other, address, "admin", ADMIN_PASSWORD)).status_code == 429
        assert (await login(gateway.app, address, "admin", ADMIN_PASSWORD)).status_code == 429


async def test_a_successful_login_clears_the_usernames_count_at_that_address(
    gateway: ServiceUnderTest[GatewaySettings],
) -> None:
    address = an_address()
    for _ in range(2):
        assert (await login(gateway.app, address, "admin", "wrong")).status_code == 401
    assert (await login(gateway.app, address, "admin", ADMIN_PASSWORD)).status_code == 200
    for _ in range(2):
        assert (await login(gateway.app, address, "admin", "wrong")).status_code == 401
    assert (await login(gateway.app, address, "admin", ADMIN_PASSWORD)).status_code == 200


async def test_the_wait_ends_when_the_oldest_failure_leaves_the_window(
    gateway: ServiceUnderTest[GatewaySettings],
) -> None:
    now = [datetime(2030, 1, 1, 9, 0, tzinfo=UTC)]
    throttle = LoginThrottle(
        gateway.db, max_failures=2, max_per_address=100, window_s=300, clock=lambda: now[0]
    )
    alice = throttle.attempt(" Alice ", an_address())
    for _ in range(2):
        assert await throttle.begin(alice) is None
        await throttle.failed()
        now[0] += timedelta(seconds=10)
    assert await throttle.begin(alice) == 300 - 20
    assert await throttle.begin(throttle.attempt("alice", an_address())) is None  # another address
    assert await throttle.begin(throttle.attempt("bob", alice.address)) is None  # another name
    now[0] += timedelta(seconds=300 - 20 + 1)
    assert await throttle.begin(alice) is None  # the first failure left the window
