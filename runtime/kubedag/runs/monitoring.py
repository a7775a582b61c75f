"""Run monitoring: notice runs whose worker died, hung while starting, overran or won't stop.

For every run that should have a worker (STARTING, STARTED, CANCELING) the monitor observes the
worker — the launcher's health check, and the worker's heartbeat (a timestamp it writes in the
key-value table every `heartbeat_interval_seconds`, `kubedag.runs.tags.worker_heartbeat_key`) —
and `decide` says what to do:

| run | observed | action |
|---|---|---|
| STARTING | worker gone | FAILURE |
| STARTING | longer than `start_timeout_seconds` | FAILURE |
| STARTED | worker gone, resume attempts left | resume with a new worker |
| STARTED | worker gone, none left | FAILURE |
| STARTED | running longer than its `kubedag/max_runtime` tag | terminate (→ CANCELED) |
| CANCELING | worker gone | CANCELED |
| CANCELING | longer than `cancel_timeout_seconds` | stop the worker again, CANCELED |

"Worker gone" is the launcher's NOT_FOUND/FAILED/SUCCESS (a worker that exited leaving its run
unfinished), or — when the launcher cannot tell — a heartbeat older than
`heartbeat_timeout_seconds`. A run with neither a worker known to the launcher nor a heartbeat
(executed in-process by `kubedag materialize`) is left alone, except for its maximum runtime.
The reason names the worker (its pid and host, or its pod) as the run's tags record it.

Before a run whose worker is gone is failed, resumed or marked canceled, the launcher is asked to
stop what is left of that worker (`RunLauncher.terminate`): a worker SIGKILLed in the middle of a
step may leave the step's own process running, which would otherwise finish the step behind the
run's back — or, once the run is resumed, at the same time as the new worker.

`decide` is pure; `monitor_runs` observes, re-reads each run before acting (it may have moved
on meanwhile), and acts through `kubedag.runs.lifecycle`, whose compare-and-set keeps a monitor
from overwriting a worker that finished at the same moment.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from kubedag.records.events import EventType
from kubedag.records.run import RunStatus
from kubedag.runs import lifecycle
from kubedag.runs.launchers.base import WorkerHealth, WorkerStatus
from kubedag.runs.launchers.kubernetes import POD_NAME_TAG, POD_NAMESPACE_TAG
from kubedag.runs.monitoring_settings import RunMonitoringSettings
from kubedag.runs.tags import (
    MAX_RUNTIME_TAG,
    WORKER_HOST_TAG,
    WORKER_PID_TAG,
    resume_attempts,
    worker_heartbeat_key,
)
from kubedag.storage.records import RunRecord, RunsFilter

if TYPE_CHECKING:
    from kubedag.runs.launchers.base import RunHost

_log = logging.getLogger("kubedag.daemon.monitoring")
_S = RunStatus

MONITORED_STATUSES = (_S.STARTING, _S.STARTED, _S.CANCELING)


class MonitorActionKind(Enum):
    NONE = "NONE"
    FAIL = "FAIL"
    RESUME = "RESUME"
    TERMINATE = "TERMINATE"
    MARK_CANCELED = "MARK_CANCELED"


@dataclass(frozen=True)
class MonitorAction:
    kind: MonitorActionKind
    reason: str = ""
    stop_worker: bool = False  # ask the launcher to stop what is left of the worker first


NOTHING = MonitorAction(MonitorActionKind.NONE)


@dataclass(frozen=True)
class RunObservation:
    """What the monitor knows about one run at `now` (Unix time)."""

    status: RunStatus
    now: float
    health: WorkerHealth
    status_since: float  # when the run entered `status`
    start_time: float | None = None  # when it became STARTED
    heartbeat: float | None = None  # the worker's last heartbeat
    max_runtime: float | None = None  # its kubedag/max_runtime tag
    resume_attempts: int = 0
    can_resume: bool = False  # the launcher can resume runs
    worker: str | None = None  # which worker, as the run's tags say (`describe_worker`)


def describe_worker(tags: Mapping[str, str]) -> str | None:
    """The worker as the launcher recorded it on the run: `pid 812 on host-a`, `pod
    data/kubedag-run-…`; None when nothing is recorded."""
    pod, namespace = tags.get(POD_NAME_TAG), tags.get(POD_NAMESPACE_TAG)
    if pod:
        return f"pod {namespace}/{pod}" if namespace else f"pod {pod}"
    pid, host = tags.get(WORKER_PID_TAG), tags.get(WORKER_HOST_TAG)
    if pid:
        return f"pid {pid} on {host}" if host else f"pid {pid}"
    return None


def worker_gone(observation: RunObservation, settings: RunMonitoringSettings) -> str | None:
    """Why the worker is known to be gone, or None if it is (or may be) alive."""
    health = observation.health
    if health.is_gone:
        return f"its worker is gone ({health.status.value}: {health.message})"
    if health.status is WorkerStatus.UNKNOWN and observation.heartbeat is not None:
        silent = observation.now - observation.heartbeat
        if silent > settings.heartbeat_timeout_seconds:
            which = f" ({observation.worker})" if observation.worker else ""
            return (
                f"its worker{which} sent no heartbeat for {silent:.0f}s "
                f"(heartbeat_timeout_seconds is {settings.heartbeat_timeout_seconds:g})"
            )
    return None


def decide(observation: RunObservation, settings: RunMonitoringSettings) -> MonitorAction:
    """What to do about one run (see the table in the module docstring)."""
    gone = worker_gone(observation, settings)
    waited = observation.now - observation.status_since
    if observation.status is _S.STARTING:
        if gone:
            return MonitorAction(MonitorActionKind.FAIL, f"Run failed to start: {gone}.", True)
        timeout = settings.start_timeout_seconds
        if timeout > 0 and waited > timeout:
            return MonitorAction(
                MonitorActionKind.FAIL,
                f"Run failed to start: it was STARTING for {waited:.0f}s, longer than "
                f"start_timeout_seconds ({timeout:g}).",
            )
        return NOTHING
    if observation.status is _S.STARTED:
        if gone:
            attempts, allowed = observation.resume_attempts, settings.max_resume_run_attempts
            if observation.can_resume and attempts < allowed:
                return MonitorAction(MonitorActionKind.RESUME, gone, True)
            tried = f" after {attempts} resume attempts" if allowed > 0 else ""
            return MonitorAction(MonitorActionKind.FAIL, f"Run failed{tried}: {gone}.", True)
        limit = observation.max_runtime
        if limit is not None and observation.start_time is not None:
            running = observation.now - observation.start_time
            if running > limit:
                return MonitorAction(
                    MonitorActionKind.TERMINATE,
                    f"it ran for {running:.0f}s, longer than its {MAX_RUNTIME_TAG} tag "
                    f"({limit:g}s)",
                )
        return NOTHING
    if observation.status is _S.CANCELING:
        if gone:
            return MonitorAction(MonitorActionKind.MARK_CANCELED, f"Run canceled: {gone}.", True)
        timeout = settings.cancel_timeout_seconds
        if timeout > 0 and waited > timeout:
            return MonitorAction(
                MonitorActionKind.MARK_CANCELED,
                f"Run canceled: it was CANCELING for {waited:.0f}s, longer than "
                f"cancel_timeout_seconds ({timeout:g}); its worker was asked to stop again.",
                True,
            )
    return NOTHING


def parse_max_runtime(value: str | None) -> float | None:
    """The `kubedag/max_runtime` tag in seconds; missing, unreadable or not positive: None."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds > 0 else None


