"""`MultiprocessExecutor` and the parent's loop that starts, watches and reaps step processes.

The parent starts ready steps up to `max_concurrent` and the tag concurrency limits (pure
decision, `steps_to_start`), skips the steps whose upstream failed or was skipped
(`StepOutcomes`, as in process) and watches its children. A child that exits without reporting a
terminal event (killed, crashed, `os._exit`) is recorded as STEP_FAILURE with its exit code or
signal. Once the run is asked to stop (`plan_context.should_stop()`), no further step starts;
running children get SIGTERM, which fails their step as interrupted after its resources are torn
down and its logs flushed, and SIGKILL `TERMINATE_GRACE_SECONDS` later; the steps that never
started are listed in `plan_context.not_started`.
"""

from __future__ import annotations

import bisect
import os
import select
import signal
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from kubedag.definitions.steps import StepSpec
from kubedag.execution.executors import Executor, RetryMode
from kubedag.execution.multiprocess.child import (
    SpawnedStep,
    StepSource,
    forked_step_main,
    spawned_step_main,
)
from kubedag.execution.multiprocess.config import MultiprocessConfig
from kubedag.execution.multiprocess.frames import decode_frame, split_frames
from kubedag.execution.multiprocess.processes import (
    StepProcess,
    StepProcessExitedError,
    describe_exit,
    fork_step,
    pidfd_supported,
    signal_process,
)
from kubedag.execution.multiprocess.scheduling import steps_to_start
from kubedag.execution.plan import ExecutionPlan, StepOutcomes
from kubedag.execution.step_execution import StepFailed, skipped_event
from kubedag.records.events import (
    ErrorInfo,
    Event,
    EventLogEntry,
    EventType,
    OutputData,
    StepFailureData,
)

# How long a child may take to wind down after SIGTERM before it is killed.
TERMINATE_GRACE_SECONDS = 10.0
# How often a stop is asked for while children run (only when the run has a stop check).
STOP_POLL_SECONDS = 0.1
_READ_SIZE = 1 << 16


@dataclass
class _Child:
    """A running step's process and what it has reported so far."""

    step: StepSpec
    process: StepProcess
    fd: int  # read end of its event pipe, non-blocking
    buffer: bytearray = field(default_factory=bytearray)
    finished: bool = False  # it reported STEP_SUCCESS or STEP_FAILURE
    eof: bool = False
    terminated_at: float | None = None  # when SIGTERM was sent
    killed: bool = False


class MultiprocessExecutor(Executor):
    """Runs each step in a child process of its own, up to `max_concurrent` at a time."""

    runs_steps_in_this_process = False

    def __init__(self, config: MultiprocessConfig) -> None:
        self.config = config

    @property
    def retries(self) -> RetryMode:
        return self.config.retries

    @property
    def max_concurrent(self) -> int:
        return self.config.max_concurrent

    def execute(
        self, plan_context: Any, execution_plan: ExecutionPlan
    ) -> Iterator[Event | list[EventLogEntry]]:
        return _Orchestration(self.config, plan_context, execution_plan).run()


