"""No one gets in without a valid token, at the gateway or at any service directly;
a deactivated user's token stops working everywhere; passwords are argon2 hashes and
login attempts are rate-limited."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest

from crm_kit.auth import Role, TokenIssuer, User, generate_keypair
from crm_testkit.polling import eventually

from ..harness import PASSWORD, SERVICES, report_line

pytestmark = [pytest.mark.e2e, pytest.mark.security]

#: One route per service that needs a token.
PROTECTED = {
    "gateway": "/api/users/me",
    "leads": "/api/leads",
    "customers": "/api/customers",
    "sales": "/api/quotes",
    "accounting": "/api/invoices",
    "marketing": "/api/campaigns",
}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict, claims: dict, key: bytes | None = None) -> str:
    head = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    signature = b64(hmac.new(key, head.encode(), hashlib.sha256).digest()) if key else ""
    return f"{head}.{signature}"


def bad_tokens(issuer: TokenIssuer, public_key: str) -> dict[str, str]:
    someone = User(id=uuid.uuid4(), username="mallory", role=Role.ADMIN)
    other_private, _ = generate_keypair()
    now = int(datetime.now(UTC).timestamp())
    claims = {
        "sub": str(someone.id),
        "username": "mallory",
        "role": "admin",
        "iss": "crm-gateway",
        "aud": "crm",
        "iat": now,
        "exp": now + 3600,
    }
    return {
        "expired": issuer.issue(someone, now=datetime.now(UTC) - timedelta(hours=2)),
        "signed with another key": TokenIssuer(
            other_private, issuer="crm-gateway", audience="crm", ttl=timedelta(hours=1)
        ).issue(someone),
        "alg none": unsigned({"alg": "none", "typ": "JWT"}, claims),
        "HS256 keyed with the public key": unsigned(
            {"alg": "HS256", "typ": "JWT"}, claims, public_key.encode()
        ),
        "another audience": TokenIssuer(
            issuer._key, issuer="crm-gateway", audience="elsewhere", ttl=timedelta(hours=1)
        ).issue(someone),
        "garbage": "not.a.jwt",
    }


def routes(stack) -> list[tuple[str, str]]:
    """(where, url): every protected route through the gateway and on its service."""
    found = []
    for service, path in PROTECTED.items():
        found.append((f"gateway{path}", stack.url("gateway") + path))
        if service != "gateway":
            found.append((f"{service}{path}", stack.url(service) + path))
    return found


async def test_no_valid_token_gets_401_at_the_gateway_and_every_service(stack, issuer):
    public = (stack.state_dir / "jwt-public.pem").read_text()
    refused = {}
    async with httpx.AsyncClient(timeout=10) as client:
        for where, url in routes(stack):
            refused[(where, "no token")] = (await client.get(url)).status_code
            for why, token in bad_tokens(issuer, public).items():
                response = await client.get(url, headers={"Authorization": f"Bearer {token}"})
                refused[(where, why)] = response.status_code
                assert response.json()["detail"], (where, why)
    got_401 = sum(code == 401 for code in refused.values())
    report_line(f"[tokens] {len(refused)} requests with no valid token, {got_401} got 401")
    assert set(refused.values()) == {401}, {k: v for k, v in refused.items() if v != 401}


async def test_a_valid_token_is_accepted_by_a_service_directly(stack, issuer):
    token = issuer.issue(User(id=uuid.uuid4(), username="direct", role=Role.SALESPERSON))
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(
            stack.url("customers") + "/api/customers", headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code == 200
    assert response.json() == {"items": [], "total": 0, "total_capped": False, "next_cursor": None}


async def test_a_deactivated_users_token_is_refused_everywhere(stack, admin, new_user):
    leaving, successor = await new_user(Role.SALESPERSON), await new_user(Role.SALESPERSON)
    headers = {"Authorization": f"Bearer {leaving.token}"}
    async with httpx.AsyncClient(timeout=10, headers=headers) as client:
        for where, url in routes(stack):
            assert (await client.get(url)).status_code == 200, where
        offboarded = await admin.client.post(
            f"/api/users/{leaving.user_id}/offboard", json={"reassign_to": str(successor.user_id)}
        )
        assert offboarded.status_code == 202, offboarded.text
        await refused_everywhere(stack, client, "account deactivated")
    # The successor's token still works.
    assert (await successor.client.get("/api/customers")).status_code == 200


async def refused_everywhere(stack, client: httpx.AsyncClient, why: str) -> None:
    """The gateway refuses the client's token at once; each service within seconds, once
    the event that says why has arrived (its answer's detail)."""
    assert (await client.get(stack.url("gateway") + PROTECTED["gateway"])).status_code == 401
    for where, url in routes(stack):
        answer = await eventually(
            lambda url=url: client.get(url), until=lambda r: r.status_code == 401, timeout=20, what=where
        )
        assert answer.json()["detail"] == why, where


async def test_a_token_its_holder_logged_out_with_is_refused_everywhere(stack, new_user):
    """Issue 16: logout only deleted the cookie; the token itself went on working for its
    whole 8 hours, at the gateway and at every service."""
    user = await new_user(Role.SALESPERSON)
    other_session = await user.client.post(
        "/api/auth/token", data={"username": user.username, "password": PASSWORD}
    )
    headers = {"Authorization": f"Bearer {user.token}"}
    async with httpx.AsyncClient(timeout=10, headers=headers) as client:
        for where, url in routes(stack):
            assert (await client.get(url)).status_code == 200, where
        logged_out = await client.post(stack.url("gateway") + "/api/auth/logout")
        assert logged_out.status_code == 204, logged_out.text
        await refused_everywhere(stack, client, "logged out: log in again")
        again = await client.post(stack.url("gateway") + "/api/auth/logout")
        assert again.status_code == 401
    # The same user's other session goes on.
    other = {"Authorization": f"Bearer {other_session.json()['access_token']}"}
    async with httpx.AsyncClient(timeout=10, headers=other) as client:
        for where, url in routes(stack):
            assert (await client.get(url)).status_code == 200, where


async def test_a_token_of_a_role_taken_away_is_refused_everywhere(stack, admin, new_user):
    manager = await new_user(Role.SALES_MANAGER)
    headers = {"Authorization": f"Bearer {manager.token}"}
    async with httpx.AsyncClient(timeout=10, headers=headers) as client:
        for where, url in routes(stack):
            assert (await client.get(url)).status_code == 200, where
        demoted = await admin.client.patch(f"/api/users/{manager.user_id}", json={"role": "salesperson"})
        assert demoted.status_code == 200, demoted.text
        await refused_everywhere(
            stack, client, "the account's role changed since this token was issued: log in again"
        )


async def test_the_gateway_publishes_the_keys_its_tokens_name(stack, new_user):
    user = await new_user(Role.SALESPERSON)
    async with httpx.AsyncClient(base_url=stack.url("gateway"), timeout=10) as client:
        published = (await client.get("/.well-known/jwks.json")).json()
        assert published == (await client.get("/api/auth/keys")).json()
    kid = jwt.get_unverified_header(user.token)["kid"]
    key = next(k for k in published["keys"] if k["kid"] == kid)
    claims = jwt.decode(user.token, jwt.PyJWK(key).key, algorithms=["EdDSA"], audience="crm")
    assert claims["sub"] == str(user.user_id)


async def test_passwords_are_stored_as_argon2_hashes(new_user, databases):
    user = await new_user(Role.SALESPERSON)
    stored = await databases.fetchval(
        "gateway", "SELECT password_hash FROM users WHERE id = $1", user.user_id
    )
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


async def test_repeated_failed_logins_are_rate_limited(stack, new_user):
    victim = await new_user(Role.SALESPERSON)
    bystander = await new_user(Role.SALESPERSON)
    async with httpx.AsyncClient(base_url=stack.url("gateway"), timeout=30) as client:

        async def attempt(username: str, password: str) -> httpx.Response:
            return await client.post("/api/auth/token", data={"username": username, "password": password})

        failures = [(await attempt(victim.username, f"guess-{i}")).status_code for i in range(5)]
        locked = await attempt(victim.username, PASSWORD)  # even the right password, for now
        other = await attempt(bystander.username, PASSWORD)  # no one else is locked out
    wait = locked.headers.get("retry-after")
    report_line(f"[login rate limit] 5 failures {failures}, then {locked.status_code} (Retry-After {wait})")
    assert failures == [401] * 5
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
    assert other.status_code == 200


def test_every_service_is_covered(stack):
    assert set(PROTECTED) == set(SERVICES)


async def test_logging_out_of_the_web_ui_ends_the_token_not_only_the_cookie(stack, new_user):
    """Issue 16: the UI's logout deleted the cookie, and the token in it (which a shared
    computer's browser history, a proxy log or a stolen cookie may still hold) went on
    working everywhere for the rest of its 8 hours."""
    user = await new_user(Role.SALESPERSON)
    async with httpx.AsyncClient(base_url=stack.url("gateway"), follow_redirects=False) as browser:
        await browser.get("/login")
        csrf = browser.cookies["crm_csrf"]
        login = await browser.post(
            "/login", data={"username": user.username, "password": PASSWORD, "csrf_token": csrf}
        )
        assert login.status_code == 303
        token = browser.cookies["crm_token"]
        out = await browser.post("/logout", data={"csrf_token": csrf})
        assert out.status_code == 303 and out.headers["location"] == "/login"
    async with httpx.AsyncClient(timeout=10, headers={"Authorization": f"Bearer {token}"}) as client:
        await refused_everywhere(stack, client, "logged out: log in again")
