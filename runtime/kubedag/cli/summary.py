"""What a run did, told in a few lines: the summary `kubedag materialize` prints.

The event log is the record of a run, so the summary is computed from it alone: a list of
`EventLogEntry` in, text out. Every function here is pure (no instance, no clock, no terminal),
which keeps the CLI thin and lets tests build entries by hand. Durations come from the entries'
timestamps, STEP_START to the step's last event, so they include retries and I/O.

The summary is printed once the run has ended: steps run in this process and `materialize`
returns at the end, so the only live output is what steps log (on stderr) while they run, and
the progress line of each finished step. `kubedag runs show` reuses the step reports and the
sections below for a stored run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kubedag.cli.metadata_display import metadata_text
from kubedag.definitions.metadata.values import MetadataValue
from kubedag.definitions.results import AssetCheckEvaluation, AssetMaterialization
from kubedag.execution.log_manager import format_console_line
from kubedag.records.events import STEP_TERMINAL_EVENTS, ErrorInfo, EventLogEntry, EventType

MAX_METADATA_CHARS = 100
MAX_ERROR_FRAMES = 8

_STATUS_WORDS = {
    EventType.STEP_SUCCESS: "succeeded",
    EventType.STEP_FAILURE: "failed",
    EventType.STEP_SKIPPED: "skipped",
}


# A step's state, from its latest lifecycle event.
_STATES = {
    EventType.STEP_START: "RUNNING",
    EventType.STEP_RESTARTED: "RUNNING",
    EventType.STEP_UP_FOR_RETRY: "UP_FOR_RETRY",
    EventType.STEP_SUCCESS: "SUCCESS",
    EventType.STEP_FAILURE: "FAILURE",
    EventType.STEP_SKIPPED: "SKIPPED",
}


@dataclass(frozen=True)
class StepReport:
    """How one step of a run went."""

    key: str
    status: str  # succeeded, failed, skipped, or "did not finish"
    seconds: float | None
    attempts: int
    error: ErrorInfo | None = None
    skip_reason: str | None = None
    # RUNNING, UP_FOR_RETRY, SUCCESS, FAILURE or SKIPPED: the latest lifecycle event's word
    state: str = "RUNNING"
    start_time: float | None = None  # first STEP_START
    end_time: float | None = None  # the terminal event


@dataclass(frozen=True)
class RunOutcome:
    """How the run as a whole went."""

    run_id: str
    job_name: str | None
    status: str  # SUCCESS, FAILURE, or "NOT FINISHED"
    seconds: float | None
    error: ErrorInfo | None


# -- reading the event log ---------------------------------------------------------------------
def _events(entries: Iterable[EventLogEntry], *types: EventType) -> list[EventLogEntry]:
    return [e for e in entries if e.event is not None and e.event.event_type in types]


def step_reports(entries: Sequence[EventLogEntry]) -> list[StepReport]:
    """One report per step, in the order the steps started (or were skipped)."""
    order: list[str] = []
    started: dict[str, float] = {}
    attempts: dict[str, int] = {}
    terminal: dict[str, EventLogEntry] = {}
    states: dict[str, str] = {}
    for entry in entries:
        event = entry.event
        if event is None or event.step_key is None:
            continue
        key = event.step_key
        begins = (
            event.event_type is EventType.STEP_START or event.event_type in STEP_TERMINAL_EVENTS
        )
        if begins and key not in order:
            order.append(key)
        if event.event_type in _STATES:
            states[key] = _STATES[event.event_type]
        if event.event_type is EventType.STEP_START:
            started.setdefault(key, entry.timestamp)
            attempts[key] = 1
        elif event.event_type is EventType.STEP_RESTARTED:
            attempts[key] = attempts.get(key, 1) + 1
        elif event.event_type in STEP_TERMINAL_EVENTS:
            terminal[key] = entry
    return [_step_report(key, started, attempts, terminal, states) for key in order]


def _step_report(
    key: str,
    started: Mapping[str, float],
    attempts: Mapping[str, int],
    terminal: Mapping[str, EventLogEntry],
    states: Mapping[str, str],
) -> StepReport:
    end = terminal.get(key)
    start = started.get(key)
    if end is None or end.event is None:
        return StepReport(
            key,
            "did not finish",
            None,
            attempts.get(key, 1),
            state=states.get(key, "RUNNING"),
            start_time=start,
        )
    event = end.event
    seconds = end.timestamp - start if start is not None else None
    error = None
    if event.event_type is EventType.STEP_FAILURE:
        error = event.step_failure_data.error
    skip_reason = (
        _skip_reason(event.message) if event.event_type is EventType.STEP_SKIPPED else None
    )
    return StepReport(
        key,
        _STATUS_WORDS[event.event_type],
        seconds,
        attempts.get(key, 0),
        error,
        skip_reason,
        state=_STATES[event.event_type],
        start_time=start,
        end_time=end.timestamp,
    )


def _skip_reason(message: str) -> str:
    # Skipped events read 'Skipped step "x": <reason>.'
    _, _, reason = message.partition(": ")
    return reason.rstrip(".") or message


def materializations(entries: Sequence[EventLogEntry]) -> list[AssetMaterialization]:
    return [
        e.event.materialization
        for e in _events(entries, EventType.ASSET_MATERIALIZATION)
        if e.event is not None
    ]


def check_evaluations(entries: Sequence[EventLogEntry]) -> list[AssetCheckEvaluation]:
    return [
        e.event.asset_check_evaluation
        for e in _events(entries, EventType.ASSET_CHECK_EVALUATION)
        if e.event is not None
    ]


def run_outcome(entries: Sequence[EventLogEntry], run_id: str) -> RunOutcome:
    """The run's status, wall time (RUN_START to its end) and run-level error, if any."""
    start = _events(entries, EventType.RUN_START)
    end = _events(entries, EventType.RUN_SUCCESS, EventType.RUN_FAILURE)
    job_name = next((e.job_name for e in entries if e.job_name), None)
    if not end or end[-1].event is None:
        return RunOutcome(run_id, job_name, "NOT FINISHED", None, None)
    last = end[-1]
    assert last.event is not None
    seconds = last.timestamp - start[0].timestamp if start else None
    if last.event.event_type is EventType.RUN_SUCCESS:
        return RunOutcome(run_id, job_name, "SUCCESS", seconds, None)
    data = last.event.event_specific_data
    error = getattr(data, "error", None)
    return RunOutcome(run_id, job_name, "FAILURE", seconds, error)


