"""`RunExecution`: what every step of one run shares, wherever the step executes.

An executor hands it to each step (`step_execution`); a step's child process builds its own
from what the parent sent. It holds no executor choice and no run preparation, so a child
process imports this and the steps' code, not the machinery that decided how to run them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from kubedag.config.run_config import ResolvedRunConfig
from kubedag.definitions.asset_key import AssetKey
from kubedag.definitions.dynamic_steps import collected_sources
from kubedag.definitions.input_managers import input_manager_key
from kubedag.definitions.job import DEFAULT_IO_MANAGER_KEY, JobDefinition
from kubedag.definitions.partition_mapping import upstream_partition_keys
from kubedag.definitions.partitions import PartitionKeyRange
from kubedag.definitions.run_tags import (
    PARTITION_RANGE_END_TAG,
    PARTITION_RANGE_START_TAG,
)
from kubedag.definitions.steps import (
    FromAsset,
    FromCollected,
    FromMany,
    FromRunConfig,
    FromStepOutput,
    InputSource,
    StepOutput,
    StepSpec,
)
from kubedag.errors import InvalidConfigError
from kubedag.execution.context import (
    AssetCheckExecutionContext,
    AssetExecutionContext,
    OpExecutionContext,
    StepExecutionContext,
)
from kubedag.execution.log_manager import RunLogWriter
from kubedag.execution.plan import ExecutionPlan
from kubedag.execution.step_execution import StepFailed
from kubedag.records.events import EventType, OutputData
from kubedag.records.run import Run
from kubedag.resources.io_manager import (
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
        prepare_run: Callable[..., Any] | None = None,
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
        # (step key, output name), or with a mapping key for a value of a dynamic output.
        self._output_contexts: dict[tuple[str, ...], OutputContext] = {}
        # What executors that run steps elsewhere hand to each step's process.
        self.resource_defs: Mapping[str, Any] = dict(resource_defs or {})
        # Re-execution: step key → the earlier run whose outputs of that step this run loads.
        self.output_run_ids: dict[str, str] = dict(output_run_ids or {})
        # How a process that starts from nothing (a spawned step) checks and rebuilds the run:
        # `execution.preparation.prepare_run`, handed down so that what runs a step never
        # imports the machinery that decided how to run it.
        self.prepare_run = prepare_run
        # Step key → its output values, kept only while a step with hooks runs.
        self.output_capture: dict[str, dict[str, Any]] = {}

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

    def output_context(
        self, step: StepSpec, output: StepOutput, mapping_key: str | None = None
    ) -> OutputContext:
        cache_key = (
            (step.key, output.name) if mapping_key is None else (step.key, output.name, mapping_key)
        )
        cached = self._output_contexts.get(cache_key)
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
            mapping_key=mapping_key,
        )
        self._output_contexts[cache_key] = context
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
        self,
        step: StepSpec,
        name: str,
        upstream: OutputContext | None,
        asset_key: AssetKey | None,
    ) -> InputContext:
        """`upstream` is None for an input that nothing feeds, loaded by an input manager."""
        input_def = step.op.input_def(name)
        upstream_keys = self.upstream_partition_keys(step, asset_key)
        if upstream_keys is None and upstream is not None and upstream.has_partition_key:
            upstream_keys = [upstream.partition_key]  # an op output of a partitioned step
        partitioned = step.assets_def is not None and step.assets_def.partitions_def is not None
        upstream_partition = upstream._partition_key if upstream is not None else None
        return InputContext(
            name=name,
            step_key=step.key,
            upstream_output=upstream,
            asset_key=asset_key,
            partition_key=self.partition_key if partitioned else upstream_partition,
            asset_partition_keys=upstream_keys,
            metadata=dict(input_def.metadata),
            op_def=step.op,
            log=self.writer.for_step(step.key),
            resources=self.namespace,
            annotation=input_def.annotation,
        )

    def input_value(self, source: FromRunConfig) -> Any:
        return run_config_input_value(self.config, self.input_values, source)

    def collected_sources(self, source: FromCollected) -> tuple[FromStepOutput, ...]:
        """What a collected input reads, from the run's event log: for a step whose process
        was handed its step without the list (its executor resolves it otherwise)."""
        return collected_from_event_log(self.job, self.instance, self.run.run_id, source)

    def record_step_failure(self, step: StepSpec, failure: StepFailed) -> None:
        self.step_failures.append((step, failure))


def collected_from_event_log(
    job: JobDefinition, instance: Any, run_id: str, source: FromCollected
) -> tuple[FromStepOutput, ...]:
    collected = job.get_step(source.step_key)
    dynamic = collected.mapped_over or (source.step_key, source.output_name)
    keys: list[str] = []
    produced: set[tuple[str, str, str | None]] = set()
    succeeded: set[str] = set()
    for entry in instance.all_logs(run_id):
        event = entry.event
        if event is None or event.step_key is None:
            continue
        if event.event_type is EventType.STEP_SUCCESS:
            succeeded.add(event.step_key)
        elif event.event_type is EventType.STEP_OUTPUT and isinstance(
            event.event_specific_data, OutputData
        ):
            data = event.event_specific_data
            produced.add((event.step_key, data.output_name, data.mapping_key))
            if (event.step_key, data.output_name) == dynamic and data.mapping_key is not None:
                keys.append(data.mapping_key)
    return collected_sources(
        source,
        {source.step_key: collected},
        keys,
        lambda key, output, mapping_key: (
            key in succeeded and (key, output, mapping_key) in produced
        ),
    )


def run_config_input_value(
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
    store = instance if can_list_dynamic_partitions(instance) else None
    return list(
        job.partitions_def.get_partition_keys_in_range(
            partition_key_range, dynamic_partitions_store=store
        )
    )


def can_list_dynamic_partitions(instance: Any) -> bool:
    return instance is not None and hasattr(instance, "get_dynamic_partitions")


def _single_sources(source: InputSource) -> tuple[InputSource, ...]:
    return source.sources if isinstance(source, FromMany) else (source,)


def io_manager_keys(job: JobDefinition, step: StepSpec, plan: ExecutionPlan | None) -> set[str]:
    """The I/O managers `step` stores its outputs with and loads its inputs with. With a plan,
    inputs from steps in the plan are left out (those steps' own outputs name them)."""
    # A Nothing output names an I/O manager only when bound to one (`with_io_manager_key`): a
    # `MaterializeResult(value=…)` for it is stored there.
    keys = {
        o.io_manager_key
        for o in step.outputs
        if not o.is_nothing or o.io_manager_key != DEFAULT_IO_MANAGER_KEY
    }
    for name, source in step.inputs.items():
        manager = input_manager_key(step.op, name)
        if manager is not None:
            keys.add(manager)
            continue
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
    hook_keys = {
        key for hook in job.step_hooks.get(step.key, ()) for key in hook.required_resource_keys
    }
    return set(step.op.required_resource_keys) | io_manager_keys(job, step, None) | hook_keys
