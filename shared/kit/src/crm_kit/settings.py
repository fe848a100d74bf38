"""Settings every service shares; a service subclasses to add its own."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Self
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .db import DatabaseTimeouts
from .keys import KeySet, parse_public_keys

HOUR_S = 3600.0
DAY_S = 24 * HOUR_S


class ServiceSettings(BaseSettings):
    """Read from the environment (12-factor). Names are the upper-case field names."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    service_name: str = "service"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    #: Prefix of every exchange and queue name, so a test run can share a broker.
    bus_namespace: str = "crm"

    #: The public keys that verify tokens: one or more PEM blocks (a set, so the signing
    #: key can rotate; see crm_kit.keys), or a file of them that is re-read as it changes.
    jwt_public_key: str = ""
    jwt_public_key_file: Path | None = None
    jwt_issuer: str = "crm-gateway"
    jwt_audience: str = "crm"

    #: Unacknowledged messages RabbitMQ hands this consumer at once.
    prefetch: int = Field(default=256, ge=1, le=2000)
    #: At most this many of them are handled in one transaction (crm_kit.batching).
    consume_batch_size: int = Field(default=100, ge=1, le=1000)
    #: How long a message that failed for a transient reason waits before its next try.
    retry_delay_s: float = Field(default=5.0, gt=0)
    #: Tries before a message that keeps failing is dead-lettered with its last error.
    max_attempts: int = Field(default=60, ge=1)
    #: How long a message may wait for a prerequisite (its handler raised `Transient`)
    #: before it is dead-lettered with what it waited for: the event it waits for may
    #: itself have been dead-lettered, and then it would wait forever.
    transient_max_wait_s: float = Field(default=6 * HOUR_S, gt=0)
    #: How often the service moves what its dead-letter queue holds into its
    #: `dead_letters` table, where an admin lists and requeues them (crm_kit.deadletters).
    dead_letter_interval_s: float = Field(default=5.0, gt=0)
    #: Redeliveries by RabbitMQ itself (nack) before the queue dead-letters a message.
    delivery_limit: int = Field(default=20, ge=1)

    relay_enabled: bool = True
    relay_batch_size: int = Field(default=500, ge=1, le=5000)
    relay_poll_interval_s: float = Field(default=1.0, gt=0)
    #: How long the relay, woken by a commit, waits for the next ones before it claims.
    relay_linger_s: float = Field(default=0.0, ge=0, le=1)
    publish_timeout_s: float = Field(default=10.0, gt=0)

    #: Sent outbox rows are kept this long after they were written (the history an event
    #: replay re-publishes from); older ones are deleted. Unsent rows are never deleted.
    outbox_retention_s: float = Field(default=7 * DAY_S, ge=HOUR_S)
    #: Inbox rows (what makes a redelivered copy a no-op) are kept this long; it must
    #: exceed the longest redelivery (`max_attempts` x `retry_delay_s`).
    inbox_retention_s: float = Field(default=7 * DAY_S, ge=HOUR_S)
    #: How often the retention runs (and refreshes the tables' size metrics).
    retention_interval_s: float = Field(default=60.0, gt=0)
    #: Rows deleted per short transaction.
    retention_batch_size: int = Field(default=1000, ge=1, le=10_000)
    retention_enabled: bool = True

    #: The database's own timeouts for every statement and lock wait of this service
    #: (Postgres cancels; the connection stays good): a request or batch gets an error,
    #: not a hang. Migrations run without them.
    db_statement_timeout_s: float = Field(default=30.0, gt=0)
    db_lock_timeout_s: float = Field(default=10.0, gt=0)
    #: The client's timeout on each command, for a database that stopped answering (a
    #: partition, a failover): must exceed the statement timeout.
    db_command_timeout_s: float = Field(default=35.0, gt=0)
    db_connect_timeout_s: float = Field(default=10.0, gt=0)
    #: The check of a pooled connection that was idle a while, before it is handed out.
    db_ping_timeout_s: float = Field(default=5.0, gt=0)
    #: The server ends a transaction left idle this long (its client vanished) and
    #: releases its locks.
    db_idle_in_transaction_timeout_s: float = Field(default=60.0, gt=0)
    #: TCP keepalives on both ends of every database connection: a peer gone while a
    #: connection is idle (the relay's LISTEN) is found within idle + interval x count.
    db_keepalive_idle_s: int = Field(default=30, ge=1)
    db_keepalive_interval_s: int = Field(default=10, ge=1)
    db_keepalive_count: int = Field(default=3, ge=1)

    log_level: str = "INFO"

    #: Serve `/metrics` on this port only, from a second server in the process (the main
    #: port then answers 404 for it), so a NetworkPolicy can let only the monitoring
    #: reach the metrics. Unset: `/metrics` is on the main port.
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    #: The address the metrics server listens on.
    metrics_host: str = "0.0.0.0"

    #: The proxies in front of this service (IPs or CIDRs, comma-separated) whose
    #: X-Forwarded-For and X-Forwarded-Proto are believed: behind a TLS proxy the client's
    #: address (the login throttle's key) and scheme (the cookie's Secure flag) come from
    #: them. Empty: nobody's (uvicorn runs with --no-proxy-headers; this is the one rule).
    forwarded_allow_ips: str = ""

    #: The zone whose calendar "today", due dates, overdue days and periods follow.
    business_timezone: str = "Asia/Ho_Chi_Minh"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self:
        """The settings a process started with environment `env` reads (for what starts one,
        or checks a deployment's environment)."""
        return cls.model_validate(
            {name: env[name.upper()] for name in cls.model_fields if name.upper() in env}
        )

    @field_validator("business_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)  # fail at start, not at the first request
        except (KeyError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.business_timezone)

    def today(self) -> date:
        """Today on the business's calendar (not the server's, which runs on UTC)."""
        return datetime.now(self.zone).date()

    @model_validator(mode="after")
    def _inbox_outlives_redelivery(self) -> ServiceSettings:
        # A copy redelivered after its inbox row was deleted would take effect again.
        longest = self.max_attempts * self.retry_delay_s
        if self.inbox_retention_s <= longest:
            raise ValueError(
                f"inbox_retention_s ({self.inbox_retention_s:.0f}) must exceed the longest "
                f"redelivery, max_attempts x retry_delay_s ({longest:.0f})"
            )
        return self

    @model_validator(mode="after")
    def _command_outlasts_statement(self) -> ServiceSettings:
        # Otherwise the client gives up on a slow statement first and must cancel it
        # itself, instead of getting the server's clean "canceled" on a good connection.
        if self.db_command_timeout_s <= self.db_statement_timeout_s:
            raise ValueError(
                f"db_command_timeout_s ({self.db_command_timeout_s}) must exceed "
                f"db_statement_timeout_s ({self.db_statement_timeout_s})"
            )
        return self

    def database_timeouts(self) -> DatabaseTimeouts:
        """The timeouts of this service's database pool (`crm_kit.db.DatabaseTimeouts`)."""
        return DatabaseTimeouts(
            statement_s=self.db_statement_timeout_s,
            lock_s=self.db_lock_timeout_s,
            command_s=self.db_command_timeout_s,
            connect_s=self.db_connect_timeout_s,
            ping_s=self.db_ping_timeout_s,
            idle_in_transaction_s=self.db_idle_in_transaction_timeout_s,
            keepalive_idle_s=self.db_keepalive_idle_s,
            keepalive_interval_s=self.db_keepalive_interval_s,
            keepalive_count=self.db_keepalive_count,
        )

    @model_validator(mode="after")
    def _check_key_file(self) -> ServiceSettings:
        if not self.jwt_public_key and self.jwt_public_key_file is not None:
            parse_public_keys(self.jwt_public_key_file.read_text())  # fail at start, not later
        return self

    def key_set(self) -> KeySet:
        """The verifying keys: the text of `jwt_public_key`, else the file (re-read as it
        changes, so a key rotates without a restart)."""
        if self.jwt_public_key:
            return KeySet(self.jwt_public_key)
        return KeySet(path=self.jwt_public_key_file)

    def public_keys_text(self) -> str:
        """The PEM blocks of the set as they are now."""
        if self.jwt_public_key or self.jwt_public_key_file is None:
            return self.jwt_public_key
        return self.jwt_public_key_file.read_text()