# -- formatting --------------------------------------------------------------------------------
def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)} min {rest:.0f} s"


def format_metadata_value(value: Any) -> str:
    """A metadata value on one line, shortened if long."""
    if isinstance(value, MetadataValue):
        value = metadata_text(value)
    text = f"{value:.10g}" if isinstance(value, float) else str(value)
    text = " ".join(text.split())
    if len(text) > MAX_METADATA_CHARS:
        text = text[: MAX_METADATA_CHARS - 3] + "..."
    return text


def format_metadata(metadata: Mapping[str, Any], indent: str) -> list[str]:
    return [f"{indent}{key}: {format_metadata_value(value)}" for key, value in metadata.items()]


def format_steps(reports: Sequence[StepReport]) -> list[str]:
    if not reports:
        return ["  (no step ran)"]
    width = max(len(r.key) for r in reports)
    lines = []
    for report in reports:
        line = f"  {report.key:<{width}}  {report.status:<9}  {format_duration(report.seconds):>9}"
        if report.attempts > 1:
            line += f"  ({report.attempts} attempts)"
        if report.skip_reason:
            line += f"  ({report.skip_reason})"
        lines.append(line.rstrip())
    return lines


def format_materializations(items: Sequence[AssetMaterialization]) -> list[str]:
    if not items:
        return ["  (none)"]
    lines = []
    for item in items:
        partition = f" [partition {item.partition}]" if item.partition else ""
        lines.append(f"  {item.asset_key.to_user_string()}{partition}")
        lines.extend(format_metadata(item.metadata, "      "))
    return lines


