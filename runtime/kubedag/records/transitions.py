"""Which status changes a run may make, in one table.

A run's status is changed by several processes that do not talk to each other: the process that
submits it, a daemon's dequeuer, the run worker, the monitor, whoever cancels it. Each of them
asks this table before it writes, and storage applies the change as a compare-and-set against the
statuses the table allows as predecessors, so when two of them race (two dequeuers claiming the
same queued run, a cancel against a start) exactly one wins and the other sees that it lost.

Changing a run to the status it already has is allowed while the run is not finished (doing a
step twice does no harm: a worker that resumes a STARTED run marks it STARTED again). A finished
run (SUCCESS, FAILURE, CANCELED) never changes again.

Two changes go beyond the plain lifecycle and are here on purpose:
- STARTED → CANCELED: a run executed in one process and stopped by that process itself
  (`execute_run(..., should_stop=...)` called directly), with no separate canceler to have
  marked it CANCELING first;
- CANCELING → SUCCESS: a cancel that arrived while the last step was running; every step
  finished, so the run did succeed and says so.
"""

from __future__ import annotations

from collections.abc import Iterable

from kubedag.errors import RunStatusTransitionError
from kubedag.records.run import FINISHED_STATUSES, RunStatus

_S = RunStatus

ALLOWED_TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    _S.NOT_STARTED: frozenset({_S.QUEUED, _S.STARTING, _S.STARTED, _S.CANCELED, _S.FAILURE}),
    _S.QUEUED: frozenset({_S.STARTING, _S.CANCELED, _S.FAILURE}),
    _S.STARTING: frozenset({_S.STARTED, _S.FAILURE, _S.CANCELING, _S.CANCELED}),
    _S.STARTED: frozenset({_S.SUCCESS, _S.FAILURE, _S.CANCELING, _S.CANCELED}),
    _S.CANCELING: frozenset({_S.CANCELED, _S.FAILURE, _S.SUCCESS}),
    _S.SUCCESS: frozenset(),
    _S.FAILURE: frozenset(),
    _S.CANCELED: frozenset(),
    _S.MANAGED: frozenset(),  # kept for compatibility; kubedag never enters it
}

# Runs that hold (or are about to hold) a worker: what the queue's limits count.
IN_PROGRESS_STATUSES = frozenset({_S.STARTING, _S.STARTED, _S.CANCELING})


def can_change(current: RunStatus, to: RunStatus) -> bool:
    """Whether a run in `current` may be moved to `to`."""
    if current is to:
        return current not in FINISHED_STATUSES and current is not _S.MANAGED
    return to in ALLOWED_TRANSITIONS[current]


def next_status(current: RunStatus, to: RunStatus) -> RunStatus:
    """`to`, if a run in `current` may move there; otherwise `RunStatusTransitionError`."""
    if can_change(current, to):
        return to
    if current in FINISHED_STATUSES:
        reason = f"it has finished ({current.value}) and a finished run never changes again"
    else:
        allowed = sorted(s.value for s in ALLOWED_TRANSITIONS[current])
        reason = f"from {current.value} a run may only move to {', '.join(allowed) or 'nothing'}"
    raise RunStatusTransitionError(
        f"A run cannot change from {current.value} to {to.value}: {reason}. "
        "See the transitions table in docs/run-lifecycle.md.",
        current=current,
        requested=to,
    )


def allowed_predecessors(to: RunStatus) -> frozenset[RunStatus]:
    """Every status from which a run may move to `to` (the compare-and-set's `IN (...)`)."""
    return frozenset(status for status in RunStatus if can_change(status, to))


def checked_predecessors(
    to: RunStatus, from_statuses: Iterable[RunStatus] | None
) -> list[RunStatus]:
    """The statuses a compare-and-set to `to` may match: `from_statuses` (each one checked
    against the table, so a caller cannot ask for a forbidden change) or, when None, every
    allowed predecessor. Sorted, so the same change always builds the same statement."""
    if from_statuses is None:
        chosen = allowed_predecessors(to)
    else:
        chosen = frozenset(from_statuses)
        for status in chosen:
            next_status(status, to)
    return sorted(chosen, key=lambda s: s.value)
