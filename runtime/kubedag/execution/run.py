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
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from kubedag.config.run_config import ResolvedRunConfig, resolve_run_config
from kubedag.definitions.asset_key import AssetKey
from kubedag.definitions.job import DEFAULT_IO_MANAGER_KEY, JobDefinition
from kubedag.definitions.partition_mapping import upstream_partition_keys
from kubedag.definitions.partitions import PartitionKeyRange, UnknownPartitionError
from kubedag.definitions.results import AssetMaterialization
from kubedag.definitions.run_tags import (
    PARTITION_RANGE_END_TAG,
    PARTITION_RANGE_START_TAG,
    tags_for_run,
)
from kubedag.definitions.steps import (
    FromAsset,
    FromMany,
    FromRunConfig,
    FromStepOutput,
    InputSource,
    StepOutput,
    StepSpec,
)
from kubedag.errors import InvalidConfigError, KubedagError, ResourceInitError, StepExecutionError
from kubedag.execution.context import (
    AssetCheckExecutionContext,
    AssetExecutionContext,
    OpExecutionContext,
    StepExecutionContext,
)
from kubedag.execution.executor_selection import (
    ExecutorChoice,
    check_persistent_outputs,
    check_run_requirements,
    choose_executor,
)
from kubedag.execution.log_manager import RunLogWriter
from kubedag.execution.plan import ExecutionPlan
from kubedag.execution.result import ExecuteInProcessResult
from kubedag.execution.step_execution import StepFailed
from kubedag.records.events import ErrorInfo, Event, EventLogEntry, EventType, RunFailureData
from kubedag.records.run import Run, RunStatus
from kubedag.resources.initialization import check_env_vars, initialize_resources
from kubedag.resources.io_manager import (
    FilesystemIOManager,
    InMemoryIOManager,
    InputContext,
    OutputContext,
)
from kubedag.resources.namespace import ResourceNamespace


def partition_range_from_tags(tags: Mapping[str, str] | None) -> PartitionKeyRange | None:
    """The partition range a run covers, from its range tags (None when it has none)."""
    tags = tags or {}
    start, end = tags.get(PARTITION_RANGE_START_TAG), tags.get(PARTITION_RANGE_END_TAG)
    if start is None and end is None:
        return None
    if start is None or end is None:
        missing = PARTITION_RANGE_START_TAG if start is None else PARTITION_RANGE_END_TAG
        raise InvalidConfigError(
            f"tags: a partition range needs both {PARTITION_RANGE_START_TAG} and "
            f"{PARTITION_RANGE_END_TAG}; {missing} is missing."
        )
    return PartitionKeyRange(start, end)


def run_partition_range(run: Run) -> PartitionKeyRange | None:
    """The range a run record covers: its range tags, unless it names a single partition."""
    return partition_range_from_tags(run.tags) if run.partition is None else None


