"""Re-execution: running again the steps of an earlier run that failed, or a chosen few of them.

A re-execution is a new run of the same job that records `parent_run_id` (the run it re-executes)
and `root_run_id` (the first run of the chain), takes the parent's run config, tags and partition,
and lists in `step_keys_to_execute` the steps to run again. The steps it leaves out are not run:
their outputs are loaded through I/O managers from where an earlier run of the chain stored them,
assets by asset key and op outputs from the run that produced them (`upstream_output_runs`; the
filesystem I/O manager keeps op outputs under the run id).

From failure means the steps of the parent's plan that did not succeed (failed, interrupted,
skipped because of a failure, or never started because the run stopped) and everything downstream
of them. Which steps those are is a pure function of the parent's step events
(`plan_from_failure` over a `StepHistory`); so is a step selection (`resolve_step_selection`,
the reference's `*op`, `op+`, `++op` syntax). `reexecute_run` creates the new run record without
executing it (the CLI and launchers take it from there); `dg.execute_job(…,
reexecution_options=…)` creates and executes it.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kubedag.definitions.steps import FromMany, FromStepOutput
from kubedag.errors import (
    InvalidSelectionError,
    KubedagError,
    RunNotFoundError,
    StepNotFoundError,
)
from kubedag.records.events import EventType
from kubedag.records.run import Run, RunStatus

PARENT_RUN_ID_TAG = "kubedag/parent_run_id"
ROOT_RUN_ID_TAG = "kubedag/root_run_id"
RESUME_RETRY_TAG = "kubedag/is_resume_retry"
STEP_SELECTION_TAG = "kubedag/step_selection"
_CHAIN_TAGS = (PARENT_RUN_ID_TAG, ROOT_RUN_ID_TAG, RESUME_RETRY_TAG, STEP_SELECTION_TAG)
_HISTORY_EVENTS = (
    EventType.STEP_START,
    EventType.STEP_SUCCESS,
    EventType.STEP_FAILURE,
    EventType.STEP_SKIPPED,
    EventType.STEP_OUTPUT,
)


class ReexecutionError(KubedagError):
    """A run cannot be re-executed as asked: the message says why and what to do instead."""


@dataclass(frozen=True)
class ReexecutionOptions:
    """Which run to re-execute, and which of its steps.

    `ReexecutionOptions(parent_run_id, step_selection=["my_op+"])` re-executes the selected
    steps; `ReexecutionOptions.from_failure(run_id, instance)` the steps that did not succeed and
    their downstream; with neither, every step of the parent's plan."""

    parent_run_id: str
    step_selection: Sequence[str] = ()
    resume_from_failure: bool = False

    @staticmethod
    def from_failure(run_id: str, instance: Any) -> ReexecutionOptions:
        """Options to re-execute the failed run `run_id` from its failure (checked now)."""
        parent = _get_run(instance, run_id)
        _check_failed(parent)
        return ReexecutionOptions(run_id, (), resume_from_failure=True)


# -- pure planning ------------------------------------------------------------------------------
@dataclass(frozen=True)
class StepHistory:
    """What a run's event log says about its steps."""

    started: frozenset[str] = frozenset()
    succeeded: frozenset[str] = frozenset()
    failed: frozenset[str] = frozenset()
    skipped: frozenset[str] = frozenset()
    produced: frozenset[str] = frozenset()  # steps that stored at least one output

    @staticmethod
    def from_events(events: Iterable[tuple[str | None, EventType]]) -> StepHistory:
        """Build from (step key, event type) pairs; events without a step are ignored."""
        seen: dict[EventType, set[str]] = {t: set() for t in _HISTORY_EVENTS}
        for step_key, event_type in events:
            if step_key is not None and event_type in seen:
                seen[event_type].add(step_key)
        return StepHistory(
            frozenset(seen[EventType.STEP_START]),
            frozenset(seen[EventType.STEP_SUCCESS]),
            frozenset(seen[EventType.STEP_FAILURE]),
            frozenset(seen[EventType.STEP_SKIPPED]),
            frozenset(seen[EventType.STEP_OUTPUT]),
        )

    @property
    def interrupted(self) -> frozenset[str]:
        """Started, but never reported how they ended (the process was killed)."""
        return self.started - self.succeeded - self.failed - self.skipped


