"""`kubedag assets list`: every asset the instance has a materialization of, and the latest one.

This reads the instance, not a code location: it answers "what has been materialized here, when
and by which run", including assets that a code location no longer defines. (`kubedag list`
answers the other question: what a code location defines.)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kubedag.cli.exit_codes import EXIT_OK
from kubedag.cli.instance_cmd import local_instance
from kubedag.cli.tables import format_json, format_local_time, format_table
from kubedag.storage.records import AssetRecord


@dataclass(frozen=True)
class AssetRow:
    """An asset and its latest materialization."""

    asset_key: str  # parts joined by '/', as on the command line
    last_materialization_time: float
    last_run_id: str
    partition: str | None


def asset_rows(records: Sequence[AssetRecord]) -> list[AssetRow]:
    """Assets with a materialization, sorted by key."""
    rows = []
    for record in records:
        entry = record.asset_entry
        latest = entry.last_materialization
        if latest is None:
            continue
        event = latest.event
        data = event.event_specific_data if event is not None else None
        partition = getattr(data, "partition", None) or (event.partition if event else None)
        rows.append(
            AssetRow(
                entry.asset_key.to_user_string(),
                latest.timestamp,
                entry.last_run_id or latest.run_id,
                partition,
            )
        )
    return sorted(rows, key=lambda row: row.asset_key)


def format_assets(rows: Sequence[AssetRow]) -> str:
    if not rows:
        return "No asset has been materialized on this instance yet.\n"
    header = ["ASSET", "LAST MATERIALIZED", "RUN ID", "PARTITION"]
    table = [
        [
            row.asset_key,
            format_local_time(row.last_materialization_time),
            row.last_run_id,
            row.partition or "-",
        ]
        for row in rows
    ]
    return "\n".join(format_table(header, table)) + "\n"


def assets_json(rows: Sequence[AssetRow]) -> list[dict[str, Any]]:
    return [
        {
            "asset_key": row.asset_key,
            "last_materialization_timestamp": row.last_materialization_time,
            "last_run_id": row.last_run_id,
            "partition": row.partition,
        }
        for row in rows
    ]


# -- commands ----------------------------------------------------------------------------------
def add_assets_commands(commands: Any) -> None:
    """`kubedag assets list` under `commands` (an argparse subparsers action)."""
    group = commands.add_parser(
        "assets",
        help="assets materialized on the instance",
        description="Assets as the local instance ($KUBEDAG_HOME) knows them.",
    )
    actions = group.add_subparsers(dest="assets_command", required=True, metavar="ACTION")
    listing = actions.add_parser(
        "list",
        help="every materialized asset, with its latest materialization",
        description=(
            "List every asset with a materialization: its key, when it was last materialized "
            "(local time), by which run, and that materialization's partition."
        ),
    )
    listing.add_argument("--json", action="store_true", help="print a JSON list instead")
    listing.set_defaults(handler=run_assets_list)


def run_assets_list(args: argparse.Namespace) -> int:
    with local_instance() as instance:
        rows = asset_rows(instance.get_asset_records())
    sys.stdout.write(format_json(assets_json(rows)) if args.json else format_assets(rows))
    return EXIT_OK
