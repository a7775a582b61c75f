"""Execution contexts: what a running asset, op or check sees as `context`.

The same classes serve real runs and direct invocation in tests (`build_asset_context`), so a
test exercises exactly the attributes production code uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import ExitStack
from typing import Any

from kubedag.definitions.asset_key import AssetKey, to_asset_key
from kubedag.errors import InvalidInvocationError, NotPartitionedError
from kubedag.execution.log_manager import RunLogWriter, StepLog
from kubedag.records.run import Run


class StepExecutionContext:
    """Base of the contexts handed to user code."""

    def __init__(
        self,
        *,
        run: Run,
        log: StepLog,
        resources: Any,
        op_config: Any = None,
        instance: Any = None,
        step: Any = None,
        partition_key: str | None = None,
        partition_key_range: Any = None,
        retry_number: int = 0,
        op_def: Any = None,
        assets_def: Any = None,
    ) -> None:
        self._run = run
        self._log = log
        self._resources = resources
        self._op_config = op_config
        self._instance = instance
        self._step = step
        self._partition_key = partition_key
        self._partition_key_range = partition_key_range
        self._retry_number = retry_number
        self._op_def = op_def if op_def is not None else getattr(step, "op", None)
        self._assets_def = (
            assets_def if assets_def is not None else getattr(step, "assets_def", None)
        )
        self.output_metadata: dict[str, dict[str, Any]] = {}
        self.pending_events: list[Any] = []  # context.log_event(…), until the step records them
        self._exit_stack: ExitStack | None = None

    # -- run --------------------------------------------------------------------------------
    @property
    def run(self) -> Run:
        return self._run

    @property
    def dagster_run(self) -> Run:
        return self._run

    @property
    def run_id(self) -> str:
        return self._run.run_id

    @property
    def job_name(self) -> str:
        return self._run.job_name

    @property
    def run_tags(self) -> Mapping[str, str]:
        return self._run.tags

    def has_tag(self, key: str) -> bool:
        return key in self._run.tags

    def get_tag(self, key: str) -> str | None:
        return self._run.tags.get(key)

    @property
    def instance(self) -> Any:
        if self._instance is None:
            from kubedag.definitions.engine import engine

            self._instance = engine().ephemeral_instance()
        return self._instance

    @property
    def log(self) -> StepLog:
        return self._log

    @property
    def resources(self) -> Any:
        return self._resources

    @property
    def retry_number(self) -> int:
        return self._retry_number

    # -- the op -----------------------------------------------------------------------------
    @property
    def op_config(self) -> Any:
        return self._op_config

    @property
    def op_def(self) -> Any:
        return self._op_def

    @property
    def op(self) -> Any:
        return self._op_def

    @property
    def step_key(self) -> str | None:
        return self._step.key if self._step is not None else None

    # -- partitions -------------------------------------------------------------------------
    # A run covers one partition (`partition_key`) or a range of them (a range backfill, or
    # `partition_key_range=` in a test); the properties below answer for both.
    @property
    def has_partition_key(self) -> bool:
        return self._partition_key is not None or self._single_range_key() is not None

    @property
    def has_partition_key_range(self) -> bool:
        return self._partition_key is not None or self._partition_key_range is not None

    @property
    def is_partitioned(self) -> bool:
        return self.has_partition_key_range

    def _single_range_key(self) -> str | None:
        key_range = self._partition_key_range
        if key_range is not None and key_range.start == key_range.end:
            return str(key_range.start)
        return None

    @property
    def partition_key(self) -> Any:
        key = self._partition_key if self._partition_key is not None else self._single_range_key()
        if key is None:
            if self._partition_key_range is not None:
                raise NotPartitionedError(
                    f"This run covers the partitions {self._partition_key_range.start}..."
                    f"{self._partition_key_range.end}, not one partition_key; use "
                    "partition_key_range, partition_keys or partition_time_window."
                )
            raise NotPartitionedError(
                "This run is not partitioned, so there is no partition_key. Give the asset a "
                "partitions_def and pass partition_key=… when materializing."
            )
        to_key = getattr(self._partitions_def, "key_object", None)
        return to_key(key) if to_key is not None else key

    @property
    def partition_keys(self) -> list[str]:
        if self._partition_key_range is None:
            return [self.partition_key]
        partitions_def = self._partitions_def
        if partitions_def is None:
            key_range = self._partition_key_range
            return [key_range.start] if key_range.start == key_range.end else [*key_range]
        return list(
            partitions_def.get_partition_keys_in_range(
                self._partition_key_range, dynamic_partitions_store=self._instance
            )
        )

    @property
    def partition_key_range(self) -> Any:
        from kubedag.definitions.partitions import PartitionKeyRange

        if self._partition_key_range is not None:
            key_range = self._partition_key_range
            return PartitionKeyRange(str(key_range.start), str(key_range.end))
        key = str(self.partition_key)
        return PartitionKeyRange(key, key)

    @property
    def partition_time_window(self) -> Any:
        partitions_def = self._partitions_def
        window = getattr(partitions_def, "time_window_for_partition_key", None)
        if window is None:
            raise AttributeError(
                "partition_time_window needs time-window partitions (daily, hourly, …); this "
                f"asset's partitions are {partitions_def!r}."
            )
        key_range = self.partition_key_range
        first, last = window(key_range.start), window(key_range.end)
        return type(first)(first.start, last.end)

    # The reference's per-output names; one asset per step shares the run's partitions.
    def asset_partition_key_for_output(self, output_name: str = "result") -> Any:
        return self.partition_key

    def asset_partition_keys_for_output(self, output_name: str = "result") -> list[str]:
        return self.partition_keys

    def asset_partition_key_range_for_output(self, output_name: str = "result") -> Any:
        return self.partition_key_range

    def asset_partitions_time_window_for_output(self, output_name: str = "result") -> Any:
        return self.partition_time_window

    @property
    def _partitions_def(self) -> Any:
        if self._assets_def is not None:
            return self._assets_def.partitions_def
        return None

    # -- assets -----------------------------------------------------------------------------
    @property
    def has_assets_def(self) -> bool:
        return self._assets_def is not None

    @property
    def assets_def(self) -> Any:
        if self._assets_def is None:
            raise AttributeError("This step does not materialize assets.")
        return self._assets_def

    @property
    def asset_key(self) -> AssetKey:
        keys = self.selected_asset_keys
        if len(keys) != 1:
            raise AttributeError(
                f"asset_key is ambiguous here ({len(keys)} assets); use asset_key_for_output(…)."
            )
        return next(iter(keys))

    @property
    def selected_asset_keys(self) -> set[AssetKey]:
        if self._step is not None:
            return set(self._step.asset_keys)
        if self._assets_def is not None:
            return set(self._assets_def.keys)
        return set()

    @property
    def selected_output_names(self) -> set[str]:
        """The outputs this step produces: all of them, or the selected ones of a subset."""
        if self._step is not None:
            return {output.name for output in self._step.outputs}
        if self._assets_def is not None:
            return set(self._assets_def.keys_by_output_name)
        return {o.name for o in getattr(self._op_def, "output_defs", ())}

    def asset_key_for_output(self, output_name: str = "result") -> AssetKey:
        key: AssetKey = self.assets_def.keys_by_output_name[output_name]
        return key

    def asset_key_for_input(self, input_name: str) -> AssetKey:
        key: AssetKey = self.assets_def.keys_by_input_name[input_name]
        return key

    # -- metadata ---------------------------------------------------------------------------
    def add_output_metadata(
        self, metadata: Mapping[str, Any], output_name: str | None = None
    ) -> None:
        self.output_metadata.setdefault(output_name or "result", {}).update(metadata)

    def add_asset_metadata(self, metadata: Mapping[str, Any], asset_key: Any = None) -> None:
        if asset_key is None:
            self.add_output_metadata(metadata)
            return
        key = to_asset_key(asset_key)
        output = self.assets_def.output_names_by_key[key]
        self.add_output_metadata(metadata, output)

    def log_event(self, event: Any) -> None:
        """Record an `AssetMaterialization`, `AssetObservation` or `ExpectationResult` in the
        event log, as the step's own event."""
        if type(event).__name__ not in _LOGGABLE_EVENTS:
            raise TypeError(
                f"context.log_event takes a dg.AssetMaterialization, dg.AssetObservation or "
                f"dg.ExpectationResult; got {type(event).__name__}. Return or yield outputs "
                "and results instead."
            )
        self.pending_events.append(event)

    def get_events(self) -> list[Any]:
        """What `log_event` recorded and the step has not yet written (in a direct call: all)."""
        return list(self.pending_events)

    # -- cleanup for contexts built in tests -------------------------------------------------
    def __enter__(self) -> StepExecutionContext:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._exit_stack is not None:
            self._exit_stack.close()
            self._exit_stack = None


