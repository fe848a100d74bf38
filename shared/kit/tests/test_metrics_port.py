"""Metrics on a port of their own (METRICS_PORT): the main port, which the Ingress
exposes, answers 404 for /metrics, and a second server in the same process serves
only /metrics on the metrics port, which only the cluster's monitoring reaches."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from crm_kit.assembly import create_service_app
from crm_kit.auth import generate_keypair
from crm_kit.db import Database
from crm_kit.settings import ServiceSettings
from crm_testkit.infra import Infra

pytestmark = pytest.mark.integration

SERVICES = ["metsvc"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def settings_for(infra: Infra, database: Database, namespace: str, **overrides: object) -> ServiceSettings:
    return ServiceSettings.model_validate(
        {
            "service_name": "metsvc",
            "amqp_url": infra.amqp_url,
            "database_url": database.url,
            "bus_namespace": namespace,
            "jwt_public_key": generate_keypair()[1],
            "retention_enabled": False,
            **overrides,
        }
    )


@asynccontextmanager
async def started(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://metsvc") as http:
            yield http


async def test_with_a_metrics_port_only_that_port_serves_metrics(
    infra: Infra, database: Database, namespace: str
) -> None:
    port = free_port()
    settings = settings_for(infra, database, namespace, metrics_port=port, metrics_host="127.0.0.1")
    app = create_service_app(settings, title="metrics")
    async with started(app) as main, httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as side:
        assert (await main.get("/metrics")).status_code == 404
        assert (await main.get("/healthz")).status_code == 200
        scrape = await side.get("/metrics")
        assert scrape.status_code == 200
        assert scrape.headers["content-type"].startswith("text/plain")
        assert 'crm_outbox_pending{service="metsvc"}' in scrape.text
        # The metrics server serves nothing else.
        assert (await side.get("/healthz")).status_code == 404
        assert (await side.get("/api/portfolio/x")).status_code == 404
    with pytest.raises(httpx.ConnectError):  # stopped with the service
        async with httpx.AsyncClient() as after:
            await after.get(f"http://127.0.0.1:{port}/metrics")


async def test_without_a_metrics_port_the_main_port_serves_metrics(
    infra: Infra, database: Database, namespace: str
) -> None:
    app = create_service_app(settings_for(infra, database, namespace), title="metrics")
    async with started(app) as main:
        scrape = await main.get("/metrics")
        assert scrape.status_code == 200 and 'crm_outbox_pending{service="metsvc"}' in scrape.text


async def test_a_taken_metrics_port_stops_the_start_with_a_clear_error(
    infra: Infra, database: Database, namespace: str
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        settings = settings_for(infra, database, namespace, metrics_port=port, metrics_host="127.0.0.1")
        app = create_service_app(settings, title="metrics")
        with pytest.raises(OSError, match=str(port)):
            async with started(app):
                pass


def test_the_metrics_port_is_a_port() -> None:
    with pytest.raises(ValueError):
        ServiceSettings(metrics_port=70000)
    with pytest.raises(ValueError):
        ServiceSettings(metrics_port=0)


APP = """
from crm_kit.assembly import create_service_app
from crm_kit.settings import ServiceSettings

app = create_service_app(ServiceSettings(), title="metsvc")
"""


async def test_a_uvicorn_process_with_a_metrics_port_serves_both_and_stops_on_sigterm(
    infra: Infra, database: Database, namespace: str, tmp_path: Path
) -> None:
    """In a real process the second server leaves SIGTERM to uvicorn's own handling: the
    service stops cleanly, and the metrics port with it."""
    (tmp_path / "metsvc_app.py").write_text(APP)
    port, metrics_port = free_port(), free_port()
    env = {
        **os.environ,
        "SERVICE_NAME": "metsvc",
        "AMQP_URL": infra.amqp_url,
        "DATABASE_URL": database.url,
        "BUS_NAMESPACE": namespace,
        "JWT_PUBLIC_KEY": generate_keypair()[1],
        "RETENTION_ENABLED": "false",
        "METRICS_PORT": str(metrics_port),
        "METRICS_HOST": "127.0.0.1",
        "PYTHONPATH": str(tmp_path),
    }
    command = [sys.executable, "-m", "uvicorn", "metsvc_app:app", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # noqa: ASYNC220
    try:
        async with httpx.AsyncClient(timeout=2) as http:
            for _ in range(300):
                try:
                    if (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.poll() is None, "the service did not start"
                await asyncio.sleep(0.1)
            assert (await http.get(f"http://127.0.0.1:{port}/metrics")).status_code == 404
            assert (await http.get(f"http://127.0.0.1:{metrics_port}/metrics")).status_code == 200
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.to_thread(process.communicate, None, 30)
        # uvicorn re-raises the signal once it has shut down: the status says SIGTERM.
        assert process.returncode in (0, -signal.SIGTERM), output.decode()[-2000:]
        assert b'"msg": "metsvc stopped"' in output, "the lifespan did not finish"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as after:
            await after.get(f"http://127.0.0.1:{metrics_port}/metrics")
