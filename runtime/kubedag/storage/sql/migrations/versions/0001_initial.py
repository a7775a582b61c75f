"""Runs, run tags, the event log and the latest materialization of each asset.

Revision ID: 0001_initial
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_AUTOINCREMENT = {"sqlite_autoincrement": True}


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(64), nullable=False, unique=True),
        sa.Column("job_name", sa.String(255), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("partition", sa.String(255)),
        sa.Column("parent_run_id", sa.String(64)),
        sa.Column("root_run_id", sa.String(64)),
        sa.Column("run_body", sa.Text, nullable=False),
        sa.Column("create_timestamp", sa.Float, nullable=False),
        sa.Column("update_timestamp", sa.Float, nullable=False),
        sa.Column("start_time", sa.Float),
        sa.Column("end_time", sa.Float),
        **_AUTOINCREMENT,
    )
    op.create_index("idx_runs_status", "runs", ["status", "id"])
    op.create_index("idx_runs_job_name", "runs", ["job_name", "id"])
    op.create_index("idx_runs_create_timestamp", "runs", ["create_timestamp"])
    op.create_index("idx_runs_update_timestamp", "runs", ["update_timestamp"])

    op.create_table(
        "run_tags",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column(
            "run_id",
            sa.String(64),
            sa.ForeignKey("runs.run_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("value", sa.String(1024), nullable=False),
        sa.UniqueConstraint("run_id", "key", name="uq_run_tags_run_id_key"),
        **_AUTOINCREMENT,
    )
    op.create_index("idx_run_tags_key_value", "run_tags", ["key", "value"])

    op.create_table(
        "event_logs",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(64)),
        sa.Column("asset_key", sa.String(1024)),
        sa.Column("partition", sa.String(255)),
        sa.Column("step_key", sa.String(255)),
        sa.Column("timestamp", sa.Float, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        **_AUTOINCREMENT,
    )
    op.create_index("idx_event_logs_run_id", "event_logs", ["run_id", "id"])
    op.create_index("idx_event_logs_event_type", "event_logs", ["event_type", "id"])
    op.create_index(
        "idx_event_logs_asset", "event_logs", ["asset_key", "event_type", "partition", "id"]
    )
    op.create_index("idx_event_logs_timestamp", "event_logs", ["timestamp"])

    op.create_table(
        "asset_keys",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("asset_key", sa.String(1024), nullable=False, unique=True),
        sa.Column("last_materialization_id", sa.BigInteger),
        sa.Column("last_materialization_timestamp", sa.Float),
        sa.Column("last_run_id", sa.String(64)),
        sa.Column("create_timestamp", sa.Float, nullable=False),
        **_AUTOINCREMENT,
    )


def downgrade() -> None:
    for table in ("asset_keys", "event_logs", "run_tags", "runs"):
        op.drop_table(table)
