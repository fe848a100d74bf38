"""An httpx transport over aiohttp's connection pool, for the gateway's upstream traffic.

httpcore's pool checks every pooled connection's socket on every request (a poll per
connection through anyio): with a few dozen keep-alive connections to the services,
that was a third of the gateway's CPU per proxied read under `make bench`. aiohttp's
pool keeps idle connections per host and hands one out without polling. The gateway
keeps httpx's API (and tests keep injecting `httpx.MockTransport`); only the wire
underneath changes.

Idle connections are dropped after `keepalive_s`, which must be shorter than the
services' own idle keep-alive: a service closes an idle connection on its own clock,
and a request written onto it just then gets no answer. aiohttp resends only idempotent
requests in that case; a POST would be a 502 for a request the service never saw.

Failures become the httpx exceptions the proxy already maps: no answer in time is a
`TimeoutException` (504), a refused or broken connection a `TransportError` (502).
"""

from __future__ import annotations

import aiohttp
import httpx


class AiohttpTransport(httpx.AsyncBaseTransport):
    def __init__(self, *, keepalive_s: float, max_connections: int = 100) -> None:
        self._keepalive_s = keepalive_s
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self._max_connections, keepalive_timeout=self._keepalive_s
                ),
                # Bodies pass through as the service sent them.
                auto_decompress=False,
                # Service-to-service traffic must not go through an HTTP(S)_PROXY.
                trust_env=False,
                skip_auto_headers=("User-Agent", "Accept-Encoding"),
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        timeout = aiohttp.ClientTimeout(
            connect=timeouts.get("connect"), sock_read=timeouts.get("read"), total=None
        )
        try:
            async with self._client().request(
                request.method,
                str(request.url),
                headers=list(request.headers.multi_items()),
                data=await request.aread(),
                timeout=timeout,
                allow_redirects=False,
            ) as answer:
                body = await answer.read()
                return httpx.Response(
                    answer.status, headers=answer.raw_headers, content=body, request=request
                )
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise httpx.ReadTimeout(f"no answer in time: {exc}", request=request) from exc
        except aiohttp.ClientConnectorError as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc
        except aiohttp.ClientError as exc:
            raise httpx.ReadError(f"{type(exc).__name__}: {exc}", request=request) from exc

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
