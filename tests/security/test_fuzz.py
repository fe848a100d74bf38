"""Schemathesis fuzzes every service's own OpenAPI document, as an admin, on a stack of
its own (it creates whatever it can, which no other test should see): no 5xx, and no
response that breaks the schema the service publishes for it.

Bounded: at most FUZZ_EXAMPLES examples per operation and FUZZ_SECONDS per service
(environment variables of the same names change them). Schemathesis' coverage phase is
left out: in 4.32 it fails with an internal KeyError on some of these schemas; the
examples, fuzzing and stateful phases run."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from crm_testkit.infra import Infra

from ..harness import ADMIN_PASSWORD, SERVICES, Stack, login, report_line, running_stack

pytestmark = [pytest.mark.e2e, pytest.mark.security]

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "50"))
SECONDS = int(os.environ.get("FUZZ_SECONDS", "20"))
CHECKS = "not_a_server_error,response_schema_conformance"
#: Operations whose documented 503 is an answer, not a server error: "not yet, nothing
#: changed, try again" (errors.NotYet; a random customer id may be one still on its way).
NOT_YET = {"sales": ("POST /api/quotes", "POST /api/quotes/{quote_id}/copy", "POST /api/opportunities")}


def not_yet_config(service: str) -> str:
    """schemathesis.toml letting exactly those operations answer 503 (read from its cwd)."""
    return "".join(
        f'[[operations]]\ninclude-name = "{name}"\n'
        'checks.not_a_server_error.expected-statuses = ["2xx", "3xx", "4xx", "503"]\n\n'
        for name in NOT_YET.get(service, ())
    )


@pytest.fixture(scope="module")
async def fuzz_stack(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    async with running_stack(infra, tmp_path_factory.mktemp("fuzz-keys"), label="fuzz") as running:
        yield running


@pytest.fixture(scope="module")
async def admin_token(fuzz_stack: Stack) -> str:
    """Logged in once, before any fuzzing: fuzzing the gateway's login form with wrong
    passwords for `admin` rightly locks `admin` out of logging in for a while."""
    admin = await login(fuzz_stack, "admin", ADMIN_PASSWORD)
    await admin.client.aclose()
    return admin.token


def schemathesis() -> str:
    found = shutil.which("st", path=str(Path(sys.executable).parent)) or shutil.which("st")
    if found is None:
        pytest.fail("schemathesis is not installed (it is in the workspace's dev group: `uv sync`)")
    return found


@pytest.mark.timeout(SECONDS * 3 + 60)
@pytest.mark.parametrize("service", SERVICES)
async def test_schemathesis_finds_no_server_error_and_no_response_off_its_schema(
    fuzz_stack, admin_token, service, tmp_path
):
    command = [
        schemathesis(),
        "run",
        f"{fuzz_stack.url(service)}/openapi.json",
        "--header",
        f"Authorization: Bearer {admin_token}",
        "--checks",
        CHECKS,
        "--phases",
        "examples,fuzzing,stateful",
        "--max-examples",
        str(EXAMPLES),
        "--max-time",
        str(SECONDS),
        "--workers",
        "2",
        "--request-timeout",
        "30",
        "--seed",
        "20261126",
        "--no-color",
    ]
    # Its working directory is a temporary one: schemathesis keeps state where it runs.
    (tmp_path / "schemathesis.toml").write_text(not_yet_config(service))
    result = await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, cwd=tmp_path, timeout=SECONDS * 3 + 30
    )
    output = result.stdout + result.stderr
    summary = [line.strip() for line in output.splitlines() if " generated, " in line or "Selected:" in line]
    report_line(f"[fuzz {service}] {'; '.join(summary)}")
    if result.returncode != 0:
        failures = output[output.find("FAILURES") :] if "FAILURES" in output else output[-6000:]
        pytest.fail(f"schemathesis found problems in {service}:\n{failures[:6000]}", pytrace=False)
