"""Running a job in this process: validate everything, then execute the plan.

The order matters for users: every check that can fail without running user code — run config,
resources bound, environment variables set, partition key valid, inputs provided — happens
before the run record exists, so a mistake raises a clear error and leaves nothing behind. After
that, whatever happens (a failing step, a resource that cannot start, Ctrl-C), the run ends in a
terminal status with the reason in its event log.
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from typing import Any

from kubedag.definitions.job import JobDefinition
from kubedag.definitions.results import AssetMaterialization
from kubedag.definitions.run_tags import (
    tags_for_run,
)
from kubedag.errors import KubedagError, ResourceInitError
from kubedag.execution.executor_selection import (
    check_run_requirements,
)
from kubedag.execution.plan import ExecutionPlan
from kubedag.execution.preparation import (
    PreparedRun,
    prepare_run,
    storable_run_config,
)
from kubedag.execution.python_logs import managed_python_loggers, managing_python_loggers
from kubedag.execution.result import ExecuteInProcessResult
from kubedag.execution.run_execution import (
    RunExecution,
    partition_range_from_tags,
    run_partition_keys,
    run_partition_range,
)
from kubedag.execution.run_loggers import run_log_writer
from kubedag.records.events import ErrorInfo, Event, EventLogEntry, EventType, RunFailureData
from kubedag.records.run import Run, RunStatus
from kubedag.resources.initialization import initialize_resources


def execute_job(
    job: JobDefinition,
    *,
    run_config: Any = None,
    instance: Any = None,
    partition_key: str | None = None,
    raise_on_error: bool = True,
    tags: Mapping[str, str] | None = None,
    run_id: str | None = None,
    op_selection: list[str] | None = None,
    input_values: Mapping[str, Any] | None = None,
    default_io_manager: str | None = None,
    event_listener: Callable[[EventLogEntry], None] | None = None,
) -> ExecuteInProcessResult:
    """Validate, then create a run of `job` and execute it in this process.

    `event_listener`, when given, sees every event-log entry right after it is stored (the CLI
    uses it to show progress while the run is going)."""
    # 1. Everything that can be checked without running user code.
    partition_key_range = partition_range_from_tags(tags) if partition_key is None else None
    prepared = prepare_run(
        job,
        run_config=run_config,
        instance=instance,
        partition_key=partition_key,
        partition_key_range=partition_key_range,
        step_keys=op_selection,
        input_values=input_values,
        default_io_manager=default_io_manager,
    )
    owns_instance = instance is None
    if instance is None:
        from kubedag.definitions.engine import engine

        instance = engine().ephemeral_instance()
    run_tags = tags_for_run(job.run_tags, tags, partition_key=partition_key)
    run = instance.create_run(
        job_name=job.name,
        run_id=run_id,
        run_config=storable_run_config(prepared.config.raw),
        tags=run_tags,
        asset_selection=job.selection.asset_keys if job.selection is not None else None,
        step_keys_to_execute=tuple(prepared.plan.step_keys) if op_selection else None,
        partition=partition_key,
    )
    return execute_prepared_run(
        prepared,
        run,
        instance,
        raise_on_error=raise_on_error,
        owns_instance=owns_instance,
        event_listener=event_listener,
    )


def execute_run(
    job: JobDefinition,
    run: Run,
    instance: Any,
    *,
    raise_on_error: bool = False,
    should_stop: Callable[[], bool] | None = None,
    event_listener: Callable[[EventLogEntry], None] | None = None,
) -> ExecuteInProcessResult:
    """Execute a run record that already exists (what a run worker does with a launched run).

    Its run config, partition and step selection come from the record; its steps run with the
    job's executor (multiprocess unless the job or run config says otherwise). A run that fails
    its checks (config changed since it was submitted, an environment variable missing in this
    process) ends as FAILURE with the reason in its event log, like any other failure.
    `should_stop` is asked between steps; once it returns True no further step starts, running
    step processes are stopped, and the run ends CANCELED."""
    try:
        prepared = prepare_run(
            job,
            run_config=run.run_config,
            instance=instance,
            partition_key=run.partition,
            partition_key_range=run_partition_range(run),
            step_keys=run.step_keys_to_execute,
            use_job_executor=True,
        )
        check_run_requirements(prepared.executor, run, instance)
    except KubedagError as exc:
        _fail_before_start(job, run, instance, exc)
        if raise_on_error:
            raise
        return ExecuteInProcessResult(
            job, instance.get_run_by_id(run.run_id) or run, [], {}, instance, False
        )
    return execute_prepared_run(
        prepared,
        run,
        instance,
        raise_on_error=raise_on_error,
        owns_instance=False,
        should_stop=should_stop,
        event_listener=event_listener,
    )


def _fail_before_start(job: JobDefinition, run: Run, instance: Any, exc: BaseException) -> None:
    error = ErrorInfo.from_exception(exc)
    entry = EventLogEntry.for_event(
        run.run_id,
        Event(
            EventType.RUN_FAILURE,
            job.name,
            f'Run of "{job.name}" could not start: {error.message}',
            None,
            RunFailureData(error),
        ),
    )
    instance.store_event_entry(entry)
    instance.update_run_status(run.run_id, RunStatus.FAILURE)


def execute_prepared_run(
    prepared: PreparedRun,
    run: Run,
    instance: Any,
    *,
    raise_on_error: bool,
    owns_instance: bool,
    should_stop: Callable[[], bool] | None = None,
    event_listener: Callable[[EventLogEntry], None] | None = None,
) -> ExecuteInProcessResult:
    """Execute a checked run whose record exists; it always ends in a terminal status."""
    job, config, plan = prepared.job, prepared.config, prepared.plan
    resource_defs, needed, input_values = (
        prepared.resource_defs,
        prepared.needed_resources,
        prepared.input_values,
    )
    batched = instance.event_writer()
    store: Callable[[EventLogEntry], None] = (
        batched.write if batched is not None else instance.store_event_entry
    )
    sink = store
    if event_listener is not None:
        listener = event_listener

        def sink(entry: EventLogEntry) -> None:
            store(entry)
            listener(entry)

    try:
        writer = run_log_writer(job, run.run_id, config, sink, instance)
    except Exception as exc:  # a logger of the job could not be built: the run cannot start
        if batched is not None:
            batched.close()
        _fail_before_start(job, run, instance, exc)
        raise
    events: list[Event] = []

    def store_batch(entries: list[EventLogEntry]) -> None:
        """Entries steps wrote in other processes (which showed them on their consoles): one
        transaction, after whatever this process wrote before them."""
        if batched is not None:
            batched.flush()
        instance.store_event_entries(entries)
        for entry in entries:
            if entry.event is not None:
                events.append(entry.event)
            if event_listener is not None:
                event_listener(entry)

    range_keys = _range_keys(job, run, instance)

    def emit(event: Event | list[EventLogEntry]) -> None:
        if isinstance(event, list):
            store_batch(
                [
                    dataclasses.replace(entry, event=one)
                    for entry in event
                    for one in _per_partition(entry.event, range_keys, job)
                ]
            )
            return
        for one in _per_partition(event, range_keys, job):
            events.append(one)
            writer.write_event(one)

    # The batched writer must store what is left whatever happens below.
    try:
        run = instance.update_run_status(run.run_id, RunStatus.STARTED)
        emit(Event(EventType.RUN_START, job.name, f'Started execution of run for "{job.name}".'))
        execution: RunExecution | None = None
        failure_error: ErrorInfo | None = None
        raised: BaseException | None = None
        result_resources: Mapping[str, Any] = {}
        try:
            with ExitStack() as stack:
                stack.enter_context(managing_python_loggers(*managed_python_loggers(instance)))
                executor = prepared.executor.create(job, instance)
                output_run_ids = _output_run_ids(instance, run, job, plan)
                try:
                    if executor.runs_steps_in_this_process:
                        resources = initialize_resources(
                            resource_defs,
                            needed,
                            stack,
                            configs=config.resource_config,
                            instance=instance,
                            run_id=run.run_id,
                            log=None,
                        )
                        result_resources = resources
                    else:  # each step's process initializes what it needs
                        resources = {}
                        result_resources = LazyResources(
                            resource_defs, config.resource_config, instance, run.run_id
                        )
                except ResourceInitError as exc:
                    failure_error = ErrorInfo.from_exception(exc)
                    raised = exc
                    emit(
                        Event(
                            EventType.RESOURCE_INIT_FAILURE,
                            job.name,
                            str(exc),
                            None,
                            RunFailureData(failure_error),
                        )
                    )
                else:
                    execution = RunExecution(
                        job=job,
                        run=run,
                        instance=instance,
                        config=config,
                        resources=resources,
                        writer=writer,
                        input_values=input_values or {},
                        should_stop=should_stop,
                        resource_defs=resource_defs,
                        output_run_ids=output_run_ids,
                        prepare_run=prepare_run,
                    )
                    for event in executor.execute(execution, plan):
                        emit(event)
        except BaseException as exc:  # teardown failure, Ctrl-C: record it, then let it through
            failure_error = ErrorInfo.from_exception(exc)
            raised = exc
            failed_steps = tuple(s.key for s, _ in execution.step_failures) if execution else ()
            emit(
                Event(
                    EventType.RUN_FAILURE,
                    job.name,
                    f'Run of "{job.name}" was interrupted: {failure_error.message}',
                    None,
                    RunFailureData(failure_error, failed_steps),
                )
            )
            instance.update_run_status(run.run_id, RunStatus.FAILURE)
            if not isinstance(exc, Exception):
                raise
            if raise_on_error:
                raise
            return ExecuteInProcessResult(
                job, instance.get_run_by_id(run.run_id), events, {}, instance, owns_instance
            )

        step_failures = execution.step_failures if execution is not None else []
        if execution is not None and execution.stopped and failure_error is None:
            emit(
                Event(
                    EventType.RUN_CANCELED,
                    job.name,
                    f'Run of "{job.name}" was canceled before steps '
                    f"{', '.join(execution.not_started) or '(none)'} started.",
                )
            )
            final = instance.update_run_status(run.run_id, RunStatus.CANCELED)
            return ExecuteInProcessResult(
                job,
                final,
                events,
                result_resources,
                instance,
                owns_instance,
                execution._output_contexts,
            )
        success = failure_error is None and not step_failures
        if success:
            emit(
                Event(
                    EventType.RUN_SUCCESS, job.name, f'Finished execution of run for "{job.name}".'
                )
            )
        else:
            failed = tuple(step.key for step, _ in step_failures)
            message = (
                f'Execution of run for "{job.name}" failed. Steps failed: {", ".join(failed)}.'
                if failed
                else f'Execution of run for "{job.name}" failed: {failure_error.message if failure_error else ""}'
            )
            emit(
                Event(
                    EventType.RUN_FAILURE,
                    job.name,
                    message,
                    None,
                    RunFailureData(failure_error, failed),
                )
            )
        final = instance.update_run_status(
            run.run_id, RunStatus.SUCCESS if success else RunStatus.FAILURE
        )
        result = ExecuteInProcessResult(
            job,
            final,
            events,
            result_resources,
            instance,
            owns_instance,
            execution._output_contexts if execution else {},
        )
        if not success and raise_on_error:
            if raised is not None:
                raise raised
            # As in the reference: the first failed step's own exception, the user's (or a
            # kubedag error about the step's results). A step that failed in another process
            # left no exception here: the result says what happened.
            user_exc = step_failures[0][1].user_exception
            if user_exc is not None:
                raise user_exc
        return result
    finally:
        if batched is not None:
            batched.close()


def _range_keys(job: JobDefinition, run: Run, instance: Any) -> list[str] | None:
    partition_range = run_partition_range(run)
    if partition_range is None:
        return None
    return run_partition_keys(job, None, partition_range, instance)


def _per_partition(event: Any, range_keys: list[str] | None, job: JobDefinition) -> list[Any]:
    """A range run's materialization of a partitioned asset, as one per partition of the
    range (what the asset's partition history records); any other event unchanged."""
    if (
        not range_keys
        or not isinstance(event, Event)
        or event.event_type is not EventType.ASSET_MATERIALIZATION
        or not isinstance(event.event_specific_data, AssetMaterialization)
        or event.event_specific_data.partition is not None
    ):
        return [event]
    graph = job.asset_graph
    spec = graph.specs.get(event.event_specific_data.asset_key) if graph is not None else None
    if spec is None or spec.partitions_def is None:
        return [event]
    return [
        dataclasses.replace(
            event,
            event_specific_data=dataclasses.replace(event.event_specific_data, partition=key),
            partition=key,
        )
        for key in range_keys
    ]


def _output_run_ids(
    instance: Any, run: Run, job: JobDefinition, plan: ExecutionPlan
) -> dict[str, str]:
    """For a re-execution, the earlier run that stored each output this run loads without
    producing it (op outputs are stored per run)."""
    if run.parent_run_id is None:
        return {}
    from kubedag.execution.reexecution import upstream_output_runs

    return upstream_output_runs(instance, run, job, plan)


class LazyResources(Mapping[str, Any]):
    """The resources of a run whose steps ran in other processes, initialized here only when
    asked for (a result loading an output through its I/O manager), and torn down when this
    object is collected."""

    def __init__(
        self, definitions: Mapping[str, Any], configs: Mapping[str, Any], instance: Any, run_id: str
    ) -> None:
        self._definitions = dict(definitions)
        self._configs = dict(configs)
        self._instance = instance
        self._run_id = run_id
        self._values: dict[str, Any] = {}
        self._stack = ExitStack()
        weakref.finalize(self, self._stack.close)

    def __getitem__(self, key: str) -> Any:
        if key not in self._values:
            if key not in self._definitions:
                raise KeyError(key)
            self._values.update(
                initialize_resources(
                    self._definitions,
                    [key],
                    self._stack,
                    configs=self._configs,
                    instance=self._instance,
                    run_id=self._run_id,
                )
            )
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._definitions)

    def __len__(self) -> int:
        return len(self._definitions)