class OpExecutionContext(StepExecutionContext):
    """The context of an op."""

    @property
    def op_execution_context(self) -> OpExecutionContext:
        return self


class AssetExecutionContext(OpExecutionContext):
    """The context of an asset (and of an asset check)."""


class AssetCheckExecutionContext(AssetExecutionContext):
    """The context of an asset check."""


_DIRECT_RUN_ID = "EPHEMERAL"
_LOGGABLE_EVENTS = frozenset({"AssetMaterialization", "AssetObservation", "ExpectationResult"})


def _build_context(
    cls: type[StepExecutionContext],
    *,
    resources: Mapping[str, Any] | None,
    resources_config: Mapping[str, Any] | None,
    config: Any,
    instance: Any,
    partition_key: str | None,
    partition_key_range: Any,
    run_tags: Mapping[str, str] | None,
    run_id: str | None,
) -> StepExecutionContext:
    from kubedag.resources.initialization import checked_resource_configs, initialize_resources
    from kubedag.resources.namespace import ResourceNamespace

    # The reference nests each resource's config under "config", as in run config; kubedag
    # also takes it bare.
    resources_config = {
        key: value["config"] if isinstance(value, Mapping) and list(value) == ["config"] else value
        for key, value in (resources_config or {}).items()
    }
    run = Run(job_name="__ephemeral__", run_id=run_id or _DIRECT_RUN_ID, tags=dict(run_tags or {}))
    writer = RunLogWriter(run.run_id, run.job_name, sink=None)
    stack = ExitStack()
    values = initialize_resources(
        dict(resources or {}),
        (resources or {}).keys(),
        stack,
        configs=checked_resource_configs(
            resources or {}, (resources or {}).keys(), resources_config
        ),
        instance=instance,
    )
    context = cls(
        run=run,
        log=writer.for_step(None),
        resources=ResourceNamespace(values),
        op_config=config,
        instance=instance,
        partition_key=partition_key,
        partition_key_range=partition_key_range,
    )
    context._exit_stack = stack
    return context


