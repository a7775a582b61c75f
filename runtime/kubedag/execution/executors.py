"""Executors: how the steps of one run are driven (in this process; others come later).

The shape follows the reference: an `ExecutorDefinition` (named, configurable, made with
`@executor`) creates an `Executor` from an `InitExecutorContext`; `Executor.execute(plan_context,
execution_plan)` yields the run's events. Step bookkeeping (`StepOutcomes`) and step execution
(`execute_step`) are shared, so every executor skips and retries the same way.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from kubedag.execution.events import STEP_TERMINAL_EVENTS, Event, EventType
from kubedag.execution.plan import ExecutionPlan, StepOutcomes
from kubedag.execution.step_execution import execute_step, skipped_event


class RetryMode(Enum):
    ENABLED = "enabled"
    DISABLED = "disabled"


class Executor(ABC):
    """Drives the steps of one run and yields the events they produce."""

    @abstractmethod
    def execute(self, plan_context: Any, execution_plan: ExecutionPlan) -> Iterator[Event]: ...

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


class ExecutorDefinition:
    """A named, configurable way of creating an executor."""

    def __init__(
        self,
        name: str,
        config_schema: Any = None,
        requirements: Any = None,
        executor_creation_fn: Callable[[InitExecutorContext], Executor] | None = None,
        description: str | None = None,
        default_config: Mapping[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.config_schema = config_schema
        self.requirements = requirements
        self.executor_creation_fn = executor_creation_fn
        self.description = description
        self.default_config = dict(default_config or {})

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
        )

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
    requirements: Any = None,
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
            if plan_context.should_stop():
                plan_context.not_started.append(step.key)
                continue
            reason = outcomes.skip_reason(step)
            if reason is not None:
                outcomes.record(step.key, EventType.STEP_SKIPPED)
                yield skipped_event(plan_context, step, reason)
                continue
            for event in execute_step(
                plan_context, step, retries=self._retries is RetryMode.ENABLED
            ):
                if event.event_type in STEP_TERMINAL_EVENTS:
                    outcomes.record(step.key, event.event_type)
                yield event


def _in_process(context: InitExecutorContext) -> Executor:
    retries = context.executor_config.get("retries", {"enabled": {}})
    mode = RetryMode.DISABLED if "disabled" in retries else RetryMode.ENABLED
    return InProcessExecutor(mode)


in_process_executor = ExecutorDefinition(
    "in_process",
    executor_creation_fn=_in_process,
    description="Runs all steps in a single process, one at a time.",
)
