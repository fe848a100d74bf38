"""Tokens: the gateway signs (Ed25519), every service verifies for itself.

No service trusts an identity header; each checks the token's signature, expiry,
issuer and audience with the gateway's public keys (a set, so the signing key can
rotate: `crm_kit.keys`). A token names its key in the `kid` header and carries a
`jti`, by which a logout revokes it (`crm_kit.revocation`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from pydantic import BaseModel, ConfigDict

from .errors import coded
from .keys import KeySet, kid_of_private

ALGORITHM = "EdDSA"


class Role(StrEnum):
    ADMIN = "admin"
    SALES_MANAGER = "sales_manager"
    SALESPERSON = "salesperson"
    MARKETING = "marketing"
    ACCOUNTANT = "accountant"


#: Roles that see every record of their kind, not only their own.
SEES_ALL = frozenset({Role.ADMIN, Role.SALES_MANAGER, Role.MARKETING, Role.ACCOUNTANT})


class User(BaseModel):
    """Who is calling, as the verified token says."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    username: str
    role: Role

    @property
    def sees_all(self) -> bool:
        return self.role in SEES_ALL

    def can_see(self, owner_id: uuid.UUID | None) -> bool:
        return self.sees_all or owner_id == self.id


def generate_keypair() -> tuple[str, str]:
    """A new (private PEM, public PEM) pair, for local runs and tests."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


class TokenIssuer:
    def __init__(self, private_key: str, *, issuer: str, audience: str, ttl: timedelta) -> None:
        if not private_key:
            raise ValueError("no JWT private key configured (JWT_PRIVATE_KEY or JWT_PRIVATE_KEY_FILE)")
        self._key = private_key
        self.kid = kid_of_private(private_key)
        self.issuer = issuer
        self.audience = audience
        self.ttl = ttl

    def issue(self, user: User, *, now: datetime | None = None, ttl: timedelta | None = None) -> str:
        now = now or datetime.now(UTC)
        claims: dict[str, Any] = {
            "sub": str(user.id),
            "username": user.username,
            "role": user.role.value,
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "exp": now + (ttl or self.ttl),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"kid": self.kid})


#: How far the gateway's clock and a service's may differ: a token issued "in the future"
#: by this much (or expired this long ago) is still taken.
CLOCK_SKEW_S = 30


class InvalidToken(Exception):
    pass


@dataclass(frozen=True)
class Verified:
    """A token that verified: whose it is, its id (`jti`) and when it expires (epoch s)."""

    user: User
    token_id: str | None
    expires_at: float


class TokenVerifier:
    """Checks the gateway's signature, issuer, audience and expiry of a bearer token.

    `keys`: the public keys of the set (one or more PEM blocks), or a `KeySet` (one that
    re-reads its file as it changes).

    A token that verified once is remembered until it expires (at most `remembered`
    of them): a signature check is a tenth of a proxied read's CPU, on the gateway
    and again on the service, for the same token on every request of a session.
    Expiry is checked on every use; a deactivated user is refused by the staff check.
    """

    def __init__(self, keys: str | KeySet, *, issuer: str, audience: str, remembered: int = 10_000) -> None:
        self.keys = keys if isinstance(keys, KeySet) else KeySet(keys)
        self.issuer = issuer
        self.audience = audience
        self._remembered = remembered
        self._verified: dict[str, Verified] = {}

    def verify(self, token: str) -> User:
        return self.verify_token(token).user

    def verify_token(self, token: str) -> Verified:
        known = self._verified.get(token)
        if known is not None:
            if time.time() < known.expires_at:
                return known
            del self._verified[token]
            raise InvalidToken("token expired")
        verified = self._check(token)
        if len(self._verified) >= self._remembered:
            self._verified.clear()  # simple and rare: each is checked once more
        self._verified[token] = verified
        return verified

    def _check(self, token: str) -> Verified:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            candidates = self.keys.get(kid if isinstance(kid, str) else None)
            if not candidates:
                raise InvalidToken("invalid token")
            claims = self._decode(token, candidates)
            user = User(id=uuid.UUID(claims["sub"]), username=claims["username"], role=claims["role"])
            jti = claims.get("jti")
            return Verified(user, jti if isinstance(jti, str) else None, float(claims["exp"]))
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("token expired") from exc
        except (jwt.PyJWTError, KeyError, ValueError) as exc:
            raise InvalidToken("invalid token") from exc

    def _decode(self, token: str, keys: list[Any]) -> dict[str, Any]:
        for key in keys[:-1]:
            try:
                return self._decode_with(token, key)
            except jwt.InvalidSignatureError:
                continue  # a token without a kid: the next key may be its own
        return self._decode_with(token, keys[-1])

    def _decode_with(self, token: str, key: Any) -> dict[str, Any]:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            issuer=self.issuer,
            audience=self.audience,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            leeway=CLOCK_SKEW_S,
        )
        return claims


_bearer = HTTPBearer(auto_error=False)


@dataclass(frozen=True)
class Standing:
    """What is known now of the holder of a valid token: whether they are still active,
    their role now (None: not known here yet, any role the token says may act), and the
    ids of their tokens that a logout revoked."""

    active: bool = True
    role: str | None = None
    revoked: frozenset[str] = frozenset()

    def refusal(self, user: User, token_id: str | None = None) -> str | None:
        """Why the token may no longer act, or None."""
        if not self.active:
            return "account deactivated"
        if self.role and self.role != user.role.value:
            return "the account's role changed since this token was issued: log in again"
        if token_id is not None and token_id in self.revoked:
            return "logged out: log in again"
        return None


#: The `Standing` of a user id. A token outlives an offboarding or a role change until
#: it expires, so a service that knows its staff sets one as `app.state.staff_check`:
#: `create_service_app` does for a service keeping the staff directory, the gateway
#: for its own users.
StaffCheck = Callable[[uuid.UUID], Awaitable[Standing]]


async def current_user(
    request: Request,
    # For the OpenAPI document (the bearer scheme); `authenticate` reads the header itself.
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    return await authenticate(request)


async def authenticate(request: Request) -> User:
    """The caller, from the request's bearer token; 401 without a valid one, or when the
    account was deactivated since the token was issued."""
    scheme, token = get_authorization_scheme_param(request.headers.get("authorization"))
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            coded("not_authenticated", "not authenticated"),
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        return (await verify_standing(request, token)).user
    except InvalidToken as exc:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            coded("token_refused", str(exc)),
            headers={"WWW-Authenticate": "Bearer"},
        ) from exc


async def verify_standing(request: Request, token: str) -> Verified:
    """The token, verified, and its holder's standing checked (`app.state.staff_check`):
    InvalidToken when either refuses it."""
    verifier: TokenVerifier = request.app.state.verifier
    verified = verifier.verify_token(token)
    check: StaffCheck | None = getattr(request.app.state, "staff_check", None)
    if check is not None and (
        refusal := (await check(verified.user.id)).refusal(verified.user, verified.token_id)
    ):
        raise InvalidToken(refusal)
    return verified


CurrentUser = Annotated[User, Depends(current_user)]


def require_roles(*roles: Role) -> Any:
    """Dependency: 403 unless the caller has one of `roles`."""

    async def check(user: CurrentUser) -> User:
        if user.role not in roles:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                coded(
                    "role_needed",
                    f"needs role {' or '.join(r.value for r in roles)}",
                    roles=[r.value for r in roles],
                ),
            )
        return user

    return Depends(check)
