"""Declarative automation: which assets (partitions) to materialize now, and why.

The evaluator is a pure function, `evaluate_conditions(inputs, cursor)`. Its inputs are the
asset graph (each asset's parents, condition and partitions), the latest materialization of
each asset (and of each partition of a partitioned one) as storage id and timestamp, the
assets in progress (runs not finished yet), and the time; its memory of earlier evaluations is
the cursor. It walks assets in dependency order and, for each asset with a condition (each
candidate partition of a partitioned one: the latest time window, or every static or dynamic
key), decides whether to request it and records the reason.

Rules (see `kubedag.definitions.automation_condition`):

- "handled": an asset (partition) is handled up to its own latest materialization and up to
  the moment the evaluator last requested it. `eager` fires when a parent was materialized
  after that point, so a failed run is not retried until something upstream changes, and an
  asset in progress is never requested again.
- "will be requested": a parent requested earlier in the same evaluation counts as updated
  and not missing, so an eager chain `a → b → c` is requested all at once when `a` changes
  (one run for `b` and `c`), as the reference does.
- `on_cron` waits for the latest cron tick, then for every parent to be materialized after it;
  a tick that passed before the evaluator first saw the asset does not count (a new deployment
  does not fire for the past).
- Partitions: a parent with the same partitions definition is read partition by partition; any
  other parent (unpartitioned, or partitioned differently) is read as a whole asset (its latest
  materialization of any partition).
- External assets (`dg.AssetSpec`) are never requested; their reported materializations count
  as updates, but their absence never blocks a child.

The adapter `gather_inputs` reads those inputs from an instance; `evaluate_automation_conditions`
runs one evaluation over a `Definitions` without creating runs (what tests and `kubedag sensor
preview default_automation_condition_sensor` use); the daemon's loop is in
`kubedag.automation.instigators`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from kubedag.automation.schedules import latest_window_keys
from kubedag.clock.cron import previous_tick
from kubedag.definitions.asset_key import AssetKey
from kubedag.definitions.automation_condition import AutomationCondition
from kubedag.definitions.run_request import RunRequest
from kubedag.definitions.schedules import time_window_dimension

if TYPE_CHECKING:
    from kubedag.definitions.definitions import Definitions
    from kubedag.instance.instance import Instance

Cell = tuple[AssetKey, str | None]  # an asset, and one of its partitions (None: unpartitioned)
EVALUATION_ID_TAG = "kubedag/automation_evaluation_id"
AUTOMATION_SENSOR_NAME = "default_automation_condition_sensor"
AUTOMATION_INTERVAL_SECONDS = 30


# -- inputs and outputs -----------------------------------------------------------------------
@dataclass(frozen=True)
class Materialized:
    """A materialization, as the evaluator needs it: where in the event log, and when."""

    storage_id: int
    timestamp: float


@dataclass(frozen=True)
class AssetNode:
    """One asset of the graph: its parents, its condition (None: not automated), its
    partitions, and whether kubedag can materialize it (False for external assets)."""

    key: AssetKey
    parents: tuple[AssetKey, ...] = ()
    condition: AutomationCondition | None = None
    partitions_def: Any = None
    materializable: bool = True


@dataclass(frozen=True)
class AutomationInputs:
    """Everything one evaluation looks at. `nodes` are in dependency order (parents first)."""

    nodes: Sequence[AssetNode]
    now: datetime
    latest: Mapping[AssetKey, Materialized] = field(default_factory=dict)
    latest_by_partition: Mapping[AssetKey, Mapping[str, Materialized]] = field(default_factory=dict)
    partition_keys: Mapping[AssetKey, Sequence[str]] = field(default_factory=dict)
    in_progress: frozenset[Cell] = frozenset()

    @property
    def max_storage_id(self) -> int:
        """The newest event the evaluation has seen: the point up to which a request handles
        its asset's upstream changes."""
        ids = [m.storage_id for m in self.latest.values()]
        ids.extend(m.storage_id for ms in self.latest_by_partition.values() for m in ms.values())
        return max(ids, default=0)


