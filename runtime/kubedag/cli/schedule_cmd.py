"""`kubedag schedule list|start|stop|preview` and `kubedag sensor list|start|stop|preview`.

Each takes the code location like the other commands (`-f FILE | -m MODULE [-a ATTRIBUTE]`) and
opens the local instance, where schedule and sensor state lives. The location's name (which
prefixes every selector, `location:name`) is the module name or the file's stem, as the
daemon's workspace names it; `--location-name` overrides it when the workspace does.

- `list`: every schedule (sensor) with its status — RUNNING or STOPPED as stored by
  `start`/`stop`, or the definition's default (shown as `(default)`) — and for schedules the
  next tick in the schedule's time zone; sensors include `default_automation_condition_sensor`
  when an asset has an automation condition.
- `start NAME` / `stop NAME`: store RUNNING (ticks from now on run; none from before) or
  STOPPED. `kubedag daemon` does the running.
- `schedule preview NAME --count N`: the next N tick times in the schedule's time zone.
- `sensor preview NAME`: evaluate the sensor once, with its stored cursor (or `--cursor`), and
  print what it would request and the cursor it would save; creates no run, saves nothing.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from kubedag.automation.conditions import (
    AUTOMATION_SENSOR_NAME,
    AutomationCursor,
    evaluate_automation_conditions,
)
from kubedag.automation.instigators import is_running, selector_id, set_running
from kubedag.automation.schedules import next_ticks
from kubedag.automation.sensors import build_sensor_context, evaluate_sensor
from kubedag.automation.workspace import location_name_for
from kubedag.cli.exit_codes import EXIT_OK
from kubedag.cli.instance_cmd import local_instance
from kubedag.cli.tables import format_columns, format_local_time
from kubedag.definitions.definitions import Definitions
from kubedag.definitions.run_request import RunRequest
from kubedag.definitions.schedules import (
    DefaultScheduleStatus,
    DefaultSensorStatus,
    ScheduleDefinition,
)
from kubedag.errors import InvalidConfigError
from kubedag.instance.instance import Instance
from kubedag.storage.records import InstigatorState, InstigatorStatus, InstigatorType


def add_schedule_commands(commands: Any) -> None:
    from kubedag.cli.code_location_args import add_code_location_arguments

    for kind in ("schedule", "sensor"):
        group = commands.add_parser(
            kind,
            help=f"list, start, stop or preview the {kind}s of a code location",
            description=f"The {kind}s of a code location and their state in the local "
            "instance. `kubedag daemon` evaluates the running ones.",
        )
        actions = group.add_subparsers(dest=f"{kind}_command", required=True, metavar="ACTION")
        parsers = {
            "list": actions.add_parser("list", help=f"every {kind}, its status and more"),
            "start": actions.add_parser("start", help=f"turn a {kind} on"),
            "stop": actions.add_parser("stop", help=f"turn a {kind} off"),
            "preview": actions.add_parser(
                "preview",
                help="the next tick times"
                if kind == "schedule"
                else "evaluate once; create no run, save no cursor",
            ),
        }
        for action, parser in parsers.items():
            add_code_location_arguments(parser)
            parser.add_argument(
                "--location-name",
                metavar="NAME",
                help="the code location's name, when the daemon's workspace gives it one "
                "(default: the module name or the file's stem)",
            )
            if action != "list":
                parser.add_argument("name", metavar="NAME", help=f"the {kind}'s name")
            parser.set_defaults(handler=_HANDLERS[(kind, action)])
        preview = parsers["preview"]
        if kind == "schedule":
            preview.add_argument(
                "--count", type=int, default=5, metavar="N", help="how many ticks (default 5)"
            )
            preview.add_argument(
                "--after",
                metavar="DATETIME",
                help="ticks after this ISO time (default: now; a naive time is UTC)",
            )
        else:
            preview.add_argument(
                "--cursor", metavar="CURSOR", help="evaluate from this cursor, not the stored one"
            )


def _location(args: argparse.Namespace) -> tuple[str, Definitions]:
    from kubedag.cli.code_location_args import load_code_location

    defs = load_code_location(args)
    name = args.location_name or location_name_for(args.python_file, args.module_name)
    return name, defs


# -- formatting --------------------------------------------------------------------------------
def status_label(
    state: InstigatorState | None, default: DefaultScheduleStatus | DefaultSensorStatus | bool
) -> str:
    """RUNNING or STOPPED, with `(default)` when the definition's default decides."""
    default_on = default if isinstance(default, bool) else default.value == "RUNNING"
    on = is_running(state, default_on)
    word = "RUNNING" if on else "STOPPED"
    if state is None or state.status is InstigatorStatus.DECLARED_IN_CODE:
        return f"{word} (default)"
    return word


