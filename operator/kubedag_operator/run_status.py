"""What a `Run`'s status should say, and what the operator should do about its run: pure.

The run record in storage is the source of truth; the pod says what the infrastructure did.
`RunObservation` holds both, as plain data read by the Run handler. From it:

- `phase_of(status)`: the phase (Queued, Starting, Running, Succeeded, Failed, Canceled);
- `infrastructure_reason(health)`: the one-word reason a pod's health names (the launcher's
  `health_from_pod` puts it first in its message: `OOMKilled: …`), or `PodLost` for a pod
  that is gone, `WorkerExited` for a worker that exited without finishing its run;
- `decide(observation, spec)`: the one action to take — nothing, launch a run again that has
  been STARTING without a pod for `LAUNCH_GRACE_SECONDS` (its launch was interrupted, say by an
  operator restart; the pod's name is fixed, so a launch that did happen is not doubled), retry
  the run with a new pod (only for the reasons and up to the limit of `spec.retry`), fail it
  naming the reason,
  mark a canceling run canceled, terminate it (`activeDeadlineSeconds`), or delete the Run
  (`ttlSecondsAfterFinished`);
- `run_status(observation, previous, …)`: the status to write: phase, times, steps,
  retries, and the `Accepted`, `PodReady` and `Succeeded` conditions with one-word reasons.

The handler reads, calls these, acts, and writes the status only when it changed, so a
handler run twice (or by a restarted operator) does no harm.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from kubedag_operator.resources.common import Condition, ConditionStatus, set_condition
from kubedag_operator.resources.run import (
    DEFAULT_RETRY_REASONS,
    RunConditionReason,
    RunConditionType,
    RunPhase,
    RunSpec,
)

R = RunConditionReason

# run record status (kubedag.RunStatus values) → phase
_PHASES = {
    "NOT_STARTED": RunPhase.QUEUED,
    "QUEUED": RunPhase.QUEUED,
    "MANAGED": RunPhase.RUNNING,
    "STARTING": RunPhase.STARTING,
    "STARTED": RunPhase.RUNNING,
    "CANCELING": RunPhase.RUNNING,
    "SUCCESS": RunPhase.SUCCEEDED,
    "FAILURE": RunPhase.FAILED,
    "CANCELED": RunPhase.CANCELED,
}
WORKER_STATUSES = ("STARTING", "STARTED", "CANCELING")
# How long a STARTING run may go without a pod before its launch is taken as interrupted: the
# coordinator records STARTING and creates the pod right after, within a second or two.
LAUNCH_GRACE_SECONDS = 30.0
FINISHED_STATUSES = ("SUCCESS", "FAILURE", "CANCELED")

# The first word of a launcher health message → our reason.
_HEALTH_REASONS = {
    "OOMKilled": R.OOM_KILLED,
    "Evicted": R.EVICTED,
    "Preempted": "Preempted",
    "Preempting": "Preempted",
    "DeadlineExceeded": R.DEADLINE_EXCEEDED,
    "Unschedulable": R.UNSCHEDULABLE,
    "ImagePullBackOff": R.IMAGE_PULL_BACK_OFF,
    "ErrImagePull": R.IMAGE_PULL_BACK_OFF,
    "InvalidImageName": R.IMAGE_PULL_BACK_OFF,
    "CreateContainerConfigError": R.IMAGE_PULL_BACK_OFF,
    "CreateContainerError": R.IMAGE_PULL_BACK_OFF,
}
# Reasons that may appear in a run's failure or cancel message, most specific first.
_MESSAGE_REASONS = (
    R.DEADLINE_EXCEEDED,
    R.OOM_KILLED,
    R.EVICTED,
    "Preempted",
    R.IMAGE_PULL_BACK_OFF,
    R.UNSCHEDULABLE,
    R.POD_LOST,
    R.WORKER_EXITED,
)


@dataclass(frozen=True)
class PodView:
    """What the operator saw of the run's pod (the latest one, after retries)."""

    name: str
    health: str  # WorkerStatus value: RUNNING, SUCCESS, FAILED, NOT_FOUND, UNKNOWN
    message: str  # the launcher's health message, reason first
    phase: str | None = None  # the pod's phase; None when it is gone
    ready: bool = False  # its container runs


@dataclass(frozen=True)
class StepCounts:
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0
    total: int = 0


@dataclass(frozen=True)
class RunObservation:
    """One look at a run: its record, its events, its pod, at `now` (Unix time)."""

    run_id: str
    status: str  # kubedag RunStatus value
    now: float
    created: float  # when the record was created
    updated: float | None = None  # when the record last changed (its status, its tags)
    start_time: float | None = None
    end_time: float | None = None
    steps: StepCounts = field(default_factory=StepCounts)
    end_messages: tuple[str, ...] = ()  # RUN_FAILURE / RUN_CANCELING / RUN_CANCELED messages
    retries: int = 0  # resume attempts so far
    pod: PodView | None = None