@dataclass(frozen=True)
class CellMemory:
    """What the evaluator remembers about one asset (partition): handled up to which storage
    id and which time, and whether it ever requested it."""

    handled_storage_id: int = 0
    handled_timestamp: float = 0.0
    requested: bool = False


@dataclass(frozen=True)
class AutomationCursor:
    """The evaluator's memory between evaluations, stored as JSON in the automation sensor's
    state. Only cells evaluated last time are kept, so it does not grow with old partitions."""

    evaluation_id: int = 0
    previous_evaluation_timestamp: float | None = None
    cells: Mapping[str, CellMemory] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {
                "evaluation_id": self.evaluation_id,
                "previous_evaluation_timestamp": self.previous_evaluation_timestamp,
                "cells": {
                    key: [m.handled_storage_id, m.handled_timestamp, m.requested]
                    for key, m in self.cells.items()
                },
            },
            separators=(",", ":"),
        )

    @staticmethod
    def from_json(text: str | None) -> AutomationCursor:
        if not text:
            return AutomationCursor()
        data = json.loads(text)
        cells = {
            key: CellMemory(int(sid), float(stamp), bool(requested))
            for key, (sid, stamp, requested) in data.get("cells", {}).items()
        }
        return AutomationCursor(
            int(data.get("evaluation_id", 0)), data.get("previous_evaluation_timestamp"), cells
        )


@dataclass(frozen=True)
class AssetRequest:
    """An asset (partition) to materialize, and why."""

    asset_key: AssetKey
    partition_key: str | None
    reason: str

    def describe(self) -> str:
        where = f"[{self.partition_key}]" if self.partition_key is not None else ""
        return f"{self.asset_key.to_user_string()}{where}: {self.reason}"


@dataclass(frozen=True)
class AutomationEvaluation:
    """The result of one evaluation: what to request (in dependency order) and the cursor to
    keep for the next one."""

    requests: tuple[AssetRequest, ...]
    cursor: AutomationCursor
    evaluated_cells: int = 0

    @property
    def evaluation_id(self) -> int:
        return self.cursor.evaluation_id

    @property
    def total_requested(self) -> int:
        return len(self.requests)


def cell_id(cell: Cell) -> str:
    key, partition = cell
    text = key.to_user_string()
    return text if partition is None else f"{text}[{partition}]"


