"""What runs in a step's process.

A child forgets the parent's database connections (`Database.forget_parent_connections`: the
parent's connections are neither used nor closed by it), initializes only the resources
its step needs, captures its stdout and stderr with the instance's compute log manager, runs
`execute_step` (retries included: a retried step stays in its process, holding its slot) and
exits. It never writes to the event log: every event-log entry goes to the parent over a pipe
(`kubedag.execution.multiprocess.frames`), and the parent stores entries through its batched
writer, in the order they arrive. The database sees one writer per run, as with the in-process
executor.

A forked child has its parent's memory (`StepSource`); a spawned or forkserver child gets plain
data (`SpawnedStep`) and rebuilds the rest from the run record and its code location.
`forked_step_main` and `spawned_step_main` are `multiprocessing` targets, which a spawned child
finds by this module's path: they stay module-level functions here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import logging
import os
import signal
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kubedag.definitions.steps import StepSpec
from kubedag.errors import KubedagError, ResourceInitError
from kubedag.execution.multiprocess.frames import FrameSink, StepInterrupted
from kubedag.execution.step_execution import execute_step
from kubedag.records.events import (
    ErrorInfo,
    Event,
    EventLogEntry,
    EventType,
    RunFailureData,
    StepFailureData,
)

if TYPE_CHECKING:  # multiprocessing is imported when a run uses it, not with kubedag
    from multiprocessing.connection import Connection


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
        database.forget_parent_connections()
    instance.compute_log_manager.after_fork()


def run_step_in_child(source: StepSource, step: StepSpec, fd: int, *, retries: bool) -> None:
    """The body of a step's process: set up, run the step, report every entry to `fd` (which
    the caller closes)."""
    from kubedag.execution.python_logs import managed_python_loggers, managing_python_loggers
    from kubedag.execution.run_execution import RunExecution, step_resource_keys
    from kubedag.execution.run_loggers import run_log_writer
    from kubedag.resources.initialization import initialize_resources

    sink = FrameSink(fd)
    # Outside the main thread SIGTERM keeps its default (the process ends at once).
    with contextlib.suppress(ValueError):
        signal.signal(signal.SIGTERM, sink.on_sigterm)
    job, run, instance = source.job, source.run, source.instance
    writer = run_log_writer(job, run.run_id, source.config, sink, instance)
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
            stack.enter_context(managing_python_loggers(*managed_python_loggers(instance)))
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


def forked_child(source: StepSource, step: StepSpec, fd: int, retries: bool) -> None:
    """What a child made by a bare `os.fork()` (`fork_step`) runs; the caller ends the process."""
    # What the parent allocated is frozen: the child's garbage collections then skip it, instead
    # of touching (and so copying) every page the parent's objects live on.
    gc.freeze()
    _forget_parent_connections(source.instance)
    run_step_in_child(source, step, fd, retries=retries)
    os.close(fd)


def forked_step_main(source: StepSource, step: StepSpec, writer: Connection, retries: bool) -> None:
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
    # `prepare_run` of `kubedag.execution.preparation`, pickled by name (module and function)
    prepare_run: Callable[..., Any] | None = None
    output_run_ids: dict[str, str] = field(default_factory=dict)
    retries: bool = True
    step_inputs: dict[str, Any] | None = None  # the step's inputs as the parent resolved them


def spawned_step_main(spawned: SpawnedStep, writer: Connection) -> None:
    """Target of a spawned child: open the instance, load the code location, run the step."""
    fd = writer.fileno()
    instance = None
    try:
        from kubedag.code_location.code_pointer import CodePointer
        from kubedag.definitions.engine import engine
        from kubedag.execution.run_execution import run_partition_range

        if spawned.prepare_run is None:
            raise KubedagError("a spawned step needs the run's prepare_run function.")
        prepare_run = spawned.prepare_run

        instance = engine().instance_from_ref(spawned.instance_ref)
        run = instance.get_run_by_id(spawned.run_id)
        if run is None:
            raise KubedagError(f"run {spawned.run_id} is not in the instance's run storage.")
        pointer = CodePointer.from_mapping(spawned.code_location, run.run_id)
        job = pointer.load_job(run.job_name)
        prepared = prepare_run(
            job,
            run_config=run.run_config,
            instance=instance,
            partition_key=run.partition,
            partition_key_range=run_partition_range(run),
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
        if spawned.step_inputs is not None:
            step = dataclasses.replace(step, inputs=spawned.step_inputs)
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
    FrameSink(fd)(EventLogEntry.for_event(spawned.run_id, event))
