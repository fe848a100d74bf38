"""Tokens: every service verifies signature, expiry, issuer and audience itself."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key
from fastapi import FastAPI
from fastapi.testclient import TestClient

from crm_kit import errors
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
from crm_kit.keys import KeySet, jwks, kid_of, parse_public_keys

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
    # As every service: refusals answered as problem documents (crm_kit.errors).
    errors.install(app)
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


# -- keys that rotate (issue 16, item 3) -----------------------------------------


def test_a_token_names_its_signing_key_by_thumbprint() -> None:
    """There was one signing key with no `kid`: rotating it meant restarting everything at
    once and logging everyone out."""
    header = jwt.get_unverified_header(issuer().issue(a_user()))
    assert header["kid"] == kid_of(load_pem_public_key(PUBLIC.encode()))  # type: ignore[arg-type]


def test_a_service_takes_tokens_of_every_key_in_its_set() -> None:
    next_private, next_public = generate_keypair()
    verifier = TokenVerifier(PUBLIC + next_public, issuer=ISSUER, audience=AUDIENCE)
    old, new = a_user(), a_user()
    assert verifier.verify(issuer().issue(old)) == old
    assert verifier.verify(issuer(next_private).issue(new)) == new
    stranger_private, _ = generate_keypair()
    with pytest.raises(InvalidToken, match=r"^invalid token$"):
        verifier.verify(issuer(stranger_private).issue(a_user()))


def test_a_token_without_a_kid_is_tried_against_every_key() -> None:
    """Tokens issued before kids were (up to TOKEN_TTL_S old) still verify."""
    _, other_public = generate_keypair()
    verifier = TokenVerifier(other_public + PUBLIC, issuer=ISSUER, audience=AUDIENCE)
    user = a_user()
    token = jwt.encode(claims_for(user), PRIVATE, algorithm=ALGORITHM)
    assert "kid" not in jwt.get_unverified_header(token)
    assert verifier.verify(token) == user


def test_a_key_file_is_re_read_when_it_changes_so_a_key_rotates_without_a_restart(
    tmp_path: Path,
) -> None:
    clock = [0.0]
    path = tmp_path / "jwt-public.pem"
    path.write_text(PUBLIC)
    verifier = TokenVerifier(KeySet(path=path, clock=lambda: clock[0]), issuer=ISSUER, audience=AUDIENCE)
    next_private, next_public = generate_keypair()
    assert verifier.verify(issuer().issue(first := a_user())) == first
    with pytest.raises(InvalidToken):
        verifier.verify(issuer(next_private).issue(a_user()))  # not in the set yet

    # Step 1: the new public key joins the set; an unknown kid makes the service look.
    path.write_text(PUBLIC + next_public)
    os.utime(path, (1, 1))
    clock[0] += KeySet.FORCED_MIN_S
    assert verifier.verify(issuer(next_private).issue(second := a_user())) == second
    assert verifier.verify(issuer().issue(third := a_user())) == third  # the old key still works

    # Step 3: the old key leaves the set; within RECHECK_S its tokens are refused.
    path.write_text(next_public)
    os.utime(path, (2, 2))
    clock[0] += KeySet.RECHECK_S
    with pytest.raises(InvalidToken):
        verifier.verify(issuer().issue(a_user()))
    assert verifier.verify(issuer(next_private).issue(fourth := a_user())) == fourth


def test_a_broken_key_file_keeps_the_keys_that_worked(tmp_path: Path) -> None:
    clock = [0.0]
    path = tmp_path / "jwt-public.pem"
    path.write_text(PUBLIC)
    verifier = TokenVerifier(KeySet(path=path, clock=lambda: clock[0]), issuer=ISSUER, audience=AUDIENCE)
    path.write_text("-----BEGIN PUBLIC KEY-----\nhalf written")
    os.utime(path, (3, 3))
    clock[0] += KeySet.RECHECK_S
    assert verifier.verify(issuer().issue(user := a_user())) == user


def test_a_key_set_publishes_as_a_jwks() -> None:
    _, next_public = generate_keypair()
    published = jwks(parse_public_keys(PUBLIC + next_public))["keys"]
    assert [k["kid"] for k in published] == list(parse_public_keys(PUBLIC + next_public))
    assert {k["kty"] for k in published} == {"OKP"} and {k["alg"] for k in published} == {"EdDSA"}
    jwk = jwt.PyJWK(published[0])
    token = issuer().issue(user := a_user())
    assert jwt.decode(token, jwk.key, algorithms=[ALGORITHM], audience=AUDIENCE)["sub"] == str(user.id)


def test_a_key_set_refuses_what_is_not_an_ed25519_public_key() -> None:
    with pytest.raises(ValueError, match="no public key"):
        parse_public_keys("not a key")
    rsa = generate_private_key(public_exponent=65537, key_size=2048).public_key()
    pem = rsa.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    with pytest.raises(ValueError, match="not an Ed25519 key"):
        parse_public_keys(pem)
