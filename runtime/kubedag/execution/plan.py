"""The execution plan: which steps run in this run, in what order, and what blocks what.

Order is topological and deterministic: among steps whose upstream steps are done, the one that
comes first in the job comes first. `StepOutcomes` is the pure bookkeeping every executor shares:
a step whose upstream failed or was skipped is itself skipped, with the reason.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence

from kubedag.definitions.steps import StepSpec
from kubedag.errors import InvalidSelectionError
from kubedag.records.events import EventType


class ExecutionPlan:
    """The steps of one run, topologically ordered."""

    def __init__(self, steps: Sequence[StepSpec]) -> None:
        self.steps = toposort_steps(steps)
        self._by_key = {step.key: step for step in self.steps}
        self.upstream: dict[str, tuple[str, ...]] = {
            step.key: tuple(sorted(k for k in step.upstream_step_keys if k in self._by_key))
            for step in self.steps
        }

    @staticmethod
    def build(steps: Sequence[StepSpec], step_keys: Iterable[str] | None = None) -> ExecutionPlan:
        if step_keys is None:
            return ExecutionPlan(steps)
        wanted = list(step_keys)
        known = {step.key for step in steps}
        for key in wanted:
            if key not in known:
                raise InvalidSelectionError(
                    f"Step '{key}' is not part of this job. Steps: {', '.join(sorted(known))}."
                )
        return ExecutionPlan([step for step in steps if step.key in set(wanted)])

    @property
    def step_keys(self) -> list[str]:
        return [step.key for step in self.steps]

    def get_step(self, key: str) -> StepSpec:
        return self._by_key[key]

    def __contains__(self, key: object) -> bool:
        return key in self._by_key


def toposort_steps(steps: Sequence[StepSpec]) -> list[StepSpec]:
    index = {step.key: i for i, step in enumerate(steps)}
    children: dict[str, list[str]] = {step.key: [] for step in steps}
    indegree: dict[str, int] = {}
    for step in steps:
        ups = [k for k in step.upstream_step_keys if k in index]
        indegree[step.key] = len(ups)
        for up in ups:
            children[up].append(step.key)
    ready = [(index[key], key) for key, degree in indegree.items() if degree == 0]
    heapq.heapify(ready)
    ordered: list[StepSpec] = []
    while ready:
        _, key = heapq.heappop(ready)
        ordered.append(steps[index[key]])
        for child in children[key]:
            indegree[child] -= 1
            if indegree[child] == 0:
                heapq.heappush(ready, (index[child], child))
    if len(ordered) != len(steps):
        stuck = sorted(set(index) - {s.key for s in ordered})
        raise InvalidSelectionError(f"Steps depend on each other in a cycle: {', '.join(stuck)}.")
    return ordered


class StepOutcomes:
    """Which steps succeeded, failed or were skipped; decides what may still run."""

    def __init__(self, plan: ExecutionPlan) -> None:
        self.plan = plan
        self.status: dict[str, EventType] = {}

    def record(self, step_key: str, event_type: EventType) -> None:
        self.status[step_key] = event_type

    def skip_reason(self, step: StepSpec) -> str | None:
        """Why `step` cannot run, or None when every upstream step succeeded."""
        for up in self.plan.upstream[step.key]:
            outcome = self.status.get(up)
            if outcome is EventType.STEP_FAILURE:
                return f'upstream step "{up}" failed'
            if outcome is EventType.STEP_SKIPPED:
                return f'upstream step "{up}" was skipped'
        return None

    @property
    def failed(self) -> list[str]:
        return [k for k, v in self.status.items() if v is EventType.STEP_FAILURE]

    @property
    def skipped(self) -> list[str]:
        return [k for k, v in self.status.items() if v is EventType.STEP_SKIPPED]
