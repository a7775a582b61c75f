"""`Instance` handler: open the runtime instance, check storage and migrate it, say `Ready`.

On create, update and operator start (resume) — and every `RECHECK_SECONDS` (30 s) after —
the handler parses the spec, builds the runtime document (`kubedag_operator.instances`), reads the
Secrets it refers to, opens the instance and migrates its databases. The opened instance is
kept (one per object and generation) for the other handlers of the namespace; a later check of
a Ready Instance reads its schema revision again, so a database that went away turns `Ready`
False (`StorageUnreachable`) and back when it returns. The status says
`Ready` True (`Migrated`) or False with a one-word reason (`InvalidSpec`, `SecretNotFound`,
`StorageUnreachable`, `MigrationFailed`) and a message that names what to fix, never a secret.
"""

from __future__ import annotations

import asyncio
import contextvars
import datetime
import time
from dataclasses import dataclass
from typing import Any

import kopf

from kubedag_operator.instances import InstanceOutcome, open_instance
from kubedag_operator.metrics import counted
from kubedag_operator.resources import (
    GROUP,
    VERSION,
    ConditionStatus,
    set_condition,
)
from kubedag_operator.run_status import conditions_of
from kubedag_operator.settings import announce
from kubedag_operator.state import OperatorState, operator_state

READY = "Ready"


def instance_status(body: Any, outcome: InstanceOutcome, now: datetime.datetime) -> dict[str, Any]:
    """The status to write for `outcome` (pure)."""
    conditions = conditions_of(body)
    generation = (body.get("metadata") or {}).get("generation")
    conditions = set_condition(
        conditions,
        READY,
        ConditionStatus.TRUE if outcome.ready else ConditionStatus.FALSE,
        outcome.reason,
        outcome.message,
        now=now,
        observed_generation=generation,
    )
    return {
        "schemaVersion": outcome.schema_version,
        "observedGeneration": generation,
        "conditions": [
            c.model_dump(mode="json", by_alias=True, exclude_none=True) for c in conditions
        ],
    }


@counted("Instance")
def _reconcile(body: Any, memo: Any, patch: kopf.Patch, logger: Any) -> None:
    state = operator_state(memo)
    outcome = open_instance(state.instances, state.kube, state.options.home or "", body)
    status = instance_status(body, outcome, datetime.datetime.now(datetime.UTC))
    old = body.get("status") or {}
    if {k: old.get(k) for k in status} != status:
        patch.status.update(status)
        if outcome.ready:
            announce(body, logger, outcome.reason, f"ready: schema {outcome.schema_version}")
        else:
            announce(body, logger, outcome.reason, outcome.message, warning=True)


@kopf.on.resume(GROUP, VERSION, "instances")
@kopf.on.create(GROUP, VERSION, "instances")
@kopf.on.update(GROUP, VERSION, "instances", field="spec")
def reconcile_instance(
    body: kopf.Body, memo: Any, patch: kopf.Patch, logger: Any, **_: Any
) -> None:
    _reconcile(body, memo, patch, logger)


# How often an Instance is checked again: one that is not Ready may have got its Secret or its
# database meanwhile; one that is Ready may have lost its database. (The timer fires every
# second and acts only when an object's check is due, so this can change at run time.)
RECHECK_SECONDS = 30.0
LAST_CHECK_MEMO_KEY = "kubedag_last_check"


@kopf.timer(GROUP, VERSION, "instances", interval=1.0, initial_delay=1.0)
def recheck_instance(body: kopf.Body, memo: Any, patch: kopf.Patch, logger: Any, **_: Any) -> None:
    """Check the Instance again when it is due: `Ready` follows the storage both ways. (kopf
    gives each object its own copy of the memo: the time of its last check lives there.)"""
    now = time.monotonic()
    if now - memo.setdefault(LAST_CHECK_MEMO_KEY, now) < RECHECK_SECONDS:
        return
    memo[LAST_CHECK_MEMO_KEY] = now
    _reconcile(body, memo, patch, logger)


