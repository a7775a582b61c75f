"""Moving a run through its lifecycle: launch, cancel, fail, resume — status plus event.

Every change here is the event that explains it followed by a compare-and-set on the run's
status (`RunStorage.try_update_run_status`), after checking that the change can still happen.
So when a monitor and a worker race to end the same run, exactly one of them sets the final
status, and a reader that sees a finished run finds its reason in the event log.

The instance's `launch_run`, `terminate_run` and `resume_run` delegate here; the dequeuer, the
monitor and the run worker call these functions directly.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from kubedag.errors import RunLaunchError, RunNotFoundError, RunStatusTransitionError
from kubedag.records.events import ErrorInfo, Event, EventLogEntry, EventType, RunFailureData
from kubedag.records.run import Run, RunStatus
from kubedag.runs.launchers.base import LaunchRunContext, ResumeRunContext
from kubedag.runs.tags import RESUME_ATTEMPTS_TAG, resume_attempts

if TYPE_CHECKING:
    from kubedag.runs.launchers.base import RunHost

_log = logging.getLogger("kubedag.runs")
_S = RunStatus

LAUNCHABLE_STATUSES = (_S.NOT_STARTED, _S.QUEUED)
CANCELABLE_AT_ONCE = (_S.NOT_STARTED, _S.QUEUED)  # no worker yet: CANCELED directly
NEEDS_WORKER_STOP = (_S.STARTING, _S.STARTED)  # a worker may be running: CANCELING first


def get_run(instance: RunHost, run_id: str) -> Run:
    run = instance.run_storage.get_run_by_id(run_id)
    if run is None:
        raise RunNotFoundError(
            f"No run with id {run_id} in this instance ({instance.storage_description}). "
            "List runs with `kubedag runs list`."
        )
    return run


def write_event(
    instance: RunHost, run: Run, event_type: EventType, message: str, data: Any = None
) -> None:
    event = Event(event_type, run.job_name, message, None, data)
    instance.event_log_storage.store_event(EventLogEntry.for_event(run.run_id, event))


def change_status(
    instance: RunHost,
    run_id: str,
    to: RunStatus,
    from_statuses: Iterable[RunStatus],
    event_type: EventType,
    message: str,
    data: Any = None,
) -> Run | None:
    """Write the event saying why, then compare-and-set the status; None if the run was not in
    `from_statuses`.

    The event goes first because everyone polls the status: whoever sees a finished run must
    find its reason in the event log already. The status is read first, so an event is written
    only for a change that can still happen; should another process change the run in the
    milliseconds between that read and the compare-and-set, the status is still right (that
    process won) and this call's event stays as a record of what it saw."""
    allowed = tuple(from_statuses)
    run = get_run(instance, run_id)
    if run.status not in allowed:
        return None
    write_event(instance, run, event_type, message, data)
    changed = instance.run_storage.try_update_run_status(run_id, to, allowed)
    if changed is None:
        _log.info("Run %s changed while it was being set to %s.", run_id, to.value)
    return changed


def fail_run(
    instance: RunHost,
    run_id: str,
    message: str,
    *,
    error: ErrorInfo | None = None,
    from_statuses: Iterable[RunStatus] = (_S.NOT_STARTED, _S.QUEUED, _S.STARTING, _S.STARTED),
) -> Run | None:
    """End the run FAILURE with `message` as its RUN_FAILURE event, unless it moved on."""
    return change_status(
        instance,
        run_id,
        _S.FAILURE,
        from_statuses,
        EventType.RUN_FAILURE,
        message,
        RunFailureData(error),
    )


def mark_canceled(
    instance: RunHost,
    run_id: str,
    message: str,
    from_statuses: Iterable[RunStatus] = (_S.CANCELING,),
) -> Run | None:
    """End the run CANCELED with `message` as its RUN_CANCELED event, unless it moved on."""
    return change_status(
        instance, run_id, _S.CANCELED, from_statuses, EventType.RUN_CANCELED, message
    )


def mark_canceling(instance: RunHost, run_id: str, message: str) -> Run | None:
    """STARTING/STARTED → CANCELING with a RUN_CANCELING event; the worker then stops."""
    return change_status(
        instance, run_id, _S.CANCELING, NEEDS_WORKER_STOP, EventType.RUN_CANCELING, message
    )


