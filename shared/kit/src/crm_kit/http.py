"""HTTP pieces every service shares: correlation ids, metrics, health, paging."""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, HTTPException, Query, status
from pydantic import BaseModel, model_validator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import context, metrics
from .errors import coded

CORRELATION_HEADER = "x-correlation-id"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")

T = TypeVar("T")

MAX_PAGE_SIZE = 200
#: Postgres takes a 64-bit OFFSET; a larger one was a 500 (found by schemathesis). No
#: list comes near this, so past it is a 422 naming `offset`.
MAX_OFFSET = 1_000_000_000
#: Largest request body a service reads (413 above it). The gateway forwards at most
#: its own, smaller limit; this one guards a service called directly.
MAX_BODY_BYTES = 8 * 1024 * 1024


#: The longest `cursor` a list takes (it holds a few sort values, base64).
MAX_CURSOR = 500


class PageParams(BaseModel):
    limit: int = 50
    offset: int = 0
    #: The `next_cursor` of the page before: the rows after its last one (keyset paging);
    #: `offset` is then ignored.
    cursor: str | None = None


async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="page size")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    cursor: Annotated[
        str | None,
        Query(
            max_length=MAX_CURSOR,
            description="the previous page's `next_cursor`: the page after it, found by an index "
            "however deep (instead of `offset`)",
        ),
    ] = None,
) -> PageParams:
    return PageParams(limit=limit, offset=offset, cursor=cursor or None)


Paging = Annotated[PageParams, Depends(page_params)]


class Page(BaseModel, Generic[T]):
    """One page of a list. `total` counts the matching rows up to `crm_kit.queries.COUNT_CAP`:
    past it `total` is the cap and `total_capped` is true ("more than 10,000"), so no page
    counts a million rows. `next_cursor`, when there may be more, asks for the next page by
    keyset (`?cursor=`), as fast at row 500,000 as at row 50."""

    items: list[T]
    total: int
    total_capped: bool = False
    next_cursor: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_counted(cls, data: Any) -> Any:
        """A `Total` from `crm_kit.queries` carries whether it was capped and the cursor of
        the next page, so every list that answers `Page(items=..., total=total)` says so."""
        if isinstance(data, dict):
            total = data.get("total")
            capped = getattr(total, "capped", None)
            if capped is not None and isinstance(total, int):
                data = dict(data)
                data.setdefault("total_capped", capped)
                data.setdefault("next_cursor", getattr(total, "next_cursor", None))
                data["total"] = int(total)
        return data


class RequestContextMiddleware:
    """Carries the correlation id in and out, and times every request by route template."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope["headers"]:
            if name == b"x-correlation-id":
                incoming = value.decode("latin-1")
                break
        cid = incoming if incoming and _SAFE_ID.match(incoming) else context.new_correlation_id()
        token = context.correlation_id.set(cid)
        started = time.perf_counter()
        status_code = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-correlation-id", cid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            metrics.HTTP_REQUESTS.labels(self.service, scope["method"], template, str(status_code)).observe(
                time.perf_counter() - started
            )
            context.correlation_id.reset(token)


class BodyTooLarge(Exception):
    pass


class BodySizeLimitMiddleware:
    """413 for a request body over `limit` bytes, before it is read into memory: by its
    Content-Length when it has one, else as it streams in."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send)
            return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps(
            {
                "type": "urn:crm:problem:too_large",
                "title": "Content Too Large",
                "status": 413,
                "code": "too_large",
                "params": {"limit_bytes": self.limit},
                "detail": f"request body is over {self.limit} bytes",
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def not_found(kind: str, key: object) -> HTTPException:
    """404 for a record that does not exist *or* that the caller may not see
    (answering 403 would tell a stranger that it exists)."""
    return HTTPException(
        status.HTTP_404_NOT_FOUND, coded("not_found", f"{kind} {key} not found", kind=kind, key=str(key))
    )


class Holdings(BaseModel):
    """What one service still holds for a member of staff: `GET /api/portfolio/{user_id}`
    on each service (admin, sales_manager), summed by the gateway's
    `GET /api/users/{id}/portfolio`. Zero everywhere once a hand-over is done.
    The kinds must not overlap (the gateway adds them up)."""

    service: str
    user_id: uuid.UUID
    holdings: dict[str, int]