class ActionKind(Enum):
    NONE = "NONE"
    RELAUNCH = "RELAUNCH"
    RETRY = "RETRY"
    FAIL = "FAIL"
    MARK_CANCELED = "MARK_CANCELED"
    TERMINATE = "TERMINATE"
    DELETE = "DELETE"


@dataclass(frozen=True)
class RunAction:
    kind: ActionKind
    reason: str = ""
    message: str = ""


NOTHING = RunAction(ActionKind.NONE)


def phase_of(status: str) -> RunPhase:
    return _PHASES.get(status, RunPhase.QUEUED)


def infrastructure_reason(pod: PodView) -> str | None:
    """Why the pod's worker is gone (or cannot start), in one word; None while it is fine."""
    if pod.health == "NOT_FOUND":
        return str(R.POD_LOST)
    first = pod.message.split(":", 1)[0].strip()
    if pod.health == "FAILED":
        return str(_HEALTH_REASONS.get(first, R.WORKER_EXITED))
    if pod.health == "SUCCESS":
        return str(R.WORKER_EXITED)  # it exited 0 but left its run unfinished
    return None


def waiting_reason(pod: PodView) -> str | None:
    """Why a pod that may still start is not running yet (Unschedulable, image pull)."""
    if pod.health != "RUNNING" or pod.phase != "Pending":
        return None
    first = pod.message.split(":", 1)[0].strip()
    found = _HEALTH_REASONS.get(first)
    return str(found) if found else None


def reason_from_messages(messages: tuple[str, ...]) -> str | None:
    text = " ".join(messages)
    return next((str(r) for r in _MESSAGE_REASONS if str(r) in text), None)


def decide(
    observation: RunObservation, spec: RunSpec, launch_grace_seconds: float | None = None
) -> RunAction:
    """The one thing to do now (see the module docstring)."""
    o = observation
    grace = LAUNCH_GRACE_SECONDS if launch_grace_seconds is None else launch_grace_seconds
    if o.status in FINISHED_STATUSES:
        ttl = spec.ttl_seconds_after_finished
        ended = o.end_time if o.end_time is not None else o.now
        if ttl is not None and o.now - ended >= ttl:
            return RunAction(ActionKind.DELETE, "TTLExpired", f"finished more than {ttl}s ago")
        return NOTHING
    if o.status == "STARTING" and o.pod is None:
        waited = o.now - (o.updated if o.updated is not None else o.created)
        if waited >= grace:
            return RunAction(
                ActionKind.RELAUNCH,
                "Relaunching",
                f"the run has been STARTING for {waited:.0f}s without a pod (its launch was "
                "interrupted); launching it again",
            )
        return NOTHING
    if o.status not in WORKER_STATUSES or o.pod is None:
        return NOTHING
    gone = infrastructure_reason(o.pod)
    if o.status == "CANCELING":
        if gone:
            return RunAction(
                ActionKind.MARK_CANCELED, str(R.CANCELED), f"Run canceled: {o.pod.message}."
            )
        return NOTHING
    deadline = spec.active_deadline_seconds
    began = o.start_time if o.start_time is not None else o.created
    if deadline is not None and o.now - began > deadline:
        return RunAction(
            ActionKind.TERMINATE,
            str(R.DEADLINE_EXCEEDED),
            f"DeadlineExceeded: the run ran for {o.now - began:.0f}s, longer than "
            f"spec.activeDeadlineSeconds ({deadline})",
        )
    if gone is None:
        return NOTHING
    retry = spec.retry
    reasons = [str(r) for r in (retry.reasons if retry else DEFAULT_RETRY_REASONS)]
    limit = retry.limit if retry else 0
    if o.status == "STARTED" and gone in reasons and o.retries < limit:
        return RunAction(
            ActionKind.RETRY,
            gone,
            f"{gone}: {o.pod.message}; retry {o.retries + 1} of {limit} (spec.retry)",
        )
    tried = f" after {o.retries} retries" if o.retries else ""
    return RunAction(ActionKind.FAIL, gone, f"{gone}: {o.pod.message}{tried}")


