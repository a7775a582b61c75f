"""The run queue's policy: which queued runs may start now.

A queued run waits until starting it keeps every limit of the `QueuedRunCoordinator`:
- `max_concurrent_runs`: runs in progress (STARTING, STARTED, CANCELING) at once; -1 means no
  limit, 0 means nothing is launched (a paused queue);
- `tag_concurrency_limits`: runs in progress that carry a tag. With a `value`, the limit counts
  runs whose tag has that value; without one, runs with the key whatever its value; with
  `applyLimitPerUniqueValue`, each distinct value of the key gets the limit on its own.

Order: a higher `kubedag/priority` tag (an integer, default 0, negative allowed) goes first;
equal priorities go first-in, first-out. A run held back by a tag limit does not hold back the
runs behind it that the limit does not concern.

`plan_dequeue` is a pure function of the queued runs, the runs in progress and the limits, so
the same decision serves the local daemon, the Kubernetes operator and the tests; the dequeuer
(`kubedag.runs.dequeuer`) applies it under a lock.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kubedag.records.run import Run
from kubedag.runs.tags import PRIORITY_TAG

UNLIMITED = -1


@dataclass(frozen=True)
class TagConcurrencyLimit:
    """At most `limit` runs in progress with tag `key` (equal to `value`, when given; per
    distinct value, with `per_unique_value`)."""

    key: str
    limit: int
    value: str | None = None
    per_unique_value: bool = False

    def describe(self, run_value: str) -> str:
        if self.value is not None:
            return f"tag limit {self.key}={self.value} ({self.limit})"
        if self.per_unique_value:
            return f"tag limit {self.key} per value, {self.key}={run_value} ({self.limit})"
        return f"tag limit {self.key} ({self.limit})"

    @staticmethod
    def from_config(entry: Mapping[str, Any]) -> TagConcurrencyLimit:
        """From the instance config's form `{key, value?, limit}`, where `value` may be
        `{applyLimitPerUniqueValue: true}` (already checked by `kubedag.instance.config`)."""
        value = entry.get("value")
        if isinstance(value, Mapping):
            per_value = bool(value.get("applyLimitPerUniqueValue", False))
            return TagConcurrencyLimit(str(entry["key"]), int(entry["limit"]), None, per_value)
        return TagConcurrencyLimit(
            str(entry["key"]), int(entry["limit"]), None if value is None else str(value)
        )


@dataclass(frozen=True)
class QueueLimits:
    max_concurrent_runs: int = 10
    tag_concurrency_limits: tuple[TagConcurrencyLimit, ...] = ()


@dataclass(frozen=True)
class DequeuePlan:
    """What to launch now, in order, and why each other queued run waits (run id → reason)."""

    launch: tuple[Run, ...]
    waiting: Mapping[str, str] = field(default_factory=dict)

    @property
    def run_ids(self) -> list[str]:
        return [run.run_id for run in self.launch]


def run_priority(run: Run) -> int:
    """The run's `kubedag/priority` tag as an integer; missing or not an integer: 0."""
    try:
        return int(run.tags.get(PRIORITY_TAG, "0"))
    except ValueError:
        return 0


def queue_order(queued: Iterable[Run]) -> list[Run]:
    """Highest priority first; `sorted` is stable, so FIFO among equals (given FIFO input)."""
    return sorted(queued, key=run_priority, reverse=True)


class _TagCounts:
    """Runs in progress per limit, updated as runs are picked."""

    def __init__(self, limits: Sequence[TagConcurrencyLimit], in_progress: Iterable[Run]) -> None:
        self.limits = limits
        self.counts: Counter[tuple[int, str]] = Counter()
        for run in in_progress:
            self.add(run)

    def _slots(self, run: Run) -> Iterable[tuple[TagConcurrencyLimit, tuple[int, str]]]:
        """Each limit that concerns `run`, with the counter it uses."""
        for index, limit in enumerate(self.limits):
            value = run.tags.get(limit.key)
            if value is None or (limit.value is not None and value != limit.value):
                continue
            yield limit, (index, value if limit.per_unique_value else "")

    def blocking(self, run: Run) -> str | None:
        for limit, slot in self._slots(run):
            if self.counts[slot] >= limit.limit:
                return limit.describe(run.tags[limit.key])
        return None

    def add(self, run: Run) -> None:
        for _limit, slot in self._slots(run):
            self.counts[slot] += 1


def plan_dequeue(
    queued: Sequence[Run], in_progress: Sequence[Run], limits: QueueLimits
) -> DequeuePlan:
    """Which of `queued` (oldest first) to launch now, given the runs `in_progress`."""
    ordered = queue_order(queued)
    maximum = limits.max_concurrent_runs
    if maximum == 0:
        return DequeuePlan((), {run.run_id: "max_concurrent_runs is 0" for run in ordered})
    capacity = None if maximum == UNLIMITED else maximum - len(in_progress)
    counts = _TagCounts(limits.tag_concurrency_limits, in_progress)
    launch: list[Run] = []
    waiting: dict[str, str] = {}
    for run in ordered:
        if capacity is not None and len(launch) >= capacity:
            waiting[run.run_id] = f"max_concurrent_runs ({maximum}) reached"
            continue
        reason = counts.blocking(run)
        if reason is not None:
            waiting[run.run_id] = f"{reason} reached"
            continue
        counts.add(run)
        launch.append(run)
    return DequeuePlan(tuple(launch), waiting)
