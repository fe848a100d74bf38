"""The errors a use case raises, and the one handler that answers them over HTTP.

A use case says what went wrong in the domain's words; it never builds an HTTP
answer. `create_service_app` installs `answer` for every `DomainError`, so each
service turns them into the same `{"detail": ...}` shapes:

    raise NotFound("quote", quote_id)                        # 404 "quote ... not found"
    raise Conflict("the quote is approved; edit sends it back to draft")   # 409
    raise Invalid("valid_until is in the past")               # 422, detail a sentence
    raise Invalid.at(("body", "owner_id"), "is not active")   # 422, detail FastAPI's list
    raise NotYet("customer ... is not known here yet")       # 503 with Retry-After

A value the database itself refuses is a 422 too, a unique constraint that a
concurrent request won a 409, and a pool with no free connection a 503; so is a
database that cannot answer now (the connection lost, read-only after a failover,
silent past the command timeout, a statement past its statement or lock timeout).

The transaction the error left was rolled back by `Database.transaction()` before the
answer is written, so a refused request has changed nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, ClassVar

import asyncpg
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import exc as sa_exc

from .db import sqlstate as db_sqlstate
from .db import timed_out, unavailable

log = logging.getLogger(__name__)

#: Where a problem is, as FastAPI locates its own validation errors: ("body", "lines", 0, "quantity").
Location = tuple[str | int, ...]


class DomainError(Exception):
    """A request the domain refuses; `status_code` is the HTTP answer's."""

    status_code: ClassVar[int] = 400

    def __init__(self, message: str, *, detail: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self._detail = detail

    def detail(self) -> Any:
        """The answer's `detail`: the message, unless the error carries a structured one."""
        return self.message if self._detail is None else self._detail


class NotFound(DomainError):
    """No such record, or one the caller may not see (403 would tell a stranger it exists)."""

    status_code = 404

    def __init__(self, kind: str, key: object, *, message: str | None = None) -> None:
        super().__init__(message or f"{kind} {key} not found")
        self.kind = kind
        self.key = key


class Forbidden(DomainError):
    """The caller may see the record but not do this to it."""

    status_code = 403


class Conflict(DomainError):
    """The request is well formed, but the record's state does not allow it now."""

    status_code = 409


class Invalid(DomainError):
    """A value that passed the schema but not a rule that needs the data (an unknown
    product, an inactive owner). With `problems`, answered in FastAPI's own shape."""

    status_code = 422

    def __init__(self, message: str, *, problems: Sequence[tuple[Location, str]] = ()) -> None:
        detail = [{"loc": list(loc), "msg": msg, "type": "value_error"} for loc, msg in problems]
        super().__init__(message, detail=detail or None)

    @classmethod
    def at(cls, location: Location, message: str) -> Invalid:
        """One problem at `location`, e.g. `Invalid.at(("body", "owner_id"), "is not active")`."""
        return cls(message, problems=[(location, message)])

    @classmethod
    def many(cls, problems: Sequence[tuple[Location, str]]) -> Invalid:
        return cls("; ".join(msg for _, msg in problems), problems=problems)


class NotYet(DomainError):
    """What the request needs has not reached this service yet (an event on its way from
    another service): nothing was changed, and the same request may succeed shortly.
    Answered 503 with `Retry-After`, so a client retries instead of giving up."""

    status_code = 503

    def __init__(self, message: str, *, retry_after_s: int = 1) -> None:
        super().__init__(message)
        self.retry_after_s = max(1, retry_after_s)


class TooLarge(DomainError):
    """An upload or a request over a size the service takes."""

    status_code = 413


async def answer(request: Request, exc: Exception) -> JSONResponse:
    """`{"detail": ...}` with the error's status code."""
    assert isinstance(exc, DomainError)
    headers = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, NotYet) else None
    return JSONResponse({"detail": exc.detail()}, status_code=exc.status_code, headers=headers)


def install(app: FastAPI) -> None:
    """Answer every `DomainError` a route raises, and the database's refusals (done by
    `create_service_app`); document the sentence-shaped 422 in the OpenAPI."""
    app.add_exception_handler(DomainError, answer)
    app.add_exception_handler(sa_exc.DBAPIError, database_refused)
    app.add_exception_handler(sa_exc.TimeoutError, database_busy)
    # asyncpg's command timeout: the database stopped answering (a partition).
    app.add_exception_handler(TimeoutError, database_silent)
    _document_plain_422(app)


async def database_refused(request: Request, exc: Exception) -> Response:
    """A value the database cannot take (an integer past 64 bits, a NUL character in
    text, ...) is the caller's bad input: 422, not 500 (found by schemathesis). The
    transaction was rolled back, so nothing changed. Any other database error stays a 500."""
    assert isinstance(exc, sa_exc.DBAPIError)
    if exc.connection_invalidated:
        # The database restarted or the connection broke: nothing was done, try again.
        log.warning("database connection lost on %s %s: %s", request.method, request.url.path, exc.orig)
        return _try_again("the database connection was lost; nothing was changed, try again")
    if unavailable(exc) or timed_out(exc):
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc.orig)
        return _try_again("the database cannot do this right now; nothing was changed, try again")
    cause = exc.orig.__cause__ if exc.orig is not None else None
    sqlstate = db_sqlstate(exc)
    # Class 22 is "data exception"; asyncpg's DataError is a value it could not encode.
    if isinstance(cause, asyncpg.exceptions.DataError) or sqlstate.startswith("22"):
        reason = str(cause or exc.orig).split("\n")[0][:300]
        return JSONResponse(
            {
                "detail": [
                    {"loc": ["request"], "msg": f"a value cannot be stored: {reason}", "type": "value_error"}
                ]
            },
            status_code=422,
        )
    if sqlstate.startswith("23"):
        # Class 23 is "integrity constraint violation": a race another request won (the
        # same unique name at the same moment), since the use case checked before writing.
        log.warning("integrity conflict on %s %s: %s", request.method, request.url.path, exc.orig)
        return JSONResponse({"detail": "changed by someone else at the same moment"}, status_code=409)
    log.error("database error on %s %s", request.method, request.url.path, exc_info=exc)
    return PlainTextResponse("Internal Server Error", status_code=500)


async def database_busy(request: Request, exc: Exception) -> Response:
    """Every pooled connection stayed busy for the pool's whole timeout: the service is
    overloaded. Nothing was done; the caller may try again shortly."""
    log.warning("no database connection free in time on %s %s", request.method, request.url.path)
    return _try_again("the service is busy; nothing was changed, try again")


async def database_silent(request: Request, exc: Exception) -> Response:
    """The database did not answer within the command timeout (it is unreachable, or a
    partition swallowed the connection): an answer now, not a request hanging on it."""
    log.warning("the database did not answer in time on %s %s", request.method, request.url.path)
    return _try_again("the database did not answer in time; try again")


def _try_again(detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=503, headers={"Retry-After": "1"})


def _document_plain_422(app: FastAPI) -> None:
    """Services answer some 422s with a sentence in `detail` (a rule of the domain, not
    a field's type): say so in the OpenAPI document, which otherwise promises FastAPI's
    list of field errors only, so clients and schemathesis know both shapes."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            detail = schema.get("components", {}).get("schemas", {}).get("HTTPValidationError", {})
            listed = detail.get("properties", {}).get("detail")
            if listed is not None:
                detail["properties"]["detail"] = {"anyOf": [listed, {"type": "string"}], "title": "Detail"}
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
