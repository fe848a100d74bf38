"""The gateway's upstream client against a service that closes idle connections.

A service (uvicorn) drops a keep-alive connection that stayed idle past its own
timeout. A request written onto that connection at that moment is never answered;
for a POST aiohttp does not resend, and the caller got a 502 for a request the
service never saw. The transport must therefore drop idle connections before the
service does. The fake service below makes that race certain: it answers the first
request on a connection and closes, without answering, any later one that comes after
more than its idle time.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn

from gateway.settings import GatewaySettings
from gateway.transport import AiohttpUpstream, UpstreamUnavailable

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
SERVICE_IDLE_S = 0.3
ANSWER = b"HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"


@dataclass
class ClosingService:
    """Answers keep-alive requests; closes unanswered a request after an idle gap."""

    url: str = ""
    connections: int = 0
    dropped: int = 0
    server: asyncio.Server | None = field(default=None, repr=False)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        loop = asyncio.get_running_loop()
        answered_at: float | None = None
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                length = re.search(rb"content-length: *(\d+)", head, re.I)
                await reader.readexactly(int(length[1]) if length else 0)
                if answered_at is not None and loop.time() - answered_at > SERVICE_IDLE_S:
                    self.dropped += 1
                    return
                writer.write(ANSWER)
                await writer.drain()
                answered_at = loop.time()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def service() -> AsyncIterator[ClosingService]:
    fake = ClosingService()
    fake.server = await asyncio.start_server(fake.handle, "127.0.0.1", 0)
    fake.url = f"http://127.0.0.1:{fake.server.sockets[0].getsockname()[1]}"
    yield fake
    fake.server.close()
    await fake.server.wait_closed()


async def two_posts_with_an_idle_gap(service: ClosingService, keepalive_s: float) -> list[int]:
    send = AiohttpUpstream(timeout_s=5, connect_timeout_s=5, keepalive_s=keepalive_s)
    post = ("POST", f"{service.url}/api/quotes", {"content-type": "application/json"}, b"{}")
    try:
        statuses = [(await send(*post)).status]
        await asyncio.sleep(SERVICE_IDLE_S + 0.2)
        statuses.append((await send(*post)).status)
    finally:
        await send.close()
    return statuses


async def test_a_post_after_the_services_idle_time_goes_on_a_new_connection(service: ClosingService) -> None:
    assert await two_posts_with_an_idle_gap(service, keepalive_s=SERVICE_IDLE_S / 2) == [201, 201]
    assert (service.connections, service.dropped) == (2, 0)


async def test_reusing_a_connection_the_service_has_dropped_loses_the_post(service: ClosingService) -> None:
    """The failure the keep-alive setting prevents, shown on purpose."""
    with pytest.raises(UpstreamUnavailable):
        await two_posts_with_an_idle_gap(service, keepalive_s=SERVICE_IDLE_S * 10)
    assert service.dropped == 1


def test_the_gateway_drops_idle_connections_before_the_services_do() -> None:
    services_keepalive_s = uvicorn.Config("crm_kit:app").timeout_keep_alive
    assert GatewaySettings().upstream_keepalive_s < services_keepalive_s
    # Nothing that starts a service shortens uvicorn's keep-alive under the gateway's.
    launchers = [ROOT / "deploy/local/stack.py", ROOT / "deploy/docker/entrypoint.sh"]
    launchers += sorted((ROOT / "deploy/k8s").rglob("*.yaml"))
    assert not [p.name for p in launchers if "timeout-keep-alive" in p.read_text()]
