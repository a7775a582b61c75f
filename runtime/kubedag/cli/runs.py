"""`kubedag runs list` and `kubedag runs show`: the runs stored in the local instance.

A run's record (job, status, tags, times) says where it stands; its event log says what each
step did. `runs list` reads records only; `runs show` reads one record and its events and tells
them with the same step, materialization, check and error sections as the summary `materialize`
prints (`kubedag.cli.summary`).

A run is named by its id, or by a unique prefix of at least `MIN_PREFIX` characters, as people
copy the first block of a UUID. `--json` prints a document whose keys do not change between
versions, for scripts; times there are Unix timestamps, in the tables local time.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from kubedag.cli.exit_codes import EXIT_OK, UsageError
from kubedag.cli.instance_cmd import local_instance
from kubedag.cli.summary import (
    StepReport,
    check_evaluations,
    format_checks,
    format_duration,
    format_failures,
    format_log_lines,
    format_materializations,
    materializations,
    run_outcome,
    step_reports,
)
from kubedag.cli.tables import format_json, format_local_time, format_table
from kubedag.definitions.run_tags import PARTITION_TAG
from kubedag.instance.instance import Instance
from kubedag.records.events import EventLogEntry
from kubedag.records.run import Run, RunStatus
from kubedag.storage.records import RunRecord, RunsFilter

DEFAULT_LIMIT = 20
MIN_PREFIX = 6
RUN_KEYS = (
    "run_id",
    "job_name",
    "status",
    "tags",
    "partition",
    "parent_run_id",
    "root_run_id",
    "create_timestamp",
    "update_timestamp",
    "start_time",
    "end_time",
)


# -- arguments ---------------------------------------------------------------------------------
def parse_status(text: str) -> RunStatus:
    """`--status` values, in any case; a wrong one names the statuses there are."""
    try:
        return RunStatus(text.strip().upper())
    except ValueError:
        valid = ", ".join(status.value for status in RunStatus)
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a run status; use one of {valid}"
        ) from None


def parse_tag(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE (for example team=data)")
    return key, value


def parse_limit(text: str) -> int:
    try:
        limit = int(text)
    except ValueError:
        limit = 0
    if limit < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of runs")
    return limit


def runs_filter(
    statuses: Sequence[RunStatus] | None,
    job_name: str | None,
    tags: Sequence[tuple[str, str]] | None,
) -> RunsFilter | None:
    """The storage filter for `runs list`: every option given must match; one tag key given
    twice accepts either value."""
    accepted: dict[str, list[str]] = {}
    for key, value in tags or ():
        accepted.setdefault(key, []).append(value)
    if not statuses and not job_name and not accepted:
        return None
    return RunsFilter(
        job_name=job_name,
        statuses=list(dict.fromkeys(statuses)) if statuses else None,
        tags=dict(accepted) or None,
    )


# -- reading runs ------------------------------------------------------------------------------
def run_partition(run: Run) -> str | None:
    return run.partition or run.tags.get(PARTITION_TAG)


def run_seconds(record: RunRecord) -> float | None:
    if record.start_time is None or record.end_time is None:
        return None
    return record.end_time - record.start_time


def matching_run_ids(text: str, run_ids: Sequence[str]) -> list[str]:
    """The ids `text` names: itself if present, else those it is a prefix of (when it is long
    enough to be a prefix)."""
    if text in run_ids:
        return [text]
    if len(text) < MIN_PREFIX:
        return []
    return [run_id for run_id in run_ids if run_id.startswith(text)]


def find_run_record(instance: Instance, text: str) -> RunRecord:
    """The run `text` names (an id or a unique prefix), or a `UsageError` saying what to do."""
    text = text.strip()
    record = instance.get_run_record_by_id(text) if text else None
    if record is not None:
        return record
    records = instance.get_run_records() if len(text) >= MIN_PREFIX else []
    by_id = {r.run.run_id: r for r in records}
    found = matching_run_ids(text, list(by_id))
    if len(found) == 1:
        return by_id[found[0]]
    if not found:
        short = (
            f" (a prefix needs at least {MIN_PREFIX} characters)" if len(text) < MIN_PREFIX else ""
        )
        raise UsageError(f"no run with id {text!r}{short}; `kubedag runs list` shows recent runs.")
    candidates = "; ".join(
        f"{run_id} ({by_id[run_id].run.job_name}, {by_id[run_id].run.status.value}, "
        f"created {format_local_time(by_id[run_id].create_timestamp)})"
        for run_id in found
    )
    raise UsageError(
        f"{text!r} is the start of {len(found)} run ids: {candidates}. Give more characters."
    )


# -- formatting: list --------------------------------------------------------------------------
def run_json(record: RunRecord) -> dict[str, Any]:
    """One run as `runs list --json` prints it (the keys of `RUN_KEYS`, in that order)."""
    run = record.run
    return {
        "run_id": run.run_id,
        "job_name": run.job_name,
        "status": run.status.value,
        "tags": dict(sorted(run.tags.items())),
        "partition": run_partition(run),
        "parent_run_id": run.parent_run_id,
        "root_run_id": run.root_run_id,
        "create_timestamp": record.create_timestamp,
        "update_timestamp": record.update_timestamp,
        "start_time": record.start_time,
        "end_time": record.end_time,
    }


def format_runs(records: Sequence[RunRecord]) -> str:
    """The `runs list` table, in the order given (newest first)."""
    if not records:
        return "No runs found.\n"
    rows = [
        [
            r.run.run_id,
            r.run.job_name,
            r.run.status.value,
            format_local_time(r.start_time),
            format_duration(run_seconds(r)),
            run_partition(r.run) or "-",
        ]
        for r in records
    ]
    header = ["RUN ID", "JOB", "STATUS", "STARTED", "DURATION", "PARTITION"]
    return "\n".join(format_table(header, rows)) + "\n"


# -- formatting: show --------------------------------------------------------------------------
def step_state(report: StepReport, run: Run) -> str:
    """The step's state; a step still "running" in a run that has ended did not finish."""
    if run.is_finished and report.state in ("RUNNING", "UP_FOR_RETRY"):
        return "NOT_FINISHED"
    return report.state


