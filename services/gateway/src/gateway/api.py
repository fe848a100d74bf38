"""Routes the gateway serves itself: login and users. Everything else under /api/
goes to `proxy`, which is registered after these so they win."""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm
from fastapi.security.utils import get_authorization_scheme_param

from crm_kit import errors
from crm_kit.auth import (
    CurrentUser,
    InvalidToken,
    Role,
    TokenIssuer,
    TokenVerifier,
    User,
    require_roles,
    verify_standing,
)
from crm_kit.http import Page, Paging
from crm_kit.keys import jwks
from crm_kit.runtime import DbDep

from . import offboarding, portfolio, users
from .login import Refusal, as_principal, authenticate, log_out
from .proxy import UpstreamsDep
from .ratelimit import LoginThrottle
from .schemas import (
    AuditOut,
    HandoverOut,
    LanguageIn,
    OffboardAccepted,
    OffboardRequest,
    PortfolioOut,
    SalespersonOut,
    StaffNameOut,
    TokenOut,
    UserCreate,
    UserOut,
    UserUpdate,
)

log = logging.getLogger(__name__)

auth_router = APIRouter(prefix="/api/auth", tags=["auth"])
users_router = APIRouter(prefix="/api/users", tags=["users"])
well_known_router = APIRouter(tags=["auth"])

BAD_CREDENTIALS = "incorrect username or password"
DEACTIVATED = "this account was deactivated; an admin can tell you more"
BEARER = {"WWW-Authenticate": "Bearer"}


async def get_issuer(request: Request) -> TokenIssuer:
    issuer: TokenIssuer = request.app.state.issuer
    return issuer


IssuerDep = Annotated[TokenIssuer, Depends(get_issuer)]
Admin = Annotated[User, require_roles(Role.ADMIN)]
Manager = Annotated[User, require_roles(Role.ADMIN, Role.SALES_MANAGER)]
#: Who plans channels (marketing's own rule) and so assigns salespeople to them.
PLANNERS = (Role.MARKETING, Role.SALES_MANAGER, Role.ADMIN)


def _errors(*codes: tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the `{"detail": ...}` answers a route gives besides 422."""
    return {code: {"description": text} for code, text in codes}


@auth_router.post(
    "/token",
    responses=_errors(
        (401, "wrong username or password (one answer for both)"),
        (403, "the right password of a deactivated account"),
        (429, "too many failed logins; `Retry-After` says for how many seconds"),
    ),
)
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], db: DbDep, issuer: IssuerDep, request: Request
) -> TokenOut:
    """OAuth2 password flow: a bearer token for an active user's username and password.
    A wrong username or password is one answer (401); the right password of a
    deactivated account gets 403 saying so. Repeated failures for one username from one
    address, or many from one address whatever the names, get 429 for a while."""
    throttle: LoginThrottle = request.app.state.login_throttle
    attempt = throttle.attempt(form.username, request.client.host if request.client else None)
    if (wait := await throttle.begin(attempt)) is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            errors.coded(
                "login.too_many_tries", "too many failed logins; try again later", retry_after_s=wait
            ),
            headers={"Retry-After": str(wait)},
        )
    account = await authenticate(db, form.username, form.password)
    if isinstance(account, Refusal):
        await throttle.failed()
        log.warning("failed login for %r: %s", form.username[:50], account)
        if account is Refusal.DEACTIVATED:
            raise HTTPException(status.HTTP_403_FORBIDDEN, errors.coded("login.deactivated", DEACTIVATED))
        # One answer for every failure, so it does not tell which names exist.
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            errors.coded("login.wrong_credentials", BAD_CREDENTIALS),
            headers={"WWW-Authenticate": "Bearer"},
        )
    principal = as_principal(account)
    await throttle.succeeded(attempt)
    log.info("user %s logged in", principal.username)
    return TokenOut(access_token=issuer.issue(principal))


@auth_router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(request: Request, db: DbDep) -> Response:
    """End the caller's token: from this answer on the gateway refuses it, and every
    service within seconds (`TokenRevoked`). Other sessions of the same user go on."""
    scheme, token = get_authorization_scheme_param(request.headers.get("authorization"))
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            errors.coded("not_authenticated", "not authenticated"),
            headers=BEARER,
        )
    try:
        verified = await verify_standing(request, token)
    except InvalidToken as exc:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, errors.coded("token_refused", str(exc)), headers=BEARER
        ) from exc
    async with db.transaction() as session:
        await log_out(session, verified)
    log.info("user %s logged out", verified.user.username)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@well_known_router.get("/.well-known/jwks.json")
@auth_router.get("/keys")
async def published_keys(request: Request) -> dict[str, Any]:
    """The public keys that verify the gateway's tokens, as a JSON Web Key Set (also at
    `/.well-known/jwks.json`): each token names its key in its `kid` header."""
    verifier: TokenVerifier = request.app.state.verifier
    return jwks(verifier.keys.current())


@users_router.post("", status_code=status.HTTP_201_CREATED)
async def create_user(body: UserCreate, caller: Admin, db: DbDep) -> UserOut:
    """A new user; announced to every service (`UserRegistered`) with the same commit."""
    async with db.transaction() as session:
        await users.require_active(session, caller, Role.ADMIN)
        account = await users.create_user(session, body, actor=caller.id)
        created = UserOut.model_validate(account)
    log.info("user %s created with role %s", created.username, created.role)
    return created


@users_router.get("", dependencies=[require_roles(Role.ADMIN, Role.SALES_MANAGER)])
async def list_users(
    db: DbDep,
    paging: Paging,
    q: Annotated[str | None, Query(max_length=100, description="part of the username or full name")] = None,
    role: Role | None = None,
    active: bool | None = None,
) -> Page[UserOut]:
    """Users, active and offboarded, by username; `q`, `role` and `active` narrow it."""
    async with db.transaction() as session:
        rows, total = await users.list_users(session, paging, q=q, role=role, active=active)
        return Page(items=[UserOut.model_validate(u) for u in rows], total=total)


# Declared before /{user_id}, as is /me, so the word is not parsed as an id.
@users_router.get("/directory")
async def staff_directory(user: CurrentUser, db: DbDep) -> Page[StaffNameOut]:
    """Every member of staff's name, role and standing, for any member of staff: the names
    on records (owner, approver, who changed what) for those who may not list users.
    Offboarded staff are listed too, as their names stay on what they did."""
    async with db.transaction() as session:
        rows = await users.staff_directory(session)
        return Page(items=[StaffNameOut.model_validate(u) for u in rows], total=len(rows))


@users_router.get(
    "/salespeople",
    dependencies=[require_roles(*PLANNERS)],
    responses=_errors((403, "not marketing, a sales manager or an admin")),
)
async def list_salespeople(db: DbDep, paging: Paging) -> Page[SalespersonOut]:
    """Active salespeople by name: only id, username and full name. For those who plan
    channels and assign salespeople to their provinces, marketing included, who may not
    list users (`GET /api/users`)."""
    async with db.transaction() as session:
        rows, total = await users.list_salespeople(session, paging)
        return Page(items=[SalespersonOut.model_validate(u) for u in rows], total=total)


# Declared before /{user_id} so "me" is not parsed as an id.
@users_router.get("/me")
async def get_me(user: CurrentUser, db: DbDep) -> UserOut:
    """The caller's own record, whatever their role: `GET /api/users/{user_id}` with their own id."""
    return await get_user(user.id, user, db)


