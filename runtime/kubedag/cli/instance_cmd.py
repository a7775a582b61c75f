"""`kubedag instance info` and `kubedag instance migrate`, and how every command opens the
local instance.

Commands open the instance the same way (`local_instance`): `Instance.get()`, which reads
`$KUBEDAG_HOME/kubedag.yaml`, and they dispose it when they end, so database connections and
compute-log clients do not outlive the command.

Opening an instance checks its database schema and refuses one written by an older kubedag,
naming `kubedag instance migrate`. That command, and `info` (which reports the schema revision),
must therefore open the instance without the check.

Nothing here prints a password: storage is described by host, port, database and user, and
`hide_url_passwords` masks any `scheme://user:password@` that a plugin might put in a
description.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from kubedag.cli.exit_codes import EXIT_OK
from kubedag.cli.tables import format_columns, format_json, hide_url_passwords
from kubedag.instance.instance import Instance

if TYPE_CHECKING:
    from kubedag.storage.sql.migration import MigrationResult


@contextmanager
def local_instance(*, check_schema: bool = True) -> Iterator[Instance]:
    """The local instance, disposed when the command is done with it."""
    instance = Instance.get(check_schema=check_schema)
    try:
        yield instance
    finally:
        instance.dispose()


# -- formatting --------------------------------------------------------------------------------
def format_schema(revision: str | None, expected: str | None) -> str:
    if revision is None:
        return "empty (the schema is created on first use)"
    if revision == expected:
        return f"{revision} (current)"
    return (
        f"{revision}, but this kubedag expects {expected}: run `kubedag instance migrate` "
        "(an older schema), or upgrade kubedag (a newer one)"
    )


def format_instance_info(info: Mapping[str, Any], *, config_file_exists: bool) -> str:
    """What `instance.info()` says, one fact per line."""
    source = info.get("config_source") or "-"
    if source != "-" and not config_file_exists and source.endswith(".yaml"):
        source += " (absent: the defaults apply)"
    expected = info.get("expected_schema_revision")
    schemas: Mapping[str, str | None] = info.get("schema_revisions") or {}
    storage_parts = (
        f"runs: {info.get('run_storage')}, events: {info.get('event_log_storage')}, "
        f"schedules: {info.get('schedule_storage')}"
    )
    rows = [
        ["Home:", str(info.get("home") or "-")],
        ["Config:", source],
        ["Storage:", str(info.get("storage") or "-")],
        ["", storage_parts],
    ]
    if schemas:
        for description, revision in schemas.items():
            label = "Schema:" if len(schemas) == 1 else f"Schema of {description}:"
            rows.append([label, format_schema(revision, expected)])
    else:
        rows.append(["Schema:", "- (no SQL database)"])
    rows.append(["Compute logs:", str(info.get("compute_logs") or "-")])
    rows.append(["Artifacts:", str(info.get("local_artifact_storage") or "-")])
    lines = format_columns(rows, indent="")
    return hide_url_passwords("\n".join(lines)) + "\n"


def format_migration_results(results: Sequence[MigrationResult], storage: str) -> str:
    """One line per database: what `migrate` changed, or that it was already current."""
    if not results:
        return f"Nothing to migrate: this instance has no SQL database (storage: {storage}).\n"
    lines = []
    for result in results:
        if not result.changed:
            lines.append(f"{result.database} already at {result.to_revision}")
        elif result.from_revision is None:
            lines.append(f"created {result.database} at {result.to_revision}")
        else:
            lines.append(
                f"migrated {result.database} from {result.from_revision} to {result.to_revision}"
            )
    return hide_url_passwords("\n".join(lines)) + "\n"


# -- commands ----------------------------------------------------------------------------------
def add_instance_commands(commands: Any) -> None:
    """`kubedag instance info|migrate` under `commands` (an argparse subparsers action)."""
    group = commands.add_parser(
        "instance",
        help="show or migrate the local instance",
        description=(
            "The local instance: $KUBEDAG_HOME (default ~/.kubedag), configured by "
            "$KUBEDAG_HOME/kubedag.yaml; without that file, SQLite in $KUBEDAG_HOME/kubedag.db."
        ),
    )
    actions = group.add_subparsers(dest="instance_command", required=True, metavar="ACTION")
    info = actions.add_parser(
        "info",
        help="where the instance keeps runs, events, step logs and values",
        description=(
            "Show the instance's home, config file, storage (never a password), schema revision "
            "against the one this kubedag expects, compute log storage and artifact directory."
        ),
    )
    info.add_argument("--json", action="store_true", help="print a JSON document instead")
    info.set_defaults(handler=run_instance_info)
    migrate = actions.add_parser(
        "migrate",
        help="bring the instance's database schema up to date",
        description=(
            "Upgrade the schema of every database of the instance to the revision this kubedag "
            "needs (an empty database gets every table). Back up production databases first."
        ),
    )
    migrate.set_defaults(handler=run_instance_migrate)


def run_instance_info(args: argparse.Namespace) -> int:
    # No schema check: an out-of-date schema is one of the things `info` reports.
    with local_instance(check_schema=False) as instance:
        info = instance.info()
    if args.json:
        sys.stdout.write(hide_url_passwords(format_json(info)))
    else:
        source = info.get("config_source")
        exists = isinstance(source, str) and os.path.isfile(source)
        sys.stdout.write(format_instance_info(info, config_file_exists=exists))
    return EXIT_OK


def run_instance_migrate(args: argparse.Namespace) -> int:
    # No schema check: an out-of-date schema is what `migrate` is for.
    with local_instance(check_schema=False) as instance:
        results = instance.migrate()
        storage = instance.storage_description
    sys.stdout.write(format_migration_results(results, storage))
    return EXIT_OK