def format_run_header(record: RunRecord) -> list[str]:
    import yaml

    run = record.run
    rows = [
        ("Job:", run.job_name),
        ("Status:", run.status.value),
        ("Created:", format_local_time(record.create_timestamp)),
        ("Started:", format_local_time(record.start_time)),
        ("Ended:", format_local_time(record.end_time)),
        ("Duration:", format_duration(run_seconds(record))),
    ]
    partition = run_partition(run)
    if partition:
        rows.append(("Partition:", partition))
    if run.parent_run_id:
        rows.append(("Parent run:", run.parent_run_id))
    if run.root_run_id:
        rows.append(("Root run:", run.root_run_id))
    tags = ", ".join(f"{k}={v}" for k, v in sorted(run.tags.items()))
    rows.append(("Tags:", tags or "(none)"))
    width = len("Parent run: ")  # the longest label, so every run lines up the same
    lines = [f"Run {run.run_id}"]
    lines.extend(f"  {label:<{width}}{value}" for label, value in rows)
    if run.run_config:
        config = yaml.safe_dump(run.run_config, sort_keys=False, default_flow_style=False)
        lines.append("  Run config:")
        lines.extend(f"    {line}" for line in config.rstrip("\n").split("\n"))
    else:
        lines.append(f"  {'Run config:':<{width}}(none)")
    return lines


def format_step_states(reports: Sequence[StepReport], run: Run) -> list[str]:
    if not reports:
        return ["  (no step started)"]
    rows = []
    for report in reports:
        notes = []
        if report.attempts > 1:
            notes.append(f"({report.attempts} attempts)")
        if report.skip_reason:
            notes.append(f"({report.skip_reason})")
        rows.append(
            [
                report.key,
                step_state(report, run),
                format_duration(report.seconds).rjust(9),
                "  ".join(notes),
            ]
        )
    width = [max(len(row[i]) for row in rows) for i in range(2)]
    return [
        f"  {key:<{width[0]}}  {state:<{width[1]}}  {duration}  {notes}".rstrip()
        for key, state, duration, notes in rows
    ]


