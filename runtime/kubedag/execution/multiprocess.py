"""The multiprocess executor: one child process per step, started from the run's process.

Why this shape: the reference starts every step in a fresh interpreter that imports the code
location again, about a second per step. Here, by default (`start_method: fork`, the default on
Linux), each child is forked from the run process, which already holds the job, its run config
and the plan: nothing is imported again, and a step costs a fork, its own work and an exit.
`forkserver` and `spawn` start a clean interpreter instead, which loads the run's code location
(`Run.code_location`) and opens the instance from its reference: slower, but safe for libraries
that do not survive a fork.

A child forgets the parent's database connections (SQLAlchemy `engine.dispose(close=False)`: the
parent's pooled connections are neither used nor closed by it), initializes only the resources
its step needs, captures its stdout and stderr with the instance's compute log manager, runs
`execute_step` (retries included: a retried step stays in its process, holding its slot) and
exits. It never writes to the event log: every event-log entry goes to the parent over a pipe,
and the parent stores entries through its batched writer, in the order they arrive. The database
sees one writer per run, as with the in-process executor.

The parent starts ready steps up to `max_concurrent` and the tag concurrency limits (pure
decision, `steps_to_start`), skips the steps whose upstream failed or was
skipped (`StepOutcomes`, as in process) and watches its children. A child that exits without
reporting a terminal event (killed, crashed, `os._exit`) is recorded as STEP_FAILURE with its
exit code or signal. Once the run is asked to stop (`plan_context.should_stop()`), no further
step starts; running children get SIGTERM, which fails their step as interrupted after its
resources are torn down and its logs flushed, and SIGKILL `TERMINATE_GRACE_SECONDS` later; the
steps that never started are listed in `plan_context.not_started`.

The executor definition, `multiprocess_executor`, lives in `kubedag.execution.executors` (so
that choosing an executor does not import this module); it is re-exported here.

Outputs pass between processes through I/O managers, so this executor requires persistent ones
(`ExecutorRequirement.PERSISTENT_OUTPUTS`); with the in-memory I/O manager the run fails before
it starts, naming `io_manager` (`kubedag.execution.executor_selection`).

On the pipe, a message is a 4-byte big-endian length and the entry in the event log's own
serialization (`serialize_entry`): whatever a step can report can be stored, values of unknown
types become their repr exactly as they would in the database, and the parent needs none of the
child's classes to read it. The parent reads without blocking and drops the partial last message
of a child killed while writing it.
"""

from __future__ import annotations

import bisect
import contextlib
import gc
import logging
import os
import select
import signal
import struct
import sys
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING, Any, Protocol

from kubedag.definitions.steps import StepSpec
from kubedag.errors import InvalidConfigError, KubedagError, ResourceInitError
from kubedag.execution.events import (
    ErrorInfo,
    Event,
    EventLogEntry,
    EventType,
    OutputData,
    RunFailureData,
    StepFailureData,
)
from kubedag.execution.executors import (
    Executor,
    RetryMode,
    check_known_keys,
    multiprocess_executor,
    parse_retries,
)
from kubedag.execution.plan import ExecutionPlan, StepOutcomes
from kubedag.execution.step_execution import StepFailed, execute_step, skipped_event

if TYPE_CHECKING:  # multiprocessing is imported when a run uses it, not with kubedag
    from multiprocessing.connection import Connection

__all__ = ["MultiprocessExecutor", "multiprocess_executor", "parse_multiprocess_config"]

START_METHODS = ("fork", "forkserver", "spawn")
DEFAULT_START_METHOD = "fork" if sys.platform.startswith("linux") else "spawn"
MULTIPROCESS_OPTIONS = ("max_concurrent", "start_method", "tag_concurrency_limits", "retries")
# How long a child may take to wind down after SIGTERM before it is killed.
TERMINATE_GRACE_SECONDS = 10.0
# How often a stop is asked for while children run (only when the run has a stop check).
STOP_POLL_SECONDS = 0.1
_HEADER = struct.Struct("!I")
_READ_SIZE = 1 << 16


