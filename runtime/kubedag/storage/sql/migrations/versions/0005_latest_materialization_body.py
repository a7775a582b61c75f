"""Keep the latest materialization's event body in `asset_keys`.

Reading the latest materialization of 10,000 assets was a join of `asset_keys` with
`event_logs`; with the body beside the id it is one indexed lookup in one table. Existing rows
get their body copied from the event log.

Revision ID: 0005_latest_materialization_body
Revises: 0004_automation_runs
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_latest_materialization_body"
down_revision = "0004_automation_runs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("asset_keys") as batch:
        batch.add_column(sa.Column("last_materialization_body", sa.Text))
    op.execute(
        "UPDATE asset_keys SET last_materialization_body = (SELECT event_logs.body FROM "
        "event_logs WHERE event_logs.id = asset_keys.last_materialization_id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("asset_keys") as batch:
        batch.drop_column("last_materialization_body")
