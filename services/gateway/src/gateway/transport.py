"""The gateway's HTTP client for the services: aiohttp's connection pool, nothing on top.

Every request a user makes goes through here, so it is kept thin. httpx's pool
(httpcore) polled every pooled connection's socket on every request, a third of the
gateway's CPU per proxied read under `make bench`; httpx's own URL, header and cookie
models on top of aiohttp's were another tenth. The gateway needs none of them: it
passes bytes and a few headers through.

Idle connections are dropped after `keepalive_s`, which must be shorter than the
services' own idle keep-alive: a service closes an idle connection on its own clock,
and a request written onto it just then gets no answer. aiohttp resends only
idempotent requests in that case; a POST would be a 502 for a request the service
never saw.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import aiohttp
from yarl import URL


@dataclass(frozen=True)
class Answer:
    """What a service answered."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class UpstreamError(Exception):
    """No answer from the service."""


class UpstreamTimeout(UpstreamError):
    """The service did not answer in time (the gateway answers 504)."""


class UpstreamUnavailable(UpstreamError):
    """The service refused or broke the connection (the gateway answers 502)."""


#: Sends one request: (method, url, headers, body) -> the service's answer.
Send = Callable[[str, str, Mapping[str, str], bytes], Awaitable[Answer]]


class AiohttpUpstream:
    """A `Send` over one pooled aiohttp session, opened on first use."""

    def __init__(
        self,
        *,
        timeout_s: float,
        connect_timeout_s: float,
        keepalive_s: float,
        max_connections: int = 100,
    ) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout_s, connect=connect_timeout_s)
        self._keepalive_s = keepalive_s
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self._max_connections, keepalive_timeout=self._keepalive_s
                ),
                timeout=self._timeout,
                # Bodies pass through as the service sent them.
                auto_decompress=False,
                # Service-to-service traffic must not go through an HTTP(S)_PROXY.
                trust_env=False,
                skip_auto_headers=("User-Agent", "Accept-Encoding"),
            )
        return self._session

    async def __call__(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> Answer:
        try:
            async with self._client().request(
                method,
                # As given: the path stays percent-encoded exactly as the caller sent it.
                URL(url, encoded=True) if url.isascii() else URL(url),
                headers=headers,
                data=body or None,
                allow_redirects=False,
            ) as answer:
                return Answer(answer.status, answer.headers, await answer.read())
        except TimeoutError as exc:  # aiohttp's own timeouts are TimeoutErrors too
            raise UpstreamTimeout(f"no answer in time: {type(exc).__name__}") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamUnavailable(f"{type(exc).__name__}: {exc}") from exc

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
