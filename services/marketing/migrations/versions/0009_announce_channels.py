"""announce every existing channel once (ChannelChanged), so sales learns the kinds of
channels made before marketing announced them (sales prices dealer lists by kind)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from crm_contracts import ChannelChanged, Envelope
from crm_kit.outbox import outbox

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    channels = bind.execute(
        sa.text("SELECT id, name, kind, parent_id, active FROM channels ORDER BY created_at")
    )
    now = datetime.now(UTC)
    rows = []
    for channel in channels:
        event = ChannelChanged(
            channel_id=channel.id,
            name=channel.name,
            kind=channel.kind,
            parent_id=channel.parent_id,
            active=channel.active,
            changed_at=now,
        )
        envelope = Envelope.wrap(event, correlation_id="migration-0009-announce-channels")
        rows.append(
            {
                "event_id": envelope.event_id,
                "routing_key": envelope.routing_key,
                "correlation_id": envelope.correlation_id,
                "body": envelope.model_dump_json().encode(),
                "headers": {},
            }
        )
    if rows:
        bind.execute(outbox.insert(), rows)


def downgrade() -> None:
    # What was announced stays announced: the events are facts about the channels.
    pass
