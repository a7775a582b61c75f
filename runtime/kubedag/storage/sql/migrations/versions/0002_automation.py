"""Automation state: schedules and sensors, their ticks, dynamic partitions, a key-value table
and daemon heartbeats.

Revision ID: 0002_automation
Revises: 0001_initial
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_automation"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_AUTOINCREMENT = {"sqlite_autoincrement": True}


def upgrade() -> None:
    op.create_table(
        "dynamic_partitions",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("partitions_def_name", sa.String(255), nullable=False),
        sa.Column("partition", sa.String(255), nullable=False),
        sa.Column("create_timestamp", sa.Float, nullable=False),
        sa.UniqueConstraint("partitions_def_name", "partition", name="uq_dynamic_partitions"),
        **_AUTOINCREMENT,
    )
    op.create_table(
        "instigators",
        sa.Column("selector_id", sa.String(255), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("instigator_type", sa.String(32), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("cursor", sa.Text),
        sa.Column("last_tick_timestamp", sa.Float),
        sa.Column("data", sa.Text),
        sa.Column("update_timestamp", sa.Float, nullable=False),
    )
    op.create_table(
        "ticks",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("selector_id", sa.String(255), nullable=False),
        sa.Column("instigator_type", sa.String(32), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("timestamp", sa.Float, nullable=False),
        sa.Column("end_timestamp", sa.Float),
        sa.Column("scheduled_execution_time", sa.Float),
        sa.Column("run_ids", sa.Text),
        sa.Column("run_keys", sa.Text),
        sa.Column("error", sa.Text),
        sa.Column("skip_reason", sa.Text),
        sa.Column("cursor", sa.Text),
        **_AUTOINCREMENT,
    )
    op.create_index("idx_ticks_selector_timestamp", "ticks", ["selector_id", "timestamp"])
    op.create_table(
        "kvs",
        sa.Column("key", sa.String(512), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "daemon_heartbeats",
        sa.Column("daemon_type", sa.String(255), primary_key=True),
        sa.Column("daemon_id", sa.String(255), nullable=False),
        sa.Column("timestamp", sa.Float, nullable=False),
        sa.Column("body", sa.Text),
    )


def downgrade() -> None:
    for table in ("daemon_heartbeats", "kvs", "ticks", "instigators", "dynamic_partitions"):
        op.drop_table(table)