def format_run_details(
    record: RunRecord, entries: Sequence[EventLogEntry], *, events: bool = False
) -> str:
    """`runs show`: the header, steps, materializations, checks, errors (the user's whole
    traceback, causes included) and, with `events`, every event-log entry."""
    run = record.run
    reports = step_reports(entries)
    lines = [
        *format_run_header(record),
        "",
        "Steps",
        *format_step_states(reports, run),
        "",
        "Materializations",
        *format_materializations(materializations(entries)),
        "",
        "Checks",
        *format_checks(check_evaluations(entries)),
    ]
    failures = format_failures(reports, run_outcome(entries, run.run_id), max_frames=None)
    if failures:
        lines.extend(["", "Errors", *failures])
    if events:
        lines.extend(["", "Events"])
        text = "\n".join(format_log_lines(entries))
        lines.extend(f"  {line}".rstrip() for line in text.split("\n"))
    lines.extend(["", f"Step logs: kubedag logs {run.run_id}"])
    return "\n".join(lines) + "\n"


def run_details_json(record: RunRecord, entries: Sequence[EventLogEntry]) -> dict[str, Any]:
    """`runs show --json`: the run (as in `runs list --json`, plus its run config), its steps,
    materializations and check results, and the run's error, if any."""
    run = record.run
    outcome = run_outcome(entries, run.run_id)
    return {
        "run": {**run_json(record), "run_config": run.run_config},
        "steps": [
            {
                "step_key": report.key,
                "status": step_state(report, run),
                "attempts": report.attempts,
                "start_time": report.start_time,
                "end_time": report.end_time,
                "error": report.error.to_string() if report.error is not None else None,
            }
            for report in step_reports(entries)
        ],
        "materializations": [
            {
                "asset_key": m.asset_key.to_user_string(),
                "partition": m.partition,
                "metadata": m.metadata,
            }
            for m in materializations(entries)
        ],
        "checks": [
            {
                "asset_key": c.asset_key.to_user_string(),
                "check_name": c.check_name,
                "passed": c.passed,
                "severity": c.severity.value,
                "blocking": c.blocking,
                "description": c.description,
                "metadata": c.metadata,
            }
            for c in check_evaluations(entries)
        ],
        "error": outcome.error.to_string() if outcome.error is not None else None,
    }


# -- commands ----------------------------------------------------------------------------------
def add_runs_commands(commands: Any) -> None:
    """`kubedag runs list|show` under `commands` (an argparse subparsers action)."""
    group = commands.add_parser(
        "runs",
        help="list the instance's runs, or show one",
        description="The runs stored in the local instance ($KUBEDAG_HOME).",
    )
    actions = group.add_subparsers(dest="runs_command", required=True, metavar="ACTION")
    listing = actions.add_parser(
        "list",
        help="recent runs, newest first",
        description=(
            "List runs newest first: id, job, status, start (local time), duration, partition. "
            "Filters combine: a run must match every one given."
        ),
    )
    listing.add_argument(
        "--status",
        dest="statuses",
        type=parse_status,
        nargs="+",
        action="extend",
        metavar="STATUS",
        help="only runs in one of these statuses ("
        + ", ".join(status.value for status in RunStatus)
        + ")",
    )
    listing.add_argument("--job", metavar="JOB", help="only runs of this job")
    listing.add_argument(
        "--tag",
        dest="tags",
        type=parse_tag,
        nargs="+",
        action="extend",
        metavar="KEY=VALUE",
        help="only runs with this tag (several tags must all match; one key given twice "
        "accepts either value)",
    )
    listing.add_argument(
        "--limit",
        type=parse_limit,
        default=DEFAULT_LIMIT,
        metavar="N",
        help=f"show at most N runs (default {DEFAULT_LIMIT})",
    )
    listing.add_argument("--json", action="store_true", help="print a JSON list instead")
    listing.set_defaults(handler=run_runs_list)

    show = actions.add_parser(
        "show",
        help="one run: status, steps, materializations, checks and errors",
        description=(
            "Show one run: its job, status, times, tags and run config; its steps with status "
            "and duration; the assets it materialized and the checks it ran; and for a failed "
            "run, the failing step's error with the traceback of your code."
        ),
    )
    show.add_argument(
        "run_id",
        metavar="RUN_ID",
        help=f"the run's id, or a unique prefix of it (at least {MIN_PREFIX} characters)",
    )
    show.add_argument("--events", action="store_true", help="also print every event of the run")
    show.add_argument("--json", action="store_true", help="print a JSON document instead")
    show.set_defaults(handler=run_runs_show)

    cancel = actions.add_parser(
        "cancel",
        help="cancel a queued or running run",
        description="Cancel a run: a queued run is canceled at once; a running one is marked "
        "CANCELING, its worker starts no further step, stops the running ones and ends the run "
        "CANCELED.",
    )
    cancel.add_argument("run_id", metavar="RUN_ID", help="the run's id, or a unique prefix")
    cancel.set_defaults(handler=run_runs_cancel)

    reexecute = actions.add_parser(
        "reexecute",
        help="re-execute a run from failure, or chosen steps of it; print the new run id",
        description="Create a run that re-executes RUN_ID (recording it as the parent) and submit "
        "it to the run coordinator. Steps not re-executed are not run again: their outputs are "
        "loaded from where the earlier runs stored them. The new run id is the last line "
        "printed. The code is the code location recorded on the run, or -f/-m.",
    )
    reexecute.add_argument("run_id", metavar="RUN_ID", help="the run's id, or a unique prefix")
    which = reexecute.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--from-failure",
        action="store_true",
        help="the steps that did not succeed, and everything downstream of them",
    )
    which.add_argument(
        "--step",
        dest="steps",
        action="append",
        metavar="QUERY",
        help="steps to re-execute: a key, with '*' or '+' for up/downstream (repeatable)",
    )
    where = reexecute.add_mutually_exclusive_group()
    where.add_argument("-f", "--python-file", metavar="FILE", help="the code, if not recorded")
    where.add_argument("-m", "--module-name", metavar="MODULE", help="the code, if not recorded")
    reexecute.add_argument("-a", "--attribute", metavar="ATTRIBUTE", help=argparse.SUPPRESS)
    reexecute.set_defaults(handler=run_runs_reexecute)


