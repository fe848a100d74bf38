"""The fault suite runs a stack of its own: every service reaches RabbitMQ through a
proxy the tests can take down or cut, accounting (a consumer) reaches Postgres through
another and customers (a publisher) through a third, so a fault hits this stack only,
never the shared servers other runs on this machine use (except where a test restarts
RabbitMQ itself, last in its module).

Overrides `stack`, `admin`, `issuer` and `databases` of tests/conftest.py for the tests
in this folder; `new_user` there picks these up."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from crm_kit.auth import TokenIssuer
from crm_kit.db import with_database
from crm_testkit.infra import Infra

from ..harness import ADMIN_PASSWORD, Api, Databases, Stack, login, running_stack, via
from .proxy import TcpProxy
from .tools import Faults, broker_is_local, count_applied_promotions, ensure_broker_running


@pytest.fixture(scope="package")
def amqp_proxy(infra: Infra) -> Iterator[TcpProxy]:
    parts = urlsplit(infra.amqp_url)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5672)
    yield proxy
    proxy.close()


def postgres_proxy(infra: Infra) -> TcpProxy:
    parts = urlsplit(infra.database_url)
    return TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432)


@pytest.fixture(scope="package")
def pg_proxy(infra: Infra) -> Iterator[TcpProxy]:
    proxy = postgres_proxy(infra)
    yield proxy
    proxy.close()


@pytest.fixture(scope="package")
def customers_pg_proxy(infra: Infra) -> Iterator[TcpProxy]:
    proxy = postgres_proxy(infra)
    yield proxy
    proxy.close()


#: Customers' database timeouts in this stack: short, so a test of its database in a
#: black hole sees them act in seconds (the defaults are 30 s and more).
CUSTOMERS_DB_TIMEOUTS = {
    "DB_STATEMENT_TIMEOUT_S": "2",
    "DB_COMMAND_TIMEOUT_S": "3",
    "DB_CONNECT_TIMEOUT_S": "3",
    "DB_PING_TIMEOUT_S": "1",
}


@pytest.fixture(scope="package")
async def stack(
    infra: Infra,
    tmp_path_factory: pytest.TempPathFactory,
    amqp_proxy: TcpProxy,
    pg_proxy: TcpProxy,
    customers_pg_proxy: TcpProxy,
) -> AsyncIterator[Stack]:
    def through_proxies(running: Stack) -> None:
        # Accounting's and customers' databases through their proxies (they still
        # migrate directly).
        def url(proxy: TcpProxy, service: str) -> str:
            return with_database(via(infra.database_url, proxy.port), f"{running.database_prefix}{service}")

        running.env_overrides["accounting"] = {"DATABASE_URL": url(pg_proxy, "accounting")}
        running.env_overrides["customers"] = {
            "DATABASE_URL": url(customers_pg_proxy, "customers"),
            **CUSTOMERS_DB_TIMEOUTS,
        }

    try:
        async with running_stack(
            infra,
            tmp_path_factory.mktemp("fault-keys"),
            label="faults",
            amqp_url=via(infra.amqp_url, amqp_proxy.port),
            env_overrides={},
            configure=through_proxies,
        ) as running:
            yield running
    finally:
        if broker_is_local():
            ensure_broker_running()


@pytest.fixture(scope="package")
async def admin(stack: Stack) -> AsyncIterator[Api]:
    api = await login(stack, "admin", ADMIN_PASSWORD)
    yield api
    await api.client.aclose()


@pytest.fixture(scope="package")
def issuer(stack: Stack) -> TokenIssuer:
    private = (stack.state_dir / "jwt-private.pem").read_text()
    return TokenIssuer(private, issuer="crm-gateway", audience="crm", ttl=timedelta(hours=1))


@pytest.fixture(scope="package")
async def databases(infra: Infra, stack: Stack) -> AsyncIterator[Databases]:
    peek = Databases(infra, stack.database_prefix)
    await count_applied_promotions(peek)
    yield peek


@pytest.fixture
def faults(
    infra: Infra,
    stack: Stack,
    databases: Databases,
    amqp_proxy: TcpProxy,
    pg_proxy: TcpProxy,
    customers_pg_proxy: TcpProxy,
) -> Faults:
    return Faults(infra, stack, databases, amqp_proxy, pg_proxy, customers_pg_proxy)
