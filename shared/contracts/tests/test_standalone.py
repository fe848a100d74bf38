"""The contracts package alone is enough to subscribe: the built wheel, installed in a
fresh virtual environment with nothing else but its declared dependencies, runs the
documented subscriber (docs/examples/subscriber.py) against a real RabbitMQ.

Integration level: it builds with uv (hatchling and the dependencies come from uv's
cache or PyPI) and needs the RabbitMQ at AMQP_URL.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
import zipfile
from datetime import UTC, datetime
from email.parser import HeaderParser
from pathlib import Path

import aio_pika
import pytest

from crm_contracts import CustomerPromotedToTraditional, Envelope
from crm_testkit.infra import Infra, delete_namespace, unique_namespace
from crm_testkit.subscriber import example_subscriber, publish_as_relay

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "shared" / "contracts"


def _uv(*args: str, cwd: Path) -> None:
    uv = shutil.which("uv")
    assert uv is not None, "uv is not on PATH (`make install` installs it)"
    # Nothing of the workspace's environment may leak into the fresh one.
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"}}
    done = subprocess.run([uv, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"uv {' '.join(args)}: {done.stderr}"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    _uv("build", "--package", "crm-contracts", "--wheel", "--out-dir", str(out), cwd=ROOT)
    [built] = out.glob("crm_contracts-*.whl")
    return built


@pytest.fixture(scope="module")
def python(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The interpreter of a fresh venv holding only the wheel, its `amqp` extra and their dependencies."""
    where = tmp_path_factory.mktemp("venv")
    _uv("venv", "--quiet", "--python", sys.executable, str(where / "venv"), cwd=where)
    interpreter = where / "venv" / "bin" / "python"
    _uv("pip", "install", "--quiet", "--python", str(interpreter), f"{wheel}[amqp]", cwd=where)
    return interpreter


def test_the_wheel_carries_its_licence_readme_and_metadata(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        info = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = HeaderParser().parsestr(archive.read(info).decode())
        licence = archive.read(next(n for n in names if n.endswith(".dist-info/licenses/LICENSE")))
    assert licence.decode() == (ROOT / "LICENSE").read_text()
    assert metadata["License-Expression"] == "MIT"
    assert metadata["Requires-Python"] == ">=3.11"
    assert "Provides-Extra: amqp" in str(metadata)
    assert metadata.get_payload().strip() == (PACKAGE / "README.md").read_text().strip()
    # The README tells how to install this very wheel.
    assert f"dist/{wheel.name}[amqp]" in (PACKAGE / "README.md").read_text()


def _run(python: Path, code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(python), "-I", "-c", code], capture_output=True, text=True, timeout=30)


def test_the_fresh_environment_has_the_contracts_and_nothing_of_the_workspace(python: Path) -> None:
    found = _run(python, "import crm_contracts, aio_pika; print(crm_contracts.__file__)")
    assert found.returncode == 0, found.stderr
    assert Path(found.stdout.strip()).is_relative_to(python.parents[1])
    for workspace_only in ("crm_kit", "crm_testkit", "faststream", "sales"):
        missing = _run(python, f"import {workspace_only}")
        assert "ModuleNotFoundError" in missing.stderr, workspace_only


async def test_the_documented_subscriber_runs_from_the_wheel_alone(python: Path, infra: Infra) -> None:
    namespace = unique_namespace("contracts")
    try:
        async with example_subscriber(python, infra.amqp_url, namespace, isolated=True) as subscriber:
            event = CustomerPromotedToTraditional(
                customer_id=uuid.uuid4(), name="Công ty Bên Ngoài", promoted_at=datetime.now(UTC)
            )
            connection = await aio_pika.connect(infra.amqp_url)
            async with connection:
                channel = await connection.channel(publisher_confirms=True)
                exchange = await channel.get_exchange(f"{namespace}.events")
                await publish_as_relay(exchange, Envelope.wrap(event, correlation_id="standalone"))

            assert (
                await subscriber.line()
                == f"{event.customer_id} Công ty Bên Ngoài is now a traditional customer"
            )
            assert await subscriber.exit_code() == 0
    finally:
        await delete_namespace(infra.amqp_url, namespace, [])