# -- launching ----------------------------------------------------------------------------------
def launch_run(instance: RunHost, run_id: str) -> Run:
    """NOT_STARTED or QUEUED → STARTING, then start its worker through the run launcher."""
    run = get_run(instance, run_id)
    claimed = instance.run_storage.try_update_run_status(run_id, _S.STARTING, LAUNCHABLE_STATUSES)
    if claimed is None:
        current = get_run(instance, run_id).status
        raise RunStatusTransitionError(
            f"Run {run_id} is {current.value}: only a NOT_STARTED or QUEUED run can be launched "
            f"(it was {run.status.value} when asked).",
            current=current,
            requested=_S.STARTING,
        )
    return start_run_worker(instance, claimed)


def start_run_worker(instance: RunHost, run: Run) -> Run:
    """Hand a STARTING run to the run launcher (the second half of `launch_run`; the dequeuer
    claims queued runs as STARTING itself). If the launcher fails, the run ends FAILURE with
    the error, and `RunLaunchError` is raised."""
    write_event(
        instance,
        run,
        EventType.RUN_STARTING,
        f"Launching run with {type(instance.run_launcher).__name__}.",
    )
    try:
        instance.run_launcher.launch_run(LaunchRunContext(run, instance))
    except Exception as exc:
        error = ErrorInfo.from_exception(exc)
        fail_run(
            instance,
            run.run_id,
            f"Run could not be launched: {error.message}",
            error=error,
            from_statuses=(_S.STARTING, _S.CANCELING),
        )
        raise RunLaunchError(f"Run {run.run_id} could not be launched: {error.message}") from exc
    return instance.run_storage.get_run_by_id(run.run_id) or run


# -- canceling ----------------------------------------------------------------------------------
def terminate_run(instance: RunHost, run_id: str, reason: str | None = None) -> bool:
    """Cancel a run. Without a worker (NOT_STARTED, QUEUED) it is CANCELED at once; with one
    (STARTING, STARTED) it becomes CANCELING and the launcher asks the worker to stop, which
    ends it CANCELED. Returns False if the run had finished already."""
    why = f": {reason}" if reason else "."
    for _ in range(5):  # the run may change under us (dequeued while we cancel it)
        run = get_run(instance, run_id)
        if run.is_finished:
            return False
        if run.status in CANCELABLE_AT_ONCE:
            if mark_canceled(
                instance, run_id, f"Run canceled before it started{why}", CANCELABLE_AT_ONCE
            ):
                return True
            continue
        if (
            run.status in NEEDS_WORKER_STOP
            and mark_canceling(instance, run_id, f"Canceling run{why}") is None
        ):
            continue
        # CANCELING (now or already): make sure the worker was asked to stop.
        try:
            stopped = instance.run_launcher.terminate(run_id)
        except Exception:
            _log.exception("The run launcher failed to stop the worker of run %s.", run_id)
            stopped = False
        if not stopped:
            _log.info(
                "No worker of run %s was found to stop; it stops when it next checks its "
                "status, or the run monitor marks the run CANCELED.",
                run_id,
            )
        return True
    return False


# -- resuming -----------------------------------------------------------------------------------
def resume_run(instance: RunHost, run_id: str, reason: str = "its worker died") -> Run:
    """Start a new worker for a STARTED run whose worker is gone (the monitor decides when).
    The attempt is counted in the run's `kubedag/resume_attempts` tag."""
    launcher = instance.run_launcher
    if not launcher.supports_resume_run:
        raise RunLaunchError(
            f"{type(launcher).__name__} cannot resume runs; set run_monitoring."
            "max_resume_run_attempts to 0 for this launcher."
        )
    run = get_run(instance, run_id)
    if run.status is not _S.STARTED:
        raise RunStatusTransitionError(
            f"Run {run_id} is {run.status.value}: only a STARTED run can be resumed.",
            current=run.status,
            requested=_S.STARTED,
        )
    attempt = resume_attempts(run) + 1
    run = instance.run_storage.add_run_tags(run_id, {RESUME_ATTEMPTS_TAG: str(attempt)})
    write_event(
        instance,
        run,
        EventType.ENGINE_EVENT,
        f"Resuming run with a new worker (attempt {attempt}), because {reason}.",
    )
    launcher.resume_run(ResumeRunContext(run, instance, attempt))
    return instance.run_storage.get_run_by_id(run_id) or run
