"""Forwards every /api/... request the gateway does not serve itself to its owner.

The gateway checks the token first, so an anonymous caller never reaches a
service; each service still verifies the forwarded token itself.

Every request a user makes passes here, so the forwarding is a plain ASGI endpoint
rather than a FastAPI route (no dependency resolution, no request and response
models: a fifth of the gateway's CPU per proxied read under `make bench`), and the
client is aiohttp's pool with nothing on top (`transport.py`).
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from starlette.routing import Match, Route
from starlette.types import Receive, Scope, Send

from crm_kit import errors, tracing
from crm_kit.auth import authenticate
from crm_kit.context import current_correlation_id
from crm_kit.http import CORRELATION_HEADER
from crm_kit.runtime import Runtime

from . import domain, transport
from .settings import GatewaySettings

log = logging.getLogger(__name__)

#: Request headers a service needs; cookies, Host and the like stay at the gateway.
FORWARDED_REQUEST_HEADERS = ("authorization", "content-type", "accept", "accept-language")
#: Response headers the caller needs besides the body (a document's file name too).
RETURNED_RESPONSE_HEADERS = (
    "content-type",
    "content-disposition",
    "location",
    "retry-after",
    "www-authenticate",
)


class Upstreams:
    """The services, as the gateway reaches them: one connection pool for the app's lifetime."""

    def __init__(self, settings: GatewaySettings, send: transport.Send | None = None) -> None:
        """`send` replaces the HTTP client (tests stand in for the services with it)."""
        self.settings = settings
        self._given = send
        self._client: transport.AiohttpUpstream | None = None

    async def start(self, runtime: Runtime) -> None:
        """A `create_service_app` startup hook."""
        if self._given is None:
            self._client = transport.AiohttpUpstream(
                timeout_s=self.settings.upstream_timeout_s,
                connect_timeout_s=self.settings.upstream_connect_timeout_s,
                keepalive_s=self.settings.upstream_keepalive_s,
            )

    async def close(self, runtime: Runtime | None = None) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def request(
        self, method: str, url: str, headers: dict[str, str], body: bytes = b""
    ) -> transport.Answer:
        """The service's answer; `transport.UpstreamTimeout` or `UpstreamUnavailable` if none came."""
        send = self._given or self._client
        if send is None:
            raise RuntimeError("the upstreams are not started")
        # A client span whose `traceparent` the service's server span continues.
        with tracing.outgoing(method, url, headers) as traced:
            answer = await send(method, url, traced, body)
            tracing.answered(answer.status)
            return answer


async def get_upstreams(request: Request) -> Upstreams:
    upstreams: Upstreams = request.app.state.upstreams
    return upstreams


UpstreamsDep = Annotated[Upstreams, Depends(get_upstreams)]


class Forward:
    """The ASGI endpoint of `/api/{path}` for the paths the gateway does not serve."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        # Verified here first: a request without a valid token never reaches a service
        # (nor learns which paths exist).
        await authenticate(request)
        path: str = scope["path"]
        target = domain.owning_service(path)
        if target is None:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, errors.coded("route.unknown", f"no route for {path}", path=path)
            )
        upstreams: Upstreams = request.app.state.upstreams
        try:
            answer = await upstreams.request(
                request.method,
                _target_url(upstreams.settings.service_url(target), request),
                _forwarded_headers(request),
                await _read_body(request, upstreams.settings.max_body_bytes),
            )
        except transport.UpstreamTimeout as exc:
            log.warning("%s timed out on %s %s", target, request.method, path)
            raise HTTPException(
                status.HTTP_504_GATEWAY_TIMEOUT,
                errors.coded("service_timeout", f"{target} timed out", service=target),
            ) from exc
        except transport.UpstreamUnavailable as exc:
            log.warning("%s is unavailable: %s", target, exc)
            raise HTTPException(
                status.HTTP_502_BAD_GATEWAY,
                errors.coded("service_unavailable", f"{target} is unavailable", service=target),
            ) from exc
        response = Response(
            content=answer.body,
            status_code=answer.status,
            headers={k: v for k in RETURNED_RESPONSE_HEADERS if (v := answer.headers.get(k))},
        )
        await response(scope, receive, send)


class _ServicePaths(Route):
    """Matches the paths a service owns, and only them, before any other route.

    Checked first, it spares every proxied request the match against each of the
    gateway's own routes and pages (a tenth of the gateway's CPU per proxied read);
    the gateway's own `/api/...` paths belong to no service, so they still reach theirs.
    """

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http" or domain.owning_service(scope["path"]) is None:
            return Match.NONE, {}
        return super().matches(scope)


METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
_forward = Forward()
#: First among the app's routes (`create_app` puts it there; `include_router` would
#: rebuild it as a plain route): what a service owns goes straight to it.
service_paths = _ServicePaths("/api/{path:path}", _forward, methods=METHODS, include_in_schema=False)
#: Included last: any other `/api/...` path is checked (401 before 404) and refused.
router = APIRouter()
router.routes.append(Route("/api/{path:path}", _forward, methods=METHODS, include_in_schema=False))


def _target_url(base: str, request: Request) -> str:
    # The raw (still percent-encoded) path, so an encoded "/" inside an id stays one segment.
    raw_path: bytes = request.scope.get("raw_path") or request.scope["path"].encode()
    url = base + raw_path.decode("latin-1")
    query: bytes = request.scope["query_string"]
    return f"{url}?{query.decode('latin-1')}" if query else url


def _forwarded_headers(request: Request) -> dict[str, str]:
    headers = {k: v for k in FORWARDED_REQUEST_HEADERS if (v := request.headers.get(k))}
    # The id the gateway's middleware accepted or minted, so the flow keeps one id.
    headers[CORRELATION_HEADER] = current_correlation_id()
    return headers


async def _read_body(request: Request, limit: int) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise errors.TooLarge(
                f"request body is over {limit} bytes",
                code="request.body_too_large",
                params={"limit_bytes": limit},
            )
    return bytes(body)
