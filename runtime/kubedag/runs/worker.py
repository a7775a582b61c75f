"""The run worker: `kubedag run-worker RUN_ID`, the one program that executes a launched run.

Whatever launched it (a local process, a Kubernetes pod), the worker:
1. opens the instance (`KUBEDAG_INSTANCE_REF` from the launcher, else `Instance.get()`) and loads
   the run;
2. starts a watcher thread that writes the worker's heartbeat (Unix time, in the key-value table
   under `kubedag/run_worker_heartbeat/RUN_ID`, every `run_monitoring.heartbeat_interval_seconds`)
   and reads the run's status every half second: once the run is CANCELING, no further step
   starts;
3. takes SIGTERM (and SIGINT) as a stop request: the run becomes CANCELING, the step that is
   running finishes, the run ends CANCELED (the launcher kills the worker if a step outlasts the
   grace period);
4. loads the code location recorded on the run (`kubedag.code_location.code_pointer`), finds the job by
   name and the run's asset selection, and executes the run (`execute_run`); a resumed worker
   (`--resume-attempt N`) executes only the steps that have not succeeded yet, loading what
   the others produced through the I/O managers;
5. leaves the run in a terminal status whatever happens: a code location that cannot be loaded
   or a job that does not exist ends it FAILURE with the reason as its RUN_FAILURE event.

Exit status: 0 once the run is finished, whatever its status (the run's status says how it
went); non-zero only when the worker could not do its job (no such run, a run that is not its
to execute, an instance it cannot open).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from types import FrameType
from typing import TYPE_CHECKING

from kubedag.code_location.code_pointer import CodePointer
from kubedag.errors import RunStatusTransitionError
from kubedag.records.events import ErrorInfo, EventType
from kubedag.records.run import Run, RunStatus
from kubedag.runs import lifecycle
from kubedag.runs.tags import worker_heartbeat_key

if TYPE_CHECKING:
    from kubedag.definitions.job import JobDefinition
    from kubedag.runs.launchers.base import RunHost

_log = logging.getLogger("kubedag.run_worker")
_S = RunStatus

EXIT_RUN_FINISHED = 0
EXIT_WORKER_ERROR = 1  # the worker could not do its job; the run is left as it was
STATUS_POLL_SECONDS = 0.5
SHUTDOWN_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def load_job(run: Run) -> JobDefinition:
    """The job the run executes, from the code location recorded on it."""
    from kubedag.definitions.selection import AssetSelection

    job = CodePointer.from_mapping(run.code_location, run.run_id).load_job(run.job_name)
    wanted = run.asset_selection
    if (
        wanted is not None
        and job.selection is not None
        and set(wanted) != set(job.selection.asset_keys)
    ):
        job = job.with_asset_selection(AssetSelection.keys(*wanted))
    return job


def succeeded_steps(instance: RunHost, run_id: str) -> set[str]:
    records = instance.event_log_storage.get_records_for_run(run_id, of_type=EventType.STEP_SUCCESS)
    return {r.event_log_entry.step_key for r in records if r.event_log_entry.step_key}


class RunWatcher:
    """A thread that heartbeats and notices a cancel; signal handlers only set a flag here."""

    def __init__(self, instance: RunHost, run_id: str, heartbeat_interval: float) -> None:
        self.instance = instance
        self.run_id = run_id
        self.heartbeat_interval = heartbeat_interval
        self._stop = threading.Event()  # the run must stop: asked between steps
        self._wake = threading.Event()
        self._done = threading.Event()
        self._signal: int | None = None
        self._thread = threading.Thread(target=self._loop, name="kubedag-run-watcher", daemon=True)
        self._next_heartbeat = 0.0

    def should_stop(self) -> bool:
        return self._stop.is_set()

    def start(self) -> None:
        self._tick()  # the first heartbeat before any user code runs
        self._thread.start()

    def close(self) -> None:
        self._done.set()
        self._wake.set()
        if self._thread.ident is not None:
            self._thread.join(timeout=10)
        try:
            self.instance.run_storage.kvs_delete([worker_heartbeat_key(self.run_id)])
        except Exception:
            _log.warning("Could not remove the heartbeat of run %s.", self.run_id, exc_info=True)

    def on_signal(self, signum: int, _frame: FrameType | None = None) -> None:
        """Signal handler: no I/O here (the main thread may hold a database lock)."""
        self._signal = signum
        self._stop.set()
        self._wake.set()

    def _loop(self) -> None:
        while not self._done.is_set():
            self._wake.wait(STATUS_POLL_SECONDS)
            self._wake.clear()
            if self._done.is_set():
                return
            try:
                self._tick()
            except Exception:  # the database may be briefly away: keep watching
                _log.warning("Run %s: watcher tick failed.", self.run_id, exc_info=True)

    def _tick(self) -> None:
        if self._signal is not None:
            name = signal.Signals(self._signal).name
            self._signal = None
            lifecycle.mark_canceling(
                self.instance, self.run_id, f"The run worker received {name}: stopping the run."
            )
        run = self.instance.run_storage.get_run_by_id(self.run_id)
        if run is None or run.status in (_S.CANCELING, _S.CANCELED):
            self._stop.set()
        now = time.monotonic()
        if now >= self._next_heartbeat:
            self.instance.run_storage.kvs_set(
                {worker_heartbeat_key(self.run_id): repr(time.time())}
            )
            self._next_heartbeat = now + self.heartbeat_interval


def _install_signal_handlers(
    handler: Callable[[int, FrameType | None], None],
) -> Callable[[], None]:
    previous = {sig: signal.signal(sig, handler) for sig in SHUTDOWN_SIGNALS}

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore


def run_worker(
    instance: RunHost,
    run_id: str,
    *,
    resume_attempt: int | None = None,
    install_signal_handlers: bool = True,
) -> int:
    """Execute run `run_id` to a terminal status; returns the exit status (module docstring)."""
    run = instance.run_storage.get_run_by_id(run_id)
    if run is None:
        _log.error("No run with id %s in %s.", run_id, instance.storage_description)
        return EXIT_WORKER_ERROR
    if run.is_finished:
        _log.info("Run %s has finished already (%s).", run_id, run.status.value)
        return EXIT_RUN_FINISHED
    if run.status is _S.CANCELING:
        lifecycle.mark_canceled(instance, run_id, "Run canceled before its worker started it.")
        return EXIT_RUN_FINISHED
    refusal = _refusal(run, resume_attempt)
    if refusal is not None:
        _log.error("Run %s: %s", run_id, refusal)
        return EXIT_WORKER_ERROR

    watcher = RunWatcher(instance, run_id, instance.run_monitoring.heartbeat_interval_seconds)
    restore = _install_signal_handlers(watcher.on_signal) if install_signal_handlers else None
    try:
        watcher.start()
        _execute(instance, run, watcher, resume_attempt)
    except Exception as exc:  # the worker's own failure (storage gone, ...): say so on the run
        _log.exception("Run %s: the run worker failed.", run_id)
        error = ErrorInfo.from_exception(exc)
        _settle(instance, run_id, f"The run worker failed: {error.message}", error)
    finally:
        watcher.close()
        if restore is not None:
            restore()
    final = instance.run_storage.get_run_by_id(run_id)
    return EXIT_RUN_FINISHED if final is not None and final.is_finished else EXIT_WORKER_ERROR


def _refusal(run: Run, resume_attempt: int | None) -> str | None:
    """Why this worker must not execute `run`, if it must not."""
    if run.status is _S.QUEUED:
        return "it is QUEUED; the queue launches it (`kubedag daemon`)."
    if run.status is _S.STARTED and resume_attempt is None:
        return "it is STARTED: another worker executes it (a resumed worker gets --resume-attempt)."
    if resume_attempt is not None and run.status is not _S.STARTED:
        return f"it is {run.status.value}; only a STARTED run can be resumed."
    return None


def _execute(instance: RunHost, run: Run, watcher: RunWatcher, resume_attempt: int | None) -> None:
    from kubedag.execution.run import execute_run

    run_id = run.run_id
    try:
        job = load_job(run)
    except Exception as exc:
        error = ErrorInfo.from_exception(exc)
        _settle(instance, run_id, f"Could not load the run's job: {error.message}", error)
        return
    run = _with_job_tags(instance, run, job)
    if resume_attempt is not None:
        done = succeeded_steps(instance, run_id)
        planned = run.step_keys_to_execute or tuple(job.step_keys)
        remaining = tuple(key for key in planned if key not in done)
        if not remaining:
            lifecycle.change_status(
                instance,
                run_id,
                _S.SUCCESS,
                (_S.STARTED,),
                EventType.RUN_SUCCESS,
                f'Every step of run for "{job.name}" had succeeded before its worker died.',
            )
            return
        run = replace(run, step_keys_to_execute=remaining)
    if watcher.should_stop():
        _cancel(instance, run_id, "Run canceled before it started executing.")
        return
    try:
        execute_run(job, run, instance, should_stop=watcher.should_stop)
    except RunStatusTransitionError as exc:
        # The run moved under us: canceled before it started, or failed by the monitor.
        _log.info("Run %s: %s", run_id, exc)
        _settle(instance, run_id, "its status changed while it was executing", None)


def _with_job_tags(instance: RunHost, run: Run, job: JobDefinition) -> Run:
    """The run with the job's run tags it lacks. A run is normally created with them; one
    created without its code at hand (a `Run` object while its CodeLocation's code server was
    not ready) gets them here, under every tag it already has."""
    missing = {key: value for key, value in job.run_tags.items() if key not in run.tags}
    return instance.run_storage.add_run_tags(run.run_id, missing) if missing else run


def _cancel(instance: RunHost, run_id: str, message: str) -> None:
    """A stop was asked for (the status says CANCELING, or a signal that the watcher may not
    have recorded yet): CANCELING, then CANCELED."""
    lifecycle.mark_canceling(instance, run_id, "The run worker is stopping the run.")
    lifecycle.mark_canceled(instance, run_id, message)


def _settle(instance: RunHost, run_id: str, reason: str, error: ErrorInfo | None) -> None:
    """Bring an unfinished run to a terminal status: CANCELED if a cancel was asked for,
    FAILURE with `reason` otherwise."""
    run = instance.run_storage.get_run_by_id(run_id)
    if run is None or run.is_finished:
        return
    if run.status is _S.CANCELING:
        lifecycle.mark_canceled(instance, run_id, f"Run canceled ({reason}).")
    else:
        lifecycle.fail_run(instance, run_id, reason, error=error)