class RunExecution:
    """Everything the steps of one run share: the plan context handed to executors."""

    def __init__(
        self,
        *,
        job: JobDefinition,
        run: Run,
        instance: Any,
        config: ResolvedRunConfig,
        resources: dict[str, Any],
        writer: RunLogWriter,
        input_values: Mapping[str, Any],
        should_stop: Callable[[], bool] | None = None,
        resource_defs: Mapping[str, Any] | None = None,
        output_run_ids: Mapping[str, str] | None = None,
    ) -> None:
        self.job = job
        self.run = run
        self.instance = instance
        self.config = config
        self.resources = resources
        self.namespace = ResourceNamespace(resources)
        self.writer = writer
        self.partition_key = run.partition
        self.partition_key_range = run_partition_range(run)
        self._partition_keys: list[str] | None = None
        self.input_values = dict(input_values)
        self.step_failures: list[tuple[StepSpec, StepFailed]] = []
        self._should_stop = should_stop
        self.stopped = False  # a stop was asked for: executors start no further step
        self.not_started: list[str] = []  # steps left out because of the stop
        self._output_contexts: dict[tuple[str, str], OutputContext] = {}
        # What executors that run steps elsewhere hand to each step's process.
        self.resource_defs: Mapping[str, Any] = dict(resource_defs or {})
        # Re-execution: step key → the earlier run whose outputs of that step this run loads.
        self.output_run_ids: dict[str, str] = dict(output_run_ids or {})

    @property
    def has_stop_check(self) -> bool:
        """Whether anyone can ask this run to stop (an executor need not poll otherwise)."""
        return self._should_stop is not None

    def should_stop(self) -> bool:
        """Whether the run was asked to stop (canceled); asked by executors between steps."""
        if not self.stopped and self._should_stop is not None and self._should_stop():
            self.stopped = True
        return self.stopped

    # -- used by step execution ---------------------------------------------------------------
    def context_for(self, step: StepSpec, attempt: int) -> StepExecutionContext:
        cls: type[StepExecutionContext] = OpExecutionContext
        if step.checks_def is not None:
            cls = AssetCheckExecutionContext
        elif step.assets_def is not None:
            cls = AssetExecutionContext
        return cls(
            run=self.run,
            log=self.writer.for_step(step.key),
            resources=self.namespace,
            op_config=self.config.op_config.get(step.node_path),
            instance=self.instance,
            step=step,
            partition_key=self.partition_key,
            partition_key_range=self.partition_key_range,
            retry_number=attempt,
        )

    def io_manager(self, key: str) -> Any:
        return self.resources[key]

    def output_context(self, step: StepSpec, output: StepOutput) -> OutputContext:
        cached = self._output_contexts.get((step.key, output.name))
        if cached is not None:
            return cached
        partitioned = step.assets_def is not None and step.assets_def.partitions_def is not None
        context = OutputContext(
            name=output.name,
            step_key=step.key,
            # An output of a step this run does not execute was stored by an earlier run.
            run_id=self.output_run_ids.get(step.key, self.run.run_id),
            asset_key=output.asset_key,
            partition_key=self.partition_key if partitioned else None,
            partition_keys=self.partition_keys() if partitioned else None,
            partitions_def=step.assets_def.partitions_def if step.assets_def else None,
            metadata=dict(step.op.output_def(output.name).metadata),
            op_def=step.op,
            log=self.writer.for_step(step.key),
            resources=self.namespace,
            instance=self.instance,
        )
        self._output_contexts[(step.key, output.name)] = context
        return context

    def asset_output_context(self, key: AssetKey) -> OutputContext:
        """The output context of an asset this run does not produce (for loading it)."""
        graph = self.job.asset_graph
        producer = graph.producer.get(key) if graph is not None else None
        spec = graph.specs.get(key) if graph is not None else None
        partitioned = spec is not None and spec.partitions_def is not None
        return OutputContext(
            name=producer.output_names_by_key[key] if producer is not None else "result",
            step_key=producer.node.name if producer is not None else key.to_python_identifier(),
            run_id=self.run.run_id,
            asset_key=key,
            partition_key=self.partition_key if partitioned else None,
            partitions_def=spec.partitions_def if spec is not None else None,
            metadata=dict(spec.metadata) if spec is not None else {},
            resources=self.namespace,
            instance=self.instance,
        )

    def partition_keys(self) -> list[str]:
        """The partition keys this run materializes: its key, or every key of its range."""
        if self._partition_keys is None:
            self._partition_keys = run_partition_keys(
                self.job, self.partition_key, self.partition_key_range, self.instance
            )
        return self._partition_keys

    def upstream_partition_keys(
        self, step: StepSpec, asset_key: AssetKey | None
    ) -> list[str] | None:
        """The partitions of upstream asset `asset_key` that `step` reads, through the
        dependency's partition mapping (None: the upstream asset is not partitioned)."""
        graph = self.job.asset_graph
        spec = graph.specs.get(asset_key) if graph is not None and asset_key is not None else None
        upstream_def = spec.partitions_def if spec is not None else None
        if upstream_def is None:
            return None
        assets_def = step.assets_def
        downstream_def = assets_def.partitions_def if assets_def is not None else None
        mapping = None
        for own in assets_def.specs if assets_def is not None else ():
            for dep in own.deps:
                if dep.asset_key == asset_key and dep.partition_mapping is not None:
                    mapping = dep.partition_mapping
        downstream_keys = self.partition_keys() if downstream_def is not None else []
        return upstream_partition_keys(
            mapping,
            downstream_keys,
            downstream_def,
            upstream_def,
            dynamic_partitions_store=self.instance,
        )

    def input_context(
        self, step: StepSpec, name: str, upstream: OutputContext, asset_key: AssetKey | None
    ) -> InputContext:
        input_def = step.op.input_def(name)
        upstream_keys = self.upstream_partition_keys(step, asset_key)
        if upstream_keys is None and upstream.has_partition_key:
            upstream_keys = [upstream.partition_key]  # an op output of a partitioned step
        partitioned = step.assets_def is not None and step.assets_def.partitions_def is not None
        return InputContext(
            name=name,
            step_key=step.key,
            upstream_output=upstream,
            asset_key=asset_key,
            partition_key=self.partition_key if partitioned else upstream._partition_key,
            asset_partition_keys=upstream_keys,
            metadata=dict(input_def.metadata),
            op_def=step.op,
            log=self.writer.for_step(step.key),
            resources=self.namespace,
            annotation=input_def.annotation,
        )

    def input_value(self, source: FromRunConfig) -> Any:
        return _input_value(self.config, self.input_values, source)

    def record_step_failure(self, step: StepSpec, failure: StepFailed) -> None:
        self.step_failures.append((step, failure))


