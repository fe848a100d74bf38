"""The errors a use case raises, and the one handler that answers them over HTTP.

A use case says what went wrong in the domain's words; it never builds an HTTP
answer. Every refusal carries a stable `code` and the `params` a client needs to say
it in its own words, besides the English sentence:

    raise NotFound("quote", quote_id)                                       # 404, code not_found
    raise Conflict("the quote is approved; ...", code="quote.not_editable", params={"status": s})
    raise Invalid("valid_until is in the past", code="quote.valid_until_past")        # 422
    raise Invalid.at(("body", "owner_id"), "is not active", code="owner.inactive")   # 422 at a field
    raise NotYet("customer ... is not known here yet", code="customer.not_yet")    # 503, Retry-After

`create_service_app` installs the handlers, so every service answers the same RFC 9457
problem document (`application/problem+json`):

    {"type": "urn:crm:problem:quote.not_editable", "title": "Conflict", "status": 409,
     "code": "quote.not_editable", "params": {"status": "approved"},
     "detail": "the quote is approved; ..."}

`detail` stays what it always was (the English sentence, or for a 422 at fields the
list FastAPI gives, each item with `loc`, `msg`, `type` (its code) and `ctx` (its
params)), so a client that reads only `detail` keeps working. Request validation by
FastAPI answers the same shape with code `validation_failed`; each item's `type` is
pydantic's error type (`missing`, `greater_than_equal`, ...), and a validator's own
refusal raises `PydanticCustomError(code, message, params)`.

A value the database itself refuses is a 422 too, a unique constraint that a
concurrent request won a 409, and a pool with no free connection a 503; so is a
database that cannot answer now (the connection lost, read-only after a failover,
silent past the command timeout, a statement past its statement or lock timeout).

The transaction the error left was rolled back by `Database.transaction()` before the
answer is written, so a refused request has changed nothing.

The web UI says every code in the user's language (`problem.<code>` in the gateway's
catalogues); a test walks every code raised in the tree and fails when one is missing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any, ClassVar, NamedTuple

import asyncpg
from fastapi import FastAPI, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from .db import sqlstate as db_sqlstate
from .db import timed_out, unavailable

log = logging.getLogger(__name__)

#: Where a problem is, as FastAPI locates its own validation errors: ("body", "lines", 0, "quantity").
Location = tuple[str | int, ...]


#: The codes a refusal may carry without a `code=` of its own, one per kind of error.
DEFAULT_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
    500: "internal_error",
    502: "service_unavailable",
    503: "not_yet",
    504: "service_timeout",
}
#: The codes the handlers below give on their own.
VALIDATION_FAILED = "validation_failed"
VALUE_NOT_STORABLE = "value_not_storable"
CHANGED_CONCURRENTLY = "changed_concurrently"
TRY_AGAIN = "try_again"
#: Pydantic's error types a request to these services can meet (`detail[].type` of a
#: `validation_failed`); the UI has words for each, and a generic sentence for any other.
VALIDATION_TYPES = (
    "missing", "extra_forbidden", "json_invalid", "json_type", "model_type", "model_attributes_type",
    "dict_type", "list_type", "too_short", "too_long", "string_type", "string_too_short",
    "string_too_long", "string_pattern_mismatch", "int_type", "int_parsing", "int_from_float",
    "float_type", "float_parsing", "finite_number", "decimal_type", "decimal_parsing",
    "decimal_max_digits", "decimal_max_places", "decimal_whole_digits", "greater_than",
    "greater_than_equal", "less_than", "less_than_equal", "multiple_of", "bool_type", "bool_parsing",
    "date_type", "date_parsing", "date_from_datetime_parsing", "date_from_datetime_inexact",
    "datetime_type", "datetime_parsing", "datetime_from_date_parsing", "uuid_type", "uuid_parsing",
    "enum", "literal_error", "value_error", "url_parsing", "url_type", "set_type", "bytes_type",
)  # fmt: skip


class DomainError(Exception):
    """A request the domain refuses; `status_code` is the HTTP answer's, `code` the
    stable name of the refusal and `params` its facts (ids, names, numbers, states)."""

    status_code: ClassVar[int] = 400

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        params: Mapping[str, Any] | None = None,
        detail: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or DEFAULT_CODES.get(self.status_code, "refused")
        self.params: dict[str, Any] = dict(params or {})
        self._detail = detail

    def detail(self) -> Any:
        """The answer's `detail`: the message, unless the error carries a structured one."""
        return self.message if self._detail is None else self._detail


class NotFound(DomainError):
    """No such record, or one the caller may not see (403 would tell a stranger it exists).
    Code `not_found`, params `kind` (quote, customer, ...) and `key`."""

    status_code = 404

    def __init__(
        self, kind: str, key: object, *, message: str | None = None, code: str | None = None
    ) -> None:
        super().__init__(message or f"{kind} {key} not found", code=code, params={"kind": kind, "key": key})
        self.kind = kind
        self.key = key


class Forbidden(DomainError):
    """The caller may see the record but not do this to it."""

    status_code = 403


class Conflict(DomainError):
    """The request is well formed, but the record's state does not allow it now."""

    status_code = 409


class At(NamedTuple):
    """One problem at a field: where, the English sentence, its code and its params."""

    loc: Location
    message: str
    code: str
    params: Mapping[str, Any] = {}


