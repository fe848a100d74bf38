"""Forwards every /api/... request the gateway does not serve itself to its owner.

The gateway checks the token first, so an anonymous caller never reaches a
service; each service still verifies the forwarded token itself.
"""

from __future__ import annotations

import logging
from typing import Annotated

import httpx
from fastapi import APIRouter, Depends, HTTPException, Request, Response, status

from crm_kit.auth import current_user
from crm_kit.context import current_correlation_id
from crm_kit.http import CORRELATION_HEADER
from crm_kit.service import Runtime

from . import domain
from .settings import GatewaySettings
from .transport import AiohttpTransport

log = logging.getLogger(__name__)

#: Request headers a service needs; cookies, Host and the like stay at the gateway.
FORWARDED_REQUEST_HEADERS = ("authorization", "content-type", "accept", "accept-language")
#: Response headers the caller needs besides the body.
RETURNED_RESPONSE_HEADERS = ("content-type", "location", "retry-after", "www-authenticate")


class Upstreams:
    """One HTTP client (and its connection pool) for the app's lifetime."""

    def __init__(self, settings: GatewaySettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    async def start(self, runtime: Runtime) -> None:
        """A `create_service_app` startup hook."""
        self._client = httpx.AsyncClient(
            transport=self._transport or AiohttpTransport(keepalive_s=self.settings.upstream_keepalive_s),
            timeout=httpx.Timeout(
                self.settings.upstream_timeout_s, connect=self.settings.upstream_connect_timeout_s
            ),
            follow_redirects=False,
            # Service-to-service traffic must not go through an HTTP(S)_PROXY
            # meant for the outside world.
            trust_env=False,
        )

    async def close(self, runtime: Runtime | None = None) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            raise RuntimeError("the upstream client is not started")
        return self._client


async def get_upstreams(request: Request) -> Upstreams:
    upstreams: Upstreams = request.app.state.upstreams
    return upstreams


UpstreamsDep = Annotated[Upstreams, Depends(get_upstreams)]

router = APIRouter()


@router.api_route(
    "/api/{path:path}",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
    include_in_schema=False,
    # Verified here first: a request without a valid token never reaches a service.
    dependencies=[Depends(current_user)],
)
async def forward(request: Request, upstreams: UpstreamsDep) -> Response:
    target = domain.owning_service(request.url.path)
    if target is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no route for {request.url.path}")
    upstream_request = upstreams.client.build_request(
        request.method,
        _target_url(upstreams.settings.service_url(target), request),
        headers=_forwarded_headers(request),
        content=await _read_body(request, upstreams.settings.max_body_bytes),
    )
    try:
        upstream = await upstreams.client.send(upstream_request)
    except httpx.TimeoutException as exc:
        log.warning("%s timed out on %s %s", target, request.method, request.url.path)
        raise HTTPException(status.HTTP_504_GATEWAY_TIMEOUT, f"{target} timed out") from exc
    except httpx.TransportError as exc:
        log.warning("%s is unavailable: %s: %s", target, type(exc).__name__, exc)
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, f"{target} is unavailable") from exc
    return Response(
        content=upstream.content,
        status_code=upstream.status_code,
        headers={k: v for k in RETURNED_RESPONSE_HEADERS if (v := upstream.headers.get(k))},
    )


def _target_url(base: str, request: Request) -> httpx.URL:
    # The raw (still percent-encoded) path, so an encoded "/" inside an id stays one segment.
    raw_path: bytes = request.scope.get("raw_path") or request.url.path.encode()
    return httpx.URL(base + raw_path.decode("latin-1"), query=request.scope["query_string"])


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
            raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"request body is over {limit} bytes")
    return bytes(body)