def schedule_rows(
    location: str, defs: Definitions, instance: Instance, now: datetime
) -> list[list[str]]:
    rows = []
    for schedule in defs.schedules:
        state = instance.get_instigator_state(selector_id(location, schedule.name))
        crons = ", ".join(schedule.cron_schedules)
        upcoming = next_ticks(schedule, now, 1)[0]
        rows.append(
            [
                schedule.name,
                f"{crons} ({schedule.timezone})",
                f"job: {schedule.job_name}",
                status_label(state, schedule.default_status),
                f"next: {upcoming.isoformat()}",
            ]
        )
    return rows


def sensor_rows(location: str, defs: Definitions, instance: Instance) -> list[list[str]]:
    rows = []
    for sensor in defs.sensors:
        state = instance.get_instigator_state(selector_id(location, sensor.name))
        target = f"asset: {sensor.asset_key.to_user_string()}" if sensor.asset_key else ""
        rows.append(
            [
                sensor.name,
                f"every {sensor.minimum_interval_seconds:g}s",
                f"jobs: {', '.join(sensor.job_names) or '-'}" + (f"; {target}" if target else ""),
                status_label(state, sensor.default_status),
                f"cursor: {state.cursor if state and state.cursor is not None else '-'}",
            ]
        )
    if _has_conditions(defs):
        state = instance.get_instigator_state(selector_id(location, AUTOMATION_SENSOR_NAME))
        last = state.last_tick_timestamp if state is not None else None
        rows.append(
            [
                AUTOMATION_SENSOR_NAME,
                "every 30s",
                "assets with automation conditions",
                status_label(state, True),
                f"last evaluation: {format_local_time(last)}",
            ]
        )
    return rows


def format_request(request: RunRequest) -> str:
    parts = []
    if request.run_key is not None:
        parts.append(f"run_key={request.run_key}")
    if request.job_name is not None:
        parts.append(f"job={request.job_name}")
    if request.partition_key is not None:
        parts.append(f"partition={request.partition_key}")
    if request.asset_selection is not None:
        parts.append("assets=" + ",".join(k.to_user_string() for k in request.asset_selection))
    if request.run_config:
        parts.append(f"run_config={request.run_config}")
    return "RunRequest(" + ", ".join(parts) + ")"


def _has_conditions(defs: Definitions) -> bool:
    return any(spec.automation_condition is not None for spec in defs.asset_graph.specs.values())


# -- commands ----------------------------------------------------------------------------------
def run_schedule_list(args: argparse.Namespace) -> int:
    location, defs = _location(args)
    with local_instance() as instance:
        rows = schedule_rows(location, defs, instance, datetime.now(UTC))
    print(f"Schedules of {location} ({len(rows)})")
    print("\n".join(format_columns(rows)))
    return EXIT_OK


def run_sensor_list(args: argparse.Namespace) -> int:
    location, defs = _location(args)
    with local_instance() as instance:
        rows = sensor_rows(location, defs, instance)
    print(f"Sensors of {location} ({len(rows)})")
    print("\n".join(format_columns(rows)))
    return EXIT_OK


