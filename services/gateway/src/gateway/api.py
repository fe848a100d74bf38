"""Routes the gateway serves itself: login and users. Everything else under /api/
goes to `proxy`, which is registered after these so they win."""

from __future__ import annotations

import logging
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from crm_kit.auth import CurrentUser, Role, TokenIssuer, require_roles
from crm_kit.http import Page, Paging
from crm_kit.service import DbDep

from . import service
from .schemas import TokenOut, UserCreate, UserOut

log = logging.getLogger(__name__)

auth_router = APIRouter(prefix="/api/auth", tags=["auth"])
users_router = APIRouter(prefix="/api/users", tags=["users"])

BAD_CREDENTIALS = "incorrect username or password"


def get_issuer(request: Request) -> TokenIssuer:
    issuer: TokenIssuer = request.app.state.issuer
    return issuer


IssuerDep = Annotated[TokenIssuer, Depends(get_issuer)]


@auth_router.post("/token")
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], db: DbDep, issuer: IssuerDep
) -> TokenOut:
    """OAuth2 password flow: a bearer token for an active user's username and password."""
    async with db.transaction() as session:
        account = await service.authenticate(session, form.username, form.password)
        if account is None:
            log.warning("failed login for %r", form.username[:50])
            # One answer for every failure, so it does not tell which names exist.
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                BAD_CREDENTIALS,
                headers={"WWW-Authenticate": "Bearer"},
            )
        principal = service.as_principal(account)
    log.info("user %s logged in", principal.username)
    return TokenOut(access_token=issuer.issue(principal))


@users_router.post("", status_code=status.HTTP_201_CREATED, dependencies=[require_roles(Role.ADMIN)])
async def create_user(body: UserCreate, db: DbDep) -> UserOut:
    try:
        async with db.transaction() as session:
            account = await service.create_user(session, body)
            created = UserOut.model_validate(account)
    except service.UsernameTaken as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    log.info("user %s created with role %s", created.username, created.role)
    return created


@users_router.get("", dependencies=[require_roles(Role.ADMIN, Role.SALES_MANAGER)])
async def list_users(db: DbDep, paging: Paging) -> Page[UserOut]:
    async with db.transaction() as session:
        rows, total = await service.list_users(session, paging)
        return Page(items=[UserOut.model_validate(u) for u in rows], total=total)


# Declared before /{user_id} so "me" is not parsed as an id.
@users_router.get("/me")
async def get_me(user: CurrentUser, db: DbDep) -> UserOut:
    return await get_user(user.id, user, db)


@users_router.get("/{user_id}")
async def get_user(user_id: uuid.UUID, user: CurrentUser, db: DbDep) -> UserOut:
    """A user's record: managers and admins see anyone's, others only their own."""
    async with db.transaction() as session:
        try:
            return UserOut.model_validate(await service.get_visible(session, user_id, user))
        except service.NotFound as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"user {user_id} not found") from exc
