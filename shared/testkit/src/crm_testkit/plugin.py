"""The fixtures every test level shares (a pytest plugin, registered by the package)."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from .infra import Infra, provide_infra
from .polling import eventually as _eventually


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    """The real RabbitMQ and Postgres: from AMQP_URL/DATABASE_URL, else testcontainers."""
    try:
        provided = provide_infra()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    print(f"\n[infra] RabbitMQ and Postgres {provided.how}")
    yield provided
    provided.stop()


@pytest.fixture(scope="session")
def eventually() -> Callable[..., Awaitable[Any]]:
    """`await eventually(probe, done, what=...)`: poll with a deadline, fail after it."""
    return _eventually


def pytest_report_header(config: pytest.Config) -> str:
    if os.environ.get("AMQP_URL") and os.environ.get("DATABASE_URL"):
        return f"infra: AMQP_URL={os.environ['AMQP_URL']} DATABASE_URL={os.environ['DATABASE_URL']}"
    return "infra: AMQP_URL/DATABASE_URL not set; testcontainers if Docker answers, else the run fails"
