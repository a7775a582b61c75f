"""A backfill's status and progress, as pure functions of its runs' statuses.

A backfill is REQUESTED while any of its runs is unfinished (or not created yet), then
COMPLETED when every run succeeded and FAILED otherwise. Canceling moves it to CANCELING until
its runs have stopped, then CANCELED. Level-triggered: computing it again from the same runs
gives the same answer, so any process (the CLI, the daemon) may refresh it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from kubedag.records.run import RunStatus
from kubedag.storage.records import BackfillStatus

BACKFILL_TAG = "kubedag/backfill"  # on every run a backfill creates: the backfill's id

FINISHED_RUN_STATUSES = frozenset({RunStatus.SUCCESS, RunStatus.FAILURE, RunStatus.CANCELED})
NOT_CREATED = "NOT_CREATED"


def backfill_status(
    current: BackfillStatus, run_statuses: Iterable[RunStatus], expected_runs: int
) -> BackfillStatus:
    """The status a backfill has, given its runs' statuses and how many runs it will have."""
    if current.is_finished:
        return current
    statuses = list(run_statuses)
    all_finished = all(status in FINISHED_RUN_STATUSES for status in statuses)
    if current is BackfillStatus.CANCELING:
        return BackfillStatus.CANCELED if all_finished else BackfillStatus.CANCELING
    if not all_finished or len(statuses) < expected_runs:
        return BackfillStatus.REQUESTED
    if all(status is RunStatus.SUCCESS for status in statuses):
        return BackfillStatus.COMPLETED
    return BackfillStatus.FAILED


def progress(run_statuses: Iterable[RunStatus], expected_runs: int) -> dict[str, int]:
    """How many runs are in each status, plus NOT_CREATED for runs still to be created."""
    counts = Counter(status.value for status in run_statuses)
    created = sum(counts.values())
    result = dict(sorted(counts.items()))
    if created < expected_runs:
        result[NOT_CREATED] = expected_runs - created
    return result
