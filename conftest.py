"""Fixtures every test level shares: where the real RabbitMQ and Postgres are."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from crm_kit.testing import Infra, provide_infra


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    try:
        provided = provide_infra()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    print(f"\n[infra] RabbitMQ and Postgres {provided.how}")
    yield provided
    provided.stop()


def pytest_report_header(config: pytest.Config) -> str:
    import os

    if os.environ.get("AMQP_URL") and os.environ.get("DATABASE_URL"):
        return f"infra: AMQP_URL={os.environ['AMQP_URL']} DATABASE_URL={os.environ['DATABASE_URL']}"
    return "infra: AMQP_URL/DATABASE_URL not set; testcontainers if Docker answers, else the run fails"
