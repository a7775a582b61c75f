"""Executors: how the steps of one run are driven.

The shape follows the reference: an `ExecutorDefinition` (named, configurable, made with
`@executor`) creates an `Executor` from an `InitExecutorContext`; `Executor.execute(plan_context,
execution_plan)` yields the run's events. Step bookkeeping (`StepOutcomes`) and step execution
(`execute_step`) are shared, so every executor skips and retries the same way.

Two executors are built in: `in_process_executor` (here: every step in the run's own process, one
after another) and `multiprocess_executor` (`kubedag.execution.multiprocess.definition`: one
child process per step). Which one a run uses is decided in `kubedag.execution.executor_selection`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from kubedag.definitions.steps import StepSpec
from kubedag.errors import InvalidConfigError
from kubedag.execution.plan import ExecutionPlan, StepOutcomes
from kubedag.execution.step_execution import execute_step, skipped_event
from kubedag.records.events import Event, EventLogEntry, EventType


class RetryMode(Enum):
    """Whether steps are retried as their `RetryPolicy` (or a `RetryRequested`) asks."""

    ENABLED = "enabled"
    DISABLED = "disabled"


class ExecutorRequirement(Enum):
    """What an executor needs from the run, checked before anything runs.

    PERSISTENT_OUTPUTS: steps run in separate processes, so every output must go through an I/O
    manager that other processes can read (not the in-memory one)."""

    PERSISTENT_OUTPUTS = "persistent_outputs"
    NON_EPHEMERAL_INSTANCE = "non_ephemeral_instance"
    RECONSTRUCTABLE_JOB = "reconstructable_job"


class Executor(ABC):
    """Drives the steps of one run and yields the events they produce.

    An executor whose steps run elsewhere (other processes) yields the `EventLogEntry`s they
    wrote there, already time-stamped, in lists: each list is stored in one transaction."""

    # Whether steps run in the run's own process, so the run initializes resources once for
    # all of them. An executor that says False initializes resources per step, where it runs.
    runs_steps_in_this_process: bool = True

    @abstractmethod
    def execute(
        self, plan_context: Any, execution_plan: ExecutionPlan
    ) -> Iterator[Event | list[EventLogEntry]]: ...

    @property
    @abstractmethod
    def retries(self) -> RetryMode: ...


@dataclass(frozen=True)
class InitExecutorContext:
    """What an executor definition gets to build its executor."""

    job: Any
    executor_def: ExecutorDefinition
    executor_config: Mapping[str, Any]
    instance: Any


ConfigCheck = Callable[[Mapping[str, Any], str], None]
Requirements = Sequence[ExecutorRequirement] | Callable[[Mapping[str, Any]], Sequence[Any]] | None


class ExecutorDefinition:
    """A named, configurable way of creating an executor.

    `config_schema` is a mapping of field name to type (checked like an op's `config_schema`);
    built-in executors check their config with `check_config` instead, which names the field of
    every mistake. `requirements` is a list of `ExecutorRequirement`, or a function of the
    executor config that returns one."""

    def __init__(
        self,
        name: str,
        config_schema: Any = None,
        requirements: Requirements = None,
        executor_creation_fn: Callable[[InitExecutorContext], Executor] | None = None,
        description: str | None = None,
        default_config: Mapping[str, Any] | None = None,
        check_config: ConfigCheck | None = None,
    ) -> None:
        self.name = name
        self.config_schema = config_schema
        self.requirements = requirements
        self.executor_creation_fn = executor_creation_fn
        self.description = description
        self.default_config = dict(default_config or {})
        self.check_config = check_config

    def configured(
        self, config: Mapping[str, Any], name: str | None = None, description: str | None = None
    ) -> ExecutorDefinition:
        return ExecutorDefinition(
            name or self.name,
            self.config_schema,
            self.requirements,
            self.executor_creation_fn,
            description or self.description,
            {**self.default_config, **config},
            self.check_config,
        )

    def get_requirements(self, config: Mapping[str, Any]) -> list[ExecutorRequirement]:
        requirements = self.requirements
        if requirements is None:
            return []
        if callable(requirements):
            return list(requirements(config))
        return list(requirements)

    def validate(self, config: Mapping[str, Any], field: str) -> Mapping[str, Any]:
        """Raise `InvalidConfigError` naming the field if `config` does not fit this executor;
        return it as the executor gets it (a legacy `config_schema`'s defaults filled in)."""
        if self.check_config is not None:
            self.check_config(config, field)
        elif self.config_schema is not None:
            from kubedag.config.run_config import check_config_schema

            processed = check_config_schema(self.config_schema, dict(config), field)
            if isinstance(processed, Mapping):
                return processed
        return config

    def create(self, job: Any, config: Mapping[str, Any], instance: Any) -> Executor:
        if self.executor_creation_fn is None:
            raise ValueError(f"executor '{self.name}' has no creation function")
        context = InitExecutorContext(job, self, {**self.default_config, **config}, instance)
        return self.executor_creation_fn(context)

    def __repr__(self) -> str:
        return f"<ExecutorDefinition {self.name}>"


def executor(
    name: str | Callable[..., Any] | None = None,
    config_schema: Any = None,
    requirements: Requirements = None,
) -> Any:
    """Declare an executor: the function takes an `InitExecutorContext` and returns an Executor."""

    def decorate(fn: Callable[[InitExecutorContext], Executor]) -> ExecutorDefinition:
        return ExecutorDefinition(
            name if isinstance(name, str) else fn.__name__,
            config_schema,
            requirements,
            fn,
            (fn.__doc__ or "").strip() or None,
        )

    if callable(name):
        return decorate(name)
    return decorate


# -- config shared by the built-in executors ----------------------------------------------------
def parse_retries(value: Any, field: str) -> RetryMode:
    """`{enabled: {}}` (the default) or `{disabled: {}}`, as in the reference's run config."""
    if value is None:
        return RetryMode.ENABLED
    if isinstance(value, str) and value in ("enabled", "disabled"):
        return RetryMode(value)
    if (
        not isinstance(value, Mapping)
        or len(value) != 1
        or next(iter(value)) not in ("enabled", "disabled")
    ):
        raise InvalidConfigError(
            f"{field}: expected {{enabled: {{}}}} or {{disabled: {{}}}}; got {value!r}."
        )
    mode, options = next(iter(value.items()))
    if options not in (None, {}):
        raise InvalidConfigError(f"{field}.{mode}: takes no options; write {{{mode}: {{}}}}.")
    return RetryMode(mode)


def check_known_keys(config: Mapping[str, Any], known: Sequence[str], field: str) -> None:
    if not isinstance(config, Mapping):
        raise InvalidConfigError(f"{field}: expected a mapping; got {type(config).__name__}.")
    for key in config:
        if key not in known:
            raise InvalidConfigError(
                f"{field}.{key}: unknown option; this executor takes {', '.join(known)}."
            )


IN_PROCESS_OPTIONS = ("retries",)


def check_in_process_config(config: Mapping[str, Any], field: str) -> None:
    check_known_keys(config, IN_PROCESS_OPTIONS, field)
    parse_retries(config.get("retries"), f"{field}.retries")


# -- in process ---------------------------------------------------------------------------------
class InProcessExecutor(Executor):
    """Runs every step in this process, one after another, in plan order."""

    def __init__(self, retries: RetryMode = RetryMode.ENABLED) -> None:
        self._retries = retries

    @property
    def retries(self) -> RetryMode:
        return self._retries

    def execute(self, plan_context: Any, execution_plan: ExecutionPlan) -> Iterator[Event]:
        outcomes = StepOutcomes(execution_plan)
        for step in execution_plan.steps:
            if step.mapped_over is None:
                yield from self._execute_one(plan_context, outcomes, step)
                continue
            # A step mapped over a dynamic output: one run per mapping key, unless what it
            # maps over is not there (then none, and nothing to report: it has no step key).
            if outcomes.skip_reason(step) is not None:
                outcomes.record(step.key, EventType.STEP_SKIPPED)
                continue
            runs = outcomes.expand(step)
            for run in runs:
                yield from self._execute_one(plan_context, outcomes, run)
            outcomes.record(step.key, outcomes.template_outcome(runs))

    def _execute_one(
        self, plan_context: Any, outcomes: StepOutcomes, step: StepSpec
    ) -> Iterator[Event]:
        if plan_context.should_stop():
            plan_context.not_started.append(step.key)
            return
        reason = outcomes.skip_reason(step)
        if reason is not None:
            outcomes.record(step.key, EventType.STEP_SKIPPED)
            yield skipped_event(plan_context, step, reason)
            return
        for event in execute_step(
            plan_context, outcomes.runnable(step), retries=self._retries is RetryMode.ENABLED
        ):
            kind = event.event_type  # identity tests: no Enum __hash__ per event
            if (
                kind is EventType.STEP_SUCCESS
                or kind is EventType.STEP_FAILURE
                or kind is EventType.STEP_SKIPPED
            ):
                outcomes.record(step.key, kind)
            elif outcomes.tracks_outputs and kind is EventType.STEP_OUTPUT:
                data = event.event_specific_data
                outcomes.record_output(step.key, data.output_name, data.mapping_key)
            yield event


def _in_process(context: InitExecutorContext) -> Executor:
    return InProcessExecutor(parse_retries(context.executor_config.get("retries"), "retries"))


in_process_executor = ExecutorDefinition(
    "in_process",
    executor_creation_fn=_in_process,
    description="Runs all steps in a single process, one at a time.",
    check_config=check_in_process_config,
)