@users_router.put("/me/language")
async def set_my_language(body: LanguageIn, user: CurrentUser, db: DbDep) -> UserOut:
    """The caller's web UI language, remembered across logins."""
    async with db.transaction() as session:
        account = await users.set_language(session, user, body.language)
        return UserOut.model_validate(account)


@users_router.get("/{user_id}")
async def get_user(user_id: uuid.UUID, user: CurrentUser, db: DbDep) -> UserOut:
    """A user's record: managers and admins see anyone's, others only their own."""
    async with db.transaction() as session:
        return UserOut.model_validate(await users.get_visible(session, user_id, user))


@users_router.patch(
    "/{user_id}",
    responses=_errors(
        (403, "not an admin"), (404, "no such user"), (409, "offboarded, or the last active admin's role")
    ),
)
async def update_user(user_id: uuid.UUID, body: UserUpdate, caller: Admin, db: DbDep) -> UserOut:
    """Change a user's full name or role (audited; announced again as `UserRegistered`).
    Offboarding is `POST /api/users/{id}/offboard`, not this."""
    async with db.transaction() as session:
        account = await users.update_user(session, user_id, body, caller)
        return UserOut.model_validate(account)


@users_router.post(
    "/{user_id}/offboard",
    status_code=status.HTTP_202_ACCEPTED,
    responses=_errors(
        (403, "not an admin"), (404, "no such user"), (409, "already offboarded, or the last active admin")
    ),
)
async def offboard_user(
    user_id: uuid.UUID, body: OffboardRequest, caller: Admin, db: DbDep, response: Response
) -> OffboardAccepted:
    """Deactivate a leaving user and hand their whole portfolio to `reassign_to`.

    Accepted, not done: each service moves its records when it gets
    `PortfolioReassigned`; `GET /api/users/{id}/portfolio` shows what is left.
    """
    async with db.transaction() as session:
        handover = await offboarding.offboard(session, user_id, body.reassign_to, caller)
    log.info("user %s offboarded, portfolio to %s (handover %s)", user_id, body.reassign_to, handover.id)
    response.headers["Location"] = f"/api/users/{user_id}/handovers"
    return OffboardAccepted(user_id=user_id, reassign_to=body.reassign_to)


@users_router.get("/{user_id}/handovers")
async def list_handovers(user_id: uuid.UUID, caller: Manager, db: DbDep, paging: Paging) -> Page[HandoverOut]:
    """Portfolio hand-overs from or to the user, newest first."""
    async with db.transaction() as session:
        rows, total = await offboarding.list_handovers(session, user_id, paging)
        return Page(items=[HandoverOut.model_validate(h) for h in rows], total=total)


@users_router.get("/{user_id}/audit")
async def list_audit(user_id: uuid.UUID, caller: Admin, db: DbDep, paging: Paging) -> Page[AuditOut]:
    """Every change to the user (created, updated, offboarded): who, when, `{field: [old, new]}`."""
    async with db.transaction() as session:
        rows, total = await users.list_audit(session, user_id, paging)
        return Page(items=[AuditOut.model_validate(a) for a in rows], total=total)


@users_router.get("/{user_id}/portfolio")
async def get_portfolio(
    user_id: uuid.UUID, caller: Manager, db: DbDep, upstreams: UpstreamsDep, request: Request
) -> PortfolioOut:
    """What each service still holds for the user, asked of all of them at once."""
    async with db.transaction() as session:
        await users.get_existing(session, user_id)
    return await portfolio.gather(upstreams, user_id, portfolio.portfolio_headers(request))