class StepProcessExitedError(KubedagError):
    """A step's process ended without reporting whether its step succeeded."""

    def __init__(self, message: str, *, step_key: str, exit_code: int | None) -> None:
        super().__init__(message)
        self.step_key = step_key
        self.exit_code = exit_code


class StepInterrupted(BaseException):
    """Raised inside a child when it is told to stop (SIGTERM); a BaseException so user code's
    `except Exception` does not swallow it."""


# -- config -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TagConcurrencyLimit:
    """At most `limit` running steps with tag `key` (set to `value`, when given).

    Without `value`, all values of the key share one limit; with `per_unique_value`, each value
    has a limit of its own (the reference's `value: {applyLimitPerUniqueValue: true}`)."""

    key: str
    limit: int
    value: str | None = None
    per_unique_value: bool = False

    def bucket(self, tags: Mapping[str, str]) -> str | None:
        """Which count of this limit a step with `tags` adds to, or None when it is not limited."""
        if self.key not in tags:
            return None
        value = str(tags[self.key])
        if self.value is not None:
            return value if value == self.value else None
        return value if self.per_unique_value else ""


@dataclass(frozen=True)
class MultiprocessConfig:
    """The multiprocess executor's options, checked."""

    max_concurrent: int
    start_method: str = DEFAULT_START_METHOD
    preload_modules: tuple[str, ...] | None = None
    tag_concurrency_limits: tuple[TagConcurrencyLimit, ...] = ()
    retries: RetryMode = RetryMode.ENABLED


def available_cpus() -> int:
    """CPUs this process may run on (the affinity mask, which containers narrow), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def parse_multiprocess_config(config: Mapping[str, Any], field: str) -> MultiprocessConfig:
    """Check the multiprocess executor's config; every error names the field and the fix."""
    check_known_keys(config, MULTIPROCESS_OPTIONS, field)
    start_method, preload = _parse_start_method(config.get("start_method"), f"{field}.start_method")
    return MultiprocessConfig(
        max_concurrent=_parse_max_concurrent(
            config.get("max_concurrent"), f"{field}.max_concurrent"
        ),
        start_method=start_method,
        preload_modules=preload,
        tag_concurrency_limits=_parse_tag_limits(
            config.get("tag_concurrency_limits"), f"{field}.tag_concurrency_limits"
        ),
        retries=parse_retries(config.get("retries"), f"{field}.retries"),
    )


def _parse_max_concurrent(value: Any, field: str) -> int:
    if value is None or value == 0:
        return available_cpus()
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidConfigError(
            f"{field}: expected a whole number of processes >= 1 (0 or null: one per CPU, "
            f"{available_cpus()} here); got {value!r}."
        )
    return value


def _parse_start_method(value: Any, field: str) -> tuple[str, tuple[str, ...] | None]:
    """`fork`, `forkserver` or `spawn`, as a string or the reference's selector form
    (`{forkserver: {preload_modules: [...]}}`)."""
    if value is None:
        return DEFAULT_START_METHOD, None
    options: Any = {}
    if isinstance(value, Mapping) and len(value) == 1:
        value, options = next(iter(value.items()))
        options = options or {}
    if not isinstance(value, str) or value not in START_METHODS:
        raise InvalidConfigError(
            f"{field}: expected one of {', '.join(START_METHODS)}; got {value!r}."
        )
    import multiprocessing

    available = multiprocessing.get_all_start_methods()
    if value not in available:
        raise InvalidConfigError(
            f"{field}: '{value}' is not available on {sys.platform}; use one of "
            f"{', '.join(m for m in START_METHODS if m in available)}."
        )
    if not isinstance(options, Mapping):
        raise InvalidConfigError(f"{field}.{value}: expected a mapping of options.")
    allowed = ("preload_modules",) if value == "forkserver" else ()
    for key in options:
        if key not in allowed:
            raise InvalidConfigError(
                f"{field}.{value}.{key}: unknown option"
                + ("; forkserver takes preload_modules." if value == "forkserver" else ".")
            )
    preload = options.get("preload_modules")
    if preload is not None and (
        not isinstance(preload, list | tuple) or not all(isinstance(m, str) for m in preload)
    ):
        raise InvalidConfigError(
            f"{field}.forkserver.preload_modules: expected a list of module names."
        )
    return value, tuple(preload) if preload is not None else None