# -- the evaluator ------------------------------------------------------------------------------
class _Evaluation:
    """State of one evaluation: the inputs, the cursor, and what was requested so far."""

    def __init__(self, inputs: AutomationInputs, cursor: AutomationCursor) -> None:
        self.inputs = inputs
        self.cursor = cursor
        self.now = inputs.now.timestamp()
        self.nodes = {node.key: node for node in inputs.nodes}
        self.requested: set[Cell] = set()
        self.requested_assets: set[AssetKey] = set()
        self.in_progress_assets = {key for key, _ in inputs.in_progress}
        self.cron_ticks: dict[tuple[str, str], datetime | None] = {}

    # facts about cells
    def latest(self, cell: Cell) -> Materialized | None:
        key, partition = cell
        if partition is None:
            return self.inputs.latest.get(key)
        return self.inputs.latest_by_partition.get(key, {}).get(partition)

    def in_progress(self, cell: Cell) -> bool:
        key, partition = cell
        if partition is None:
            return key in self.in_progress_assets
        return cell in self.inputs.in_progress or (key, None) in self.inputs.in_progress

    def will_be_requested(self, cell: Cell) -> bool:
        return cell in self.requested if cell[1] is not None else cell[0] in self.requested_assets

    def memory(self, cell: Cell) -> CellMemory:
        found = self.cursor.cells.get(cell_id(cell))
        # First sight: nothing handled yet, and no cron tick before now counts.
        return found if found is not None else CellMemory(0, self.now, False)

    def parent_cells(self, cell: Cell) -> list[tuple[AssetNode, Cell]]:
        key, partition = cell
        node = self.nodes[key]
        result = []
        for parent_key in node.parents:
            parent = self.nodes.get(parent_key) or AssetNode(parent_key, materializable=False)
            same = (
                partition is not None
                and parent.partitions_def is not None
                and parent.partitions_def == node.partitions_def
            )
            result.append((parent, (parent_key, partition if same else None)))
        return result

    def latest_cron_tick(self, condition: AutomationCondition) -> datetime | None:
        assert condition.cron_schedule is not None
        cache_key = (condition.cron_schedule, condition.cron_timezone)
        if cache_key not in self.cron_ticks:
            self.cron_ticks[cache_key] = previous_tick(
                condition.cron_schedule,
                condition.cron_timezone,
                self.inputs.now + timedelta(microseconds=1),
            )
        return self.cron_ticks[cache_key]

    # rules: each returns the reason it holds, or None
    def updated_parents(self, cell: Cell) -> list[str]:
        own = self.latest(cell)
        handled = max(own.storage_id if own else 0, self.memory(cell).handled_storage_id)
        names = []
        for parent, parent_cell in self.parent_cells(cell):
            found = self.latest(parent_cell)
            if self.will_be_requested(parent_cell) or (found and found.storage_id > handled):
                names.append(parent.key.to_user_string())
        return names

    def missing_parents(self, cell: Cell) -> list[str]:
        return [
            parent.key.to_user_string()
            for parent, parent_cell in self.parent_cells(cell)
            if parent.materializable
            and self.latest(parent_cell) is None
            and not self.will_be_requested(parent_cell)
        ]

    def parents_in_progress(self, cell: Cell) -> list[str]:
        return [
            parent.key.to_user_string()
            for parent, parent_cell in self.parent_cells(cell)
            if self.in_progress(parent_cell)
        ]

    def check(self, condition: AutomationCondition, cell: Cell) -> str | None:
        name = condition.name
        if name == "and":
            reasons = [self.check(operand, cell) for operand in condition.operands]
            return "; ".join(r for r in reasons if r) if all(reasons) else None
        if name == "or":
            return next((r for r in (self.check(o, cell) for o in condition.operands) if r), None)
        if name == "not":
            return (
                None
                if self.check(condition.operands[0], cell)
                else f"not {condition.operands[0].label}"
            )
        rule = getattr(self, f"_rule_{name}", None)
        if rule is None:
            raise ValueError(f"AutomationCondition {name!r} is not known to this evaluator.")
        result: str | None = rule(condition, cell)
        return result

    def _rule_missing(self, _c: AutomationCondition, cell: Cell) -> str | None:
        return "missing" if self.latest(cell) is None else None

    def _rule_in_progress(self, _c: AutomationCondition, cell: Cell) -> str | None:
        return "in progress" if self.in_progress(cell) else None

    def _rule_any_deps_updated(self, _c: AutomationCondition, cell: Cell) -> str | None:
        updated = self.updated_parents(cell)
        return f"upstream {', '.join(updated)} updated" if updated else None

    def _rule_any_deps_missing(self, _c: AutomationCondition, cell: Cell) -> str | None:
        missing = self.missing_parents(cell)
        return f"upstream {', '.join(missing)} missing" if missing else None

    def _rule_any_deps_in_progress(self, _c: AutomationCondition, cell: Cell) -> str | None:
        busy = self.parents_in_progress(cell)
        return f"upstream {', '.join(busy)} in progress" if busy else None

    def _rule_eager(self, _c: AutomationCondition, cell: Cell) -> str | None:
        if self.in_progress(cell) or self.parents_in_progress(cell) or self.missing_parents(cell):
            return None
        updated = self.updated_parents(cell)
        if updated:
            return f"eager: upstream {', '.join(updated)} updated since it was last handled"
        if self.latest(cell) is None and not self.memory(cell).requested:
            return "eager: missing, and its upstream assets exist"
        return None

    def _rule_on_missing(self, _c: AutomationCondition, cell: Cell) -> str | None:
        if self.latest(cell) is not None or self.memory(cell).requested:
            return None
        if self.in_progress(cell) or self.missing_parents(cell):
            return None
        return "on_missing: never materialized, and its upstream assets exist"

    def _rule_on_cron(self, condition: AutomationCondition, cell: Cell) -> str | None:
        tick = self.latest_cron_tick(condition)
        if tick is None:
            return None
        own = self.latest(cell)
        handled = max(own.timestamp if own else 0.0, self.memory(cell).handled_timestamp)
        stamp = tick.timestamp()
        if stamp <= handled:
            return None
        for _, parent_cell in self.parent_cells(cell):
            if self.will_be_requested(parent_cell):
                continue
            found = self.latest(parent_cell)
            if found is None or found.timestamp < stamp:
                return None
        return f"on_cron: tick {tick.isoformat()} passed and every upstream updated since"

    # the walk
    def candidate_cells(self, node: AssetNode) -> list[Cell]:
        if node.partitions_def is None:
            return [(node.key, None)]
        return [(node.key, key) for key in self.inputs.partition_keys.get(node.key, ())]

    def request(self, cell: Cell) -> None:
        self.requested.add(cell)
        self.requested_assets.add(cell[0])


