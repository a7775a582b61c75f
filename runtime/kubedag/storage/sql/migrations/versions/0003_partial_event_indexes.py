"""Index only the event-log rows that queries by event type or asset can find.

Log lines (no event type, no asset) are most rows of a chatty run; indexing them by type and by
asset cost every inserted line two index entries that no query could use.

Revision ID: 0003_partial_event_indexes
Revises: 0002_automation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_partial_event_indexes"
down_revision = "0002_automation"
branch_labels = None
depends_on = None

_TYPED = sa.text("event_type IS NOT NULL")
_OF_ASSET = sa.text("asset_key IS NOT NULL")


def upgrade() -> None:
    op.drop_index("idx_event_logs_event_type", table_name="event_logs")
    op.drop_index("idx_event_logs_asset", table_name="event_logs")
    op.create_index(
        "idx_event_logs_event_type",
        "event_logs",
        ["event_type", "id"],
        postgresql_where=_TYPED,
        sqlite_where=_TYPED,
    )
    op.create_index(
        "idx_event_logs_asset",
        "event_logs",
        ["asset_key", "event_type", "partition", "id"],
        postgresql_where=_OF_ASSET,
        sqlite_where=_OF_ASSET,
    )


def downgrade() -> None:
    op.drop_index("idx_event_logs_event_type", table_name="event_logs")
    op.drop_index("idx_event_logs_asset", table_name="event_logs")
    op.create_index("idx_event_logs_event_type", "event_logs", ["event_type", "id"])
    op.create_index(
        "idx_event_logs_asset", "event_logs", ["asset_key", "event_type", "partition", "id"]
    )
