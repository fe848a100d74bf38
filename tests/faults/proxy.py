"""A TCP proxy the fault tests put between a service and RabbitMQ or Postgres.

It runs its own event loop in a thread of its own, so it keeps forwarding while
the test blocks (`Stack.wait_ready` sleeps) and it can be taken down, cut or slowed
without touching the real server, which other runs on this machine share:

    proxy = TcpProxy("127.0.0.1", 5432)       # services connect to proxy.port
    proxy.down()    # every connection closed, new ones refused: "the server is gone"
    proxy.up()
    proxy.cut()     # every connection closed, new ones accepted: "a network blip"
    proxy.latency = 0.005                      # each chunk forwarded 5 ms late
    proxy.blackhole()   # a partition: connections stay open, not a byte gets through
    proxy.heal()        # the partition's connections reset, new ones forwarded again

In a black hole nothing is closed or reset (no FIN, no RST): what was sent is dropped,
both ways, and a new connection is accepted and swallowed too, so only a timeout of the
client's own can tell. It ends as a failover does: the connections it swallowed are
reset (their bytes are lost; the server behind gave up on them), new ones work.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any

from ..harness import free_port_block


class TcpProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        # Below the ephemeral range: while the proxy is down, a client's own source
        # port can never be this one (no TCP self-connect, and the port stays ours).
        self.port = free_port_block(1)
        self.latency = 0.0
        #: Connections accepted so far (a reconnect shows here).
        self.accepted = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        #: While set, nothing is forwarded (`blackhole`).
        self._dropping = False
        #: The connections a black hole swallowed, reset when it heals.
        self._swallowed: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"proxy-{self.port}", daemon=True)
        self._thread.start()
        self.up()

    def _call(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=30)

    # -- control ---------------------------------------------------------------------

    def up(self) -> None:
        self._call(self._listen())

    def down(self) -> None:
        self._call(self._stop_listening())
        self.cut()

    def cut(self) -> None:
        self._call(self._close_all())

    def blackhole(self) -> None:
        self._call(self._start_dropping())

    def heal(self) -> None:
        self._call(self._stop_dropping())

    def close(self) -> None:
        self.down()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    # -- in the proxy's loop ---------------------------------------------------------

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, reuse_address=True)

    async def _stop_listening(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    async def _start_dropping(self) -> None:
        self._dropping = True
        self._swallowed |= self._writers

    async def _stop_dropping(self) -> None:
        self._dropping = False
        for writer in list(self._swallowed):
            writer.transport.abort()
        self._writers -= self._swallowed
        self._swallowed.clear()

    async def _close_all(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()  # a reset, as when a cable is pulled or a server dies
        self._writers.clear()

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self._dropping:
            await self._swallow(client_reader, client_writer)
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_writer.transport.abort()
            return
        self._writers |= {client_writer, upstream_writer}
        await asyncio.gather(
            self._pipe(client_reader, upstream_writer, client_writer),
            self._pipe(upstream_reader, client_writer, upstream_writer),
        )

    async def _swallow(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """A connection made into a black hole: accepted, read, never answered."""
        self._writers.add(writer)
        self._swallowed.add(writer)
        try:
            while await reader.read(65536):
                pass
        except OSError:
            pass
        finally:
            self._writers.discard(writer)
            writer.transport.abort()

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, other: asyncio.StreamWriter
    ) -> None:
        try:
            while chunk := await reader.read(65536):
                if self.latency:
                    await asyncio.sleep(self.latency)
                if self._dropping or writer in self._swallowed:
                    continue  # into the black hole
                writer.write(chunk)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            for end in (writer, other):
                self._writers.discard(end)
                end.transport.abort()