def evaluate_conditions(inputs: AutomationInputs, cursor: AutomationCursor) -> AutomationEvaluation:
    """Decide what to request now, and why; a pure function of its arguments."""
    run = _Evaluation(inputs, cursor)
    requests: list[AssetRequest] = []
    cells: dict[str, CellMemory] = {}
    handled_up_to = inputs.max_storage_id
    for node in inputs.nodes:
        if node.condition is None or not node.materializable:
            continue
        for cell in run.candidate_cells(node):
            reason = run.check(node.condition, cell)
            memory = run.memory(cell)
            if reason is not None:
                run.request(cell)
                requests.append(AssetRequest(cell[0], cell[1], reason))
                memory = CellMemory(handled_up_to, run.now, True)
            cells[cell_id(cell)] = memory
    new_cursor = AutomationCursor(cursor.evaluation_id + 1, run.now, cells)
    return AutomationEvaluation(tuple(requests), new_cursor, len(cells))


# -- from requests to runs ----------------------------------------------------------------------
@dataclass(frozen=True)
class AutomationRunRequest:
    """One run to create: assets that can run together (same partition), the request that
    describes it, and a digest that names it within its evaluation."""

    request: RunRequest
    assets: tuple[AssetRequest, ...]
    digest: str


def group_requests(
    requests: Sequence[AssetRequest], nodes: Mapping[AssetKey, AssetNode], evaluation_id: int
) -> list[AutomationRunRequest]:
    """One run per partition (and partitions definition): the assets requested for it, in
    dependency order, so eager chains run as one run."""
    groups: dict[tuple[int, str | None], list[AssetRequest]] = {}
    for item in requests:
        partitions_def = nodes[item.asset_key].partitions_def
        groups.setdefault((id(partitions_def), item.partition_key), []).append(item)
    result = []
    for (_, partition), items in groups.items():
        keys = [item.asset_key for item in items]
        digest = hashlib.sha1(
            "\n".join([partition or "", *sorted(k.to_user_string() for k in keys)]).encode()
        ).hexdigest()[:16]
        request = RunRequest(
            asset_selection=keys,
            partition_key=partition,
            tags={EVALUATION_ID_TAG: str(evaluation_id)},
        )
        result.append(AutomationRunRequest(request, tuple(items), digest))
    return result


# -- reading the inputs from an instance --------------------------------------------------------
def asset_nodes(defs: Definitions) -> list[AssetNode]:
    """The code location's asset graph as evaluator nodes, in dependency order."""
    graph = defs.asset_graph
    return [
        AssetNode(
            key,
            graph.parents[key],
            graph.specs[key].automation_condition,
            graph.specs[key].partitions_def,
            key in graph.producer,
        )
        for key in graph.toposorted_keys
    ]


def candidate_partitions(partitions_def: Any, now: datetime, instance: Any) -> list[str]:
    """The partitions automation considers: the latest complete time window of a time-window
    partitioning (in every other dimension of a multi-partitioning), as the reference's
    `in_latest_time_window`; every key of a static or dynamic one."""
    if time_window_dimension(partitions_def) is not None:
        return latest_window_keys(partitions_def, now, instance)
    return [
        str(key)
        for key in partitions_def.get_partition_keys(
            current_time=now, dynamic_partitions_store=instance
        )
    ]


