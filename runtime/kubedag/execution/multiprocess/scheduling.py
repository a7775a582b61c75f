"""Which ready steps may start now: a pure decision.

Given the ready steps (key and tags, in plan order), the tags of the steps running,
`max_concurrent` and the tag concurrency limits, `steps_to_start` returns the keys to start. It
takes data and returns data; the executor's loop calls it each round.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from kubedag.execution.multiprocess.config import TagConcurrencyLimit


def steps_to_start(
    ready: Sequence[tuple[str, Mapping[str, str]]],
    running: Sequence[Mapping[str, str]],
    max_concurrent: int,
    limits: Sequence[TagConcurrencyLimit] = (),
) -> list[str]:
    """Which of the `ready` steps (key and tags, in plan order) may start now, given the tags of
    the steps `running` and the limits. A step held back by a tag limit does not hold back the
    steps after it."""
    slots = max_concurrent - len(running)
    if slots <= 0 or not ready:
        return []
    counts: dict[tuple[int, str], int] = {}
    for tags in running:
        for bucket in _buckets(tags, limits):
            counts[bucket] = counts.get(bucket, 0) + 1
    chosen: list[str] = []
    for key, tags in ready:
        if len(chosen) >= slots:
            break
        buckets = _buckets(tags, limits)
        if any(counts.get(b, 0) >= limits[b[0]].limit for b in buckets):
            continue
        for bucket in buckets:
            counts[bucket] = counts.get(bucket, 0) + 1
        chosen.append(key)
    return chosen


def _buckets(
    tags: Mapping[str, str], limits: Sequence[TagConcurrencyLimit]
) -> list[tuple[int, str]]:
    found = []
    for index, limit in enumerate(limits):
        bucket = limit.bucket(tags)
        if bucket is not None:
            found.append((index, bucket))
    return found
