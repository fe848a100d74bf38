"""the dead_letters table, where the dead-letter queue's messages are parked to be seen and requeued

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from crm_kit.migrations import create_dead_letters_table, drop_dead_letters_table

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_dead_letters_table()


def downgrade() -> None:
    drop_dead_letters_table()