def coded(code: str, message: str, **params: Any) -> dict[str, Any]:
    """An `HTTPException`'s detail that carries its code: `HTTPException(403, coded(...))`."""
    return {"code": code, "message": message, "params": params}


class Invalid(DomainError):
    """A value that passed the schema but not a rule that needs the data (an unknown
    product, an inactive owner). With `problems`, answered in FastAPI's own shape, each
    item's `type` the problem's code and `ctx` its params."""

    status_code = 422

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        params: Mapping[str, Any] | None = None,
        problems: Sequence[At] = (),
    ) -> None:
        detail = [
            {"loc": list(loc), "msg": msg, "type": kind, "ctx": dict(ctx)} for loc, msg, kind, ctx in problems
        ]
        super().__init__(message, code=code, params=params, detail=detail or None)

    @classmethod
    def at(
        cls, location: Location, message: str, *, code: str, params: Mapping[str, Any] | None = None
    ) -> Invalid:
        """One problem at `location`, e.g. `Invalid.at(("body", "owner_id"), "is not active", code=...)`."""
        return cls(message, code=code, params=params, problems=[At(location, message, code, params or {})])

    @classmethod
    def of_rule(cls, location: Location, exc: ValueError, *, default_code: str) -> Invalid:
        """A rule's ValueError at `location`: a `PydanticCustomError` keeps its code
        (`type`) and params (`context`), a plain one takes `default_code`."""
        code = getattr(exc, "type", default_code)
        return cls.at(location, str(exc), code=code, params=getattr(exc, "context", None))

    @classmethod
    def many(cls, problems: Sequence[At]) -> Invalid:
        """Several problems at their fields; the answer's own code is `invalid`."""
        return cls("; ".join(msg for _, msg, _, _ in problems), problems=problems)


class NotYet(DomainError):
    """What the request needs has not reached this service yet (an event on its way from
    another service): nothing was changed, and the same request may succeed shortly.
    Answered 503 with `Retry-After`, so a client retries instead of giving up."""

    status_code = 503

    def __init__(
        self, message: str, *, code: str | None = None, params: Mapping[str, Any] | None = None,
        retry_after_s: int = 1,
    ) -> None:  # fmt: skip
        super().__init__(message, code=code, params=params)
        self.retry_after_s = max(1, retry_after_s)


class TooLarge(DomainError):
    """An upload or a request over a size the service takes."""

    status_code = 413


PROBLEM_JSON = "application/problem+json"


def problem(
    status: int,
    detail: Any,
    *,
    code: str | None = None,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """An RFC 9457 problem document: `type`, `title`, `status`, `code`, `params`, and
    `detail` as every answer of these services has always carried it."""
    code = code or DEFAULT_CODES.get(status, "refused")
    body = {
        "type": f"urn:crm:problem:{code}",
        "title": _title(status),
        "status": status,
        "code": code,
        "params": jsonable_encoder(dict(params or {})),
        "detail": jsonable_encoder(detail),
        **jsonable_encoder(extra),
    }
    return JSONResponse(body, status_code=status, headers=dict(headers or {}), media_type=PROBLEM_JSON)


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


async def answer(request: Request, exc: Exception) -> JSONResponse:
    """The problem document of a `DomainError`, with its status code."""
    assert isinstance(exc, DomainError)
    headers = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, NotYet) else None
    return problem(exc.status_code, exc.detail(), code=exc.code, params=exc.params, headers=headers)


async def validation_failed(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's request validation, as a problem document: `detail` is FastAPI's list."""
    assert isinstance(exc, RequestValidationError)
    return problem(422, exc.errors(), code=VALIDATION_FAILED)


async def http_refused(request: Request, exc: Exception) -> Response:
    """An `HTTPException` (a 401 without a token, a 403 for a role, a route that does not
    exist): the same problem document, its code from the status unless the detail is
    `{"code": ..., "params": ..., "message": ...}`."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code < 400 or exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    detail = exc.detail
    code = params = None
    if isinstance(detail, dict) and "code" in detail:
        code, params, detail = detail["code"], detail.get("params"), detail.get("message", detail)
    return problem(exc.status_code, detail, code=code, params=params, headers=exc.headers)


def install(app: FastAPI) -> None:
    """Answer every `DomainError` a route raises, and the database's refusals (done by
    `create_service_app`); document the sentence-shaped 422 in the OpenAPI."""
    app.add_exception_handler(DomainError, answer)
    app.add_exception_handler(RequestValidationError, validation_failed)
    app.add_exception_handler(StarletteHTTPException, http_refused)
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
        refused = {
            "loc": ["request"],
            "msg": f"a value cannot be stored: {reason}",
            "type": VALUE_NOT_STORABLE,
        }
        return problem(422, [{**refused, "ctx": {}}], code=VALUE_NOT_STORABLE)
    if sqlstate.startswith("23"):
        # Class 23 is "integrity constraint violation": a race another request won (the
        # same unique name at the same moment), since the use case checked before writing.
        log.warning("integrity conflict on %s %s: %s", request.method, request.url.path, exc.orig)
        return problem(409, "changed by someone else at the same moment", code=CHANGED_CONCURRENTLY)
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
    return problem(503, detail, code=TRY_AGAIN, headers={"Retry-After": "1"})


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
