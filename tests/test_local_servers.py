"""`make run` on a fresh machine (deploy/local/servers.py): this machine's RabbitMQ and
Postgres are started when installed and stopped, as .ci/run starts them, and one line
says what to install when they are not. The probes are stand-ins: no real server is
stopped or started here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy" / "local"))

import servers  # noqa: E402

pytestmark = pytest.mark.unit

AMQP = "amqp://guest:guest@127.0.0.1:5672/"
DATABASE = "postgresql://postgres@127.0.0.1:5432/postgres"


def installed(*names: str) -> Any:
    return lambda name: f"/usr/sbin/{name}" if name in names else None


@pytest.fixture
def debian(tmp_path: Path) -> Path:
    """/etc/postgresql of a machine with PostgreSQL 15 and 16 installed."""
    for version in ("15", "16"):
        (tmp_path / version / "main").mkdir(parents=True)
    return tmp_path


def test_servers_that_answer_are_left_alone(debian: Path) -> None:
    both = [servers.rabbitmq(5672, installed("rabbitmq-server")), servers.postgres(5432, installed(), debian)]
    decided = servers.plan(both, lambda port: True)
    assert [s.name for s in decided.running] == ["RabbitMQ", "PostgreSQL"]
    assert not decided.to_start and not decided.missing and decided.missing_line() is None


def test_installed_and_stopped_servers_are_started_as_ci_starts_them(debian: Path) -> None:
    both = [
        servers.rabbitmq(5672, installed("rabbitmq-server")),
        servers.postgres(5432, installed("pg_ctlcluster"), debian),
    ]
    decided = servers.plan(both, lambda port: False)
    assert not decided.missing and not decided.running
    commands = [list(s.start or []) for s in decided.to_start]
    # The newest installed version's cluster `main`.
    assert commands == [
        ["rabbitmq-server", "-detached"],
        ["pg_ctlcluster", "--skip-systemctl-redirect", "16", "main", "start"],
    ]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "rabbitmq-server -detached" in ci and "pg_ctlcluster --skip-systemctl-redirect" in ci


def test_servers_not_installed_are_named_in_one_line_with_what_to_install(tmp_path: Path) -> None:
    none = [servers.rabbitmq(5672, installed()), servers.postgres(5432, installed("pg_ctlcluster"), tmp_path)]
    decided = servers.plan(none, lambda port: False)
    assert not decided.to_start
    line = decided.missing_line()
    assert line is not None and "\n" not in line
    assert "RabbitMQ and PostgreSQL" in line and "apt-get install rabbitmq-server postgresql" in line


def test_only_what_is_stopped_is_started(debian: Path) -> None:
    both = [
        servers.rabbitmq(5672, installed("rabbitmq-server")),
        servers.postgres(5432, installed("pg_ctlcluster"), debian),
    ]
    decided = servers.plan(both, lambda port: port == 5672)
    assert [s.name for s in decided.running] == ["RabbitMQ"]
    assert [s.name for s in decided.to_start] == ["PostgreSQL"]


def test_a_server_elsewhere_is_not_looked_after() -> None:
    assert servers.local_port("amqp://u:p@rabbit.example.com:5672/", 5672) is None
    assert servers.local_port("postgresql://postgres@localhost/postgres", 5432) == 5432
    assert servers.local_port("amqp://guest:guest@127.0.0.1:5673/", 5672) == 5673


def test_ensure_running_starts_what_is_stopped_and_waits_for_it(
    monkeypatch: pytest.MonkeyPatch, debian: Path
) -> None:
    up: set[int] = {5672}
    ran: list[list[str]] = []

    def run(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        ran.append(command)
        up.add(5432)
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(servers, "answers", lambda port, host="127.0.0.1", timeout=1.0: port in up)
    monkeypatch.setattr(servers.subprocess, "run", run)
    said: list[str] = []
    which = installed("rabbitmq-server", "pg_ctlcluster")
    servers.ensure_running(AMQP, DATABASE, said.append, which=which, postgres_config=debian, timeout=5)
    assert ran == [["pg_ctlcluster", "--skip-systemctl-redirect", "16", "main", "start"]]
    assert said == [f"starting PostgreSQL ({' '.join(ran[0])})", "PostgreSQL answers on port 5432"]


def test_ensure_running_stops_with_one_line_when_a_server_is_missing_or_will_not_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, debian: Path
) -> None:
    monkeypatch.setattr(servers, "answers", lambda port, host="127.0.0.1", timeout=1.0: False)
    with pytest.raises(SystemExit) as missing:
        servers.ensure_running(AMQP, DATABASE, print, which=installed(), postgres_config=tmp_path)
    assert str(missing.value).startswith("[stack] RabbitMQ and PostgreSQL not installed here")

    def refuse(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(command, 1, "", "Error: You must run this program as root.\n")

    monkeypatch.setattr(servers.subprocess, "run", refuse)
    with pytest.raises(SystemExit) as refused:
        servers.ensure_running(
            "amqp://u:p@rabbit.example.com/",
            DATABASE,
            print,
            which=installed("pg_ctlcluster"),
            postgres_config=debian,
        )
    assert str(refused.value) == (
        "[stack] could not start PostgreSQL: Error: You must run this program as root. (try it as root)"
    )


def test_nothing_is_probed_for_servers_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    def probe(*_: Any, **__: Any) -> bool:
        raise AssertionError("a remote server was probed")

    monkeypatch.setattr(servers, "answers", probe)
    servers.ensure_running("amqp://u:p@rabbit.example.com/", "postgresql://u@db.example.com/x", print)
