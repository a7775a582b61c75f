"""The execution plan: which steps run in this run, in what order, and what blocks what.

Order is topological and deterministic: among steps whose upstream steps are done, the one that
comes first in the job comes first. `StepOutcomes` is the pure bookkeeping every executor shares:
a step whose upstream failed or was skipped is itself skipped, with the reason.

When a job has optional outputs (`Out(is_required=False)`) or dynamic ones (`DynamicOut`),
`StepOutcomes` also keeps which outputs each step yielded (`record_output`, from its STEP_OUTPUT
events): a step reading an optional output that was not yielded is skipped, a fan-in input gets
the outputs that exist, a step mapped over a dynamic output becomes one step per mapping key
(`expand`, see `kubedag.definitions.dynamic_steps`) and a collecting step gets the list of what
they produced (`runnable`). A job with neither does none of this.
"""

from __future__ import annotations

import dataclasses
import heapq
from collections.abc import Callable, Iterable, Sequence

from kubedag.definitions.dynamic_steps import (
    collected_sources,
    concrete_step,
    has_collected_inputs,
    split_concrete_key,
    with_collected,
)
from kubedag.definitions.steps import FromCollected, FromMany, FromStepOutput, StepSpec
from kubedag.errors import InvalidSelectionError, StepNotFoundError
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
        # Whether outputs must be tracked: some output is optional or dynamic.
        self.tracks_outputs = any(
            not output.is_required or output.is_dynamic
            for step in self.steps
            for output in step.outputs
        )

    def add_steps(self, steps: Iterable[StepSpec]) -> None:
        """Register steps made while the run goes (the runs of a mapped step)."""
        for step in steps:
            self._by_key[step.key] = step
            self.upstream[step.key] = tuple(
                sorted(k for k in step.upstream_step_keys if k in self._by_key)
            )

    @staticmethod
    def build(steps: Sequence[StepSpec], step_keys: Iterable[str] | None = None) -> ExecutionPlan:
        if step_keys is None:
            return ExecutionPlan(steps)
        wanted = list(step_keys)
        known = {step.key for step in steps}
        mapped = _mapped_runs(steps, [key for key in wanted if key not in known])
        for key in wanted:
            if key not in known and key not in mapped:
                raise StepNotFoundError(
                    f"Step '{key}' is not part of this job. Steps: {', '.join(sorted(known))}.",
                    step_keys=[key],
                )
        return ExecutionPlan(
            [step for step in steps if step.key in set(wanted)] + list(mapped.values())
        )

    @property
    def step_keys(self) -> list[str]:
        return [step.key for step in self.steps]

    def get_step(self, key: str) -> StepSpec:
        return self._by_key[key]

    def __contains__(self, key: object) -> bool:
        return key in self._by_key