def _input_value(
    config: ResolvedRunConfig, input_values: Mapping[str, Any], source: FromRunConfig
) -> Any:
    key = (source.node_path, source.input_name)
    if key in config.input_values:
        return config.input_values[key]
    if source.graph_input is not None and source.graph_input in input_values:
        return input_values[source.graph_input]
    raise InvalidConfigError(
        f"ops.{'.ops.'.join(source.node_path)}.inputs.{source.input_name}: input "
        f"'{source.input_name}' has no upstream output and no default; give it a value in run "
        "config or connect it to an op's output."
    )


def _default_io_manager(kind: str) -> Any:
    return InMemoryIOManager() if kind == "memory" else FilesystemIOManager()


def run_partition_keys(
    job: JobDefinition,
    partition_key: str | None,
    partition_key_range: PartitionKeyRange | None,
    instance: Any = None,
) -> list[str]:
    """The keys a run of `job` covers: its one key, or every key of its range, in order."""
    if partition_key is not None:
        return [partition_key]
    if partition_key_range is None or job.partitions_def is None:
        return []
    store = instance if _can_list_dynamic_partitions(instance) else None
    return list(
        job.partitions_def.get_partition_keys_in_range(
            partition_key_range, dynamic_partitions_store=store
        )
    )


def _can_list_dynamic_partitions(instance: Any) -> bool:
    return instance is not None and hasattr(instance, "get_dynamic_partitions")


def _has_key(partitions_def: Any, key: str, instance: Any) -> bool:
    from kubedag.definitions.partitions import PartitionsDefinition

    if not isinstance(partitions_def, PartitionsDefinition):
        return True
    if _needs_store(partitions_def) and not _can_list_dynamic_partitions(instance):
        return True  # only the instance knows dynamic keys; checked where it is at hand
    store = instance if _can_list_dynamic_partitions(instance) else None
    return partitions_def.has_partition_key(key, dynamic_partitions_store=store)


def _needs_store(partitions_def: Any) -> bool:
    from kubedag.definitions.partitions import (
        DynamicPartitionsDefinition,
        MultiPartitionsDefinition,
    )

    if isinstance(partitions_def, MultiPartitionsDefinition):
        return any(_needs_store(dim.partitions_def) for dim in partitions_def.partitions_defs)
    return isinstance(partitions_def, DynamicPartitionsDefinition)


def _validate_partition(
    job: JobDefinition,
    partition_key: str | None,
    partition_key_range: PartitionKeyRange | None = None,
    instance: Any = None,
) -> None:
    partitions_def = job.partitions_def
    if partition_key is not None and partition_key_range is not None:
        raise InvalidConfigError(
            f"partition_key: give partition_key={partition_key!r} or a partition range "
            f"({partition_key_range.start}...{partition_key_range.end}), not both."
        )
    if partition_key is None and partition_key_range is None:
        if partitions_def is not None:
            raise InvalidConfigError(
                f"partition_key: job '{job.name}' materializes partitioned assets; pass "
                "partition_key=… to say which partition to run."
            )
        return
    if partitions_def is None:
        given = partition_key if partition_key is not None else partition_key_range
        raise InvalidConfigError(
            f"partition_key: job '{job.name}' is not partitioned, so the partition "
            f"{given!r} cannot be used."
        )
    if partition_key is not None:
        if not _has_key(partitions_def, partition_key, instance):
            raise InvalidConfigError(
                f"partition_key: {partition_key!r} is not a partition of job '{job.name}' "
                f"({partitions_def})."
            )
        return
    assert partition_key_range is not None
    for end, key in (("start", partition_key_range.start), ("end", partition_key_range.end)):
        if not _has_key(partitions_def, key, instance):
            raise InvalidConfigError(
                f"partition range {end}: {key!r} is not a partition of job '{job.name}' "
                f"({partitions_def})."
            )
    try:
        keys = run_partition_keys(job, None, partition_key_range, instance)
    except UnknownPartitionError as exc:
        raise InvalidConfigError(f"partition range: {exc}") from None
    if not keys:
        raise InvalidConfigError(
            f"partition range {partition_key_range.start}...{partition_key_range.end} of job "
            f"'{job.name}' holds no partition; check that the start comes before the end."
        )


def _needed_resource_keys(job: JobDefinition, plan: ExecutionPlan) -> set[str]:
    """Resources the plan's steps use: their own, and the I/O managers of what they store and
    load. Resources nothing uses are not initialized."""
    keys: set[str] = set()
    for step in plan.steps:
        keys.update(step.op.required_resource_keys)
        keys.update(_io_manager_keys(job, step, plan))
    return keys


def _single_sources(source: InputSource) -> tuple[InputSource, ...]:
    return source.sources if isinstance(source, FromMany) else (source,)


