"""Fixtures of the suites that run the whole system as processes (tests/e2e,
tests/faults, tests/security, tests/ui): one stack for the session, shared by them.
The fault suite replaces `stack` (and what hangs on it) with one of its own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest

from crm_kit.auth import Role, TokenIssuer, User
from crm_testkit.infra import Infra

from .harness import ADMIN_PASSWORD, REPORTED, Api, Databases, Stack, login, make_user, running_stack
from .otlp import SpanCollector


@pytest.fixture(scope="session")
def spans() -> Iterator[SpanCollector]:
    """The traces the shared stack's services export (an OTLP receiver in this process)."""
    collector = SpanCollector().start()
    yield collector
    collector.stop()


@pytest.fixture(scope="session")
async def stack(
    infra: Infra, tmp_path_factory: pytest.TempPathFactory, spans: SpanCollector
) -> AsyncIterator[Stack]:
    async with running_stack(infra, tmp_path_factory.mktemp("keys"), spans=spans) as running:
        yield running


@pytest.fixture(scope="session")
async def admin(stack: Stack) -> AsyncIterator[Api]:
    api = await login(stack, "admin", ADMIN_PASSWORD)
    yield api
    await api.client.aclose()


@pytest.fixture
async def new_user(stack: Stack, admin: Api) -> AsyncIterator[object]:
    """Factory: a fresh user with a role, logged in."""
    made: list[Api] = []

    async def make(role: Role = Role.SALESPERSON) -> Api:
        api = await make_user(stack, admin, role)
        made.append(api)
        return api

    yield make
    for api in made:
        await api.client.aclose()


@pytest.fixture(scope="session")
def issuer(stack: Stack) -> TokenIssuer:
    """Signs with the gateway's own key, to make tokens the gateway would not (expired ones)."""
    private = (stack.state_dir / "jwt-private.pem").read_text()
    return TokenIssuer(private, issuer="crm-gateway", audience="crm", ttl=timedelta(hours=1))


@pytest.fixture
def any_user() -> User:
    return User(id=uuid.uuid4(), username="someone", role=Role.SALESPERSON)


@pytest.fixture(scope="session")
def databases(infra: Infra, stack: Stack) -> Iterator[Databases]:
    """Read-only peeks into the services' databases, to count what a user cannot see."""
    yield Databases(infra, stack.database_prefix)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The counts each fault and security test reported, together at the end."""
    if REPORTED:
        terminalreporter.section("counts reported by the fault and security tests")
        for line in REPORTED:
            terminalreporter.write_line(line)
