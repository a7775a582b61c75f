"""The tags a run carries, and which source wins when two name the same key.

A run's tags decide real things — the queue's tag concurrency limits, a run's priority, which
pod overrides apply — so every way of creating a run must give the same tags for the same
request: `materialize`, `execute_in_process`, `kubedag job launch`, a schedule's or sensor's
`RunRequest`, a backfill, a `Run` custom resource. They all merge through `tags_for_run`, in the
reference's order of precedence, lowest first:

1. the job's run tags (`@job(tags=...)` or `define_asset_job(tags=...)`, unless the job sets
   `run_tags`, which then replace `tags` for its runs);
2. the tags asked for when the run is created: `--tag key=value`, `execute_in_process(tags=)`,
   a `RunRequest`'s tags over its schedule's or sensor's, a backfill's tags, a `Run` object's
   `spec.tags` over its `Job` object's;
3. the partition's tags (`kubedag/partition`, or the two range tags of a range run): the
   partition a run covers is a fact of the run, not a preference.

Tags that kubedag sets to bookkeep (the tick, the backfill id, the worker's pid) are added by
their owners after this merge and are never user input.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PARTITION_TAG = "kubedag/partition"
# One run over several partitions (a range backfill): the first and last keys, both included.
PARTITION_RANGE_START_TAG = "kubedag/asset_partition_range_start"
PARTITION_RANGE_END_TAG = "kubedag/asset_partition_range_end"


def job_run_tags(tags: Mapping[str, str] | None, run_tags: Mapping[str, str] | None) -> dict:
    """The tags every run of a job starts from: `run_tags` when the job sets them (even empty),
    else its `tags` — the reference's rule, so `@job(tags={"db": "warehouse"})` tags its runs."""
    return dict(run_tags) if run_tags is not None else dict(tags or {})


def partition_tags(partition_key: str | None = None, partition_range: Any = None) -> dict:
    """The tags that say which partition (or which range, a `PartitionKeyRange`) a run covers."""
    tags: dict[str, str] = {}
    if partition_key is not None:
        tags[PARTITION_TAG] = partition_key
    if partition_range is not None:
        tags[PARTITION_RANGE_START_TAG] = partition_range.start
        tags[PARTITION_RANGE_END_TAG] = partition_range.end
    return tags


def tags_for_run(
    job_tags: Mapping[str, str],
    requested: Mapping[str, str] | None = None,
    *,
    partition_key: str | None = None,
    partition_range: Any = None,
) -> dict[str, str]:
    """A new run's tags: the job's, then the requested ones over them, then the partition's."""
    return {
        **job_tags,
        **(requested or {}),
        **partition_tags(partition_key, partition_range),
    }