def gather_inputs(
    nodes: Sequence[AssetNode], instance: Instance, now: datetime
) -> AutomationInputs:
    """Read what the evaluator needs for `nodes` from the instance: latest materializations of
    the automated assets and their parents (one query, plus one per partitioned asset), and the
    assets of unfinished runs."""
    from kubedag.records.run import RunStatus
    from kubedag.storage.records import RunsFilter

    by_key = {node.key: node for node in nodes}
    automated = [n for n in nodes if n.condition is not None and n.materializable]
    relevant: dict[AssetKey, None] = {}
    for node in automated:
        relevant[node.key] = None
        relevant.update(dict.fromkeys(node.parents))
    records = instance.event_log_storage.get_latest_materialization_records(list(relevant))
    latest = {key: Materialized(r.storage_id, r.timestamp) for key, r in records.items()}

    partition_keys: dict[AssetKey, list[str]] = {}
    wanted_by_def: dict[int, list[str]] = {}
    for node in automated:
        if node.partitions_def is None:
            continue
        cache = wanted_by_def.get(id(node.partitions_def))
        if cache is None:
            cache = candidate_partitions(node.partitions_def, now, instance)
            wanted_by_def[id(node.partitions_def)] = cache
        partition_keys[node.key] = cache
    latest_by_partition: dict[AssetKey, dict[str, Materialized]] = {}
    for key in relevant:
        found_node = by_key.get(key)
        if found_node is None or found_node.partitions_def is None:
            continue
        wanted = _wanted_partitions(found_node, automated, partition_keys)
        if not wanted:
            continue
        found = instance.get_latest_materialization_records_by_partition(key, wanted)
        latest_by_partition[key] = {
            p: Materialized(r.storage_id, r.timestamp) for p, r in found.items()
        }

    unfinished = [
        RunStatus.NOT_STARTED,
        RunStatus.QUEUED,
        RunStatus.STARTING,
        RunStatus.STARTED,
        RunStatus.CANCELING,
    ]
    in_progress: set[Cell] = set()
    for run in instance.get_runs(RunsFilter(statuses=unfinished)):
        for key in run.asset_selection or ():
            in_progress.add((key, run.partition))
    return AutomationInputs(
        nodes=list(nodes),
        now=now,
        latest=latest,
        latest_by_partition=latest_by_partition,
        partition_keys=partition_keys,
        in_progress=frozenset(in_progress),
    )


def _wanted_partitions(
    node: AssetNode, automated: Iterable[AssetNode], partition_keys: Mapping[AssetKey, list[str]]
) -> list[str]:
    wanted: dict[str, None] = dict.fromkeys(partition_keys.get(node.key, []))
    for child in automated:
        if node.key in child.parents and child.partitions_def == node.partitions_def:
            wanted.update(dict.fromkeys(partition_keys.get(child.key, [])))
    return list(wanted)


@dataclass(frozen=True)
class AutomationResult:
    """One evaluation over a code location: what it requests (`requests`, with reasons), the
    runs that would be created (`run_requests`), and the cursor for the next evaluation."""

    requests: tuple[AssetRequest, ...]
    run_requests: list[RunRequest]
    cursor: AutomationCursor

    @property
    def total_requested(self) -> int:
        return len(self.requests)

    @property
    def requested_keys(self) -> set[AssetKey]:
        return {item.asset_key for item in self.requests}


def evaluate_automation_conditions(
    defs: Definitions,
    instance: Instance,
    cursor: AutomationCursor | str | None = None,
    evaluation_time: datetime | None = None,
) -> AutomationResult:
    """Evaluate the assets' automation conditions once, creating no runs (the reference's
    `evaluate_automation_conditions`). Pass the previous result's `cursor` to continue."""
    if isinstance(cursor, str) or cursor is None:
        cursor = AutomationCursor.from_json(cursor)
    now = evaluation_time or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    nodes = asset_nodes(defs)
    evaluation = evaluate_conditions(gather_inputs(nodes, instance, now), cursor)
    grouped = group_requests(
        evaluation.requests, {n.key: n for n in nodes}, evaluation.evaluation_id
    )
    return AutomationResult(evaluation.requests, [g.request for g in grouped], evaluation.cursor)