def _mapped_runs(steps: Sequence[StepSpec], keys: list[str]) -> dict[str, StepSpec]:
    """The runs `op[k]` of mapped steps among `keys` (a step's own process asks for one)."""
    if not keys:
        return {}
    templates = {step.key: step for step in steps if step.mapped_over is not None}
    runs = {}
    for key in keys:
        parts = split_concrete_key(key)
        if parts is not None and parts[0] in templates:
            runs[key] = concrete_step(templates[parts[0]], parts[1])
    return runs


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
        self.tracks_outputs = plan.tracks_outputs
        # What was yielded: (step key, output name, mapping key or None); and, per dynamic
        # output (step key, output name), its mapping keys in the order they were yielded.
        self.produced: set[tuple[str, str, str | None]] = set()
        self.mapping_keys: dict[tuple[str, str], list[str]] = {}

    def record(self, step_key: str, event_type: EventType) -> None:
        self.status[step_key] = event_type

    def record_output(self, step_key: str, output_name: str, mapping_key: str | None) -> None:
        self.produced.add((step_key, output_name, mapping_key))
        if mapping_key is not None:
            self.mapping_keys.setdefault((step_key, output_name), []).append(mapping_key)

    def skip_reason(self, step: StepSpec) -> str | None:
        """Why `step` cannot run, or None when every upstream step succeeded (and yielded
        the optional outputs it reads)."""
        for up in self.plan.upstream[step.key]:
            if step.mapped_over is not None and self.plan.get_step(up).mapped_over is not None:
                continue  # each run of a mapped step waits for its own upstream runs
            outcome = self.status.get(up)
            if outcome is EventType.STEP_FAILURE:
                return f'upstream step "{up}" failed'
            if outcome is EventType.STEP_SKIPPED:
                return f'upstream step "{up}" was skipped'
        if self.tracks_outputs and step.mapped_over is None:
            return self._missing_input(step)
        return None

    def _missing_input(self, step: StepSpec) -> str | None:
        for name, source in step.inputs.items():
            if isinstance(source, FromMany):
                singles = [s for s in source.sources if isinstance(s, FromStepOutput)]
                if len(singles) == len(source.sources) and singles:
                    missing = [s for s in singles if not self._yielded(s)]
                    if len(missing) == len(singles):
                        return f'none of the outputs its input "{name}" fans in was yielded'
            elif isinstance(source, FromStepOutput) and not self._yielded(source):
                return (
                    f'its input "{name}" reads optional output "{source.output_name}" of step '
                    f'"{source.step_key}", which was not yielded'
                )
        return None

    def _yielded(self, source: FromStepOutput) -> bool:
        """Whether what `source` reads exists (an output of a step outside the plan, or a
        required one, is taken to)."""
        if isinstance(source, FromCollected) or source.step_key not in self.plan:
            return True
        output = self.plan.get_step(source.step_key).output(source.output_name)
        if output.is_required and not output.is_dynamic:
            return True
        return (source.step_key, source.output_name, source.mapping_key) in self.produced

    # -- dynamic outputs ------------------------------------------------------------------------
    def expand(self, template: StepSpec) -> list[StepSpec]:
        """The runs of mapped step `template`, one per mapping key of the dynamic output it is
        mapped over (registered in the plan)."""
        if template.mapped_over is None:
            return [template]
        keys = self.mapping_keys.get(template.mapped_over, [])
        runs = [concrete_step(template, key) for key in keys]
        self.plan.add_steps(runs)
        return runs

    def template_outcome(self, runs: Iterable[StepSpec]) -> EventType:
        """How a mapped step as a whole ended (what a step collecting it waits for): failed
        if one of its runs failed, skipped if one was skipped, else succeeded."""
        outcomes = {self.status.get(run.key) for run in runs}
        if EventType.STEP_FAILURE in outcomes:
            return EventType.STEP_FAILURE
        if EventType.STEP_SKIPPED in outcomes:
            return EventType.STEP_SKIPPED
        return EventType.STEP_SUCCESS

    def runnable(self, step: StepSpec) -> StepSpec:
        """`step` as it runs: a fan-in input without the optional outputs that were not
        yielded, a collected input as the list of what the mapped step produced."""
        if not self.tracks_outputs:
            return step
        pruned = _pruned_fan_in(step, self._yielded)
        if has_collected_inputs(pruned):
            return with_collected(pruned, self._collected)
        return pruned

    def _collected(self, source: FromCollected) -> tuple[FromStepOutput, ...]:
        collected = self.plan.get_step(source.step_key)
        dynamic = collected.mapped_over or (source.step_key, source.output_name)
        return collected_sources(
            source,
            {source.step_key: collected},
            self.mapping_keys.get(dynamic, []),
            lambda key, output, mapping_key: (
                self.status.get(key) is EventType.STEP_SUCCESS
                and self._yielded(FromStepOutput(key, output, mapping_key))
            ),
        )

    @property
    def failed(self) -> list[str]:
        return [k for k, v in self.status.items() if v is EventType.STEP_FAILURE]

    @property
    def skipped(self) -> list[str]:
        return [k for k, v in self.status.items() if v is EventType.STEP_SKIPPED]


def _pruned_fan_in(step: StepSpec, yielded: Callable[[FromStepOutput], bool]) -> StepSpec:
    """`step` with the fan-in sources that were not yielded left out."""
    changed = False
    inputs = dict(step.inputs)
    for name, source in step.inputs.items():
        if isinstance(source, FromMany):
            kept = tuple(
                s for s in source.sources if not isinstance(s, FromStepOutput) or yielded(s)
            )
            if len(kept) != len(source.sources):
                inputs[name] = FromMany(kept)
                changed = True
    return dataclasses.replace(step, inputs=inputs) if changed else step
