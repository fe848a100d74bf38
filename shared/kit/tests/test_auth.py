"""Tokens: every service verifies signature, expiry, issuer and audience itself."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

import jwt
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from crm_kit.auth import (
    ALGORITHM,
    CurrentUser,
    InvalidToken,
    Role,
    TokenIssuer,
    TokenVerifier,
    User,
    generate_keypair,
    require_roles,
)

pytestmark = pytest.mark.unit

ISSUER, AUDIENCE = "crm-gateway", "crm"
PRIVATE, PUBLIC = generate_keypair()


def issuer(private: str = PRIVATE, *, iss: str = ISSUER, aud: str = AUDIENCE) -> TokenIssuer:
    return TokenIssuer(private, issuer=iss, audience=aud, ttl=timedelta(minutes=15))


VERIFIER = TokenVerifier(PUBLIC, issuer=ISSUER, audience=AUDIENCE)


def a_user(role: Role = Role.SALESPERSON) -> User:
    return User(id=uuid.uuid4(), username="lan.nguyen", role=role)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_for(user: User, **override: object) -> dict[str, object]:
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "sub": str(user.id),
        "username": user.username,
        "role": user.role.value,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
    }
    claims.update(override)
    return claims


# -- the verifier ---------------------------------------------------------------


def test_a_valid_token_gives_the_user_it_was_issued_for() -> None:
    user = a_user(Role.SALES_MANAGER)
    assert VERIFIER.verify(issuer().issue(user)) == user


def test_an_expired_token_is_refused_as_expired() -> None:
    token = issuer().issue(a_user(), now=datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(InvalidToken, match=r"^token expired$"):
        VERIFIER.verify(token)


def test_a_token_from_a_gateway_whose_clock_is_a_little_ahead_is_taken() -> None:
    """Issue 16: `iat` was checked with no tolerance, so a service whose clock is a second
    behind the gateway's refused fresh tokens (and the UI logged the user out)."""
    user = a_user()
    ahead = issuer().issue(user, now=datetime.now(UTC) + timedelta(seconds=5))
    assert VERIFIER.verify(ahead) == user
    far_ahead = issuer().issue(user, now=datetime.now(UTC) + timedelta(minutes=10))
    with pytest.raises(InvalidToken):
        VERIFIER.verify(far_ahead)


def test_a_remembered_token_is_refused_once_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    verifier = TokenVerifier(PUBLIC, issuer=ISSUER, audience=AUDIENCE)
    user = a_user()
    token = issuer().issue(user)
    assert verifier.verify(token) == user
    assert verifier.verify(token) == user  # remembered: no second signature check
    expires_at = jwt.decode(token, options={"verify_signature": False})["exp"]
    monkeypatch.setattr("crm_kit.auth.time.time", lambda: expires_at + 1)
    with pytest.raises(InvalidToken, match=r"^token expired$"):
        verifier.verify(token)


def test_remembering_has_a_bound() -> None:
    verifier = TokenVerifier(PUBLIC, issuer=ISSUER, audience=AUDIENCE, remembered=3)
    users = [a_user() for _ in range(7)]
    for user in users:
        assert verifier.verify(issuer().issue(user)) == user
    assert len(verifier._verified) <= 3


def test_a_token_signed_with_another_key_is_refused() -> None:
    other_private, _ = generate_keypair()
    token = issuer(other_private).issue(a_user())
    with pytest.raises(InvalidToken, match=r"^invalid token$"):
        VERIFIER.verify(token)


def test_a_token_for_another_audience_is_refused() -> None:
    token = issuer(aud="billing").issue(a_user())
    with pytest.raises(InvalidToken, match=r"^invalid token$"):
        VERIFIER.verify(token)


def test_a_token_from_another_issuer_is_refused() -> None:
    token = issuer(iss="someone-else").issue(a_user())
    with pytest.raises(InvalidToken, match=r"^invalid token$"):
        VERIFIER.verify(token)


def test_an_unsigned_none_alg_token_is_refused() -> None:
    user = a_user(Role.ADMIN)
    header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims_for(user)).encode())
    for token in (f"{header}.{body}.", jwt.encode(claims_for(user), "", algorithm="none")):
        with pytest.raises(InvalidToken, match=r"^invalid token$"):
            VERIFIER.verify(token)


def test_an_hs256_token_keyed_with_the_public_key_is_refused() -> None:
    """Algorithm confusion: the public key is public, so it must never work as an HMAC secret."""
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims_for(a_user(Role.ADMIN))).encode())
    signature = hmac.new(PUBLIC.encode(), f"{header}.{body}".encode(), hashlib.sha256).digest()
    with pytest.raises(InvalidToken, match=r"^invalid token$"):
        VERIFIER.verify(f"{header}.{body}.{b64(signature)}")