def run_runs_list(args: argparse.Namespace) -> int:
    filters = runs_filter(args.statuses, args.job, args.tags)
    with local_instance() as instance:
        records = instance.get_run_records(filters, limit=args.limit)
    if args.json:
        sys.stdout.write(format_json([run_json(r) for r in records]))
    else:
        sys.stdout.write(format_runs(records))
    return EXIT_OK


def run_runs_show(args: argparse.Namespace) -> int:
    with local_instance() as instance:
        record = find_run_record(instance, args.run_id)
        entries = instance.all_logs(record.run.run_id)
    if args.json:
        sys.stdout.write(format_json(run_details_json(record, entries)))
    else:
        sys.stdout.write(format_run_details(record, entries, events=args.events))
    return EXIT_OK


def run_runs_cancel(args: argparse.Namespace) -> int:
    with local_instance() as instance:
        run = find_run_record(instance, args.run_id).run
        if run.is_finished:
            raise UsageError(
                f"run {run.run_id} already finished ({run.status.value}); there is nothing to "
                "cancel."
            )
        instance.terminate_run(run.run_id)
        now = instance.get_run_by_id(run.run_id)
    status = now.status if now is not None else RunStatus.CANCELED
    if status is RunStatus.CANCELED:
        print(f"Canceled run {run.run_id}.")
    else:
        print(
            f"Canceling run {run.run_id} ({status.value}): its worker stops after the running "
            "steps; `kubedag runs show` tells when it is CANCELED."
        )
    return EXIT_OK


def run_runs_reexecute(args: argparse.Namespace) -> int:
    from kubedag.code_location.code_pointer import CodePointer
    from kubedag.execution.reexecution import reexecute_run
    from kubedag.runs.submission import code_location_for

    with local_instance() as instance:
        parent = find_run_record(instance, args.run_id).run
        location: dict[str, str] | None = parent.code_location
        if args.python_file or args.module_name:
            location = code_location_for(
                python_file=args.python_file,
                module_name=args.module_name,
                attribute=args.attribute,
            )
        if not location:
            raise UsageError(
                f"run {parent.run_id} does not record its code location (it was not launched "
                "with `kubedag job launch`); say where the code is with -f FILE or -m MODULE."
            )
        job = CodePointer.from_mapping(location, parent.run_id).load().get_job_def(parent.job_name)
        child = reexecute_run(
            instance,
            parent.run_id,
            job,
            from_failure=args.from_failure,
            step_selection=args.steps,
            code_location=location,
        )
        submitted = instance.submit_run(child.run_id)
        steps = ", ".join(child.step_keys_to_execute or ())
        print(
            f"Re-executing run {parent.run_id} as {child.run_id} (steps: {steps}); "
            f"{submitted.status.value.lower()}.",
            file=sys.stderr,
        )
        print(child.run_id)
    return EXIT_OK
