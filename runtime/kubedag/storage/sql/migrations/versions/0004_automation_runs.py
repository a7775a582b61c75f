"""Idempotent run creation and backfills.

`runs.idempotency_key`: a deterministic key a schedule tick, a sensor run key or a backfill
partition gives the run it creates. The unique index makes creating that run again (a daemon
that died between creating a run and recording its tick) a no-op instead of a duplicate.

`backfills`: one row per backfill (what it runs, which partitions, progress), its body JSON.

Revision ID: 0004_automation_runs
Revises: 0003_partial_event_indexes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_automation_runs"
down_revision = "0003_partial_event_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("idempotency_key", sa.String(512)))
    op.create_index("uq_runs_idempotency_key", "runs", ["idempotency_key"], unique=True)
    op.create_table(
        "backfills",
        sa.Column("backfill_id", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("create_timestamp", sa.Float, nullable=False),
        sa.Column("update_timestamp", sa.Float, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.create_index("idx_backfills_status", "backfills", ["status", "create_timestamp"])


def downgrade() -> None:
    op.drop_table("backfills")
    op.drop_index("uq_runs_idempotency_key", table_name="runs")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("idempotency_key")
