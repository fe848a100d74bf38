"""This machine's RabbitMQ and Postgres for `make run`: started when they are installed and
stopped, as .ci/run starts them; one line saying what to install when they are not.

Only a server that AMQP_URL or DATABASE_URL puts on this machine (127.0.0.1, localhost,
::1) is looked after: a remote one is the operator's. The decision (`plan`) takes its
probes as arguments, so a test can ask it every case without touching a real server.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
POSTGRES_CONFIG = Path("/etc/postgresql")
#: How long a server that was started may take to answer.
START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Server:
    name: str
    #: The Debian package that installs it.
    package: str
    port: int
    #: The command that starts it, or None when it is not installed.
    start: Sequence[str] | None
    #: True once it serves (not merely listens); waited for after a start.
    ready: Callable[[], bool]


@dataclass(frozen=True)
class Plan:
    running: list[Server]
    to_start: list[Server]
    missing: list[Server]

    def missing_line(self) -> str | None:
        """One line: what to install, or None when nothing is missing."""
        if not self.missing:
            return None
        names = " and ".join(s.name for s in self.missing)
        packages = " ".join(s.package for s in self.missing)
        return f"{names} not installed here: on Debian, sudo apt-get install {packages} (then make run again)"


def answers(port: int, host: str = "127.0.0.1", timeout: float = 1.0) -> bool:
    """Whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def plan(servers: Sequence[Server], answering: Callable[[int], bool]) -> Plan:
    """What to do with each server: leave it (it answers), start it (installed), or report
    it missing (not installed)."""
    running = [s for s in servers if answering(s.port)]
    stopped = [s for s in servers if s not in running]
    return Plan(
        running=running,
        to_start=[s for s in stopped if s.start is not None],
        missing=[s for s in stopped if s.start is None],
    )


def local_port(url: str, default: int) -> int | None:
    """The port of `url` if its host is this machine, else None."""
    parts = urlsplit(url)
    return (parts.port or default) if parts.hostname in LOCAL_HOSTS else None


def rabbitmq(port: int, which: Callable[[str], str | None] = shutil.which) -> Server:
    def ready() -> bool:
        if not answers(port):
            return False
        check = subprocess.run(
            ["rabbitmq-diagnostics", "-q", "check_running"], capture_output=True, timeout=30, check=False
        )
        return check.returncode == 0

    installed = which("rabbitmq-server") is not None
    return Server(
        "RabbitMQ", "rabbitmq-server", port, ["rabbitmq-server", "-detached"] if installed else None, ready
    )


def postgres(
    port: int, which: Callable[[str], str | None] = shutil.which, config: Path = POSTGRES_CONFIG
) -> Server:
    """Debian's PostgreSQL: the cluster `main` of the installed version (pg_ctlcluster)."""
    versions = (
        sorted((p.name for p in config.iterdir() if p.is_dir()), key=_version) if config.is_dir() else []
    )
    start = None
    if which("pg_ctlcluster") is not None and versions:
        start = ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"]
    return Server("PostgreSQL", "postgresql", port, start, lambda: answers(port))


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def ensure_running(
    amqp_url: str,
    database_url: str,
    say: Callable[[str], None],
    *,
    which: Callable[[str], str | None] = shutil.which,
    postgres_config: Path = POSTGRES_CONFIG,
    timeout: float = START_TIMEOUT_S,
) -> None:
    """Start this machine's RabbitMQ and Postgres if they are installed and stopped; exit with
    one line saying what to install if they are not."""
    servers = []
    amqp_port = local_port(amqp_url, 5672)
    if amqp_port is not None:
        servers.append(rabbitmq(amqp_port, which))
    db_port = local_port(database_url, 5432)
    if db_port is not None:
        servers.append(postgres(db_port, which, postgres_config))
    decided = plan(servers, answers)
    line = decided.missing_line()
    if line is not None:
        raise SystemExit(f"[stack] {line}")
    for server in decided.to_start:
        assert server.start is not None
        say(f"starting {server.name} ({' '.join(server.start)})")
        started = subprocess.run(list(server.start), capture_output=True, text=True, timeout=120, check=False)
        if started.returncode != 0:
            reason = (started.stderr or started.stdout).strip().splitlines()[-1:] or ["no output"]
            raise SystemExit(f"[stack] could not start {server.name}: {reason[0]} (try it as root)")
    deadline = time.monotonic() + timeout
    for server in decided.to_start:
        # As .ci/run: wait until it serves; in the end it must at least answer.
        while not server.ready() and time.monotonic() < deadline:
            time.sleep(1)
        if not answers(server.port):
            raise SystemExit(f"[stack] {server.name} was started but does not answer on port {server.port}")
        say(f"{server.name} answers on port {server.port}")
