"""Behind a TLS proxy: the client's address and scheme come from the proxy's forwarded
headers only when the proxy is trusted, and every answer carries the headers a browser
needs to refuse framing and injected content."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from crm_kit.auth import generate_keypair
from crm_testkit.infra import Infra
from crm_testkit.service import ServiceUnderTest, running_service
from gateway.app import create_app
from gateway.settings import GatewaySettings

pytestmark = pytest.mark.integration

ADMIN_PASSWORD = "deployment-admin-pw"
PROXY = "10.77.0.2"


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
        forwarded_allow_ips=f"{PROXY},10.78.0.0/16",
    ) as running:
        yield running


def client_from(gateway: ServiceUnderTest[GatewaySettings], peer: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(gateway.app, client=(peer, 51000))
    return httpx.AsyncClient(transport=transport, base_url="http://gateway")


FORWARDED = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}


async def ui_login(client: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
    await client.get("/login", headers=headers)
    csrf = client.cookies["crm_csrf"]
    # Sent by hand: the client speaks http to the gateway, and a Secure cookie would not
    # go back over it (the browser, on https, sends it).
    client.cookies.clear()
    return await client.post(
        "/login",
        data={"username": "admin", "password": ADMIN_PASSWORD, "csrf_token": csrf},
        headers={**headers, "Cookie": f"crm_csrf={csrf}"},
    )


async def test_behind_a_trusted_tls_proxy_the_session_cookie_is_secure(
    gateway: ServiceUnderTest[GatewaySettings],
) -> None:
    """Issue 16: the cookie's Secure flag came from the request's scheme, which is http
    between the TLS proxy and the gateway: the session cookie went out without it."""
    for peer in (PROXY, "10.78.4.5"):
        async with client_from(gateway, peer) as client:
            answer = await ui_login(client, FORWARDED)
        assert answer.status_code == 303
        token_cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("crm_token="))
        assert "secure" in token_cookie.lower(), token_cookie


async def test_forwarded_headers_from_anyone_else_are_ignored(
    gateway: ServiceUnderTest[GatewaySettings],
) -> None:
    async with client_from(gateway, "10.99.0.9") as client:
        answer = await ui_login(client, FORWARDED)
    token_cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("crm_token="))
    assert "secure" not in token_cookie.lower()


async def test_the_throttle_counts_the_client_behind_the_proxy_not_the_proxy(
    gateway: ServiceUnderTest[GatewaySettings],
) -> None:
    """Issue 16: behind a proxy the throttle keyed on the proxy's address, so five wrong
    passwords from anyone locked `admin` out for everyone."""
    attacker = {"X-Forwarded-For": f"198.51.100.{uuid.uuid4().int % 200 + 1}"}
    colleague = {"X-Forwarded-For": "192.0.2.44"}
    async with client_from(gateway, PROXY) as client:
        for _ in range(gateway.settings.login_max_failures):
            wrong = await client.post(
                "/api/auth/token", data={"username": "admin", "password": "guess"}, headers=attacker
            )
            assert wrong.status_code == 401
        locked = await client.post(
            "/api/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD}, headers=attacker
        )
        fine = await client.post(
            "/api/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD}, headers=colleague
        )
    assert locked.status_code == 429
    assert fine.status_code == 200


async def test_every_answer_says_how_a_browser_may_use_it(gateway: ServiceUnderTest[GatewaySettings]) -> None:
    """Issue 16: no Content-Security-Policy or frame-ancestors: any site could frame the
    UI (clickjacking) and nothing limited where scripts come from."""
    async with client_from(gateway, "10.99.0.10") as client:
        for path in ("/login", "/api/healthz-missing", "/static/ui.css"):
            answer = await client.get(path)
            csp = answer.headers.get("content-security-policy", "")
            assert "frame-ancestors 'none'" in csp, path
            assert "script-src 'self'" in csp and "object-src 'none'" in csp, path
            assert answer.headers.get("x-content-type-options") == "nosniff", path
            assert answer.headers.get("x-frame-options") == "DENY", path
            assert answer.headers.get("referrer-policy") == "same-origin", path
        secure = await client.get("/login", headers=FORWARDED)
        assert "strict-transport-security" not in secure.headers  # not from an untrusted peer
    async with client_from(gateway, PROXY) as client:
        secure = await client.get("/login", headers=FORWARDED)
    assert secure.headers["strict-transport-security"].startswith("max-age=")