def _time(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    moment = datetime.datetime.fromtimestamp(seconds, datetime.UTC).replace(microsecond=0)
    return moment.isoformat().replace("+00:00", "Z")


def finished_condition(observation: RunObservation) -> tuple[ConditionStatus, str, str] | None:
    """The `Succeeded` condition of a finished run: status, reason, message."""
    o = observation
    if o.status == "SUCCESS":
        return ConditionStatus.TRUE, str(R.SUCCEEDED), "the run succeeded"
    if o.status == "FAILURE":
        if o.steps.failed:
            return (
                ConditionStatus.FALSE,
                str(R.USER_CODE_ERROR),
                f"{o.steps.failed} step(s) failed: `kubedag logs {o.run_id}` shows why",
            )
        reason = reason_from_messages(o.end_messages) or str(R.WORKER_EXITED)
        message = o.end_messages[-1] if o.end_messages else "the run failed"
        return ConditionStatus.FALSE, reason, message
    if o.status == "CANCELED":
        reason = (
            str(R.DEADLINE_EXCEEDED)
            if str(R.DEADLINE_EXCEEDED) in " ".join(o.end_messages)
            else str(R.CANCELED)
        )
        message = o.end_messages[-1] if o.end_messages else "the run was canceled"
        return ConditionStatus.FALSE, reason, message
    return None


def run_status(
    observation: RunObservation,
    previous: list[Condition],
    *,
    now: datetime.datetime,
    generation: int | None,
) -> dict[str, Any]:
    """The Run's status for `observation` (JSON, camelCase), conditions kept stable."""
    o = observation
    conditions = set_condition(
        previous,
        RunConditionType.ACCEPTED,
        ConditionStatus.TRUE,
        "Recorded",
        f"run {o.run_id} is recorded in storage",
        now=now,
        observed_generation=generation,
    )
    if o.pod is not None:
        waiting = waiting_reason(o.pod)
        gone = infrastructure_reason(o.pod)
        if o.pod.ready:
            ready = (ConditionStatus.TRUE, str(R.RUNNING), f"pod {o.pod.name} is running")
        elif waiting or gone:
            ready = (ConditionStatus.FALSE, waiting or gone or "", o.pod.message)
        elif o.pod.phase in ("Succeeded", "Failed"):
            ready = (ConditionStatus.FALSE, "PodCompleted", o.pod.message)
        else:
            ready = (ConditionStatus.FALSE, "Pending", o.pod.message)
        conditions = set_condition(
            conditions, RunConditionType.POD_READY, *ready, now=now, observed_generation=generation
        )
    finished = finished_condition(o)
    if finished is not None:
        conditions = set_condition(
            conditions,
            RunConditionType.SUCCEEDED,
            *finished,
            now=now,
            observed_generation=generation,
        )
    status: dict[str, Any] = {
        "phase": str(phase_of(o.status)),
        "runId": o.run_id,
        "startTime": _time(o.start_time),
        "completionTime": _time(o.end_time) if o.status in FINISHED_STATUSES else None,
        "steps": {
            "succeeded": o.steps.succeeded,
            "failed": o.steps.failed,
            "skipped": o.steps.skipped,
            "total": o.steps.total,
        },
        "retries": o.retries,
        "observedGeneration": generation,
        "conditions": [
            c.model_dump(mode="json", by_alias=True, exclude_none=True) for c in conditions
        ],
    }
    if o.pod is not None:
        status["podName"] = o.pod.name
    return status


def rejected_status(
    reason: str,
    message: str,
    previous: list[Condition],
    *,
    now: datetime.datetime,
    generation: int | None,
) -> dict[str, Any]:
    """The status of a Run that could not be accepted (invalid spec, no such Job, …)."""
    conditions = set_condition(
        previous,
        RunConditionType.ACCEPTED,
        ConditionStatus.FALSE,
        reason,
        message,
        now=now,
        observed_generation=generation,
    )
    return {
        "observedGeneration": generation,
        "conditions": [
            c.model_dump(mode="json", by_alias=True, exclude_none=True) for c in conditions
        ],
    }


def conditions_of(body: Any) -> list[Condition]:
    """The conditions in an object's status; unreadable ones are dropped."""
    found = []
    for item in (body.get("status") or {}).get("conditions") or []:
        try:
            found.append(Condition.model_validate(item))
        except ValueError:
            continue
    return found


def status_changed(old: Any, new: dict[str, Any]) -> bool:
    """Whether writing `new` would change `old` (the keys of `new` only)."""
    old = old or {}
    return any(old.get(key) != value for key, value in new.items())


def merge_run_config(job: dict[str, Any] | None, run: dict[str, Any] | None) -> dict[str, Any]:
    """The Run's `runConfig` merged over the Job's, key by key at every depth (Run wins)."""

    def merge(base: Any, over: Any) -> Any:
        if isinstance(base, dict) and isinstance(over, dict):
            merged = dict(base)
            for key, value in over.items():
                merged[key] = merge(base.get(key), value)
            return merged
        return over if over is not None else base

    result = merge(job or {}, run or {})
    return dict(result) if isinstance(result, dict) else {}
