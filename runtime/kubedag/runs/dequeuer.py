"""The dequeuer: launch the queued runs that the queue's policy allows, once each.

One iteration: under the run storage's dequeue lock, read the queued and in-progress runs, let
`plan_dequeue` choose, and move the chosen runs QUEUED → STARTING (`claim_queued_runs`); then,
outside the lock, hand each claimed run to the launcher. Any number of dequeuers (two daemons,
a daemon and the operator) may run at once: the lock makes the choice and the claim one step,
so a run is launched once and the limits hold.

If the process dies between claiming and launching, the run stays STARTING without a worker
and the run monitor fails it after `start_timeout_seconds`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from kubedag.errors import RunLaunchError
from kubedag.records.events import EventType
from kubedag.records.run import Run
from kubedag.runs import lifecycle
from kubedag.runs.queue import DequeuePlan, QueueLimits, plan_dequeue

if TYPE_CHECKING:
    from kubedag.runs.launchers.base import RunHost

_log = logging.getLogger("kubedag.daemon.dequeuer")


def dequeue_runs(instance: RunHost, limits: QueueLimits) -> list[Run]:
    """One iteration; returns the runs it launched (or tried to: a run whose launch failed is
    FAILURE with the reason)."""
    plans: list[DequeuePlan] = []

    def choose(queued: Sequence[Run], in_progress: Sequence[Run]) -> list[str]:
        plan = plan_dequeue(queued, in_progress, limits)
        plans[:] = [plan]  # the database may retry this transaction: keep the last choice
        return plan.run_ids

    claimed = instance.run_storage.claim_queued_runs(choose)
    if plans and plans[0].waiting:
        _log.debug("%d queued runs wait: %s", len(plans[0].waiting), dict(plans[0].waiting))
    for run in claimed:
        lifecycle.write_event(instance, run, EventType.RUN_DEQUEUED, "Run taken from the queue.")
        try:
            lifecycle.start_run_worker(instance, run)
        except RunLaunchError as exc:
            _log.error("%s", exc)
    return claimed
