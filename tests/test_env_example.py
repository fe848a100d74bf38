"""`.env.example` lists every setting of every service with its true default, and
`make run` reads a `.env` made from it. The list of settings comes from the settings
classes themselves (crm_kit.settings.ServiceSettings and each service's subclass), so
a new setting that is not written into the file fails here."""

from __future__ import annotations

import importlib
import os
import re
import sys
from pathlib import Path

import pytest

from crm_kit.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / ".env.example"
SERVICES = sorted(p.parent.name for p in (ROOT / "services").glob("*/pyproject.toml"))
LINE = re.compile(r"^(?:# )?([A-Z][A-Z0-9_]*)=(.*)$")
#: Written without their default, or with another value, because make run sets them for
#: each service itself (or, DATABASE_URL, reads the server's URL there).
SET_PER_SERVICE = {
    "SERVICE_NAME",
    "DATABASE_URL",
    "JWT_PUBLIC_KEY",
    "JWT_PUBLIC_KEY_FILE",
    "JWT_PRIVATE_KEY",
    "JWT_PRIVATE_KEY_FILE",
}
#: Read by something other than a settings class: make run, OpenTelemetry's exporter.
NOT_SETTINGS = {"PORT_BASE", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"}

pytestmark = pytest.mark.unit


def settings_classes() -> list[type[ServiceSettings]]:
    found: list[type[ServiceSettings]] = [ServiceSettings]
    for name in SERVICES:
        module = importlib.import_module(f"{name}.settings")
        found += [
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, ServiceSettings)
            and value.__module__ == module.__name__
        ]
    assert len(found) == len(SERVICES) + 1, f"one settings class per service: {found}"
    return found


def example() -> dict[str, str]:
    entries: dict[str, str] = {}
    for number, line in enumerate(EXAMPLE.read_text().splitlines(), 1):
        match = LINE.match(line)
        if match:
            name, value = match.groups()
            assert name not in entries, f".env.example:{number}: {name} is listed twice"
            entries[name] = value
    return entries


def test_every_setting_of_every_service_is_in_the_example_with_its_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    entries = example()
    settings: set[str] = set()
    for cls in settings_classes():
        for field_name, field in cls.model_fields.items():
            name = field_name.upper()
            settings.add(name)
            assert name in entries, f"{cls.__module__}.{cls.__name__}.{field_name}: not in .env.example"
            if name in SET_PER_SERVICE:
                continue
            written = entries[name]
            if field.default is None:
                assert written == "", f".env.example: {name} is unset by default, written {written!r}"
                continue
            # Read as the service reads it: from the environment.
            with monkeypatch.context() as env:
                env.setenv(name, written)
                parsed = getattr(cls(), field_name)
            default = field.get_default(call_default_factory=True)
            assert parsed == default, (
                f".env.example: {name}={written!r} is not the default of {cls.__name__} ({default!r})"
            )
    stale = set(entries) - settings - NOT_SETTINGS
    assert not stale, f".env.example lists what nothing reads: {sorted(stale)}"


def test_the_example_changes_nothing_until_a_line_is_uncommented() -> None:
    for line in EXAMPLE.read_text().splitlines():
        assert not line.strip() or line.startswith("#"), (
            f".env.example sets {line!r}: keep the defaults commented"
        )


def test_make_run_reads_dot_env_below_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sys.path.insert(0, str(ROOT / "deploy" / "local"))
    import stack

    env_file = tmp_path / ".env"
    env_file.write_text("# PREFETCH=10\nLOG_LEVEL=DEBUG\nAMQP_URL=amqp://from-the-file/\n")
    # A copy of the environment, so nothing loaded here reaches the tests after this one.
    environment = {k: v for k, v in os.environ.items() if k not in ("LOG_LEVEL", "PREFETCH")}
    monkeypatch.setattr(os, "environ", {**environment, "AMQP_URL": "amqp://from-the-environment/"})
    assert stack.load_env_file(env_file) == ["LOG_LEVEL"]
    assert os.environ["LOG_LEVEL"] == "DEBUG" and os.environ["AMQP_URL"] == "amqp://from-the-environment/"
    assert "PREFETCH" not in os.environ
    assert stack.load_env_file(tmp_path / "none") == []


def test_make_run_gives_each_service_its_own_metrics_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sys.path.insert(0, str(ROOT / "deploy" / "local"))
    import stack

    monkeypatch.setenv("METRICS_PORT", "9100")
    local = stack.Stack(state_dir=tmp_path)
    ports = [local.env(service)["METRICS_PORT"] for service in stack.SERVICES]
    assert ports == [str(9100 + i) for i in range(len(stack.SERVICES))]
