"""The gateway against real Postgres and RabbitMQ, driven over HTTP as a client would.

A fake upstream (a tiny FastAPI app under uvicorn on a free local port) stands in
for the leads and sales services, so the proxy is tested over a real socket.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from argon2 import PasswordHasher
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text

from crm_kit.auth import Role, TokenIssuer, User, generate_keypair
from crm_kit.db import Database
from crm_kit.testing import Infra, delete_namespace, fresh_database, migrate, unique_namespace
from gateway import service
from gateway.app import create_app
from gateway.settings import GatewaySettings

pytestmark = pytest.mark.integration

ADMIN_PASSWORD = "s3cret-admin-pw"
BAD_CREDENTIALS = {"detail": "incorrect username or password"}
SLOW_S = 5.0


# -- the fake upstream -------------------------------------------------------------


def fake_service() -> FastAPI:
    """Echoes what reached it, so a test can see what the gateway forwarded."""
    upstream = FastAPI()

    @upstream.get("/api/products/export")
    async def export() -> Response:
        return Response("code,name\nP1,Pump\n", media_type="text/csv")

    @upstream.get("/api/opportunities/slow")
    async def slow() -> dict[str, str]:
        await asyncio.sleep(SLOW_S)
        return {"late": "yes"}

    @upstream.api_route("/api/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def echo(request: Request) -> JSONResponse:
        status = 404 if request.url.path.endswith("/missing") else 201
        return JSONResponse(
            {
                "method": request.method,
                "path": request.url.path,
                "query": request.url.query,
                "body": (await request.body()).decode(),
                "headers": dict(request.headers),
            },
            status_code=status,
        )

    return upstream


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def closed_port() -> int:
    """A local port where nothing listens."""
    with free_socket() as sock:
        port: int = sock.getsockname()[1]
    return port


@dataclass
class Upstream:
    url: str
    server: uvicorn.Server
    task: asyncio.Task[None]


async def start_upstream() -> Upstream:
    sock = free_socket()
    config = uvicorn.Config(fake_service(), log_level="warning", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.05)
    assert server.started, "fake upstream did not start"
    return Upstream(f"http://127.0.0.1:{sock.getsockname()[1]}", server, task)


# -- the gateway under test ----------------------------------------------------------


@dataclass
class Gateway:
    http: httpx.AsyncClient
    db: Database
    settings: GatewaySettings
    private_key: str

    def issuer(self, private_key: str | None = None) -> TokenIssuer:
        return TokenIssuer(
            private_key or self.private_key,
            issuer=self.settings.jwt_issuer,
            audience=self.settings.jwt_audience,
            ttl=timedelta(hours=8),
        )

    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.db.transaction() as session:
            return (await session.execute(text(sql), params)).scalar_one()

    async def login(self, username: str, password: str) -> dict[str, str]:
        response = await self.http.post("/api/auth/token", data={"username": username, "password": password})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    async def create_user(
        self, admin: dict[str, str], role: Role, password: str = "password-1"
    ) -> dict[str, Any]:
        username = f"u{uuid.uuid4().hex[:10]}"
        response = await self.http.post(
            "/api/users",
            headers=admin,
            json={"username": username, "password": password, "full_name": f"User {username}", "role": role},
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture(scope="module")
def env() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as mp:
        yield mp


@pytest.fixture(scope="module")
async def gateway(infra: Infra, env: pytest.MonkeyPatch) -> AsyncIterator[Gateway]:
    # crm_kit.testing.migrate runs `python` from PATH; make that this venv's python
    # even when pytest was started as .venv/bin/pytest without activating the venv.
    env.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    url = await fresh_database(infra, "crm_test_gateway")
    await asyncio.to_thread(migrate, "gateway", url)
    namespace = unique_namespace("tgw")
    private, public = generate_keypair()
    upstream = await start_upstream()
    for name, value in {
        "DATABASE_URL": url,
        "AMQP_URL": infra.amqp_url,
        "BUS_NAMESPACE": namespace,
        "JWT_PRIVATE_KEY": private,
        "JWT_PUBLIC_KEY": public,
        "CRM_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "LEADS_URL": upstream.url,
        "SALES_URL": upstream.url,
        "CUSTOMERS_URL": f"http://127.0.0.1:{closed_port()}",
        "UPSTREAM_TIMEOUT_S": "1.0",
    }.items():
        env.setenv(name, value)
    settings = GatewaySettings()
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
                yield Gateway(http, app.state.runtime.db, settings, private)
    finally:
        upstream.server.should_exit = True
        await upstream.task
        await delete_namespace(infra.amqp_url, namespace, ["gateway"])


@pytest.fixture
async def admin(gateway: Gateway) -> dict[str, str]:
    return await gateway.login("admin", ADMIN_PASSWORD)


# -- login -------------------------------------------------------------------------


async def test_admin_is_seeded_once_and_logs_in(gateway: Gateway) -> None:
    response = await gateway.http.post(
        "/api/auth/token", data={"username": "Admin", "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    me = await gateway.http.get("/api/users/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["username"] == "admin"
    assert me.json()["role"] == "admin"
    assert me.json()["full_name"] == "Administrator"
    assert me.json()["active"] is True
    assert "password_hash" not in me.json()
    assert await gateway.scalar("SELECT count(*) FROM users WHERE username = 'admin'") == 1


@pytest.mark.parametrize(
    ("username", "password"),
    [("admin", "wrong-password"), ("nobody-here", "whatever-pw"), ("x", "too-short-name")],
)
async def test_bad_credentials_get_one_answer(gateway: Gateway, username: str, password: str) -> None:
    response = await gateway.http.post("/api/auth/token", data={"username": username, "password": password})
    assert response.status_code == 401
    assert response.json() == BAD_CREDENTIALS
    assert response.headers["www-authenticate"] == "Bearer"


async def test_inactive_user_cannot_log_in(gateway: Gateway, admin: dict[str, str]) -> None:
    user = await gateway.create_user(admin, Role.SALESPERSON)
    await gateway.login(user["username"], "password-1")
    async with gateway.db.transaction() as session:
        await session.execute(
            text("UPDATE users SET active = false WHERE id = :id"), {"id": uuid.UUID(user["id"])}
        )
    response = await gateway.http.post(
        "/api/auth/token", data={"username": user["username"], "password": "password-1"}
    )
    assert response.status_code == 401
    assert response.json() == BAD_CREDENTIALS


async def test_login_without_form_fields_is_422(gateway: Gateway) -> None:
    response = await gateway.http.post("/api/auth/token", data={"username": "admin"})
    assert response.status_code == 422
    assert any(e["loc"][-1] == "password" for e in response.json()["detail"])


async def test_outdated_hash_is_upgraded_at_login(gateway: Gateway, admin: dict[str, str]) -> None:
    user = await gateway.create_user(admin, Role.MARKETING)
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash("password-1")
    async with gateway.db.transaction() as session:
        await session.execute(
            text("UPDATE users SET password_hash = :h WHERE id = :id"),
            {"h": weak, "id": uuid.UUID(user["id"])},
        )
    await gateway.login(user["username"], "password-1")
    stored = await gateway.scalar("SELECT password_hash FROM users WHERE id = :id", id=uuid.UUID(user["id"]))
    assert stored != weak
    assert not PasswordHasher().check_needs_rehash(stored)
    await gateway.login(user["username"], "password-1")  # the new hash still verifies


async def test_concurrent_seeding_creates_one_admin(gateway: Gateway) -> None:
    """Two replicas starting at once: both see no admin, one insert wins."""
    async with gateway.db.transaction() as session:
        await session.execute(text("DELETE FROM users WHERE username = 'admin'"))

    async def seed() -> bool:
        async with gateway.db.transaction() as session:
            return await service.ensure_admin(session, ADMIN_PASSWORD)

    created = await asyncio.gather(seed(), seed(), seed())
    assert sorted(created) == [False, False, True]
    assert await gateway.scalar("SELECT count(*) FROM users WHERE username = 'admin'") == 1
    assert await seed() is False
    await gateway.login("admin", ADMIN_PASSWORD)


# -- tokens ------------------------------------------------------------------------


async def test_requests_without_a_valid_token_are_401(gateway: Gateway, admin: dict[str, str]) -> None:
    me = (await gateway.http.get("/api/users/me", headers=admin)).json()
    principal = User(id=uuid.UUID(me["id"]), username="admin", role=Role.ADMIN)
    expired = gateway.issuer().issue(principal, now=datetime.now(UTC) - timedelta(hours=9))
    foreign = gateway.issuer(generate_keypair()[0]).issue(principal)
    cases: list[tuple[dict[str, str], str]] = [
        ({}, "not authenticated"),
        ({"Authorization": f"Bearer {expired}"}, "token expired"),
        ({"Authorization": f"Bearer {foreign}"}, "invalid token"),
        ({"Authorization": "Bearer not-a-jwt"}, "invalid token"),
        ({"Authorization": f"Basic {expired}"}, "not authenticated"),
    ]
    for headers, detail in cases:
        for path in ("/api/users/me", "/api/users", "/api/leads", "/api/no-such-thing"):
            response = await gateway.http.get(path, headers=headers)
            assert response.status_code == 401, (path, headers, response.text)
            assert response.json() == {"detail": detail}


# -- users -------------------------------------------------------------------------


async def test_admin_creates_a_user_who_can_log_in(gateway: Gateway, admin: dict[str, str]) -> None:
    response = await gateway.http.post(
        "/api/users",
        headers=admin,
        json={
            "username": "  Lan.Tran ",
            "password": "correct horse",
            "full_name": "Trần Thị Lan",
            "role": "sales_manager",
        },
    )
    assert response.status_code == 201
    created = response.json()
    assert set(created) == {"id", "username", "full_name", "role", "active", "created_at"}
    assert created["username"] == "lan.tran"
    assert created["full_name"] == "Trần Thị Lan"
    assert created["role"] == "sales_manager"
    assert created["active"] is True

    headers = await gateway.login("LAN.TRAN", "correct horse")
    me = await gateway.http.get("/api/users/me", headers=headers)
    assert me.json() == created


async def test_only_an_admin_creates_users(gateway: Gateway, admin: dict[str, str]) -> None:
    for role in (Role.SALESPERSON, Role.SALES_MANAGER, Role.ACCOUNTANT):
        user = await gateway.create_user(admin, role)
        headers = await gateway.login(user["username"], "password-1")
        before = await gateway.scalar("SELECT count(*) FROM users")
        response = await gateway.http.post(
            "/api/users",
            headers=headers,
            json={"username": "sneaky", "password": "password-1", "full_name": "S", "role": "admin"},
        )
        assert response.status_code == 403
        assert await gateway.scalar("SELECT count(*) FROM users") == before


async def test_duplicate_username_is_409_whatever_the_case(gateway: Gateway, admin: dict[str, str]) -> None:
    user = await gateway.create_user(admin, Role.SALESPERSON)
    before = await gateway.scalar("SELECT count(*) FROM users")
    response = await gateway.http.post(
        "/api/users",
        headers=admin,
        json={
            "username": user["username"].upper(),
            "password": "other-password",
            "full_name": "Dup",
            "role": "marketing",
        },
    )
    assert response.status_code == 409
    assert user["username"] in response.json()["detail"]
    assert await gateway.scalar("SELECT count(*) FROM users") == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"password": "short"}, "password"),
        ({"username": "no spaces allowed"}, "username"),
        ({"username": "ab"}, "username"),
        ({"role": "superuser"}, "role"),
        ({"full_name": ""}, "full_name"),
        ({"active": False}, "active"),
        ({"id": str(uuid.uuid4())}, "id"),
    ],
)
async def test_malformed_user_is_422_naming_the_field_and_writes_nothing(
    gateway: Gateway, admin: dict[str, str], change: dict[str, Any], field: str
) -> None:
    body = {"username": "valid.name", "password": "password-1", "full_name": "Valid", "role": "salesperson"}
    before = await gateway.scalar("SELECT count(*) FROM users")
    response = await gateway.http.post("/api/users", headers=admin, json={**body, **change})
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["detail"]] == [["body", field]]
    assert await gateway.scalar("SELECT count(*) FROM users") == before


async def test_missing_field_is_422(gateway: Gateway, admin: dict[str, str]) -> None:
    response = await gateway.http.post(
        "/api/users", headers=admin, json={"username": "no.password", "full_name": "X", "role": "admin"}
    )
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["detail"]] == [["body", "password"]]
    assert await gateway.scalar("SELECT count(*) FROM users WHERE username = 'no.password'") == 0


async def test_user_list_is_paged_for_admins_and_managers(gateway: Gateway, admin: dict[str, str]) -> None:
    await gateway.create_user(admin, Role.SALESPERSON)
    total = await gateway.scalar("SELECT count(*) FROM users")
    manager = await gateway.login(
        (await gateway.create_user(admin, Role.SALES_MANAGER))["username"], "password-1"
    )
    seller = await gateway.login(
        (await gateway.create_user(admin, Role.SALESPERSON))["username"], "password-1"
    )
    total += 2

    everyone = await gateway.http.get("/api/users?limit=200", headers=admin)
    assert everyone.status_code == 200
    assert everyone.json()["total"] == total
    assert len(everyone.json()["items"]) == total
    assert all("password_hash" not in u for u in everyone.json()["items"])

    first = await gateway.http.get("/api/users?limit=1&offset=0", headers=manager)
    second = await gateway.http.get("/api/users?limit=1&offset=1", headers=manager)
    assert first.status_code == second.status_code == 200
    assert first.json()["total"] == total
    assert len(first.json()["items"]) == len(second.json()["items"]) == 1
    assert first.json()["items"][0]["id"] != second.json()["items"][0]["id"]

    assert (await gateway.http.get("/api/users", headers=seller)).status_code == 403
    assert (await gateway.http.get("/api/users?limit=1000", headers=admin)).status_code == 422


async def test_a_user_record_is_visible_to_self_managers_and_admins(
    gateway: Gateway, admin: dict[str, str]
) -> None:
    seller = await gateway.create_user(admin, Role.SALESPERSON)
    other = await gateway.create_user(admin, Role.SALESPERSON)
    manager = await gateway.create_user(admin, Role.SALES_MANAGER)
    as_seller = await gateway.login(seller["username"], "password-1")
    as_manager = await gateway.login(manager["username"], "password-1")

    own = await gateway.http.get(f"/api/users/{seller['id']}", headers=as_seller)
    assert own.status_code == 200
    assert own.json()["username"] == seller["username"]
    assert (await gateway.http.get(f"/api/users/{other['id']}", headers=as_seller)).status_code == 404
    assert (await gateway.http.get(f"/api/users/{other['id']}", headers=as_manager)).status_code == 200
    assert (await gateway.http.get(f"/api/users/{other['id']}", headers=admin)).status_code == 200
    assert (await gateway.http.get(f"/api/users/{uuid.uuid4()}", headers=admin)).status_code == 404


# -- the proxy ---------------------------------------------------------------------


async def test_proxy_forwards_the_request_and_returns_the_answer(
    gateway: Gateway, admin: dict[str, str]
) -> None:
    response = await gateway.http.post(
        "/api/leads/abc/convert?x=1&name=Tr%E1%BA%A7n",
        headers={
            **admin,
            "X-Correlation-ID": "flow-42",
            "Accept-Language": "vi",
            "Cookie": "session=secret",
        },
        json={"opportunity": {"name": "Pumps"}},
    )
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-correlation-id"] == "flow-42"
    seen = response.json()
    assert seen["method"] == "POST"
    assert seen["path"] == "/api/leads/abc/convert"
    assert seen["query"] == "x=1&name=Tr%E1%BA%A7n"
    assert seen["body"] == '{"opportunity":{"name":"Pumps"}}'
    assert seen["headers"]["authorization"] == admin["Authorization"]
    assert seen["headers"]["content-type"] == "application/json"
    assert seen["headers"]["accept-language"] == "vi"
    assert seen["headers"]["x-correlation-id"] == "flow-42"
    assert "cookie" not in seen["headers"]


async def test_proxy_mints_one_correlation_id_for_the_flow(gateway: Gateway, admin: dict[str, str]) -> None:
    response = await gateway.http.delete("/api/quotes/9", headers=admin)
    assert response.status_code == 201
    assert response.json()["method"] == "DELETE"
    minted = response.headers["x-correlation-id"]
    assert minted
    assert response.json()["headers"]["x-correlation-id"] == minted


async def test_proxy_returns_upstream_errors_and_content_types(
    gateway: Gateway, admin: dict[str, str]
) -> None:
    missing = await gateway.http.get("/api/leads/missing", headers=admin)
    assert missing.status_code == 404
    assert missing.json()["path"] == "/api/leads/missing"
    csv = await gateway.http.get("/api/products/export", headers=admin)
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text == "code,name\nP1,Pump\n"


async def test_unknown_routes_are_404(gateway: Gateway, admin: dict[str, str]) -> None:
    for path in ("/api/unknown", "/api/leads/..%2F..%2Fmetrics", "/api/users/me/offboard"):
        response = await gateway.http.get(path, headers=admin)
        assert response.status_code == 404, path
        assert "no route" in response.json()["detail"]


async def test_service_down_is_502(gateway: Gateway, admin: dict[str, str]) -> None:
    response = await gateway.http.get("/api/customers", headers=admin)
    assert response.status_code == 502
    assert response.json() == {"detail": "customers is unavailable"}
    also = await gateway.http.post("/api/questionnaires", headers=admin, json={})
    assert also.status_code == 502


async def test_slow_service_is_504(gateway: Gateway, admin: dict[str, str]) -> None:
    response = await gateway.http.get("/api/opportunities/slow", headers=admin)
    assert response.status_code == 504
    assert response.json() == {"detail": "sales timed out"}


async def test_health_endpoints_answer(gateway: Gateway) -> None:
    assert (await gateway.http.get("/healthz")).json()["service"] == "gateway"
    ready = await gateway.http.get("/readyz")
    assert ready.status_code == 200, ready.text


async def test_oversized_body_is_413(gateway: Gateway, admin: dict[str, str]) -> None:
    too_big = b"x" * (gateway.settings.max_body_bytes + 1)
    response = await gateway.http.post("/api/leads", headers=admin, content=too_big)
    assert response.status_code == 413
    assert "request body" in response.json()["detail"]