def _parse_tag_limits(value: Any, field: str) -> tuple[TagConcurrencyLimit, ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise InvalidConfigError(
            f"{field}: expected a list of {{key, value (optional), limit}}; got "
            f"{type(value).__name__}."
        )
    limits = []
    for index, entry in enumerate(value):
        where = f"{field}[{index}]"
        if not isinstance(entry, Mapping):
            raise InvalidConfigError(f"{where}: expected {{key: …, limit: …}}; got {entry!r}.")
        check_known_keys(entry, ("key", "value", "limit"), where)
        key = entry.get("key")
        if not isinstance(key, str) or not key:
            raise InvalidConfigError(f"{where}.key: required, the tag key to limit.")
        limit = entry.get("limit")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidConfigError(
                f"{where}.limit: expected a whole number >= 1 (steps with this tag that may run "
                f"at once); got {limit!r}."
            )
        tag_value = entry.get("value")
        per_unique = False
        if isinstance(tag_value, Mapping):
            check_known_keys(tag_value, ("applyLimitPerUniqueValue",), f"{where}.value")
            per_unique = bool(tag_value.get("applyLimitPerUniqueValue", False))
            tag_value = None
        elif tag_value is not None and not isinstance(tag_value, str):
            raise InvalidConfigError(
                f"{where}.value: expected a string or {{applyLimitPerUniqueValue: true}}; got "
                f"{tag_value!r}."
            )
        limits.append(TagConcurrencyLimit(key, limit, tag_value, per_unique))
    return tuple(limits)


# -- pure scheduling decisions -------------------------------------------------------------------
def steps_to_start(
    ready: Sequence[tuple[str, Mapping[str, str]]],
    running: Sequence[Mapping[str, str]],
    max_concurrent: int,
    limits: Sequence[TagConcurrencyLimit] = (),
) -> list[str]:
    """Which of the `ready` steps (key and tags, in plan order) may start now, given the tags of
    the steps `running` and the limits. A step held back by a tag limit does not hold back the
    steps after it."""
    slots = max_concurrent - len(running)
    if slots <= 0 or not ready:
        return []
    counts: dict[tuple[int, str], int] = {}
    for tags in running:
        for bucket in _buckets(tags, limits):
            counts[bucket] = counts.get(bucket, 0) + 1
    chosen: list[str] = []
    for key, tags in ready:
        if len(chosen) >= slots:
            break
        buckets = _buckets(tags, limits)
        if any(counts.get(b, 0) >= limits[b[0]].limit for b in buckets):
            continue
        for bucket in buckets:
            counts[bucket] = counts.get(bucket, 0) + 1
        chosen.append(key)
    return chosen


def _buckets(
    tags: Mapping[str, str], limits: Sequence[TagConcurrencyLimit]
) -> list[tuple[int, str]]:
    found = []
    for index, limit in enumerate(limits):
        bucket = limit.bucket(tags)
        if bucket is not None:
            found.append((index, bucket))
    return found


def split_frames(buffer: bytearray) -> list[bytes]:
    """Take the complete messages off the front of `buffer` (length-prefixed); a partial one
    stays for the next read."""
    frames = []
    offset = 0
    size = _HEADER.size
    while len(buffer) - offset >= size:
        (length,) = _HEADER.unpack_from(buffer, offset)
        if len(buffer) - offset - size < length:
            break
        start = offset + size
        frames.append(bytes(buffer[start : start + length]))
        offset = start + length
    if offset:
        del buffer[:offset]
    return frames


def describe_exit(exit_code: int | None) -> str:
    """`exited with code 3` or `was killed by signal SIGKILL` (multiprocessing's negative codes)."""
    if exit_code is None:
        return "did not exit"
    if exit_code < 0:
        try:
            name = signal.Signals(-exit_code).name
        except ValueError:
            name = str(-exit_code)
        return f"was killed by signal {name}"
    return f"exited with code {exit_code}"


# -- the child side ------------------------------------------------------------------------------
class _FrameSink:
    """Sends a child's event-log entries to the parent; a SIGTERM that arrives while a message
    is being written waits until it is written, so the parent never sees half a message from a
    child that is still alive."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.sending = False
        self.interrupt_pending = False

    def __call__(self, entry: EventLogEntry) -> None:
        from kubedag.storage.serialization import serialize_entry

        payload = serialize_entry(entry).encode()
        frame = _HEADER.pack(len(payload)) + payload
        self.sending = True
        try:
            view = memoryview(frame)
            while view:
                view = view[os.write(self.fd, view) :]
        finally:
            self.sending = False
        if self.interrupt_pending:
            self.interrupt_pending = False
            raise StepInterrupted()

    def on_sigterm(self, _signum: int, _frame: FrameType | None) -> None:
        if self.sending:
            self.interrupt_pending = True
            return
        raise StepInterrupted()


def decode_frame(frame: bytes) -> EventLogEntry:
    from kubedag.storage.serialization import deserialize_entry

    return deserialize_entry(frame.decode())


@dataclass
class StepSource:
    """What a child needs to run one step of a run (a forked child gets it from its parent's
    memory; a spawned one rebuilds it from the run record and its code location)."""

    job: Any
    run: Any
    instance: Any
    config: Any
    resource_defs: Mapping[str, Any]
    input_values: Mapping[str, Any]
    output_run_ids: Mapping[str, str]


def _forget_parent_connections(instance: Any) -> None:
    """Drop the connection pools inherited from the parent without closing its connections
    (closing would end the parent's sessions); new ones are opened on first use."""
    for database in getattr(instance, "databases", ()):
        database.engine.dispose(close=False)
    instance.compute_log_manager.after_fork()


def run_step_in_child(source: StepSource, step: StepSpec, fd: int, *, retries: bool) -> None:
    """The body of a step's process: set up, run the step, report every entry to `fd` (which
    the caller closes)."""
    from kubedag.execution.log_manager import RunLogWriter
    from kubedag.execution.run import RunExecution, step_resource_keys
    from kubedag.resources.initialization import initialize_resources

    sink = _FrameSink(fd)
    # Outside the main thread SIGTERM keeps its default (the process ends at once).
    with contextlib.suppress(ValueError):
        signal.signal(signal.SIGTERM, sink.on_sigterm)
    job, run, instance = source.job, source.run, source.instance
    writer = RunLogWriter(run.run_id, job.name, sink, source.config.console_log_level)
    finished = False

    def emit(event: Event) -> None:
        nonlocal finished
        writer.write_event(event)
        if event.event_type in (EventType.STEP_SUCCESS, EventType.STEP_FAILURE):
            finished = True

    def fail(message: str, exc: BaseException) -> None:
        error = ErrorInfo.from_exception(exc)
        data = StepFailureData(error, None, "FRAMEWORK_ERROR")
        emit(Event(EventType.STEP_FAILURE, job.name, message, step.key, data, run.partition))

    try:
        with instance.compute_log_manager.capture(run.run_id, step.key), ExitStack() as stack:
            try:
                resources = initialize_resources(
                    source.resource_defs,
                    step_resource_keys(job, step),
                    stack,
                    configs=source.config.resource_config,
                    instance=instance,
                    run_id=run.run_id,
                    log=None,
                )
            except ResourceInitError as exc:
                error = ErrorInfo.from_exception(exc)
                emit(
                    Event(
                        EventType.RESOURCE_INIT_FAILURE,
                        job.name,
                        str(exc),
                        step.key,
                        RunFailureData(error),
                        run.partition,
                    )
                )
                emit(
                    Event(
                        EventType.STEP_FAILURE,
                        job.name,
                        f'Execution of step "{step.key}" failed: {exc}',
                        step.key,
                        StepFailureData(error),
                        run.partition,
                    )
                )
                return
            execution = RunExecution(
                job=job,
                run=run,
                instance=instance,
                config=source.config,
                resources=resources,
                writer=writer,
                input_values=source.input_values,
                output_run_ids=source.output_run_ids,
            )
            for event in execute_step(execution, step, retries=retries, capture_logs=False):
                emit(event)
    except StepInterrupted as exc:
        if not finished:
            fail(f'Execution of step "{step.key}" was interrupted: the run was asked to stop.', exc)
    except BaseException as exc:  # kubedag itself failed here: report it as the step's failure
        if not finished:
            fail(f'Execution of step "{step.key}" failed in its process: {exc!r}', exc)
        else:  # e.g. a resource's teardown, after the step had ended
            error = ErrorInfo.from_exception(exc)
            writer.write_message(
                logging.ERROR,
                f'After step "{step.key}" ended, its process failed: {error.to_string()}',
                step.key,
            )


def _forked_step_main(
    source: StepSource, step: StepSpec, writer: Connection, retries: bool
) -> None:
    """Target of a forked child: the parent's memory is ours, only its connections are not."""
    _forget_parent_connections(source.instance)
    try:
        run_step_in_child(source, step, writer.fileno(), retries=retries)
    finally:
        writer.close()


@dataclass(frozen=True)
class SpawnedStep:
    """What a spawned (or forkserver) child is handed: plain data, picklable."""

    instance_ref: str
    run_id: str
    step_key: str
    code_location: dict[str, Any]
    output_run_ids: dict[str, str] = field(default_factory=dict)
    retries: bool = True


def _spawned_step_main(spawned: SpawnedStep, writer: Connection) -> None:
    """Target of a spawned child: open the instance, load the code location, run the step."""
    fd = writer.fileno()
    instance = None
    try:
        from kubedag.execution.run import prepare_run
        from kubedag.instance.instance import Instance, InstanceRef
        from kubedag.runs.code_pointer import CodePointer

        instance = Instance.from_ref(InstanceRef.from_json(spawned.instance_ref))
        run = instance.get_run_by_id(spawned.run_id)
        if run is None:
            raise KubedagError(f"run {spawned.run_id} is not in the instance's run storage.")
        definitions = CodePointer.from_mapping(spawned.code_location, run.run_id).load()
        job = definitions.get_job_def(run.job_name)
        prepared = prepare_run(
            job,
            run_config=run.run_config,
            instance=instance,
            partition_key=run.partition,
            step_keys=[spawned.step_key],
        )
        source = StepSource(
            job=job,
            run=run,
            instance=instance,
            config=prepared.config,
            resource_defs=prepared.resource_defs,
            input_values={},
            output_run_ids=spawned.output_run_ids,
        )
        step = job.get_step(spawned.step_key)
    except BaseException as exc:
        _report_setup_failure(fd, spawned, exc)
        writer.close()
        if instance is not None:
            instance.dispose()
        return
    try:
        run_step_in_child(source, step, fd, retries=spawned.retries)
    finally:
        writer.close()
        instance.dispose()


def _report_setup_failure(fd: int, spawned: SpawnedStep, exc: BaseException) -> None:
    """The step could not even be set up (code location, instance): report it as its failure."""
    error = ErrorInfo.from_exception(exc)
    event = Event(
        EventType.STEP_FAILURE,
        "",
        f'Step "{spawned.step_key}" could not be set up in its process: {error.message}',
        spawned.step_key,
        StepFailureData(error, None, "FRAMEWORK_ERROR"),
    )
    _FrameSink(fd)(EventLogEntry.for_event(spawned.run_id, event))


# -- the parent side -----------------------------------------------------------------------------
class StepProcess(Protocol):
    """What the parent needs of a step's process (a `multiprocessing` process has all of it)."""

    @property
    def pid(self) -> int | None: ...

    @property
    def sentinel(self) -> int: ...

    @property
    def exitcode(self) -> int | None: ...

    def join(self, timeout: float | None = None) -> None: ...

    def close(self) -> None: ...


class ForkedProcess:
    """A child made with a bare `os.fork()`; a pidfd (Linux) says when it has exited.

    Why not `multiprocessing`'s fork: its bookkeeping around the fork (flushing, sentinel
    pipes, after-fork hooks, an exit function in the child) costs milliseconds per step."""

    def __init__(self, pid: int, pidfd: int) -> None:
        self.pid = pid
        self.sentinel = pidfd
        self._exitcode: int | None = None

    @property
    def exitcode(self) -> int | None:
        if self._exitcode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere: its status is lost
                self._exitcode = -1
                return self._exitcode
            if pid:
                self._exitcode = os.waitstatus_to_exitcode(status)
        return self._exitcode

    def join(self, timeout: float | None = None) -> None:
        if self._exitcode is not None:
            return
        if timeout is None:
            _, status = os.waitpid(self.pid, 0)
            self._exitcode = os.waitstatus_to_exitcode(status)
            return
        poller = select.poll()
        poller.register(self.sentinel, select.POLLIN)
        poller.poll(max(0, int(timeout * 1000)))
        _ = self.exitcode

    def close(self) -> None:
        os.close(self.sentinel)


def _pidfd_supported() -> bool:
    return hasattr(os, "pidfd_open") and hasattr(os, "waitstatus_to_exitcode")


def fork_step(source: StepSource, step: StepSpec, retries: bool) -> tuple[ForkedProcess, int]:
    """Fork a child that runs `step`; returns it and the read end of its event pipe."""
    read_fd, write_fd = os.pipe()
    for stream in (sys.stdout, sys.stderr):  # or the child would write the parent's buffer too
        if stream is not None:
            with contextlib.suppress(Exception):
                stream.flush()
    with warnings.catch_warnings():
        # Python 3.12+ warns that forking a process with threads may deadlock the child: the
        # child touches none of the locks those threads take (the event writer stays with the
        # parent; database pools are replaced first thing).
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: whatever happens, it never returns into the parent's code
        code = 1
        try:
            os.close(read_fd)
            _forked_child(source, step, write_fd, retries)
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(read_fd)
        raise
    return ForkedProcess(pid, pidfd), read_fd


def _forked_child(source: StepSource, step: StepSpec, fd: int, retries: bool) -> None:
    # What the parent allocated is frozen: the child's garbage collections then skip it, instead
    # of touching (and so copying) every page the parent's objects live on.
    gc.freeze()
    _forget_parent_connections(source.instance)
    run_step_in_child(source, step, fd, retries=retries)
    os.close(fd)


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
        self.index = {step.key: i for i, step in enumerate(plan.steps)}
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
        self.stopping = False
        self.has_stop_check = bool(getattr(plan_context, "has_stop_check", True))
        self.retries = config.retries is RetryMode.ENABLED
        self._last_stop_check = time.monotonic()
        self.bare_fork = config.start_method == "fork" and _pidfd_supported()
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
                step = self.plan.get_step(down)
                reason = self.outcomes.skip_reason(step)
                if reason is not None:
                    self.to_skip.append((step, reason))
                else:
                    bisect.insort(self.ready, step, key=lambda s: self.index[s.key])

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
            target: Any = _forked_step_main
        else:
            args = (self._spawned_step(step), writer)
            target = _spawned_step_main
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
            output_run_ids=dict(self.ctx.output_run_ids),
            retries=self.retries,
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
            # Registered so the run's result can load the value afterwards.
            self.ctx.output_context(step, step.output(event.event_specific_data.output_name))
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
                _signal(child.process, signal.SIGTERM)
            elif not child.killed and now - child.terminated_at >= TERMINATE_GRACE_SECONDS:
                child.killed = True
                _signal(child.process, signal.SIGKILL)

    def _reap_all(self) -> None:
        """However the loop ended (an error, Ctrl-C), no step process outlives the run."""
        for child in self.running.values():
            _signal(child.process, signal.SIGTERM)
        deadline = time.monotonic() + TERMINATE_GRACE_SECONDS
        for child in self.running.values():
            child.process.join(max(0.0, deadline - time.monotonic()))
            if child.process.exitcode is None:
                _signal(child.process, signal.SIGKILL)
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


def _signal(process: StepProcess, signum: int) -> None:
    if process.pid is not None and process.exitcode is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signum)


def _default_preload(run: Any) -> list[str]:
    modules = ["kubedag.execution.multiprocess"]
    module_name = (run.code_location or {}).get("module_name")
    if module_name:
        modules.append(module_name)
    return modules
