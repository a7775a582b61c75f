"""`kubedag backfill`: materialize many partitions of a job or of some assets at once.

`kubedag backfill -f defs.py --job daily_job --partitions 2024-01-01...2024-01-31` checks
everything first (the partitions exist, the run config fits), records a backfill, then creates
one run per partition (`--from-range`: one run over the whole range) and submits each to the
instance's run coordinator. It prints the backfill id as its last line. `list`, `show ID` and
`cancel ID` follow it; its status is refreshed from its runs each time it is shown.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from kubedag.cli.exit_codes import EXIT_OK, UsageError
from kubedag.cli.instance_cmd import local_instance
from kubedag.cli.runs import parse_tag
from kubedag.cli.tables import format_columns, format_local_time, format_table
from kubedag.definitions.job import JobDefinition
from kubedag.definitions.partitions import (
    PartitionKeyRange,
    PartitionsDefinition,
    UnknownPartitionError,
)
from kubedag.errors import InvalidConfigError
from kubedag.storage.records import Backfill, BackfillStatus


def add_backfill_commands(commands: Any) -> None:
    from kubedag.cli.code_location_args import add_code_location_arguments

    backfill = commands.add_parser(
        "backfill",
        help="run many partitions at once; list, show or cancel backfills",
        description="Create a backfill: one run per selected partition (or one run over the "
        "range with --from-range), submitted to the instance's run coordinator. The backfill "
        "id is the last line printed. `kubedag backfill list|show ID|cancel ID` follow it.",
    )
    add_code_location_arguments(backfill)
    backfill._mutually_exclusive_groups[0].required = False  # `list` etc. need no code location
    target = backfill.add_mutually_exclusive_group()
    target.add_argument("--job", metavar="NAME", help="the partitioned job to backfill")
    target.add_argument(
        "--assets",
        metavar="SELECTION",
        help="asset keys to backfill, comma-separated (a/b for a key with a prefix)",
    )
    which = backfill.add_mutually_exclusive_group()
    which.add_argument(
        "--partitions", metavar="FROM...TO", help="a range of partition keys, both included"
    )
    which.add_argument(
        "--partition",
        dest="partition_keys",
        action="extend",
        nargs="+",
        metavar="KEY",
        help="one or more partition keys",
    )
    which.add_argument("--all", action="store_true", help="every partition that exists now")
    backfill.add_argument(
        "--tag",
        action="append",
        type=parse_tag,
        default=[],
        metavar="KEY=VALUE",
        help="a tag for every run (repeatable)",
    )
    backfill.add_argument("--config", metavar="RUN_CONFIG.yaml", help="run config file")
    backfill.add_argument(
        "--from-range",
        action="store_true",
        help="one run over the whole range (every asset time-partitioned alike)",
    )
    backfill.set_defaults(handler=run_backfill)
    actions = backfill.add_subparsers(dest="backfill_command", metavar="ACTION")
    listing = actions.add_parser("list", help="list backfills, newest first")
    listing.add_argument(
        "--status", choices=[s.value for s in BackfillStatus], help="only backfills in STATUS"
    )
    listing.set_defaults(handler=run_backfill_list)
    show = actions.add_parser("show", help="a backfill's status and its runs")
    show.add_argument("backfill_id", metavar="ID")
    show.set_defaults(handler=run_backfill_show)
    cancel = actions.add_parser("cancel", help="cancel a backfill's unfinished runs")
    cancel.add_argument("backfill_id", metavar="ID")
    cancel.set_defaults(handler=run_backfill_cancel)


# -- choosing partitions (pure) -----------------------------------------------------------------
def parse_partition_range(text: str) -> PartitionKeyRange:
    """`FROM...TO` (or `FROM..TO`) as a range; keys may not contain the separator."""
    for separator in ("...", ".."):
        start, found, end = text.partition(separator)
        if found and start and end:
            return PartitionKeyRange(start, end)
    raise InvalidConfigError(
        f"--partitions {text!r}: write a range as FROM...TO, for example "
        "--partitions 2024-01-01...2024-01-31."
    )


def select_partitions(
    partitions_def: PartitionsDefinition,
    *,
    partition_range: PartitionKeyRange | None = None,
    keys: list[str] | None = None,
    all_keys: bool = False,
    dynamic_partitions_store: Any = None,
) -> list[str]:
    """The keys a backfill runs, each checked; an unknown one is an error naming it."""
    store = dynamic_partitions_store
    if all_keys:
        return list(partitions_def.get_partition_keys(dynamic_partitions_store=store))
    if partition_range is not None:
        for end, key in (("start", partition_range.start), ("end", partition_range.end)):
            _check_key(partitions_def, key, f"--partitions {end}", store)
        try:
            return list(partitions_def.get_partition_keys_in_range(partition_range, store))
        except UnknownPartitionError as exc:
            raise InvalidConfigError(f"--partitions: {exc}") from None
    chosen = list(dict.fromkeys(keys or []))
    for key in chosen:
        _check_key(partitions_def, key, "--partition", store)
    return chosen


def _check_key(partitions_def: PartitionsDefinition, key: str, flag: str, store: Any) -> None:
    from kubedag.definitions.partitions.base import describe_keys

    if not partitions_def.has_partition_key(key, dynamic_partitions_store=store):
        raise InvalidConfigError(
            f"{flag}: {key!r} is not a partition of {partitions_def}; "
            f"{describe_keys(partitions_def, dynamic_partitions_store=store)}"
        )


# -- commands -------------------------------------------------------------------------------------
def _target_job(args: argparse.Namespace) -> JobDefinition:
    from kubedag.cli.code_location_args import load_code_location, selected_job

    if args.python_file is None and args.module_name is None:
        raise InvalidConfigError(
            "kubedag backfill: say where the code is with -f FILE or -m MODULE (or use "
            "`kubedag backfill list|show|cancel`)."
        )
    if args.job is None and args.assets is None:
        raise InvalidConfigError("kubedag backfill: say what to run with --job NAME or --assets.")
    defs = load_code_location(args)
    if args.job is not None:
        return defs.get_job_def(args.job)
    keys = [key.strip() for key in args.assets.split(",") if key.strip()]
    return selected_job(defs, keys)


def run_backfill(args: argparse.Namespace) -> int:
    from kubedag.backfills.submission import create_backfill
    from kubedag.cli.code_location_args import load_run_config
    from kubedag.runs.submission import code_location_for

    job = _target_job(args)
    if job.partitions_def is None:
        raise InvalidConfigError(
            f"kubedag backfill: job '{job.name}' is not partitioned; run it with "
            "`kubedag job launch` instead."
        )
    if not (args.partitions or args.partition_keys or args.all):
        raise InvalidConfigError(
            "kubedag backfill: say which partitions with --partitions FROM...TO, "
            "--partition KEY … or --all."
        )
    run_config = load_run_config(args.config) if args.config else None
    with local_instance() as instance:
        keys = select_partitions(
            job.partitions_def,
            partition_range=parse_partition_range(args.partitions) if args.partitions else None,
            keys=args.partition_keys,
            all_keys=args.all,
            dynamic_partitions_store=instance,
        )
        location = code_location_for(
            python_file=args.python_file, module_name=args.module_name, attribute=args.attribute
        )
        backfill = create_backfill(
            instance,
            job,
            code_location=location,
            partition_keys=keys,
            from_range=args.from_range,
            tags=dict(args.tag),
            run_config=run_config,
        )
    runs = "1 run over the range" if backfill.from_range else f"{len(backfill.run_ids)} runs"
    print(
        f"Backfill {backfill.backfill_id} of job '{job.name}': {len(keys)} partitions "
        f"({keys[0]} to {keys[-1]}), {runs} submitted.",
        file=sys.stderr,
    )
    print(backfill.backfill_id)
    return EXIT_OK


def _refreshed(instance: Any, backfill: Backfill) -> Backfill:
    from kubedag.backfills.submission import refresh_backfill

    return refresh_backfill(instance, backfill)


def _progress_text(instance: Any, backfill: Backfill) -> str:
    from kubedag.backfills.status import progress
    from kubedag.backfills.submission import expected_runs, run_statuses

    counts = progress(run_statuses(instance, backfill).values(), expected_runs(backfill))
    return ", ".join(f"{count} {status.lower()}" for status, count in counts.items()) or "-"


def run_backfill_list(args: argparse.Namespace) -> int:
    status = BackfillStatus(args.status) if args.status else None
    with local_instance() as instance:
        rows = []
        for backfill in instance.get_backfills():
            backfill = _refreshed(instance, backfill)
            if status is not None and backfill.status is not status:
                continue
            rows.append(
                [
                    backfill.backfill_id,
                    backfill.status.value,
                    backfill.job_name,
                    str(len(backfill.partition_keys)),
                    _progress_text(instance, backfill),
                    format_local_time(backfill.create_timestamp),
                ]
            )
    if not rows:
        print("No backfills.")
        return EXIT_OK
    header = ["ID", "STATUS", "JOB", "PARTITIONS", "RUNS", "CREATED"]
    print("\n".join(format_table(header, rows)))
    return EXIT_OK


def _backfill_or_error(instance: Any, backfill_id: str) -> Backfill:
    backfill: Backfill | None = instance.get_backfill(backfill_id)
    if backfill is None:
        known = [b.backfill_id for b in instance.get_backfills(limit=5)]
        hint = f" Recent ones: {', '.join(known)}." if known else " There are none yet."
        raise UsageError(f"No backfill {backfill_id!r} on this instance.{hint}")
    return backfill


def run_backfill_show(args: argparse.Namespace) -> int:
    from kubedag.backfills.submission import run_statuses

    with local_instance() as instance:
        backfill = _refreshed(instance, _backfill_or_error(instance, args.backfill_id))
        statuses = run_statuses(instance, backfill)
        progress_text = _progress_text(instance, backfill)
    keys = backfill.partition_keys
    lines = [
        f"Backfill {backfill.backfill_id}",
        *format_columns(
            [
                ["Status:", backfill.status.value],
                ["Job:", backfill.job_name],
                ["Assets:", ", ".join(backfill.asset_selection or ()) or "all of the job's"],
                ["Partitions:", f"{len(keys)} ({keys[0]} to {keys[-1]})" if keys else "0"],
                ["Runs:", progress_text],
                ["Created:", format_local_time(backfill.create_timestamp)],
            ]
        ),
        "",
        "Runs:",
        *format_columns(
            [[label, run_id, statuses[label].value] for label, run_id in backfill.run_ids.items()]
        ),
    ]
    print("\n".join(lines))
    return EXIT_OK


def run_backfill_cancel(args: argparse.Namespace) -> int:
    from kubedag.backfills.submission import cancel_backfill

    with local_instance() as instance:
        backfill = _backfill_or_error(instance, args.backfill_id)
        backfill = cancel_backfill(instance, backfill.backfill_id)
    print(f"Backfill {backfill.backfill_id}: {backfill.status.value}.")
    return EXIT_OK