def format_checks(items: Sequence[AssetCheckEvaluation]) -> list[str]:
    if not items:
        return ["  (none)"]
    lines = []
    for item in items:
        verdict = "PASSED" if item.passed else "FAILED"
        blocking = "  (blocking)" if item.blocking else ""
        severity = "" if item.passed else f"  severity {item.severity.value}"
        name = f"{item.asset_key.to_user_string()}:{item.check_name}"
        lines.append(f"  {verdict}  {name}{blocking}{severity}")
        if item.description:
            lines.append(f"      {item.description}")
        lines.extend(format_metadata(item.metadata, "      "))
    return lines


def format_error(
    error: ErrorInfo, indent: str = "  ", max_frames: int | None = MAX_ERROR_FRAMES
) -> list[str]:
    """An error and its causes, the user's frames included: the last `max_frames` frames of
    each (all of them with None)."""
    lines: list[str] = []
    current: ErrorInfo | None = error
    first = True
    while current is not None:
        if not first:
            lines.append(f"{indent}caused by:")
        frames = list(current.stack)
        if max_frames is not None and len(frames) > max_frames:
            lines.append(f"{indent}  ... {len(frames) - max_frames} earlier frames")
            frames = frames[-max_frames:]
        for frame in frames:
            lines.extend(f"{indent}  {part}" for part in frame.rstrip("\n").split("\n"))
        lines.extend(f"{indent}{part}" for part in current.message.split("\n"))
        current = current.cause
        first = False
    return lines


def format_failures(
    reports: Sequence[StepReport],
    outcome: RunOutcome,
    max_frames: int | None = MAX_ERROR_FRAMES,
) -> list[str]:
    """What went wrong: each failed step's error, or the run's own error when no step failed."""
    lines: list[str] = []
    for report in reports:
        if report.status == "failed" and report.error is not None:
            lines.append(f"  step {report.key}:")
            lines.extend(format_error(report.error, "    ", max_frames))
    if not lines and outcome.error is not None:
        lines.extend(format_error(outcome.error, "  ", max_frames))
    return lines


def format_run_summary(
    entries: Sequence[EventLogEntry],
    *,
    run_id: str,
    data_location: str,
) -> str:
    """The whole summary: outcome, steps, materializations, checks, failures, where things are
    (values, and the commands that show the stored run and its step logs)."""
    outcome = run_outcome(entries, run_id)
    reports = step_reports(entries)
    lines = [
        f"Run {outcome.status} in {format_duration(outcome.seconds)}"
        f" (job {outcome.job_name or '-'}, {len(reports)} step{'' if len(reports) == 1 else 's'})",
        "",
        "Steps",
        *format_steps(reports),
        "",
        "Materializations",
        *format_materializations(materializations(entries)),
        "",
        "Checks",
        *format_checks(check_evaluations(entries)),
    ]
    failures = format_failures(reports, outcome)
    if failures:
        lines.extend(["", "Errors", *failures])
    lines.extend(
        [
            "",
            f"Run id:  {run_id}",
            f"Data:    {data_location}",
            f"Details: kubedag runs show {run_id}",
            f"Logs:    kubedag logs {run_id}",
        ]
    )
    return "\n".join(lines) + "\n"


def format_progress_line(entry: EventLogEntry, finished: int, total: int) -> str | None:
    """One line for a step that just finished (None for every other entry), shown live."""
    event = entry.event
    if event is None or event.step_key is None or event.event_type not in _STATUS_WORDS:
        return None
    return f"  [{finished}/{total}] {event.step_key} {_STATUS_WORDS[event.event_type]}"


def format_log_lines(entries: Sequence[EventLogEntry]) -> list[str]:
    """Every entry of the event log as one console-style line (all levels, events included)."""
    lines = []
    for entry in entries:
        line = format_console_line(entry)
        event = entry.event
        if event is not None and entry.level >= logging.ERROR:
            error = getattr(event.event_specific_data, "error", None)
            if isinstance(error, ErrorInfo):
                line += "\n" + error.to_string()
        lines.append(line)
    return lines