# -- the thin loop ------------------------------------------------------------------------------
_ENTERED_BY_EVENT = {_S.STARTING: EventType.RUN_STARTING, _S.CANCELING: EventType.RUN_CANCELING}


def observe(
    instance: RunHost,
    record: RunRecord,
    settings: RunMonitoringSettings,
    now: float,
    heartbeat: float | None,
) -> RunObservation:
    run = record.run
    launcher = instance.run_launcher
    health = (
        launcher.check_run_worker_health(run)
        if launcher.supports_check_run_worker_health
        else WorkerHealth(WorkerStatus.UNKNOWN, "the launcher cannot check workers")
    )
    since = record.update_timestamp
    entered = _ENTERED_BY_EVENT.get(run.status)
    if entered is not None:
        latest = instance.event_log_storage.get_records_for_run(
            run.run_id, of_type=entered, limit=1, ascending=False
        )
        if latest:
            since = latest[0].timestamp
    return RunObservation(
        status=run.status,
        now=now,
        health=health,
        status_since=since,
        start_time=record.start_time,
        heartbeat=heartbeat,
        max_runtime=parse_max_runtime(run.tags.get(MAX_RUNTIME_TAG)),
        resume_attempts=resume_attempts(run),
        can_resume=launcher.supports_resume_run,
        worker=describe_worker(run.tags),
    )


def monitor_runs(
    instance: RunHost, settings: RunMonitoringSettings, now: float | None = None
) -> dict[str, MonitorAction]:
    """One iteration over every run that should have a worker; returns what was done (run id
    → action, actions other than NONE only). `now` is for tests."""
    records = instance.run_storage.get_run_records(RunsFilter(statuses=list(MONITORED_STATUSES)))
    if not records:
        return {}
    keys = {record.run.run_id: worker_heartbeat_key(record.run.run_id) for record in records}
    beats = instance.run_storage.kvs_get(keys.values())
    done: dict[str, MonitorAction] = {}
    for record in records:
        run_id = record.run.run_id
        try:
            beat = beats.get(keys[run_id])
            observation = observe(
                instance,
                record,
                settings,
                time.time() if now is None else now,
                float(beat) if beat else None,
            )
            action = decide(observation, settings)
            if action.kind is not MonitorActionKind.NONE and _act(instance, record, action):
                done[run_id] = action
        except Exception:
            _log.exception("Run %s: monitoring failed; trying again next time.", run_id)
    return done


def _act(instance: RunHost, record: RunRecord, action: MonitorAction) -> bool:
    run_id, status = record.run.run_id, record.run.status
    current = instance.run_storage.get_run_by_id(run_id)
    if current is None or current.status is not status:
        return False  # it moved on while we looked; judge it afresh next time
    _log.info("Run %s (%s): %s %s", run_id, status.value, action.kind.value, action.reason)
    kind = action.kind
    if kind is MonitorActionKind.TERMINATE:
        return lifecycle.terminate_run(instance, run_id, action.reason)
    if action.stop_worker:
        _stop_worker(instance, run_id)  # before a new worker, or a final status, takes over
    if kind is MonitorActionKind.RESUME:
        lifecycle.resume_run(instance, run_id, action.reason)
        return True
    if kind is MonitorActionKind.FAIL:
        ended = lifecycle.fail_run(instance, run_id, action.reason, from_statuses=(status,))
    else:
        ended = lifecycle.mark_canceled(instance, run_id, action.reason)
    if ended is not None:  # a dead worker did not remove its heartbeat
        instance.run_storage.kvs_delete([worker_heartbeat_key(run_id)])
    return ended is not None


def _stop_worker(instance: RunHost, run_id: str) -> None:
    """Ask the launcher to stop the run's worker and whatever it left running."""
    try:
        instance.run_launcher.terminate(run_id)
    except Exception:
        _log.exception("Run %s: the launcher failed to stop the worker.", run_id)