class _Orchestration:
    """One run's parent loop: start, watch and reap the step processes.

    Bookkeeping is incremental: each step counts its unfinished upstream steps and becomes ready
    at zero, so a round costs what changed, not the size of the plan."""

    def __init__(self, config: MultiprocessConfig, plan_context: Any, plan: ExecutionPlan) -> None:
        self.config = config
        self.ctx = plan_context
        self.plan = plan
        self.outcomes = StepOutcomes(plan)
        self.index: dict[str, float] = {step.key: i for i, step in enumerate(plan.steps)}
        self.unstarted: dict[str, StepSpec] = {step.key: step for step in plan.steps}
        self.waiting = {key: len(ups) for key, ups in plan.upstream.items()}
        self.downstream: dict[str, list[str]] = {step.key: [] for step in plan.steps}
        for key, ups in plan.upstream.items():
            for up in ups:
                self.downstream[up].append(key)
        self.ready: list[StepSpec] = []  # may start; kept in plan order
        self.to_skip: list[tuple[StepSpec, str]] = []
        for step in plan.steps:
            if self.waiting[step.key] == 0:
                self.ready.append(step)
        self.running: dict[str, _Child] = {}
        # Steps mapped over a dynamic output: the runs each still waits for, and back.
        self.unfinished_runs: dict[str, set[str]] = {}
        self.runs_of: dict[str, list[StepSpec]] = {}
        self.template_of: dict[str, str] = {}
        self.stopping = False
        self.has_stop_check = bool(getattr(plan_context, "has_stop_check", True))
        self.retries = config.retries is RetryMode.ENABLED
        self._last_stop_check = time.monotonic()
        self.bare_fork = config.start_method == "fork" and pidfd_supported()
        self.mp: Any = None
        if not self.bare_fork:
            import multiprocessing

            self.mp = multiprocessing.get_context(config.start_method)
            if config.start_method == "forkserver":
                self.mp.set_forkserver_preload(
                    list(config.preload_modules or _default_preload(plan_context.run))
                )

    def run(self) -> Iterator[Event | list[EventLogEntry]]:
        ctx = self.ctx
        # Values an ephemeral instance keeps in a temporary directory: create it here, once, so
        # that every child uses the same one.
        if getattr(ctx.instance, "is_ephemeral", False):
            ctx.instance.storage_directory()
        yield Event(
            EventType.ENGINE_EVENT,
            ctx.job.name,
            f"Executing steps in child processes (multiprocess executor, start method "
            f"{self.config.start_method}, at most {self.config.max_concurrent} at a time, parent "
            f"pid {os.getpid()}).",
        )
        try:
            yield from self._schedule()
            while True:
                if self.stopping:
                    self._stop_all()
                if not self.running:
                    if self.unstarted and not self.stopping:
                        raise RuntimeError(
                            "multiprocess executor: steps are left but none can start: "
                            + ", ".join(self.unstarted)
                        )
                    return
                batch = self._wait_and_read()
                if not self.stopping and self._stop_check_due() and ctx.should_stop():
                    self.stopping = True
                # Start what is now ready before the batch is stored: the new children run
                # while this process waits for the database.
                skipped = [] if self.stopping else list(self._schedule())
                yield from _grouped(batch)
                yield from skipped
        finally:
            self._reap_all()

    def _stop_check_due(self) -> bool:
        """Whether to ask for a stop while children run: every STOP_POLL_SECONDS at most (the
        check may read the database), and never when the run has no stop check."""
        if not self.has_stop_check:
            return False
        now = time.monotonic()
        if now - self._last_stop_check < STOP_POLL_SECONDS:
            return False
        self._last_stop_check = now
        return True

    # -- bookkeeping ----------------------------------------------------------------------------
    def _finish(self, key: str, outcome: EventType) -> None:
        """Record how a step ended, and release the steps that waited for it."""
        self.outcomes.record(key, outcome)
        for down in self.downstream[key]:
            self.waiting[down] -= 1
            if self.waiting[down] == 0:
                self._release(self.plan.get_step(down))
        template = self.template_of.pop(key, None)
        if template is not None:
            runs = self.unfinished_runs[template]
            runs.discard(key)
            if not runs:
                self._finish_template(template)

    def _release(self, step: StepSpec) -> None:
        """`step` waits for nothing more: skip it, map it, or make it ready."""
        if step.mapped_over is not None:
            self._expand(step)
            return
        reason = self.outcomes.skip_reason(step)
        if reason is not None:
            self.to_skip.append((step, reason))
        else:
            bisect.insort(self.ready, step, key=lambda s: self.index[s.key])

    def _expand(self, template: StepSpec) -> None:
        """A mapped step whose dynamic output is known: one run per mapping key, each waiting
        for its own upstream runs (nothing to run, and nothing to report, when the dynamic
        step failed or was skipped)."""
        del self.unstarted[template.key]
        if self.outcomes.skip_reason(template) is not None:
            self._finish(template.key, EventType.STEP_SKIPPED)
            return
        runs = self.outcomes.expand(template)
        self.runs_of[template.key] = runs
        self.unfinished_runs[template.key] = {run.key for run in runs}
        base = self.index[template.key]
        for number, run in enumerate(runs, 1):
            self.index[run.key] = base + number / (len(runs) + 1)
            self.unstarted[run.key] = run
            self.template_of[run.key] = template.key
            self.downstream[run.key] = []
            pending = [up for up in self.plan.upstream[run.key] if up not in self.outcomes.status]
            self.waiting[run.key] = len(pending)
            for up in pending:
                self.downstream[up].append(run.key)
        for run in runs:
            if self.waiting[run.key] == 0:
                self._release(run)
        if not runs:
            self._finish_template(template.key)

    def _finish_template(self, key: str) -> None:
        del self.unfinished_runs[key]
        self._finish(key, self.outcomes.template_outcome(self.runs_of.pop(key)))

    # -- starting -------------------------------------------------------------------------------
    def _schedule(self) -> Iterator[Event]:
        """Skip what must be skipped (which may release more to skip), then start what may."""
        while self.to_skip:
            step, reason = self.to_skip.pop(0)
            del self.unstarted[step.key]
            self._finish(step.key, EventType.STEP_SKIPPED)
            yield skipped_event(self.ctx, step, reason)
        if not self.ready or len(self.running) >= self.config.max_concurrent:
            return
        limits = self.config.tag_concurrency_limits
        # Without tag limits only the first free slots' worth of ready steps can be chosen.
        candidates = self.ready if limits else self.ready[: self.config.max_concurrent]
        chosen = set(
            steps_to_start(
                [(s.key, s.tags) for s in candidates],
                [c.step.tags for c in self.running.values()],
                self.config.max_concurrent,
                limits,
            )
        )
        for step in [s for s in self.ready if s.key in chosen]:
            if self.ctx.should_stop():
                self.stopping = True
                return
            self._start(step)
            self.ready.remove(step)
            del self.unstarted[step.key]

    def _start(self, step: StepSpec) -> None:
        step = self.outcomes.runnable(step)
        if self.bare_fork:
            process, fd = fork_step(self._source(), step, self.retries)
            self.running[step.key] = _Child(step, process, fd)
        else:
            self.running[step.key] = self._start_with_multiprocessing(step)
        os.set_blocking(self.running[step.key].fd, False)

    def _source(self) -> StepSource:
        return StepSource(
            job=self.ctx.job,
            run=self.ctx.run,
            instance=self.ctx.instance,
            config=self.ctx.config,
            resource_defs=self.ctx.resource_defs,
            input_values=self.ctx.input_values,
            output_run_ids=self.ctx.output_run_ids,
        )

    def _start_with_multiprocessing(self, step: StepSpec) -> _Child:
        reader, writer = self.mp.Pipe(duplex=False)
        if self.config.start_method == "fork":  # fork without a pidfd (not Linux)
            args: tuple[Any, ...] = (self._source(), step, writer, self.retries)
            target: Any = forked_step_main
        else:
            args = (self._spawned_step(step), writer)
            target = spawned_step_main
        process = self.mp.Process(
            target=target, args=args, name=f"kubedag step {step.key}", daemon=False
        )
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", category=DeprecationWarning)
                process.start()
        finally:
            writer.close()
        fd = os.dup(reader.fileno())
        reader.close()
        return _Child(step, process, fd)

    def _spawned_step(self, step: StepSpec) -> SpawnedStep:
        run = self.ctx.run
        return SpawnedStep(
            instance_ref=self.ctx.instance.get_ref().to_json(),
            run_id=run.run_id,
            step_key=step.key,
            code_location=dict(run.code_location or {}),
            prepare_run=self.ctx.prepare_run,
            output_run_ids=dict(self.ctx.output_run_ids),
            retries=self.retries,
            # Inputs the parent resolved (collected, pruned fan-in): the child cannot.
            step_inputs=dict(step.inputs)
            if step.inputs != self.ctx.job.get_step(step.key).inputs
            else None,
        )

    # -- watching -------------------------------------------------------------------------------
    def _wait_and_read(self) -> list[Event | EventLogEntry]:
        """Wait for a child to report or exit; read what it reported, in order."""
        poller = select.poll()
        for child in self.running.values():
            if not child.eof:
                poller.register(child.fd, select.POLLIN)
            poller.register(child.process.sentinel, select.POLLIN)
        timeout = self._wait_timeout()
        ready = {fd for fd, _ in poller.poll(None if timeout is None else int(timeout * 1000))}
        batch: list[Event | EventLogEntry] = []
        for key, child in list(self.running.items()):
            exited = child.process.sentinel in ready
            if child.fd in ready or exited:
                batch.extend(self._read(child))
            if exited:
                batch.extend(self._reaped(child))
                del self.running[key]
        return batch

    def _wait_timeout(self) -> float | None:
        if self.stopping:
            now = time.monotonic()
            deadlines = [
                c.terminated_at + TERMINATE_GRACE_SECONDS - now
                for c in self.running.values()
                if c.terminated_at is not None and not c.killed
            ]
            return max(0.0, min(deadlines, default=STOP_POLL_SECONDS))
        return STOP_POLL_SECONDS if self.has_stop_check else None

    def _read(self, child: _Child) -> list[EventLogEntry]:
        while not child.eof:
            try:
                chunk = os.read(child.fd, _READ_SIZE)
            except BlockingIOError:
                break
            if not chunk:
                child.eof = True
                break
            child.buffer += chunk
        entries = [decode_frame(frame) for frame in split_frames(child.buffer)]
        for entry in entries:
            self._observe(child, entry)
        return entries

    def _observe(self, child: _Child, entry: EventLogEntry) -> None:
        """Keep the parent's books from what a child reports."""
        event = entry.event
        if event is None:
            return
        step = child.step
        if event.event_type is EventType.STEP_OUTPUT and isinstance(
            event.event_specific_data, OutputData
        ):
            data = event.event_specific_data
            # Registered so the run's result can load the value afterwards.
            if data.mapping_key is None:
                self.ctx.output_context(step, step.output(data.output_name))
            else:
                self.ctx.output_context(step, step.output(data.output_name), data.mapping_key)
            if self.outcomes.tracks_outputs:
                self.outcomes.record_output(step.key, data.output_name, data.mapping_key)
        elif event.event_type is EventType.STEP_SUCCESS:
            child.finished = True
            self._finish(step.key, EventType.STEP_SUCCESS)
        elif event.event_type is EventType.STEP_FAILURE:
            child.finished = True
            data = event.event_specific_data
            error = getattr(data, "error", None) or ErrorInfo(event.message, (), None)
            self.ctx.record_step_failure(step, StepFailed(error, None))
            self._finish(step.key, EventType.STEP_FAILURE)

    def _reaped(self, child: _Child) -> list[Event]:
        """A child exited: if it never said how its step ended, its step failed."""
        child.process.join()
        exit_code = child.process.exitcode
        child.process.close()
        os.close(child.fd)
        if child.finished:
            return []
        step = child.step
        why = " after the run was asked to stop" if child.terminated_at is not None else ""
        message = (
            f'Execution of step "{step.key}" failed: its process (pid {child.process.pid}) '
            f"{describe_exit(exit_code)}{why} before reporting a result."
        )
        exc = StepProcessExitedError(message, step_key=step.key, exit_code=exit_code)
        error = ErrorInfo.from_exception(exc)
        self.ctx.record_step_failure(step, StepFailed(error, exc, retryable=False))
        self._finish(step.key, EventType.STEP_FAILURE)
        return [
            Event(
                EventType.STEP_FAILURE,
                self.ctx.job.name,
                message,
                step.key,
                StepFailureData(error, None, "FRAMEWORK_ERROR"),
                self.ctx.partition_key,
            )
        ]

    # -- stopping -------------------------------------------------------------------------------
    def _stop_all(self) -> None:
        if self.unstarted:
            self.ctx.not_started.extend(self.unstarted)
            self.unstarted.clear()
            self.ready.clear()
            self.to_skip.clear()
        now = time.monotonic()
        for child in self.running.values():
            if child.terminated_at is None:
                child.terminated_at = now
                signal_process(child.process, signal.SIGTERM)
            elif not child.killed and now - child.terminated_at >= TERMINATE_GRACE_SECONDS:
                child.killed = True
                signal_process(child.process, signal.SIGKILL)

    def _reap_all(self) -> None:
        """However the loop ended (an error, Ctrl-C), no step process outlives the run."""
        for child in self.running.values():
            signal_process(child.process, signal.SIGTERM)
        deadline = time.monotonic() + TERMINATE_GRACE_SECONDS
        for child in self.running.values():
            child.process.join(max(0.0, deadline - time.monotonic()))
            if child.process.exitcode is None:
                signal_process(child.process, signal.SIGKILL)
                child.process.join()
            child.process.close()
            os.close(child.fd)
        self.running.clear()


def _grouped(batch: list[Event | EventLogEntry]) -> Iterator[Event | list[EventLogEntry]]:
    """Consecutive entries from children as one list (stored in one transaction); events this
    process made, one by one."""
    entries: list[EventLogEntry] = []
    for item in batch:
        if isinstance(item, EventLogEntry):
            entries.append(item)
            continue
        if entries:
            yield entries
            entries = []
        yield item
    if entries:
        yield entries


def _default_preload(run: Any) -> list[str]:
    modules = ["kubedag.execution.multiprocess.child"]
    module_name = (run.code_location or {}).get("module_name")
    if module_name:
        modules.append(module_name)
    return modules
