"""The result of a run: success, events, and the values the steps produced.

`JobExecutionResult` is what `dg.execute_job` returns in the reference; here every run's result
is one, and `ExecuteInProcessResult` (what `execute_in_process` and `materialize` return) is the
same thing under the name the reference gives it there. It is a context manager, as the
reference's `with dg.execute_job(...) as result:` expects; leaving the block changes nothing
(outputs stay loadable while the result lives).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from typing import Any, Self

from kubedag.definitions.asset_key import AssetKey, to_asset_key
from kubedag.definitions.expectations import ExpectationResult
from kubedag.definitions.results import AssetCheckEvaluation, AssetMaterialization
from kubedag.errors import NotFoundInResultError, OutputNotProducedError
from kubedag.records.events import Event, EventType, StepFailureData
from kubedag.records.run import Run


class JobExecutionResult:
    """What a run of a job produced: its record, its events and its outputs."""

    def __init__(
        self,
        job_def: Any,
        run: Run,
        events: list[Event],
        resources: Mapping[str, Any],
        instance: Any,
        owns_instance: bool,
        output_contexts: Mapping[tuple[str, ...], Any] | None = None,
    ) -> None:
        self.job_def = job_def
        self._run = run
        self._events = events
        self._resources = resources  # not copied: it may initialize resources on first use
        self._instance = instance
        self._output_contexts = dict(output_contexts or {})
        if owns_instance:
            # The temporary instance (and its stored values) lives as long as this result.
            weakref.finalize(self, instance.dispose)

    # -- the run ------------------------------------------------------------------------------
    @property
    def success(self) -> bool:
        return self._run.is_success

    @property
    def run_id(self) -> str:
        return self._run.run_id

    @property
    def run(self) -> Run:
        return self._run

    @property
    def dagster_run(self) -> Run:
        return self._run

    @property
    def instance(self) -> Any:
        return self._instance

    # -- events -------------------------------------------------------------------------------
    @property
    def all_events(self) -> list[Event]:
        return list(self._events)

    @property
    def all_node_events(self) -> list[Event]:
        return [e for e in self._events if e.step_key is not None]

    def events_for_node(self, node_name: str) -> list[Event]:
        return [
            e for e in self._events if e.step_key is not None and _in_node(e.step_key, node_name)
        ]

    def _of_type(self, event_type: EventType) -> list[Event]:
        return [e for e in self._events if e.event_type is event_type]

    def get_step_success_events(self) -> list[Event]:
        return self._of_type(EventType.STEP_SUCCESS)

    def get_step_failure_events(self) -> list[Event]:
        return self._of_type(EventType.STEP_FAILURE)

    def get_step_skipped_events(self) -> list[Event]:
        return self._of_type(EventType.STEP_SKIPPED)

    def get_failed_step_keys(self) -> set[str]:
        return {e.step_key for e in self.get_step_failure_events() if e.step_key}

    def get_run_failure_event(self) -> Event:
        events = self._of_type(EventType.RUN_FAILURE)
        if not events:
            raise ValueError("This run did not fail.")
        return events[-1]

    def get_run_success_event(self) -> Event:
        events = self._of_type(EventType.RUN_SUCCESS)
        if not events:
            raise ValueError("This run did not succeed.")
        return events[-1]

    def get_asset_materialization_events(self) -> list[Event]:
        return self._of_type(EventType.ASSET_MATERIALIZATION)

    def asset_materializations_for_node(self, node_name: str) -> list[AssetMaterialization]:
        return [
            e.materialization
            for e in self.get_asset_materialization_events()
            if e.step_key is not None and _in_node(e.step_key, node_name)
        ]

    def get_asset_observation_events(self) -> list[Event]:
        return self._of_type(EventType.ASSET_OBSERVATION)

    def asset_observations_for_node(self, node_name: str) -> list[Any]:
        return [
            e.asset_observation
            for e in self.get_asset_observation_events()
            if e.step_key is not None and _in_node(e.step_key, node_name)
        ]

    def get_asset_check_evaluations(self) -> list[AssetCheckEvaluation]:
        return [e.asset_check_evaluation for e in self._of_type(EventType.ASSET_CHECK_EVALUATION)]

    def is_node_success(self, node_name: str) -> bool:
        return self._node_outcome(node_name) is EventType.STEP_SUCCESS

    def is_node_failed(self, node_name: str) -> bool:
        return self._node_outcome(node_name) is EventType.STEP_FAILURE

    def is_node_skipped(self, node_name: str) -> bool:
        return self._node_outcome(node_name) is EventType.STEP_SKIPPED

    def _node_outcome(self, node_name: str) -> EventType | None:
        outcome = None
        terminal = (EventType.STEP_SUCCESS, EventType.STEP_FAILURE, EventType.STEP_SKIPPED)
        for event in self.events_for_node(node_name):
            # A failure or skip anywhere in the node (e.g. a graph) outranks a success.
            if event.event_type in terminal and (
                outcome is None or event.event_type is not EventType.STEP_SUCCESS
            ):
                outcome = event.event_type
        return outcome

    # -- values -------------------------------------------------------------------------------
    def output_for_node(self, node_name: str, output_name: str = "result") -> Any:
        """The value an op (or graph, or asset) produced, loaded through its I/O manager."""
        source = self.job_def.node_outputs.get((node_name, output_name))
        if source is None:
            outputs = sorted(f"{n}:{o}" for n, o in self.job_def.node_outputs)
            raise NotFoundInResultError(
                f"No output '{output_name}' of node '{node_name}' in job '{self.job_def.name}'. "
                f"Outputs: {', '.join(outputs)}."
            )
        step = self.job_def.get_step(source.step_key)
        if step.mapped_over is not None or step.output(source.output_name).is_dynamic:
            return self._dynamic_values(step, source.output_name)
        context = self._output_contexts.get((source.step_key, source.output_name))
        if context is None:
            raise OutputNotProducedError(
                f"Node '{node_name}' did not produce output '{output_name}' in this run "
                "(it failed, was skipped, or returns nothing)."
            )
        return self._load(step, source.output_name, context)

    def _load(self, step: Any, output_name: str, context: Any) -> Any:
        manager = self._resources[step.output(output_name).io_manager_key]
        from kubedag.resources.io_manager import InputContext

        return manager.load_input(
            InputContext(name=output_name, step_key=context.step_key, upstream_output=context)
        )

    def _dynamic_values(self, step: Any, output_name: str) -> dict[str, Any]:
        """The values of a dynamic output, or of an output of a mapped step, by mapping key."""
        from kubedag.definitions.dynamic_steps import split_concrete_key

        values = {}
        for key, context in self._output_contexts.items():
            if key[1] != output_name:
                continue
            if step.mapped_over is None and key[0] == step.key and len(key) == 3:
                values[key[2]] = self._load(step, output_name, context)
            elif step.mapped_over is not None:
                parts = split_concrete_key(key[0])
                if parts is not None and parts[0] == step.key:
                    values[parts[1]] = self._load(step, output_name, context)
        return values

    def output_value(self, output_name: str = "result") -> Any:
        """A value returned by the job's top-level graph."""
        graph = self.job_def.graph
        if graph is None or output_name not in graph.output_handles:
            raise NotFoundInResultError(f"Job '{self.job_def.name}' has no output '{output_name}'.")
        handle = graph.output_handles[output_name]
        return self.output_for_node(handle.node_name, handle.output_name)

    def asset_value(self, asset_key: Any) -> Any:
        key: AssetKey = to_asset_key(asset_key)
        for step in self.job_def.steps:
            for output in step.outputs:
                if output.asset_key == key:
                    return self.output_for_node(step.key, output.name)
        raise NotFoundInResultError(f"Asset '{key.to_user_string()}' was not part of this run.")

    # -- the reference's other queries -------------------------------------------------------
    def filter_events(self, event_filter: Callable[[Event], bool]) -> list[Event]:
        return [e for e in self._events if event_filter(e)]

    def expectation_results_for_node(self, node_name: str) -> list[ExpectationResult]:
        return [
            e.event_specific_data
            for e in self.events_for_node(node_name)
            if e.event_type is EventType.STEP_EXPECTATION_RESULT
        ]

    def is_node_untouched(self, node_name: str) -> bool:
        return not self.events_for_node(node_name)

    def failure_data_for_node(self, node_name: str) -> StepFailureData | None:
        for event in self.events_for_node(node_name):
            if event.event_type is EventType.STEP_FAILURE:
                return event.step_failure_data
        return None

    def retry_attempts_for_node(self, node_name: str) -> int:
        return sum(
            1 for e in self.events_for_node(node_name) if e.event_type is EventType.STEP_RESTARTED
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class ExecuteInProcessResult(JobExecutionResult):
    """What `materialize` and `execute_in_process` return."""


def _in_node(step_key: str, node_name: str) -> bool:
    return step_key == node_name or step_key.startswith(node_name + ".")
