"""The gateway against real Postgres and RabbitMQ, driven over HTTP as a client would.

A fake upstream (a tiny FastAPI app under uvicorn on a free local port) stands in
for the leads and sales services, so the proxy is tested over a real socket.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import socket
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import uvicorn
from argon2 import PasswordHasher
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from crm_contracts import CareActivityClosed, CareActivityPlanned
from crm_kit.auth import Role, TokenIssuer, User, generate_keypair
from crm_testkit.infra import Infra
from crm_testkit.service import ServiceUnderTest, running_service
from gateway import notifications, passwords, transport, users
from gateway.app import create_app
from gateway.domain import NotificationKind
from gateway.settings import GatewaySettings

pytestmark = pytest.mark.integration

ADMIN_PASSWORD = "s3cret-admin-pw"
BAD_CREDENTIALS = {"detail": "incorrect username or password", "code": "login.wrong_credentials"}


def said(body: dict[str, Any]) -> dict[str, Any]:
    """What a refusal says (its English sentence and its code), without the rest of the problem."""
    return {"detail": body.get("detail"), "code": body.get("code")}


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


class Gateway(ServiceUnderTest[GatewaySettings]):
    """The gateway under test; its `issuer` signs with the gateway's own key."""

    def issuer_with(self, private_key: str) -> TokenIssuer:
        """An issuer like the gateway's but signing with another key."""
        return TokenIssuer(
            private_key,
            issuer=self.settings.jwt_issuer,
            audience=self.settings.jwt_audience,
            ttl=timedelta(hours=8),
        )

    async def events(self, routing_key: str, **data: Any) -> list[dict[str, Any]]:
        """Envelopes in the outbox with this routing key whose payload has these values, oldest first."""
        rows = await self.rows(
            "SELECT body FROM outbox WHERE routing_key = :key ORDER BY id", key=routing_key
        )
        envelopes = [json.loads(row.body) for row in rows]
        return [e for e in envelopes if all(e["data"].get(k) == v for k, v in data.items())]

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
async def gateway(infra: Infra) -> AsyncIterator[Gateway]:
    upstream = await start_upstream()
    # The gateway issues tokens: the kit's issuer and the gateway must sign with one key.
    private, public = generate_keypair()
    try:
        async with running_service(
            infra,
            "gateway",
            create_app,
            GatewaySettings,
            kind=Gateway,
            keys=(private, public),
            jwt_private_key=private,
            crm_admin_password=ADMIN_PASSWORD,
            leads_url=upstream.url,
            sales_url=upstream.url,
            customers_url=f"http://127.0.0.1:{closed_port()}",
            upstream_timeout_s=1.0,
        ) as gateway:
            yield gateway
    finally:
        upstream.server.should_exit = True
        await upstream.task


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
    assert said(response.json()) == BAD_CREDENTIALS
    assert response.headers["www-authenticate"] == "Bearer"


async def test_inactive_user_cannot_log_in(gateway: Gateway, admin: dict[str, str]) -> None:
    user = await gateway.create_user(admin, Role.SALESPERSON)
    await gateway.login(user["username"], "password-1")
    await gateway.execute("UPDATE users SET active = false WHERE id = :id", id=uuid.UUID(user["id"]))
    response = await gateway.http.post(
        "/api/auth/token", data={"username": user["username"], "password": "password-1"}
    )
    # No token; the right password learns the account was deactivated, a wrong one nothing.
    assert response.status_code == 403
    assert response.json()["detail"] == "this account was deactivated; an admin can tell you more"
    assert response.json()["code"] == "login.deactivated"
    guess = await gateway.http.post("/api/auth/token", data={"username": user["username"], "password": "x"})
    assert (guess.status_code, said(guess.json())) == (401, BAD_CREDENTIALS)


async def test_login_without_form_fields_is_422(gateway: Gateway) -> None:
    response = await gateway.http.post("/api/auth/token", data={"username": "admin"})
    assert response.status_code == 422
    assert any(e["loc"][-1] == "password" for e in response.json()["detail"])


async def test_outdated_hash_is_upgraded_at_login(gateway: Gateway, admin: dict[str, str]) -> None:
    user = await gateway.create_user(admin, Role.MARKETING)
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash("password-1")
    await gateway.execute(
        "UPDATE users SET password_hash = :h WHERE id = :id", h=weak, id=uuid.UUID(user["id"])
    )
    await gateway.login(user["username"], "password-1")
    stored = await gateway.scalar("SELECT password_hash FROM users WHERE id = :id", id=uuid.UUID(user["id"]))
    assert stored != weak
    assert not PasswordHasher().check_needs_rehash(stored)
    await gateway.login(user["username"], "password-1")  # the new hash still verifies