def _io_manager_keys(job: JobDefinition, step: StepSpec, plan: ExecutionPlan | None) -> set[str]:
    """The I/O managers `step` stores its outputs with and loads its inputs with. With a plan,
    inputs from steps in the plan are left out (those steps' own outputs name them)."""
    keys = {o.io_manager_key for o in step.outputs if not o.is_nothing}
    for source in step.inputs.values():
        for single in _single_sources(source):
            if isinstance(single, FromAsset):
                keys.add(single.io_manager_key)
            elif isinstance(single, FromStepOutput) and (
                plan is None or single.step_key not in plan
            ):
                output = job.get_step(single.step_key).output(single.output_name)
                if not output.is_nothing:
                    keys.add(output.io_manager_key)
    return keys


def step_resource_keys(job: JobDefinition, step: StepSpec) -> set[str]:
    """The resources one step needs on its own (what a step's process initializes)."""
    return set(step.op.required_resource_keys) | _io_manager_keys(job, step, None)


def _check_inputs_provided(
    plan: ExecutionPlan, config: ResolvedRunConfig, input_values: Mapping[str, Any]
) -> None:
    for step in plan.steps:
        for source in step.inputs.values():
            if isinstance(source, FromRunConfig):
                _input_value(config, input_values, source)


def storable_run_config(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The run config as it is recorded: Config objects become plain dicts."""

    def convert(value: Any) -> Any:
        if hasattr(value, "model_dump"):
            return value.model_dump(mode="json")
        if isinstance(value, Mapping):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [convert(v) for v in value]
        return value

    result = convert(raw)
    assert isinstance(result, dict)
    return result


@dataclass(frozen=True)
class PreparedRun:
    """A run that passed every check that needs no user code: what executing it takes."""

    job: JobDefinition
    config: ResolvedRunConfig
    plan: ExecutionPlan
    resource_defs: dict[str, Any]
    needed_resources: set[str]
    input_values: Mapping[str, Any]
    executor: ExecutorChoice


def prepare_run(
    job: JobDefinition,
    *,
    run_config: Any = None,
    instance: Any = None,
    partition_key: str | None = None,
    step_keys: Iterable[str] | None = None,
    input_values: Mapping[str, Any] | None = None,
    default_io_manager: str | None = None,
    use_job_executor: bool = False,
    partition_key_range: PartitionKeyRange | None = None,
) -> PreparedRun:
    """Check run config, resources, environment variables, the partition, inputs and the
    executor.

    Raises `InvalidConfigError` (and other `KubedagError`s) naming the field and the fix; runs
    no user code and writes nothing, so it can run before a run record or a worker exists.
    `use_job_executor=False` (materialize, execute_in_process) runs every step in this process
    whatever the job's executor; True is for `execute_run` and `dg.execute_job`.
    `partition_key_range` checks a run over several partitions (its range tags) instead of one."""
    config = resolve_run_config(job, run_config)
    executor = choose_executor(job, config.execution, in_process=not use_job_executor)
    plan = ExecutionPlan.build(job.steps, step_keys)
    resource_defs = dict(job.resource_defs)
    if default_io_manager is None:
        persistent = instance is not None and not instance.is_ephemeral
        default_io_manager = "filesystem" if persistent else "memory"
    resource_defs.setdefault(DEFAULT_IO_MANAGER_KEY, _default_io_manager(default_io_manager))
    job.check_resources(resource_defs)
    needed = _needed_resource_keys(job, plan)
    check_env_vars(resource_defs, needed)
    _validate_partition(job, partition_key, partition_key_range, instance)
    _check_inputs_provided(plan, config, input_values or {})
    io_keys = set().union(*(_io_manager_keys(job, step, None) for step in plan.steps))
    check_persistent_outputs(executor, resource_defs, io_keys)
    return PreparedRun(job, config, plan, resource_defs, needed, dict(input_values or {}), executor)


def check_run_request(
    job: JobDefinition,
    *,
    run_config: Any = None,
    partition_key: str | None = None,
    instance: Any = None,
) -> None:
    """The checks of `prepare_run` that hold wherever the run will execute: the run config
    against the job's config schema, the executor it names, the partition. Raises
    `InvalidConfigError` naming the field. Resources and environment variables are left to
    the run's worker, whose pod has the environment (a code server, which calls this before a
    run is accepted, may not)."""
    config = resolve_run_config(job, run_config)
    choose_executor(job, config.execution, in_process=False)
    _validate_partition(job, partition_key, None, instance)


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

    writer = RunLogWriter(run.run_id, job.name, sink, config.console_log_level)
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
            step, first = step_failures[0]
            user_exc = first.user_exception
            if isinstance(user_exc, KubedagError):
                raise user_exc
            raise StepExecutionError(
                f'{first.error.message} (step "{step.key}")',
                step_key=step.key,
                user_exception=user_exc
                if user_exc is not None
                else RuntimeError(first.error.message),
            ) from user_exc
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