def plan_from_failure(
    order: Sequence[str], upstream: Mapping[str, Collection[str]], history: StepHistory
) -> list[str]:
    """The steps to re-execute from failure, in `order` (the parent's plan, topologically
    sorted): every step that did not succeed, and every step downstream of one of those."""
    chosen: set[str] = set()
    for key in order:
        if key not in history.succeeded or any(up in chosen for up in upstream.get(key, ())):
            chosen.add(key)
    return [key for key in order if key in chosen]


_QUERY = re.compile(r"^(\*|\+*)([^*+]+?)(\*|\+*)$")


def parse_step_query(query: str) -> tuple[int, str, int]:
    """`*name` / `++name` / `name+` / `name*` → (levels up, name, levels down); -1 is "all"."""
    match = _QUERY.match(query.strip())
    if match is None:
        raise InvalidSelectionError(
            f"step_selection: {query!r} is not a step query; write a step key, optionally "
            "with * (all ancestors/descendants) or + (one level per +) before or after it."
        )
    up, name, down = match.groups()
    return (-1 if up == "*" else len(up)), name, (-1 if down == "*" else len(down))


def resolve_step_selection(
    queries: Sequence[str],
    order: Sequence[str],
    upstream: Mapping[str, Collection[str]],
) -> list[str]:
    """The steps `queries` select among `order` (topologically sorted), in that order.

    A named step must be in `order`; ancestors and descendants are followed only within it."""
    universe = set(order)
    downstream: dict[str, set[str]] = {key: set() for key in order}
    for key in order:
        for up in upstream.get(key, ()):
            if up in downstream:
                downstream[up].add(key)
    chosen: set[str] = set()
    for query in queries:
        up_levels, name, down_levels = parse_step_query(query)
        if name not in universe:
            raise StepNotFoundError(
                f"step_selection: {name!r} is not one of the steps here: "
                f"{', '.join(order) or 'none'}.",
                step_keys=[name],
            )
        chosen.add(name)
        ups = {k: [u for u in upstream.get(k, ()) if u in universe] for k in order}
        chosen |= _walk(name, ups, up_levels)
        chosen |= _walk(name, {k: sorted(v) for k, v in downstream.items()}, down_levels)
    return [key for key in order if key in chosen]


def _walk(start: str, edges: Mapping[str, Sequence[str]], levels: int) -> set[str]:
    found: set[str] = set()
    frontier = [start]
    depth = 0
    while frontier and (levels < 0 or depth < levels):
        frontier = [n for key in frontier for n in edges.get(key, ()) if n not in found]
        found.update(frontier)
        depth += 1
    return found


def output_sources(chain: Sequence[tuple[str, StepHistory]]) -> dict[str, str]:
    """For each step, the nearest run of `chain` (parent first, root last) that stored its
    outputs: where a re-execution loads them from."""
    sources: dict[str, str] = {}
    for run_id, history in chain:
        for key in history.produced:
            sources.setdefault(key, run_id)
    return sources


def reexecution_tags(
    parent: Run, tags: Mapping[str, str] | None, *, from_failure: bool, selection: Sequence[str]
) -> dict[str, str]:
    """The parent's tags (less its own chain tags), the caller's, and the chain's."""
    result = {k: v for k, v in parent.tags.items() if k not in _CHAIN_TAGS}
    result.update(tags or {})
    result[PARENT_RUN_ID_TAG] = parent.run_id
    result[ROOT_RUN_ID_TAG] = parent.root_run_id or parent.run_id
    if from_failure:
        result[RESUME_RETRY_TAG] = "true"
    if selection:
        result[STEP_SELECTION_TAG] = ",".join(selection)
    return result


# -- reading the instance ---------------------------------------------------------------------
def step_history(instance: Any, run_id: str) -> StepHistory:
    """The step events of a stored run, as a `StepHistory`."""
    records = instance.get_records_for_run(run_id, of_type=_HISTORY_EVENTS)
    pairs = []
    for record in records:
        event = record.event_log_entry.event
        if event is not None:
            pairs.append((event.step_key, event.event_type))
    return StepHistory.from_events(pairs)


def upstream_output_runs(instance: Any, run: Run, job: Any, plan: Any) -> dict[str, str]:
    """For the steps outside `plan` whose outputs steps in it load, the run of `run`'s chain
    that stored them: `run` itself (a resumed run whose first worker got that far), then its
    parent, and so on towards the root until all are found."""
    needed: set[str] = set()
    for step in plan.steps:
        for source in step.inputs.values():
            for single in source.sources if isinstance(source, FromMany) else (source,):
                if isinstance(single, FromStepOutput) and single.step_key not in plan:
                    needed.add(single.step_key)
    chain: list[tuple[str, StepHistory]] = []
    run_id: str | None = run.run_id
    seen: set[str] = set()
    while run_id is not None and run_id not in seen and needed - set(output_sources(chain)):
        seen.add(run_id)
        ancestor = instance.get_run_by_id(run_id)
        if ancestor is None:
            break
        chain.append((run_id, step_history(instance, run_id)))
        run_id = ancestor.parent_run_id
    return {key: source for key, source in output_sources(chain).items() if key in needed}


