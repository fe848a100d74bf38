"""Alembic plumbing shared by every service, and `python -m crm_kit.migrations`.

Each service's `migrations/env.py` is two lines (`run_env(Base.metadata)`), and its
first revision creates the kit's tables with `create_kit_tables()`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import sqlalchemy as sa
from alembic import command, context, op
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from . import deadletters, inbox, outbox  # noqa: F401  (their tables join kit_metadata on import)
from .db import async_url, kit_metadata

#: Held (a transaction-level advisory lock) while a database is migrated: replicas that
#: start together on an empty database take turns instead of creating the same tables.
MIGRATION_LOCK = 0x63726D5F6D6967  # "crm_mig"


def run_env(service_metadata: MetaData, *more: MetaData) -> None:
    """Body of a service's Alembic `env.py`: migrate the database in DATABASE_URL.

    `more`: other metadata the service's database holds (e.g. `directory.metadata`)."""
    url = async_url(os.environ.get("DATABASE_URL") or context.config.get_main_option("sqlalchemy.url") or "")
    targets = [service_metadata, kit_metadata, *more]

    if context.is_offline_mode():
        context.configure(url=url, target_metadata=targets, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return

    def migrate(connection: Connection) -> None:
        context.configure(connection=connection, target_metadata=targets, compare_type=True)
        with context.begin_transaction():
            # The second replica waits here, then finds the database at head: nothing to do.
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            context.run_migrations()

    async def run() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as conn:
            await conn.run_sync(migrate)
        await engine.dispose()

    asyncio.run(run())


def create_kit_tables() -> None:
    """Create the outbox and inbox tables (call from a service's first revision)."""
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.Uuid, nullable=False, unique=True),
        sa.Column("routing_key", sa.String(200), nullable=False),
        sa.Column("correlation_id", sa.String(100), nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column(
            "headers", sa.dialects.postgresql.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("published_at", sa.DateTime(timezone=True)),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
        sa.Column("last_error", sa.Text),
    )
    op.create_index("ix_outbox_pending", "outbox", ["id"], postgresql_where=sa.text("published_at IS NULL"))
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(100), nullable=False),
        sa.Column("event_id", sa.Uuid, nullable=False),
        sa.Column("routing_key", sa.String(200), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("consumer", "event_id", name="pk_inbox"),
    )


def create_retention_indexes() -> None:
    """The indexes `crm_kit.retention` deletes by (a revision of each service, after the
    first). Plain, not CONCURRENTLY: the migration runs before the service starts."""
    op.create_index("ix_outbox_created_at", "outbox", ["created_at"])
    op.create_index("ix_inbox_received_at", "inbox", ["received_at"])


def drop_retention_indexes() -> None:
    op.drop_index("ix_inbox_received_at", table_name="inbox")
    op.drop_index("ix_outbox_created_at", table_name="outbox")


def create_dead_letters_table() -> None:
    """The table `crm_kit.deadletters` parks the dead-letter queue's messages in (a
    revision of each service)."""
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.String(200)),
        sa.Column("correlation_id", sa.String(200)),
        sa.Column("routing_key", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column(
            "headers", sa.dialects.postgresql.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")
        ),
        sa.Column("parked_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("requeued_at", sa.DateTime(timezone=True)),
    )
    op.create_index(
        "ix_dead_letters_parked", "dead_letters", ["id"], postgresql_where=sa.text("requeued_at IS NULL")
    )


def drop_dead_letters_table() -> None:
    op.drop_index("ix_dead_letters_parked", table_name="dead_letters")
    op.drop_table("dead_letters")


def drop_kit_tables() -> None:
    op.drop_table("inbox")
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.drop_table("outbox")


async def connect_to_server(url: str) -> tuple[asyncpg.Connection, str]:
    """A connection to the maintenance database of `url`'s server, and `url`'s database name."""
    parsed = make_url(async_url(url))
    if not parsed.database:
        raise ValueError(f"no database name in {url!r}")
    conn = await asyncpg.connect(
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password,
        database="postgres",
    )
    return conn, parsed.database


async def create_database_if_missing(url: str) -> bool:
    """Create the database named in `url` on its server; True if it was created."""
    conn, name = await connect_to_server(url)
    try:
        if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return False
        await conn.execute(f'CREATE DATABASE "{name}"')
        return True
    except (asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
        # Another process won the race (Postgres reports a simultaneous CREATE DATABASE
        # of the same name as a unique violation on pg_database, not as a duplicate).
        return False
    finally:
        await conn.close()


async def drop_database(url: str) -> None:
    """Drop the database named in `url`, closing its connections (tests only)."""
    conn, name = await connect_to_server(url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def upgrade_in_subprocess(service_dir: Path, database_url: str, env: dict[str, str] | None = None) -> None:
    """`upgrade` in a fresh interpreter: Alembic's env runs its own event loop."""
    result = subprocess.run(
        [sys.executable, "-m", "crm_kit.migrations", str(service_dir), "--database-url", database_url],
        capture_output=True,
        text=True,
        env=env,
    )
    if result.returncode != 0:
        raise RuntimeError(f"migrating {service_dir.name} failed:\n{result.stderr[-3000:]}")


def upgrade(service_dir: Path, database_url: str) -> None:
    """Create the service's database if missing, then migrate it to head."""
    asyncio.run(create_database_if_missing(database_url))
    config = Config(str(service_dir / "alembic.ini"))
    config.set_main_option("script_location", str(service_dir / "migrations"))
    os.environ["DATABASE_URL"] = database_url
    command.upgrade(config, "head")


def main() -> None:
    parser = argparse.ArgumentParser(description="Create and migrate a service's database.")
    parser.add_argument("service_dir", type=Path, help="the service's folder (holds alembic.ini)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    args = parser.parse_args()
    if not args.database_url:
        sys.exit("DATABASE_URL is not set")
    upgrade(args.service_dir, args.database_url)


if __name__ == "__main__":
    main()