@kopf.on.delete(GROUP, VERSION, "instances", optional=True)
def forget_instance(namespace: str | None, name: str, memo: Any, **_: Any) -> None:
    operator_state(memo).instances.remove(namespace or "", name)


# -- the instance's loops: the run queue, and monitoring of runs without a Run object ----------
def monitor_unowned_runs(instance: Any) -> list[str]:
    """The runtime's run monitoring (`kubedag.runs.monitoring`) for runs that no `Run` object
    owns — created by the CLI, sensors or backfills against this instance. Runs of `Run`
    objects are followed by the Run handler (which applies the Run's own retry policy)."""
    from kubedag.runs import monitoring
    from kubedag.runs.launchers.kubernetes import OWNER_UID_TAG
    from kubedag.runs.tags import worker_heartbeat_key
    from kubedag.storage.records import RunsFilter

    settings = instance.run_monitoring
    records = [
        r
        for r in instance.get_run_records(RunsFilter(statuses=list(monitoring.MONITORED_STATUSES)))
        if OWNER_UID_TAG not in r.run.tags
    ]
    if not records:
        return []
    keys = {r.run.run_id: worker_heartbeat_key(r.run.run_id) for r in records}
    beats = instance.kvs_get(keys.values())
    acted = []
    for record in records:
        beat = beats.get(keys[record.run.run_id])
        observation = monitoring.observe(
            instance, record, settings, time.time(), float(beat) if beat else None
        )
        action = monitoring.decide(observation, settings)
        if action.kind is not monitoring.MonitorActionKind.NONE and monitoring._act(
            instance, record, action
        ):
            acted.append(record.run.run_id)
    return acted


@dataclass
class LoopClock:
    """When each loop of one Instance last ran (monotonic seconds)."""

    queue: float = 0.0
    monitor: float = 0.0


def drive_once(
    state: OperatorState, namespace: str, name: str, clock: LoopClock, logger: Any
) -> float | None:
    """One pass of the Instance's loops that are due; answers the seconds until the next one
    is (the coordinator's `dequeue_interval_seconds`, monitoring's `poll_interval_seconds`),
    or None when the Instance is not open."""
    from kubedag.runs.coordinators import QueuedRunCoordinator
    from kubedag.runs.dequeuer import dequeue_runs

    opened = state.instances.get(namespace, name)
    if opened is None:
        return None
    instance = opened.instance
    intervals: list[float] = []
    now = time.monotonic()
    coordinator = instance.run_coordinator
    if isinstance(coordinator, QueuedRunCoordinator):
        intervals.append(coordinator.dequeue_interval_seconds)
    if isinstance(coordinator, QueuedRunCoordinator) and (
        now - clock.queue >= coordinator.dequeue_interval_seconds
    ):
        clock.queue = now
        try:
            dequeue_runs(instance, coordinator.limits)
        except Exception as exc:
            logger.exception(f"Dequeuing runs failed; trying again: {exc}")
    settings = instance.run_monitoring
    if settings.enabled:
        intervals.append(settings.poll_interval_seconds)
    if settings.enabled and now - clock.monitor >= settings.poll_interval_seconds:
        clock.monitor = now
        try:
            monitor_unowned_runs(instance)
        except Exception as exc:
            logger.exception(f"Monitoring runs failed; trying again: {exc}")
    return min(intervals) if intervals else None


@kopf.daemon(GROUP, VERSION, "instances", cancellation_backoff=2.0, cancellation_timeout=10.0)
async def drive_instance(
    stopped: kopf.DaemonStopped,
    memo: Any,
    namespace: str | None,
    name: str,
    logger: Any,
    **_: Any,
) -> None:
    """The run queue (with the queued coordinator) and run monitoring of this Instance."""
    state = operator_state(memo)
    loop = asyncio.get_running_loop()
    clock = LoopClock()
    while not stopped:
        due = await loop.run_in_executor(
            None,
            contextvars.copy_context().run,
            drive_once,
            state,
            namespace or "",
            name,
            clock,
            logger,
        )
        # not open yet (the Instance handler opens it): look again soon
        await stopped.wait(due if due is not None else min(1.0, state.options.resync_seconds))