def _get_run(instance: Any, run_id: str) -> Run:
    run = instance.get_run_by_id(run_id)
    if run is None:
        raise RunNotFoundError(
            f"parent_run_id: no run {run_id!r} in this instance; re-execute a run listed by "
            "`kubedag runs list`."
        )
    assert isinstance(run, Run)
    return run


def _check_failed(parent: Run) -> None:
    if parent.status not in (RunStatus.FAILURE, RunStatus.CANCELED):
        raise ReexecutionError(
            f"Run {parent.run_id} is {parent.status.value}, so it cannot be re-executed from "
            "failure (only FAILURE and CANCELED runs can). Re-execute chosen steps with "
            "step_selection=[…] instead."
        )


def parent_plan(parent: Run, job: Any) -> list[str]:
    """The steps the parent run had to execute, in `job`'s plan order."""
    from kubedag.execution.plan import toposort_steps

    steps = job.steps
    if parent.step_keys_to_execute is not None:
        wanted = set(parent.step_keys_to_execute)
        steps = [s for s in steps if s.key in wanted]
    elif parent.asset_selection is not None and job.asset_graph is not None:
        selected = set(parent.asset_selection)
        steps = [
            s
            for s in steps
            if set(s.asset_keys) & selected or any(c.asset_key in selected for c in s.check_specs)
        ]
    return [s.key for s in toposort_steps(steps)]


def reexecute_run(
    instance: Any,
    parent_run_id: str,
    job: Any,
    *,
    from_failure: bool = True,
    step_selection: Sequence[str] | None = None,
    run_config: Any = None,
    tags: Mapping[str, str] | None = None,
    code_location: Mapping[str, Any] | None = None,
) -> Run:
    """Create (not execute) the run that re-executes `parent_run_id`.

    With `step_selection`, the selected steps of the parent's plan; otherwise from failure
    (`from_failure=True`) or every step of the parent's plan. The run config is the parent's
    unless `run_config` is given, and so is the code location (`Run.code_location`, where a run
    worker loads the job from) unless `code_location` is; the run config is checked before the
    record is created, as for any run."""
    from kubedag.execution.executor_selection import check_run_requirements
    from kubedag.execution.preparation import prepare_run, storable_run_config

    parent = _get_run(instance, parent_run_id)
    if parent.job_name != job.name:
        raise ReexecutionError(
            f"job: run {parent_run_id} is a run of job '{parent.job_name}', not '{job.name}'; "
            "pass the job it ran."
        )
    order = parent_plan(parent, job)
    upstream = {s.key: tuple(s.upstream_step_keys) for s in job.steps}
    selection = list(step_selection or ())
    if selection:
        keys = resolve_step_selection(selection, order, upstream)
        from_failure = False
    elif from_failure:
        _check_failed(parent)
        keys = plan_from_failure(order, upstream, step_history(instance, parent_run_id))
        if not keys:
            raise ReexecutionError(
                f"Every step of run {parent_run_id} succeeded, so there is nothing to "
                "re-execute from failure; re-execute chosen steps with step_selection=[…]."
            )
    else:
        keys = order
    config = parent.run_config if run_config is None else run_config
    prepared = prepare_run(
        job,
        run_config=config,
        instance=instance,
        partition_key=parent.partition,
        step_keys=keys,
        use_job_executor=True,
    )
    location = parent.code_location if code_location is None else dict(code_location)
    check_run_requirements(prepared.executor, Run(job.name, code_location=location), instance)
    run = instance.create_run(
        job_name=job.name,
        run_config=storable_run_config(prepared.config.raw),
        tags=reexecution_tags(parent, tags, from_failure=from_failure, selection=selection),
        parent_run_id=parent.run_id,
        root_run_id=parent.root_run_id or parent.run_id,
        asset_selection=parent.asset_selection,
        step_keys_to_execute=tuple(keys),
        partition=parent.partition,
        code_location=location,
    )
    assert isinstance(run, Run)
    return run