async def test_a_login_checks_its_password_holding_no_database_connection(
    gateway: Gateway, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 16: the hash ran inside the login's transaction, so a flood of logins held
    the pool's connections for their hashes' whole time."""
    user = await gateway.create_user(admin, Role.MARKETING)
    db = gateway.app.state.runtime.db
    in_transaction: contextvars.ContextVar[bool] = contextvars.ContextVar("in_transaction", default=False)
    transaction = db.transaction

    @asynccontextmanager
    async def watched() -> AsyncIterator[Any]:
        # A context variable: the hash's worker thread sees the login task's value.
        mark = in_transaction.set(True)
        try:
            async with transaction() as session:
                yield session
        finally:
            in_transaction.reset(mark)

    held: list[bool] = []
    verify = passwords._verify

    def watching(password_hash: str, password: str) -> bool:
        held.append(in_transaction.get())
        return verify(password_hash, password)

    monkeypatch.setattr(db, "transaction", watched)
    monkeypatch.setattr(passwords, "_verify", watching)
    await gateway.login(user["username"], "password-1")
    wrong = await gateway.http.post(
        "/api/auth/token", data={"username": user["username"], "password": "nope-1234"}
    )
    assert wrong.status_code == 401
    assert held == [False, False]


async def test_concurrent_seeding_creates_one_admin(gateway: Gateway) -> None:
    """Two replicas starting at once: both see no admin, one insert wins."""
    await gateway.execute("DELETE FROM users WHERE username = 'admin'")

    async def seed() -> bool:
        async with gateway.db.transaction() as session:
            return await users.ensure_admin(session, ADMIN_PASSWORD)

    created = await asyncio.gather(seed(), seed(), seed())
    assert sorted(created) == [False, False, True]
    assert await gateway.scalar("SELECT count(*) FROM users WHERE username = 'admin'") == 1
    assert await seed() is False
    await gateway.login("admin", ADMIN_PASSWORD)


# -- tokens ------------------------------------------------------------------------


async def test_requests_without_a_valid_token_are_401(gateway: Gateway, admin: dict[str, str]) -> None:
    me = (await gateway.http.get("/api/users/me", headers=admin)).json()
    principal = User(id=uuid.UUID(me["id"]), username="admin", role=Role.ADMIN)
    expired = gateway.issuer.issue(principal, now=datetime.now(UTC) - timedelta(hours=9))
    foreign = gateway.issuer_with(generate_keypair()[0]).issue(principal)
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
            assert response.json()["detail"] == detail


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
    assert set(created) == {"id", "username", "full_name", "role", "active", "created_at", "language"}
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


async def test_a_demoted_managers_token_is_refused_at_once_and_a_new_login_has_the_new_role(
    gateway: Gateway, admin: dict[str, str]
) -> None:
    manager = await gateway.create_user(admin, Role.SALES_MANAGER)
    other = await gateway.create_user(admin, Role.SALESPERSON)
    as_manager = await gateway.login(manager["username"], "password-1")
    assert (await gateway.http.get(f"/api/users/{other['id']}", headers=as_manager)).status_code == 200

    demoted = await gateway.http.patch(
        f"/api/users/{manager['id']}", headers=admin, json={"role": "salesperson"}
    )
    assert demoted.status_code == 200, demoted.text

    refused = await gateway.http.get(f"/api/users/{other['id']}", headers=as_manager)
    assert refused.status_code == 401 and "role changed" in refused.json()["detail"]
    as_seller = await gateway.login(manager["username"], "password-1")
    assert (await gateway.http.get(f"/api/users/{other['id']}", headers=as_seller)).status_code == 404


async def test_those_who_plan_channels_list_active_salespeople_and_nothing_more(
    gateway: Gateway, admin: dict[str, str]
) -> None:
    seller = await gateway.create_user(admin, Role.SALESPERSON)
    leaving = await gateway.create_user(admin, Role.SALESPERSON)
    manager = await gateway.create_user(admin, Role.SALES_MANAGER)
    marketer = await gateway.create_user(admin, Role.MARKETING)
    gone = await gateway.http.post(
        f"/api/users/{leaving['id']}/offboard", headers=admin, json={"reassign_to": seller["id"]}
    )
    assert gone.status_code == 202, gone.text
    active_sellers = await gateway.scalar("SELECT count(*) FROM users WHERE active AND role = 'salesperson'")

    for who in (marketer, manager):
        headers = await gateway.login(who["username"], "password-1")
        listed = await gateway.http.get("/api/users/salespeople?limit=200", headers=headers)
        assert listed.status_code == 200, listed.text
        page = listed.json()
        assert page["total"] == len(page["items"]) == active_sellers
        assert all(set(u) == {"id", "username", "full_name"} for u in page["items"])
        assert {"id": seller["id"], "username": seller["username"], "full_name": seller["full_name"]} in page[
            "items"
        ]
        ids = {u["id"] for u in page["items"]}
        assert leaving["id"] not in ids  # offboarded
        assert manager["id"] not in ids and marketer["id"] not in ids  # active, but not salespeople
    by_admin = await gateway.http.get("/api/users/salespeople?limit=1", headers=admin)
    assert by_admin.status_code == 200
    assert by_admin.json()["total"] == active_sellers and len(by_admin.json()["items"]) == 1

    as_seller = await gateway.login(seller["username"], "password-1")
    refused = await gateway.http.get("/api/users/salespeople", headers=as_seller)
    assert refused.status_code == 403
    assert "items" not in refused.json()
    assert (await gateway.http.get("/api/users/salespeople")).status_code == 401
    # Marketing still may not list every user.
    as_marketer = await gateway.login(marketer["username"], "password-1")
    assert (await gateway.http.get("/api/users", headers=as_marketer)).status_code == 403
    assert "/api/users/salespeople" in (await gateway.http.get("/openapi.json")).json()["paths"]


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
    assert response.json()["detail"] == "customers is unavailable"
    assert response.json()["code"] == "service_unavailable"
    assert response.json()["params"] == {"service": "customers"}
    assert response.headers["content-type"].startswith("application/problem+json")
    also = await gateway.http.post("/api/questionnaires", headers=admin, json={})
    assert also.status_code == 502


async def test_slow_service_is_504(gateway: Gateway, admin: dict[str, str]) -> None:
    response = await gateway.http.get("/api/opportunities/slow", headers=admin)
    assert response.status_code == 504
    assert response.json()["detail"] == "sales timed out"
    assert response.json()["code"] == "service_timeout"
    assert response.json()["params"] == {"service": "sales"}


async def test_health_endpoints_answer(gateway: Gateway) -> None:
    assert (await gateway.http.get("/healthz")).json()["service"] == "gateway"
    ready = await gateway.http.get("/readyz")
    assert ready.status_code == 200, ready.text


async def test_oversized_body_is_413(gateway: Gateway, admin: dict[str, str]) -> None:
    too_big = b"x" * (gateway.settings.max_body_bytes + 1)
    response = await gateway.http.post("/api/leads", headers=admin, content=too_big)
    assert response.status_code == 413
    assert "request body" in response.json()["detail"]


# -- staff events ------------------------------------------------------------------

REGISTERED = "gateway.user.registered.v1"
DEACTIVATED = "gateway.user.deactivated.v1"
REASSIGNED = "gateway.portfolio.reassigned.v1"


async def user_id_of(gateway: Gateway, headers: dict[str, str]) -> str:
    me: str = (await gateway.http.get("/api/users/me", headers=headers)).json()["id"]
    return me


async def outbox_size(gateway: Gateway) -> int:
    count: int = await gateway.scalar("SELECT count(*) FROM outbox")
    return count


def same_instant(a: str, b: str) -> bool:
    return datetime.fromisoformat(a) == datetime.fromisoformat(b)


async def test_creating_a_user_announces_it_in_the_same_transaction(
    gateway: Gateway, admin: dict[str, str]
) -> None:
    admin_id = await user_id_of(gateway, admin)
    response = await gateway.http.post(
        "/api/users",
        headers={**admin, "X-Correlation-ID": "flow-register-1"},
        json={
            "username": "hoa.le",
            "password": "password-1",
            "full_name": "Lê Thị Hoa",
            "role": "salesperson",
        },
    )
    assert response.status_code == 201
    created = response.json()

    [event] = await gateway.events(REGISTERED, user_id=created["id"])
    assert event["event_type"] == "gateway.user.registered"
    assert event["version"] == 1
    assert event["source"] == "gateway"
    assert event["actor"] == admin_id
    assert event["correlation_id"] == "flow-register-1"
    data = event["data"]
    assert set(data) == {"user_id", "username", "full_name", "role", "registered_at"}
    assert (data["username"], data["full_name"], data["role"]) == ("hoa.le", "Lê Thị Hoa", "salesperson")
    assert same_instant(data["registered_at"], created["created_at"])

    audit = await gateway.http.get(f"/api/users/{created['id']}/audit", headers=admin)
    assert audit.status_code == 200
    [entry] = audit.json()["items"]
    assert entry["action"] == "created"
    assert entry["actor_id"] == admin_id
    assert entry["changes"] == {
        "username": [None, "hoa.le"],
        "full_name": [None, "Lê Thị Hoa"],
        "role": [None, "salesperson"],
    }


async def test_a_refused_user_announces_nothing(gateway: Gateway, admin: dict[str, str]) -> None:
    existing = await gateway.create_user(admin, Role.SALESPERSON)
    seller = await gateway.login(existing["username"], "password-1")
    before = await outbox_size(gateway)
    body = {"username": existing["username"], "password": "password-1", "full_name": "X", "role": "marketing"}
    assert (await gateway.http.post("/api/users", headers=admin, json=body)).status_code == 409
    body["username"] = "fresh.name"
    assert (await gateway.http.post("/api/users", headers=seller, json=body)).status_code == 403
    assert (await gateway.http.post("/api/users", headers=admin, json={**body, "x": 1})).status_code == 422
    assert await outbox_size(gateway) == before
    assert (
        await gateway.scalar("SELECT count(*) FROM user_audit WHERE changes->'username'->>1 = 'fresh.name'")
        == 0
    )


async def test_the_seed_announces_the_admin_only_when_it_inserts_it(
    gateway: Gateway, admin: dict[str, str]
) -> None:
    admin_id = await user_id_of(gateway, admin)
    [seeded] = await gateway.events(REGISTERED, user_id=admin_id)
    assert seeded["actor"] is None
    assert seeded["data"]["username"] == "admin"
    assert seeded["data"]["role"] == "admin"
    assert seeded["data"]["full_name"] == "Administrator"
    before = len(await gateway.events(REGISTERED))

    # A second start (a restart, or another replica) finds the admin and stays quiet.
    again = create_app(gateway.settings)
    async with again.router.lifespan_context(again):
        pass
    assert len(await gateway.events(REGISTERED)) == before
    assert len(await gateway.events(REGISTERED, user_id=admin_id)) == 1


# -- changing a user ---------------------------------------------------------------


async def test_admin_changes_name_and_role_audited_and_announced(
    gateway: Gateway, admin: dict[str, str]
) -> None:
    admin_id = await user_id_of(gateway, admin)
    user = await gateway.create_user(admin, Role.SALESPERSON)
    response = await gateway.http.patch(
        f"/api/users/{user['id']}",
        headers={**admin, "X-Correlation-ID": "flow-patch-1"},
        json={"full_name": "  Phạm Minh Tuấn ", "role": "sales_manager"},
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated == {**user, "full_name": "Phạm Minh Tuấn", "role": "sales_manager"}

    trail = (await gateway.http.get(f"/api/users/{user['id']}/audit", headers=admin)).json()
    assert trail["total"] == 2
    latest = trail["items"][0]
    assert latest["action"] == "updated"
    assert latest["actor_id"] == admin_id
    assert latest["changes"] == {
        "full_name": [user["full_name"], "Phạm Minh Tuấn"],
        "role": ["salesperson", "sales_manager"],
    }

    first, second = await gateway.events(REGISTERED, user_id=user["id"])
    assert first["data"]["role"] == "salesperson"
    assert second["actor"] == admin_id
    assert second["correlation_id"] == "flow-patch-1"
    assert second["data"]["full_name"] == "Phạm Minh Tuấn"
    assert second["data"]["role"] == "sales_manager"
    assert second["data"]["username"] == user["username"]
    assert same_instant(second["data"]["registered_at"], user["created_at"])

    # Only one field, and sending the values it already has, changes and announces nothing.
    before = await outbox_size(gateway)
    for body in ({"role": "sales_manager"}, {"full_name": "Phạm Minh Tuấn"}, {}):
        same = await gateway.http.patch(f"/api/users/{user['id']}", headers=admin, json=body)
        assert same.status_code == 200
        assert same.json() == updated
    assert await outbox_size(gateway) == before
    assert (await gateway.http.get(f"/api/users/{user['id']}/audit", headers=admin)).json()["total"] == 2

    renamed = await gateway.http.patch(f"/api/users/{user['id']}", headers=admin, json={"full_name": "Tuấn"})
    assert renamed.json()["role"] == "sales_manager"
    assert (await gateway.events(REGISTERED, user_id=user["id"]))[-1]["data"]["full_name"] == "Tuấn"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"active": False}, "active"),
        ({"username": "new.name"}, "username"),
        ({"password": "new-password"}, "password"),
        ({"id": str(uuid.uuid4())}, "id"),
        ({"role": "superuser"}, "role"),
        ({"role": None}, "role"),
        ({"full_name": None}, "full_name"),
        ({"full_name": "   "}, "full_name"),
        ({"full_name": "x" * 201}, "full_name"),
    ],
)
async def test_a_bad_patch_is_422_naming_the_field_and_changes_nothing(
    gateway: Gateway, admin: dict[str, str], body: dict[str, Any], field: str
) -> None:
    user = await gateway.create_user(admin, Role.SALESPERSON)
    before = await outbox_size(gateway)
    response = await gateway.http.patch(f"/api/users/{user['id']}", headers=admin, json=body)
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["detail"]] == [["body", field]]
    assert (await gateway.http.get(f"/api/users/{user['id']}", headers=admin)).json() == user
    assert await outbox_size(gateway) == before


async def test_patch_is_for_admins_and_known_active_users(gateway: Gateway, admin: dict[str, str]) -> None:
    user = await gateway.create_user(admin, Role.SALESPERSON)
    manager = await gateway.login(
        (await gateway.create_user(admin, Role.SALES_MANAGER))["username"], "password-1"
    )
    seller = await gateway.login(user["username"], "password-1")
    before = await outbox_size(gateway)
    for headers in (manager, seller):
        response = await gateway.http.patch(
            f"/api/users/{user['id']}", headers=headers, json={"role": "admin"}
        )
        assert response.status_code == 403
    assert (await gateway.http.get(f"/api/users/{user['id']}/audit", headers=manager)).status_code == 403
    missing = await gateway.http.patch(f"/api/users/{uuid.uuid4()}", headers=admin, json={"full_name": "X"})
    assert missing.status_code == 404
    assert "not found" in missing.json()["detail"]
    assert (await gateway.http.get(f"/api/users/{user['id']}", headers=admin)).json() == user
    assert await outbox_size(gateway) == before


async def test_a_demoted_admin_cannot_use_their_old_token_for_user_changes(
    gateway: Gateway, admin: dict[str, str]
) -> None:
    other = await gateway.create_user(admin, Role.ADMIN)
    as_other = await gateway.login(other["username"], "password-1")
    demoted = await gateway.http.patch(f"/api/users/{other['id']}", headers=admin, json={"role": "marketing"})
    assert demoted.status_code == 200
    body = {"username": "via.old.token", "password": "password-1", "full_name": "X", "role": "admin"}
    response = await gateway.http.post("/api/users", headers=as_other, json=body)
    # The old token is refused as a whole now (401), not only for what needs an admin (403).
    assert response.status_code == 401
    assert await gateway.scalar("SELECT count(*) FROM users WHERE username = 'via.old.token'") == 0


# -- offboarding -------------------------------------------------------------------


async def test_offboarding_deactivates_and_hands_the_portfolio_over(
    gateway: Gateway, admin: dict[str, str]
) -> None:
    admin_id = await user_id_of(gateway, admin)
    leaving = await gateway.create_user(admin, Role.SALESPERSON)
    taking_over = await gateway.create_user(admin, Role.SALESPERSON)
    manager = await gateway.login(
        (await gateway.create_user(admin, Role.SALES_MANAGER))["username"], "password-1"
    )
    await gateway.login(leaving["username"], "password-1")

    response = await gateway.http.post(
        f"/api/users/{leaving['id']}/offboard",
        headers={**admin, "X-Correlation-ID": "flow-offboard-1"},
        json={"reassign_to": taking_over["id"]},
    )
    assert response.status_code == 202, response.text
    assert response.json() == {
        "user_id": leaving["id"],
        "reassign_to": taking_over["id"],
        "status": "reassigning",
    }
    assert response.headers["location"] == f"/api/users/{leaving['id']}/handovers"

    # They can no longer log in: with their right password they are told the account was
    # deactivated (403); with a wrong one, exactly what any wrong password is told.
    login = await gateway.http.post(
        "/api/auth/token", data={"username": leaving["username"], "password": "password-1"}
    )
    assert login.status_code == 403
    assert "deactivated" in login.json()["detail"]
    guess = await gateway.http.post(
        "/api/auth/token", data={"username": leaving["username"], "password": "x"}
    )
    assert (guess.status_code, said(guess.json())) == (401, BAD_CREDENTIALS)
    record = (await gateway.http.get(f"/api/users/{leaving['id']}", headers=admin)).json()
    assert record["active"] is False

    [deactivated] = await gateway.events(DEACTIVATED, user_id=leaving["id"])
    [reassigned] = await gateway.events(REASSIGNED, from_user_id=leaving["id"])
    assert reassigned["data"]["to_user_id"] == taking_over["id"]
    for event in (deactivated, reassigned):
        assert event["actor"] == admin_id
        assert event["correlation_id"] == "flow-offboard-1"
        assert event["source"] == "gateway"
    assert same_instant(deactivated["data"]["deactivated_at"], reassigned["data"]["reassigned_at"])
    order = await gateway.scalar(
        "SELECT array_agg(routing_key ORDER BY id) FROM outbox WHERE event_id IN (:a, :b)",
        a=uuid.UUID(deactivated["event_id"]),
        b=uuid.UUID(reassigned["event_id"]),
    )
    assert order == [DEACTIVATED, REASSIGNED]

    handovers = await gateway.http.get(f"/api/users/{leaving['id']}/handovers", headers=manager)
    assert handovers.status_code == 200
    [handover] = handovers.json()["items"]
    assert handovers.json()["total"] == 1
    assert handover["from_user_id"] == leaving["id"]
    assert handover["to_user_id"] == taking_over["id"]
    assert handover["requested_by"] == admin_id
    assert same_instant(handover["requested_at"], reassigned["data"]["reassigned_at"])
    received = (await gateway.http.get(f"/api/users/{taking_over['id']}/handovers", headers=admin)).json()
    assert [h["id"] for h in received["items"]] == [handover["id"]]

    trail = (await gateway.http.get(f"/api/users/{leaving['id']}/audit", headers=admin)).json()
    assert trail["items"][0]["action"] == "offboarded"
    assert trail["items"][0]["actor_id"] == admin_id
    assert trail["items"][0]["changes"] == {"active": [True, False]}

    # Once is enough: a second offboarding is refused and writes nothing.
    before = await outbox_size(gateway)
    again = await gateway.http.post(
        f"/api/users/{leaving['id']}/offboard", headers=admin, json={"reassign_to": taking_over["id"]}
    )
    assert again.status_code == 409
    assert again.json()["detail"] == f"user {leaving['id']} is already offboarded"
    assert again.json()["code"] == "user.already_offboarded"
    assert await outbox_size(gateway) == before
    assert (await gateway.http.get(f"/api/users/{leaving['id']}/handovers", headers=admin)).json()[
        "total"
    ] == 1
    # An offboarded user is not edited either.
    renamed = await gateway.http.patch(f"/api/users/{leaving['id']}", headers=admin, json={"full_name": "X"})
    assert renamed.status_code == 409


@pytest.mark.parametrize(
    "target", ["self", "unknown", "offboarded", "not-a-uuid", "missing", "extra", "accountant", "marketing"]
)
async def test_offboarding_to_a_bad_target_is_422_and_changes_nothing(
    gateway: Gateway, admin: dict[str, str], target: str
) -> None:
    leaving = await gateway.create_user(admin, Role.SALESPERSON)
    gone = await gateway.create_user(admin, Role.SALESPERSON)
    keeper = await gateway.create_user(admin, Role.SALESPERSON)
    done = await gateway.http.post(
        f"/api/users/{gone['id']}/offboard", headers=admin, json={"reassign_to": keeper["id"]}
    )
    assert done.status_code == 202
    if target in ("accountant", "marketing"):
        # A seller's customers, leads and quotes cannot go to someone who cannot own them.
        keeper = await gateway.create_user(admin, Role(target))
    body: dict[str, Any] = {
        "accountant": {"reassign_to": keeper["id"]},
        "marketing": {"reassign_to": keeper["id"]},
        "self": {"reassign_to": leaving["id"]},
        "unknown": {"reassign_to": str(uuid.uuid4())},
        "offboarded": {"reassign_to": gone["id"]},
        "not-a-uuid": {"reassign_to": "bob"},
        "missing": {},
        "extra": {"reassign_to": keeper["id"], "keep_open_quotes": True},
    }[target]
    before = (await outbox_size(gateway), await gateway.scalar("SELECT count(*) FROM handovers"))

    response = await gateway.http.post(f"/api/users/{leaving['id']}/offboard", headers=admin, json=body)
    assert response.status_code == 422
    field = "keep_open_quotes" if target == "extra" else "reassign_to"
    assert [e["loc"] for e in response.json()["detail"]] == [["body", field]]
    assert (await gateway.http.get(f"/api/users/{leaving['id']}", headers=admin)).json()["active"] is True
    assert (await outbox_size(gateway), await gateway.scalar("SELECT count(*) FROM handovers")) == before
    await gateway.login(leaving["username"], "password-1")


async def test_only_an_admin_offboards(gateway: Gateway, admin: dict[str, str]) -> None:
    leaving = await gateway.create_user(admin, Role.SALESPERSON)
    keeper = await gateway.create_user(admin, Role.SALESPERSON)
    before = await outbox_size(gateway)
    for role in (Role.SALESPERSON, Role.SALES_MANAGER, Role.MARKETING, Role.ACCOUNTANT):
        headers = await gateway.login((await gateway.create_user(admin, role))["username"], "password-1")
        response = await gateway.http.post(
            f"/api/users/{leaving['id']}/offboard", headers=headers, json={"reassign_to": keeper["id"]}
        )
        assert response.status_code == 403, role
        assert response.json()["detail"] == "needs role admin"
    before = await outbox_size(gateway)
    # Not even themselves.
    as_leaving = await gateway.login(leaving["username"], "password-1")
    response = await gateway.http.post(
        f"/api/users/{leaving['id']}/offboard", headers=as_leaving, json={"reassign_to": keeper["id"]}
    )
    assert response.status_code == 403
    anonymous = await gateway.http.post(
        f"/api/users/{leaving['id']}/offboard", json={"reassign_to": keeper["id"]}
    )
    assert anonymous.status_code == 401
    assert await outbox_size(gateway) == before
    assert (await gateway.http.get(f"/api/users/{leaving['id']}", headers=admin)).json()["active"] is True
    assert (
        await gateway.http.get(f"/api/users/{leaving['id']}/handovers", headers=as_leaving)
    ).status_code == 403


async def test_offboarding_an_unknown_user_is_404(gateway: Gateway, admin: dict[str, str]) -> None:
    keeper = await gateway.create_user(admin, Role.SALESPERSON)
    before = await outbox_size(gateway)
    unknown = uuid.uuid4()
    response = await gateway.http.post(
        f"/api/users/{unknown}/offboard", headers=admin, json={"reassign_to": keeper["id"]}
    )
    assert response.status_code == 404
    assert response.json()["detail"] == f"user {unknown} not found"
    assert (await gateway.http.get(f"/api/users/{unknown}/handovers", headers=admin)).status_code == 404
    assert await outbox_size(gateway) == before


async def test_the_last_active_admin_stays(gateway: Gateway, admin: dict[str, str]) -> None:
    admin_id = await user_id_of(gateway, admin)
    keeper = await gateway.create_user(admin, Role.SALES_MANAGER)
    # Another admin may leave, even by their own hand, while one remains.
    other = await gateway.create_user(admin, Role.ADMIN)
    as_other = await gateway.login(other["username"], "password-1")
    response = await gateway.http.post(
        f"/api/users/{other['id']}/offboard", headers=as_other, json={"reassign_to": keeper["id"]}
    )
    assert response.status_code == 202
    # ... and their token, though unexpired, no longer changes users.
    again = await gateway.http.post(
        "/api/users",
        headers=as_other,
        json={"username": "after.leaving", "password": "password-1", "full_name": "X", "role": "admin"},
    )
    assert again.status_code == 401
    assert again.json()["detail"] == "account deactivated"
    assert again.json()["code"] == "token_refused"

    # Other tests' admins are someone else's business: set them aside for this one.
    parked = [
        row.id
        for row in await gateway.rows(
            "UPDATE users SET active = false WHERE role = 'admin' AND active AND id <> :id RETURNING id",
            id=uuid.UUID(admin_id),
        )
    ]
    try:
        before = await outbox_size(gateway)
        response = await gateway.http.post(
            f"/api/users/{admin_id}/offboard", headers=admin, json={"reassign_to": keeper["id"]}
        )
        assert response.status_code == 409
        assert "last active admin" in response.json()["detail"]
        demote = await gateway.http.patch(
            f"/api/users/{admin_id}", headers=admin, json={"role": "sales_manager"}
        )
        assert demote.status_code == 409
        assert "last active admin" in demote.json()["detail"]
        assert await outbox_size(gateway) == before
        me = (await gateway.http.get("/api/users/me", headers=admin)).json()
        assert (me["active"], me["role"]) == (True, "admin")
    finally:
        await gateway.execute("UPDATE users SET active = true WHERE id = ANY(:ids)", ids=parked)


async def test_concurrent_offboardings_leave_one_admin(gateway: Gateway, admin: dict[str, str]) -> None:
    """Two admins offboarding each other at once: one wins, the other finds the target gone."""
    keeper = await gateway.create_user(admin, Role.SALES_MANAGER)
    first = await gateway.create_user(admin, Role.ADMIN)
    second = await gateway.create_user(admin, Role.ADMIN)
    as_first = await gateway.login(first["username"], "password-1")
    as_second = await gateway.login(second["username"], "password-1")
    results = await asyncio.gather(
        gateway.http.post(
            f"/api/users/{second['id']}/offboard", headers=as_first, json={"reassign_to": keeper["id"]}
        ),
        gateway.http.post(
            f"/api/users/{first['id']}/offboard", headers=as_second, json={"reassign_to": keeper["id"]}
        ),
    )
    assert sorted(r.status_code for r in results) == [202, 401]
    active = await gateway.scalar(
        "SELECT count(*) FROM users WHERE id IN (:a, :b) AND active",
        a=uuid.UUID(first["id"]),
        b=uuid.UUID(second["id"]),
    )
    assert active == 1


# -- portfolio ---------------------------------------------------------------------

#: Service -> what its fake answers to a portfolio request (set per test).
Behaviour = dict[str, Any]


@dataclass
class Portfolio:
    http: httpx.AsyncClient
    behaviour: Behaviour
    seen: list[httpx.Request]


PORTFOLIO_HOSTS = {f"{s}.test": s for s in ("leads", "customers", "sales", "accounting", "marketing")}


@pytest.fixture(scope="module")
async def portfolio(gateway: Gateway) -> AsyncIterator[Portfolio]:
    """A second gateway on the same database whose upstreams are an in-process fake."""
    behaviour: Behaviour = {}
    seen: list[httpx.Request] = []

    async def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        service_name = PORTFOLIO_HOSTS[request.url.host]
        answer = behaviour.get(service_name, 404)
        if callable(answer):
            answer = await answer(request)
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, int):
            return httpx.Response(answer, json={"detail": "Not Found"})
        if isinstance(answer, httpx.Response):
            return answer
        user_id = request.url.path.rsplit("/", 1)[-1]
        return httpx.Response(200, json={"service": service_name, "user_id": user_id, "holdings": answer})

    settings = gateway.settings.model_copy(
        update={f"{service}_url": f"http://{host}" for host, service in PORTFOLIO_HOSTS.items()}
    )

    async def send(method: str, url: str, headers: Mapping[str, str], body: bytes) -> transport.Answer:
        """The gateway's upstream client, played by `handle` (httpx models, for its readability)."""
        try:
            answer = await handle(httpx.Request(method, url, headers=dict(headers), content=body))
        except httpx.TimeoutException as exc:
            raise transport.UpstreamTimeout(str(exc)) from exc
        except httpx.TransportError as exc:
            raise transport.UpstreamUnavailable(str(exc)) from exc
        return transport.Answer(answer.status_code, answer.headers, answer.content)

    app = create_app(settings, upstream=send)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gateway") as http:
            yield Portfolio(http, behaviour, seen)


@pytest.fixture
def fake(portfolio: Portfolio) -> Portfolio:
    portfolio.behaviour.clear()
    portfolio.seen.clear()
    return portfolio


async def test_portfolio_sums_what_every_service_holds(
    gateway: Gateway, admin: dict[str, str], fake: Portfolio
) -> None:
    seller = await gateway.create_user(admin, Role.SALESPERSON)
    barrier = asyncio.Barrier(5)

    def after_all_asked(answer: Any) -> Any:
        async def wait(request: httpx.Request) -> Any:
            try:  # every service is asked before any answers, or this times out
                await asyncio.wait_for(barrier.wait(), timeout=5)
            except TimeoutError:
                return httpx.Response(599)
            return answer

        return wait

    fake.behaviour.update(
        {
            "leads": after_all_asked({"leads": 3, "open_leads": 1}),
            "customers": after_all_asked({"customers": 2, "planned_activities": 4}),
            "sales": after_all_asked({"opportunities": 1, "open_quotes": 0}),
            "accounting": after_all_asked(404),  # no portfolio route yet
            "marketing": after_all_asked({}),
        }
    )
    response = await fake.http.get(
        f"/api/users/{seller['id']}/portfolio", headers={**admin, "X-Correlation-ID": "flow-portfolio-1"}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "user_id": seller["id"],
        "services": {
            "leads": {"leads": 3, "open_leads": 1},
            "customers": {"customers": 2, "planned_activities": 4},
            "sales": {"opportunities": 1, "open_quotes": 0},
            "marketing": {},
        },
        "total": 11,
        "complete": True,
        "unavailable": [],
        "not_tracked": ["accounting"],
    }
    assert sorted(r.url.host for r in fake.seen) == sorted(PORTFOLIO_HOSTS)
    for request in fake.seen:
        assert request.method == "GET"
        assert request.url.path == f"/api/portfolio/{seller['id']}"
        assert request.headers["authorization"] == admin["Authorization"]
        assert request.headers["x-correlation-id"] == "flow-portfolio-1"


async def test_portfolio_of_services_without_the_route_is_complete_and_empty(
    gateway: Gateway, admin: dict[str, str], fake: Portfolio
) -> None:
    seller = await gateway.create_user(admin, Role.SALESPERSON)
    fake.behaviour.update({"leads": {"leads": 0}, "customers": {"customers": 0}})
    response = await fake.http.get(f"/api/users/{seller['id']}/portfolio", headers=admin)
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 0
    assert body["complete"] is True
    assert body["services"] == {"leads": {"leads": 0}, "customers": {"customers": 0}}
    assert body["not_tracked"] == ["sales", "accounting", "marketing"]
    assert body["unavailable"] == []


async def test_portfolio_marks_services_that_are_down_or_wrong_unavailable(
    gateway: Gateway, admin: dict[str, str], fake: Portfolio
) -> None:
    seller = await gateway.create_user(admin, Role.SALESPERSON)
    other_user = str(uuid.uuid4())
    fake.behaviour.update(
        {
            "leads": {"leads": 2},
            "customers": httpx.ConnectError("connection refused"),
            "sales": 503,
            "accounting": httpx.Response(
                200, json={"service": "accounting", "user_id": other_user, "holdings": {}}
            ),
            "marketing": httpx.Response(200, text="<html>oops</html>"),
        }
    )
    response = await fake.http.get(f"/api/users/{seller['id']}/portfolio", headers=admin)
    assert response.status_code == 200
    body = response.json()
    assert body["services"] == {"leads": {"leads": 2}}
    assert body["total"] == 2
    assert body["complete"] is False
    assert body["unavailable"] == ["customers", "sales", "accounting", "marketing"]
    assert body["not_tracked"] == []

    fake.behaviour.update(
        {
            "customers": httpx.ReadTimeout("too slow"),
            "sales": httpx.Response(
                200, json={"service": "leads", "user_id": seller["id"], "holdings": {"x": 1}}
            ),
            "accounting": httpx.Response(
                200, json={"service": "accounting", "user_id": seller["id"], "holdings": {"x": -1}}
            ),
            "marketing": 401,
        }
    )
    body = (await fake.http.get(f"/api/users/{seller['id']}/portfolio", headers=admin)).json()
    assert body["unavailable"] == ["customers", "sales", "accounting", "marketing"]
    assert body["complete"] is False


async def test_portfolio_for_admins_and_sales_managers_only(
    gateway: Gateway, admin: dict[str, str], fake: Portfolio
) -> None:
    seller = await gateway.create_user(admin, Role.SALESPERSON)
    manager = await gateway.login(
        (await gateway.create_user(admin, Role.SALES_MANAGER))["username"], "password-1"
    )
    assert (await fake.http.get(f"/api/users/{seller['id']}/portfolio", headers=manager)).status_code == 200
    fake.seen.clear()
    for role in (Role.SALESPERSON, Role.MARKETING, Role.ACCOUNTANT):
        headers = await gateway.login((await gateway.create_user(admin, role))["username"], "password-1")
        response = await fake.http.get(f"/api/users/{seller['id']}/portfolio", headers=headers)
        assert response.status_code == 403
        assert response.json()["detail"] == "needs role admin or sales_manager"
    as_seller = await gateway.login(seller["username"], "password-1")
    own = await fake.http.get(f"/api/users/{seller['id']}/portfolio", headers=as_seller)
    assert own.status_code == 403
    unknown = await fake.http.get(f"/api/users/{uuid.uuid4()}/portfolio", headers=admin)
    assert unknown.status_code == 404
    assert fake.seen == []


async def test_portfolio_of_an_offboarded_user_is_still_shown(
    gateway: Gateway, admin: dict[str, str], fake: Portfolio
) -> None:
    leaving = await gateway.create_user(admin, Role.SALESPERSON)
    keeper = await gateway.create_user(admin, Role.SALESPERSON)
    done = await gateway.http.post(
        f"/api/users/{leaving['id']}/offboard", headers=admin, json={"reassign_to": keeper["id"]}
    )
    assert done.status_code == 202
    fake.behaviour.update({"leads": {"leads": 1}})
    body = (await fake.http.get(f"/api/users/{leaving['id']}/portfolio", headers=admin)).json()
    assert (body["total"], body["complete"]) == (1, True)


# -- care reminders (from the customers service's care events) -------------------------

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def care_planned(
    activity_id: uuid.UUID, owner: dict[str, Any], due_on: date, **fields: Any
) -> CareActivityPlanned:
    return CareActivityPlanned.model_validate(
        {
            "customer_id": fields.pop("customer_id", uuid.UUID(int=7)),
            "activity_id": activity_id,
            "customer_name": "Công ty Cơ điện Hòa Phát",
            "kind": "call",
            "due_on": due_on,
            "owner_id": owner["id"],
            **fields,
        }
    )


def care_closed(activity_id: uuid.UUID, status: str = "done") -> CareActivityClosed:
    return CareActivityClosed.model_validate(
        {
            "customer_id": uuid.UUID(int=7),
            "activity_id": activity_id,
            "status": status,
            "closed_at": datetime.now(UTC),
        }
    )


async def bell(gateway: Gateway, headers: dict[str, str]) -> dict[str, Any]:
    response = await gateway.http.get("/api/notifications", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_bell_reads_its_page_and_its_counts_at_one_moment(
    gateway: Gateway, admin: dict[str, str]
) -> None:
    """A notification committed while the bell is being read is in the page and the counts
    alike, or in neither: CI once saw `unread == 1` with an empty page."""
    seller = await gateway.create_user(admin, Role.SALESPERSON)
    seller_id = uuid.UUID(seller["id"])
    told_meanwhile = False

    async with gateway.db.transaction() as session:
        execute = session.execute

        async def execute_then_notify(*args: Any, **kwargs: Any) -> Any:
            nonlocal told_meanwhile
            result = await execute(*args, **kwargs)
            if not told_meanwhile:
                told_meanwhile = True
                async with gateway.db.transaction() as other:
                    await notifications.notify(
                        other,
                        [seller_id],
                        NotificationKind.LEAD_ASSIGNED,
                        {"lead": "Lan"},
                        visible_from=datetime.now(UTC) - timedelta(minutes=1),
                    )
            return result

        session.execute = execute_then_notify  # type: ignore[method-assign]
        rows, total, unread = await notifications.list_for(session, seller_id, 20, 0, False)

    assert told_meanwhile
    assert (len(rows), total, unread) in {(0, 0, 0), (1, 1, 1)}


async def test_a_care_reminder_shows_from_its_due_day_and_a_reschedule_replaces_it(
    gateway: Gateway, admin: dict[str, str]
) -> None:
    seller = await gateway.create_user(admin, Role.SALESPERSON)
    headers = await gateway.login(seller["username"], "password-1")
    today = datetime.now(VIETNAM).date()
    activity_id, customer_id = uuid.uuid4(), uuid.uuid4()
    key = f"care_due:{activity_id}"

    await gateway.handled(await gateway.publish(care_planned(activity_id, seller, today + timedelta(days=1))))
    # Kept for its day, not shown before it; "mark all read" does not touch it either.
    starts = await gateway.scalar("SELECT visible_from FROM notifications WHERE dedupe_key = :key", key=key)
    assert starts == datetime.combine(today + timedelta(days=1), time(0), VIETNAM)
    assert (await bell(gateway, headers))["total"] == 0
    assert (await gateway.http.post("/api/notifications/read-all", headers=headers)).json() == {"marked": 0}

    # Moved to today: the same one reminder, now due.
    moved = care_planned(activity_id, seller, today, customer_id=customer_id, kind="visit")
    await gateway.handled(await gateway.publish(moved))
    shown = await bell(gateway, headers)
    assert (shown["total"], shown["unread"]) == (1, 1)
    [notice] = shown["items"]
    assert notice["kind"] == "care_due"
    assert notice["params"] == {
        "customer": "Công ty Cơ điện Hòa Phát",
        "activity_kind": "visit",
        "due_on": today.isoformat(),
    }
    assert notice["link"] == f"/customers/{customer_id}"
    assert await gateway.scalar("SELECT count(*) FROM notifications WHERE dedupe_key = :key", key=key) == 1

    # Done: nobody is reminded of it any more.
    await gateway.handled(await gateway.publish(care_closed(activity_id)))
    assert (await bell(gateway, headers))["total"] == 0
    assert await gateway.scalar("SELECT count(*) FROM notifications WHERE dedupe_key = :key", key=key) == 0


async def test_a_care_reminder_follows_the_work_and_a_read_one_stays_as_history(
    gateway: Gateway, admin: dict[str, str]
) -> None:
    leaving = await gateway.create_user(admin, Role.SALESPERSON)
    taking_over = await gateway.create_user(admin, Role.SALESPERSON)
    leaving_headers = await gateway.login(leaving["username"], "password-1")
    taking_over_headers = await gateway.login(taking_over["username"], "password-1")
    today = datetime.now(VIETNAM).date()
    overdue, later = uuid.uuid4(), uuid.uuid4()
    await gateway.handled(await gateway.publish(care_planned(overdue, leaving, today - timedelta(days=2))))
    await gateway.handled(await gateway.publish(care_planned(later, leaving, today + timedelta(days=5))))
    assert [n["params"]["due_on"] for n in (await bell(gateway, leaving_headers))["items"]] == [
        (today - timedelta(days=2)).isoformat()
    ]

    # The customer changes hands: each reminder moves with its work, overdue or not.
    for activity_id, due in ((overdue, today - timedelta(days=2)), (later, today + timedelta(days=5))):
        again = care_planned(activity_id, taking_over, due, previous_owner_id=leaving["id"])
        await gateway.handled(await gateway.publish(again))
    assert (await bell(gateway, leaving_headers))["total"] == 0
    owners = await gateway.scalar(
        "SELECT array_agg(DISTINCT user_id::text) FROM notifications WHERE dedupe_key IN (:a, :b)",
        a=f"care_due:{overdue}",
        b=f"care_due:{later}",
    )
    assert owners == [taking_over["id"]]
    [notice] = (await bell(gateway, taking_over_headers))["items"]
    read = await gateway.http.post(f"/api/notifications/{notice['id']}/read", headers=taking_over_headers)
    assert read.json() == {"marked": 1}

    # Closing it leaves what was read as history; the future one that nobody saw goes.
    await gateway.handled(await gateway.publish(care_closed(overdue)))
    await gateway.handled(await gateway.publish(care_closed(later, "cancelled")))
    after = await bell(gateway, taking_over_headers)
    assert (after["total"], after["unread"], after["items"][0]["id"]) == (1, 0, notice["id"])
    assert (
        await gateway.scalar(
            "SELECT count(*) FROM notifications WHERE dedupe_key = :key", key=f"care_due:{later}"
        )
        == 0
    )


async def test_the_users_list_finds_by_name_role_and_standing(
    gateway: Gateway, admin: dict[str, str]
) -> None:
    """Issue 19, point 9: with many users the admin searches instead of scrolling."""
    seller = await gateway.create_user(admin, Role.SALESPERSON)
    accountant = await gateway.create_user(admin, Role.ACCOUNTANT)

    async def found(**params: str) -> list[str]:
        answer = await gateway.http.get("/api/users", headers=admin, params={"limit": "200", **params})
        assert answer.status_code == 200, answer.text
        return [u["id"] for u in answer.json()["items"]]

    assert await found(q=seller["username"].upper()) == [seller["id"]]
    assert await found(q=seller["full_name"][-6:]) == [seller["id"]]
    assert accountant["id"] in await found(role="accountant", active="true")
    assert seller["id"] not in await found(role="accountant")
    assert seller["id"] not in await found(active="false")
    assert await found(q="100%_x") == []  # a wildcard is a character, not a pattern
    bad = await gateway.http.get("/api/users", headers=admin, params={"role": "boss"})
    assert bad.status_code == 422


async def test_every_member_of_staff_reads_colleagues_names_but_nothing_more(
    gateway: Gateway, admin: dict[str, str]
) -> None:
    """The names on records (owner, approver, who changed it) for roles that may not list
    users; offboarded colleagues stay named."""
    seller = await gateway.create_user(admin, Role.SALESPERSON)
    accountant = await gateway.create_user(admin, Role.ACCOUNTANT)
    as_accountant = await gateway.login(accountant["username"], "password-1")
    assert (await gateway.http.get("/api/users", headers=as_accountant)).status_code == 403
    answer = await gateway.http.get("/api/users/directory", headers=as_accountant)
    assert answer.status_code == 200, answer.text
    by_id = {u["id"]: u for u in answer.json()["items"]}
    assert by_id[seller["id"]] == {
        "id": seller["id"],
        "username": seller["username"],
        "full_name": seller["full_name"],
        "role": "salesperson",
        "active": True,
    }
    assert (await gateway.http.get("/api/users/directory")).status_code == 401