def _switch(args: argparse.Namespace, kind: InstigatorType, running: bool) -> int:
    location, defs = _location(args)
    if kind is InstigatorType.SCHEDULE:
        defs.get_schedule_def(args.name)
    elif args.name != AUTOMATION_SENSOR_NAME or not _has_conditions(defs):
        defs.get_sensor_def(args.name)
    with local_instance() as instance:
        set_running(instance, location, args.name, kind, running)
    word = "Started" if running else "Stopped"
    what = "schedule" if kind is InstigatorType.SCHEDULE else "sensor"
    note = " `kubedag daemon` evaluates it from now on." if running else ""
    print(f"{word} {what} {selector_id(location, args.name)}.{note}")
    return EXIT_OK


def run_schedule_preview(args: argparse.Namespace) -> int:
    _, defs = _location(args)
    schedule: ScheduleDefinition = defs.get_schedule_def(args.name)
    if args.count < 1:
        raise InvalidConfigError(f"--count must be 1 or more, got {args.count}.")
    after = _parse_after(args.after)
    ticks = next_ticks(schedule, after, args.count)
    print(
        f"Next {len(ticks)} ticks of {schedule.name} ({', '.join(schedule.cron_schedules)}, "
        f"{schedule.timezone}):"
    )
    for tick in ticks:
        print(f"  {tick.isoformat()}")
    return EXIT_OK


def _parse_after(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidConfigError(
            f"--after {text!r} is not an ISO date and time; for example 2024-03-10T00:00:00-05:00."
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def run_sensor_preview(args: argparse.Namespace) -> int:
    location, defs = _location(args)
    if args.name == AUTOMATION_SENSOR_NAME and _has_conditions(defs):
        return _preview_automation(location, defs, args.cursor)
    sensor = defs.get_sensor_def(args.name)
    with local_instance() as instance:
        state = instance.get_instigator_state(selector_id(location, sensor.name))
        cursor = args.cursor if args.cursor is not None else (state.cursor if state else None)
        context = build_sensor_context(
            instance=instance,
            cursor=cursor,
            sensor_name=sensor.name,
            last_run_key=state.data.get("last_run_key") if state else None,
            definitions=defs,
        )
        evaluation = evaluate_sensor(sensor, context)
    print(f"Sensor {sensor.name} (cursor {cursor!r}): nothing was created or saved.")
    for request in evaluation.run_requests:
        print(f"  would request {format_request(request)}")
    for item in evaluation.dynamic_partitions_requests:
        print(
            f"  would apply {type(item).__name__}({item.partitions_def_name}: "
            f"{', '.join(item.partition_keys)})"
        )
    if not evaluation.run_requests:
        print(f"  skipped: {evaluation.skip_message or 'no run requested'}")
    print(f"  cursor after: {evaluation.cursor!r}")
    return EXIT_OK


def _preview_automation(location: str, defs: Definitions, cursor_text: str | None) -> int:
    with local_instance() as instance:
        state = instance.get_instigator_state(selector_id(location, AUTOMATION_SENSOR_NAME))
        stored = cursor_text if cursor_text is not None else (state.cursor if state else None)
        result = evaluate_automation_conditions(defs, instance, AutomationCursor.from_json(stored))
    print(f"Automation conditions of {location}: nothing was created or saved.")
    for item in result.requests:
        print(f"  would request {item.describe()}")
    for request in result.run_requests:
        print(f"  as a run: {format_request(request)}")
    if not result.requests:
        print("  skipped: no asset needs materializing")
    return EXIT_OK


_HANDLERS = {
    ("schedule", "list"): run_schedule_list,
    ("schedule", "start"): lambda args: _switch(args, InstigatorType.SCHEDULE, True),
    ("schedule", "stop"): lambda args: _switch(args, InstigatorType.SCHEDULE, False),
    ("schedule", "preview"): run_schedule_preview,
    ("sensor", "list"): run_sensor_list,
    ("sensor", "start"): lambda args: _switch(args, InstigatorType.SENSOR, True),
    ("sensor", "stop"): lambda args: _switch(args, InstigatorType.SENSOR, False),
    ("sensor", "preview"): run_sensor_preview,
}