def build_op_context(
    resources: Mapping[str, Any] | None = None,
    op_config: Any = None,
    resources_config: Mapping[str, Any] | None = None,
    instance: Any = None,
    config: Any = None,
    partition_key: str | None = None,
    partition_key_range: Any = None,
    run_tags: Mapping[str, str] | None = None,
    run_id: str | None = None,
) -> OpExecutionContext:
    """A context for calling an op directly in a test."""
    if op_config is not None and config is not None:
        raise InvalidInvocationError(
            "build_op_context was given both op_config and its legacy spelling config; give one."
        )
    context = _build_context(
        OpExecutionContext,
        resources=resources,
        resources_config=resources_config,
        config=op_config if op_config is not None else config,
        instance=instance,
        partition_key=partition_key,
        partition_key_range=partition_key_range,
        run_tags=run_tags,
        run_id=run_id,
    )
    assert isinstance(context, OpExecutionContext)
    return context


def build_asset_context(
    resources: Mapping[str, Any] | None = None,
    resources_config: Mapping[str, Any] | None = None,
    asset_config: Any = None,
    instance: Any = None,
    partition_key: str | None = None,
    partition_key_range: Any = None,
    run_tags: Mapping[str, str] | None = None,
    run_id: str | None = None,
) -> AssetExecutionContext:
    """A context for calling an asset directly in a test."""
    context = _build_context(
        AssetExecutionContext,
        resources=resources,
        resources_config=resources_config,
        config=asset_config,
        instance=instance,
        partition_key=partition_key,
        partition_key_range=partition_key_range,
        run_tags=run_tags,
        run_id=run_id,
    )
    assert isinstance(context, AssetExecutionContext)
    return context
