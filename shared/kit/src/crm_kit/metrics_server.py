"""`/metrics` on a port of its own (METRICS_PORT): a second, tiny ASGI server in the
service's process, serving only the metrics route.

The main port is what the Ingress exposes to the world; metrics (queue names, table
sizes, error counts) are for the cluster's monitoring only. On their own port a
NetworkPolicy can let only the monitoring namespace reach them (deploy/k8s).

The server binds its socket itself, so a port already taken fails the service's start
with an `OSError` naming it (uvicorn would `sys.exit` from inside a task), and it
leaves the process's signal handling to the main uvicorn server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

from .routes import metrics_router
from .runtime import Runtime

log = logging.getLogger(__name__)

#: How long the start waits for the server to listen.
START_TIMEOUT_S = 10.0


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves SIGTERM and SIGINT to the process's main server."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class MetricsServer:
    """Serves `GET /metrics` of `runtime` on `host`:`port` while started."""

    def __init__(self, runtime: Runtime, host: str, port: int) -> None:
        self.host, self.port = host, port
        app = FastAPI(title="metrics", openapi_url=None, docs_url=None, redoc_url=None)
        app.include_router(metrics_router(runtime))
        config = uvicorn.Config(app, lifespan="off", access_log=False, log_config=None)
        self._server = _QuietServer(config)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise OSError(exc.errno, f"metrics port {self.host}:{self.port}: {exc.strerror}") from exc
        sock.setblocking(False)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="metrics-server")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT_S
        while not self._server.started:
            if self._task.done() or loop.time() > deadline:
                await self.stop()
                raise RuntimeError(f"the metrics server on port {self.port} did not start")
            await asyncio.sleep(0.01)
        log.info("metrics on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        if self._task is None:
            return
        self._server.should_exit = True
        try:
            await self._task
        finally:
            self._task = None
