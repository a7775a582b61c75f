"""What a code location defines, as `kubedag list` prints it.

A quick inventory, read from the loaded `Definitions` without running anything: assets in
dependency order with their group, owners and upstream assets; checks; jobs with what they run;
schedules and sensors with their targets. Pure functions from definitions to lines of text.
"""

from __future__ import annotations

from typing import Any

from kubedag.cli.tables import format_columns
from kubedag.definitions.definitions import Definitions


def asset_rows(defs: Definitions) -> list[list[str]]:
    graph = defs.asset_graph
    rows = []
    for key in graph.toposorted_keys:
        spec = graph.specs[key]
        parents = ", ".join(p.to_user_string() for p in graph.parents[key])
        notes = []
        if key in graph.external_keys:
            notes.append("external")
        if spec.partitions_def is not None:
            notes.append(f"partitioned: {type(spec.partitions_def).__name__}")
        if spec.owners:
            notes.append("owners: " + ", ".join(spec.owners))
        rows.append(
            [
                key.to_user_string(),
                f"group: {spec.effective_group}",
                f"deps: {parents or '-'}",
                "; ".join(notes),
            ]
        )
    return rows


def check_rows(defs: Definitions) -> list[list[str]]:
    rows = []
    for key, spec in defs.asset_graph.check_specs.items():
        rows.append(
            [
                key.to_user_string(),
                "blocking" if spec.blocking else "non-blocking",
                spec.description or "",
            ]
        )
    return rows


def _job_target(job: Any) -> str:
    if job.selection is not None:
        keys = sorted(k.to_user_string() for k in job.selection.asset_keys)
        return "assets: " + (", ".join(keys) or "none")
    return "ops: " + (", ".join(job.step_keys) or "none")


def job_rows(defs: Definitions) -> list[list[str]]:
    return [[job.name, _job_target(job), job.description or ""] for job in defs.jobs]


def schedule_rows(defs: Definitions) -> list[list[str]]:
    rows = []
    for schedule in defs.schedules:
        timezone = f" {schedule.execution_timezone}" if schedule.execution_timezone else ""
        rows.append(
            [
                schedule.name,
                f"cron: {schedule.cron_schedule}{timezone}",
                f"job: {schedule.job_name or '-'}",
                f"default: {schedule.default_status.value}",
            ]
        )
    return rows


def sensor_rows(defs: Definitions) -> list[list[str]]:
    rows = []
    for sensor in defs.sensors:
        jobs = ", ".join(job.name for job in sensor.jobs) or "-"
        rows.append(
            [
                sensor.name,
                f"every {sensor.minimum_interval_seconds}s",
                f"jobs: {jobs}",
                f"default: {sensor.default_status.value}",
            ]
        )
    return rows


def format_definitions(defs: Definitions) -> str:
    sections = [
        ("Assets", asset_rows(defs)),
        ("Checks", check_rows(defs)),
        ("Jobs", job_rows(defs)),
        ("Schedules", schedule_rows(defs)),
        ("Sensors", sensor_rows(defs)),
    ]
    lines: list[str] = []
    for title, rows in sections:
        if lines:
            lines.append("")
        lines.append(f"{title} ({len(rows)})")
        lines.extend(format_columns(rows))
    return "\n".join(lines) + "\n"
