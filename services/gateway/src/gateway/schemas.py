from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from crm_kit.auth import Role

from . import domain

#: The web UI's languages; Vietnamese is the default.
Language = Literal["vi", "en"]


def _clean_full_name(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("user.full_name_blank", "full_name must not be blank")
    return value.strip()


class UserCreate(BaseModel):
    """A new user. `active` and the id are not settable here (no mass assignment)."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=100)
    password: str
    full_name: str = Field(min_length=1, max_length=200)
    role: Role

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        return domain.normalise_username(value)

    @field_validator("password")
    @classmethod
    def _password(cls, value: str) -> str:
        return domain.check_password(value)

    @field_validator("full_name")
    @classmethod
    def _full_name(cls, value: str) -> str:
        return _clean_full_name(value)


class UserOut(BaseModel):
    """A user as the API shows it: never the password hash."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str
    full_name: str
    role: Role
    active: bool
    created_at: datetime
    #: The web UI's language.
    language: Language = "vi"


class StaffNameOut(BaseModel):
    """A member of staff as any colleague sees them on a record: who owns it, approved
    it, changed it. Nothing else about them."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str
    full_name: str
    role: Role
    active: bool


class SalespersonOut(BaseModel):
    """A salesperson as those who plan channels see them: who to assign, nothing more."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str
    full_name: str


class LanguageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: Language


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"


class UserUpdate(BaseModel):
    """What an admin may change on a user. Username, password, `active` and the id
    are not here: offboarding is its own operation."""

    model_config = ConfigDict(extra="forbid")

    full_name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = None

    @field_validator("full_name", "role", mode="before")
    @classmethod
    def _not_null(cls, value: object, info: ValidationInfo) -> object:
        # Leaving a field out keeps it; sending null is a mistake, not "clear it".
        if value is None:
            raise PydanticCustomError(
                "request.field_null",
                "must not be null (leave the field out to keep it)",
                {"field": info.field_name},
            )
        return value

    @field_validator("full_name")
    @classmethod
    def _full_name(cls, value: str | None) -> str | None:
        return None if value is None else _clean_full_name(value)


class OffboardRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: Who takes over everything the leaving user owns.
    reassign_to: uuid.UUID


class OffboardAccepted(BaseModel):
    user_id: uuid.UUID
    reassign_to: uuid.UUID
    status: Literal["reassigning"] = "reassigning"


class HandoverOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    from_user_id: uuid.UUID
    to_user_id: uuid.UUID
    requested_by: uuid.UUID
    requested_at: datetime


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    user_id: uuid.UUID
    actor_id: uuid.UUID | None
    action: str
    changes: dict[str, list[Any]]
    at: datetime


class PortfolioOut(BaseModel):
    """What every service still holds for a user (`GET /api/users/{id}/portfolio`)."""

    user_id: uuid.UUID
    #: Counts by kind from each service that answered, e.g. `{"leads": {"leads": 3}}`.
    services: dict[str, dict[str, int]]
    #: Every count of every service that answered, summed: 0 once a hand-over is done.
    total: int
    #: True when every service answered (or has no portfolio route yet).
    complete: bool
    #: Services that did not answer, errored or answered something unreadable.
    unavailable: list[str]
    #: Services without a portfolio route (yet): they hold nothing that is counted.
    not_tracked: list[str]