def test_a_token_whose_claims_were_edited_is_refused() -> None:
    token = issuer().issue(a_user(Role.SALESPERSON))
    header, _, signature = token.split(".")
    forged = b64(json.dumps(claims_for(a_user(Role.ADMIN))).encode())
    with pytest.raises(InvalidToken, match=r"^invalid token$"):
        VERIFIER.verify(f"{header}.{forged}.{signature}")


@pytest.mark.parametrize("missing", ["exp", "sub", "iss", "aud", "iat"])
def test_a_token_without_a_required_claim_is_refused(missing: str) -> None:
    claims = claims_for(a_user())
    del claims[missing]
    token = jwt.encode(claims, PRIVATE, algorithm=ALGORITHM)
    with pytest.raises(InvalidToken, match=r"^invalid token$"):
        VERIFIER.verify(token)


@pytest.mark.parametrize("override", [{"role": "superuser"}, {"sub": "not-a-uuid"}, {"username": None}])
def test_a_signed_token_with_nonsense_claims_is_refused(override: dict[str, object]) -> None:
    claims = {k: v for k, v in claims_for(a_user(), **override).items() if v is not None}
    token = jwt.encode(claims, PRIVATE, algorithm=ALGORITHM)
    with pytest.raises(InvalidToken, match=r"^invalid token$"):
        VERIFIER.verify(token)


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "Bearer x"])
def test_garbage_is_refused(token: str) -> None:
    with pytest.raises(InvalidToken):
        VERIFIER.verify(token)


def test_neither_side_starts_without_a_key() -> None:
    with pytest.raises(ValueError, match="JWT_PUBLIC_KEY"):
        TokenVerifier("", issuer=ISSUER, audience=AUDIENCE)
    with pytest.raises(ValueError, match="JWT_PRIVATE_KEY"):
        TokenIssuer("", issuer=ISSUER, audience=AUDIENCE, ttl=timedelta(minutes=1))


def test_object_level_visibility() -> None:
    me = a_user(Role.SALESPERSON)
    assert me.can_see(me.id)
    assert not me.can_see(uuid.uuid4())
    assert not me.can_see(None)
    assert a_user(Role.SALES_MANAGER).can_see(uuid.uuid4())


# -- the FastAPI dependencies --------------------------------------------------


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()
    app.state.verifier = VERIFIER

    @app.get("/me")
    def me(user: CurrentUser) -> dict[str, str]:
        return {"id": str(user.id), "role": user.role.value}

    @app.post("/quotes/approve")
    def approve(
        user: Annotated[User, require_roles(Role.SALES_MANAGER, Role.ADMIN)],
    ) -> dict[str, str]:
        return {"approved_by": user.username}

    return TestClient(app)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_no_token_is_401_with_a_bearer_challenge(client: TestClient) -> None:
    for response in (client.get("/me"), client.post("/quotes/approve")):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"


def test_a_bad_or_expired_token_is_401(client: TestClient) -> None:
    other_private, _ = generate_keypair()
    expired = issuer().issue(a_user(Role.ADMIN), now=datetime.now(UTC) - timedelta(hours=1))
    response = client.post("/quotes/approve", headers=bearer(expired))
    assert response.status_code == 401
    assert response.json()["detail"] == "token expired"
    forged = issuer(other_private).issue(a_user(Role.ADMIN))
    assert client.post("/quotes/approve", headers=bearer(forged)).status_code == 401
    basic = {"Authorization": "Basic " + b64(b"admin:admin")}
    assert client.post("/quotes/approve", headers=basic).status_code == 401


def test_the_wrong_role_is_403(client: TestClient) -> None:
    for role in (Role.SALESPERSON, Role.MARKETING, Role.ACCOUNTANT):
        response = client.post("/quotes/approve", headers=bearer(issuer().issue(a_user(role))))
        assert response.status_code == 403, role
        assert "sales_manager" in response.json()["detail"]


def test_the_right_role_is_200(client: TestClient) -> None:
    manager = a_user(Role.SALES_MANAGER)
    response = client.post("/quotes/approve", headers=bearer(issuer().issue(manager)))
    assert response.status_code == 200
    assert response.json() == {"approved_by": manager.username}
    admin = issuer().issue(a_user(Role.ADMIN))
    assert client.post("/quotes/approve", headers=bearer(admin)).status_code == 200


def test_any_valid_token_reaches_a_route_that_needs_no_role(client: TestClient) -> None:
    user = a_user(Role.MARKETING)
    response = client.get("/me", headers=bearer(issuer().issue(user)))
    assert response.status_code == 200
    assert response.json() == {"id": str(user.id), "role": "marketing"}
