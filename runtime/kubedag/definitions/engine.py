"""The machinery behind the definitions' convenience methods, handed in from above.

`graph.to_job()`, `job.execute_in_process()`, calling an op directly,
`schedule.evaluate_tick(...)` and a run without an instance all need what sits above them: the
job module (built from graphs), execution, automation, the instance. Importing them from here would tie the pure definitions to everything with I/O, so
the package face (`kubedag/__init__.py`, the top layer) installs an `Engine` whose functions
reach those layers, and the definitions call `engine()`. Importing any `kubedag` module imports
the package face first, so the engine is installed before any definition can be used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Engine:
    """What the lower layers may ask of the upper ones, each as a plain function."""

    # (graph, name=..., keyword arguments of JobDefinition.from_graph) -> JobDefinition: a job
    # is built from graphs, assets and selections, so `graph.to_job()` cannot import it
    job_from_graph: Callable[..., Any]
    # (job, keyword arguments of dg.execute_job) -> ExecuteInProcessResult
    execute_job: Callable[..., Any]
    # (op, positional args, keyword args) -> what the op's function returns
    invoke_op: Callable[[Any, tuple[Any, ...], Mapping[str, Any]], Any]
    # (schedule, ScheduleEvaluationContext) -> ScheduleEvaluationResult
    evaluate_schedule: Callable[[Any, Any], Any]
    # (sensor, SensorEvaluationContext) -> SensorEvaluation
    evaluate_sensor: Callable[[Any, Any], Any]
    # () -> a throwaway Instance, for a run or a context given none
    ephemeral_instance: Callable[[], Any]
    # (InstanceRef as JSON) -> the Instance it names, for a step's child process
    instance_from_ref: Callable[[str], Any]
    # (Definitions, instance or None) -> an AssetValueLoader over its assets and resources
    asset_value_loader: Callable[[Any, Any], Any]


_installed: Engine | None = None


def install_engine(new: Engine) -> None:
    global _installed
    _installed = new


def engine() -> Engine:
    if _installed is None:  # only if kubedag/__init__.py was bypassed, e.g. by a bare exec
        raise RuntimeError(
            "kubedag's engine is not installed: import kubedag (the package) before using "
            "its definitions."
        )
    return _installed
