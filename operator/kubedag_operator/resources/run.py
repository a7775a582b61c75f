"""`Run`: a request to run a job once, and the Kubernetes view of that run.

Creating a Run asks the operator to create a run record in storage, hand it to the run
coordinator and launch it as a pod. The Run's status mirrors the run record (the source of
truth) and the pod: phase, run id, pod name, times, step counts and conditions whose reasons
name what went wrong in one word. The spec is a request, so it never changes once created (a
CEL rule enforces it); deleting a running Run cancels the run.
"""

from __future__ import annotations

import datetime
from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import ConfigDict, Field

from kubedag_operator.resources.common import (
    AGE_COLUMN,
    Conditions,
    CustomResource,
    FreeForm,
    LocalObjectReference,
    PrinterColumn,
    SpecModel,
    StatusModel,
    cel,
    validations,
)


class RetryReason(StrEnum):
    """An infrastructure failure after which a run may be retried. A failure of user code
    (a step raising) is never retried this way: use the job's `RetryPolicy` for that."""

    EVICTED = "Evicted"
    """The pod was evicted (node pressure, drain)."""
    PREEMPTED = "Preempted"
    """The pod was preempted by a pod of higher priority."""
    POD_LOST = "PodLost"
    """The pod vanished (deleted, or its node was lost) before the run finished."""
    WORKER_EXITED = "WorkerExited"
    """The run worker exited without finishing the run (killed, crashed)."""
    OOM_KILLED = "OOMKilled"
    """The run's container was killed for using more memory than its limit."""


DEFAULT_RETRY_REASONS = (
    RetryReason.EVICTED,
    RetryReason.PREEMPTED,
    RetryReason.POD_LOST,
    RetryReason.WORKER_EXITED,
)


class RetrySpec(SpecModel):
    """Retries of the whole run after an infrastructure failure: a new pod resumes the run."""

    limit: Annotated[int, Field(ge=0, le=10)] = 0
    """How many times the run may be retried (0: never)."""
    reasons: Annotated[list[RetryReason], Field(min_length=1)] = list(DEFAULT_RETRY_REASONS)
    """The failures that are retried (default: Evicted, Preempted, PodLost, WorkerExited)."""


class RunSpec(SpecModel):
    """What to run. Immutable: to run again, create another Run."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel("self == oldSelf", "a Run's spec is immutable; create a new Run instead")
        )
    )

    job_ref: LocalObjectReference
    """The `Job` (kubedag.io) to run, in this namespace."""
    run_config: FreeForm | None = None
    """Run config (`ops`, `resources`, `execution`), merged over the Job's default `runConfig`;
    checked before the run is launched."""
    tags: dict[str, str] | None = None
    """Tags of the run, added to the Job's tags (these win)."""
    partition: Annotated[str, Field(min_length=1)] | None = None
    """The partition key to materialize, for a partitioned job (`2024-01-01`, `us|2024-01-01`)."""
    ttl_seconds_after_finished: Annotated[int, Field(ge=0)] | None = None
    """Delete the Run (and its pod) this many seconds after it finished; the run record and its
    events stay in storage. Unset: keep it."""
    active_deadline_seconds: Annotated[int, Field(ge=1)] | None = None
    """Cancel the run when it has been running longer than this (reason `DeadlineExceeded`)."""
    retry: RetrySpec | None = None
    """Retries after an infrastructure failure (eviction, a lost pod). Default: none."""


class RunPhase(StrEnum):
    """Where the run is, in one word."""

    QUEUED = "Queued"
    STARTING = "Starting"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELED = "Canceled"


TERMINAL_PHASES = frozenset({RunPhase.SUCCEEDED, RunPhase.FAILED, RunPhase.CANCELED})


class RunConditionType(StrEnum):
    """The condition types of a Run."""

    ACCEPTED = "Accepted"
    """The spec is valid and the run record exists in storage."""
    POD_READY = "PodReady"
    """The run's pod is scheduled and its container started."""
    SUCCEEDED = "Succeeded"
    """True once the run succeeded, False once it failed or was canceled."""


class RunConditionReason(StrEnum):
    """One-word reasons of a Run's conditions."""

    INVALID_SPEC = "InvalidSpec"
    JOB_NOT_FOUND = "JobNotFound"
    INVALID_RUN_CONFIG = "InvalidRunConfig"
    QUEUED = "Queued"
    LAUNCHED = "Launched"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    UNSCHEDULABLE = "Unschedulable"
    IMAGE_PULL_BACK_OFF = "ImagePullBackOff"
    OOM_KILLED = "OOMKilled"
    EVICTED = "Evicted"
    POD_LOST = "PodLost"
    WORKER_EXITED = "WorkerExited"
    DEADLINE_EXCEEDED = "DeadlineExceeded"
    USER_CODE_ERROR = "UserCodeError"
    CANCELED = "Canceled"


class StepCounts(StatusModel):
    """How many of the run's steps ended each way."""

    succeeded: Annotated[int, Field(ge=0)] = 0
    """Steps that succeeded."""
    failed: Annotated[int, Field(ge=0)] = 0
    """Steps that failed."""
    skipped: Annotated[int, Field(ge=0)] = 0
    """Steps skipped because something upstream failed or was skipped."""
    total: Annotated[int, Field(ge=0)] = 0
    """Steps in the run's plan."""


class RunStatus(StatusModel):
    """The run as the operator last saw it; the run record in storage is the source of
    truth."""

    phase: RunPhase | None = None
    """Queued, Starting, Running, Succeeded, Failed or Canceled."""
    run_id: str | None = None
    """The run's id in storage (`kubedag runs show RUN_ID`, `kubedag logs RUN_ID`)."""
    pod_name: str | None = None
    """The pod running the run's worker (the latest one, after retries)."""
    start_time: datetime.datetime | None = None
    """When the run started executing."""
    completion_time: datetime.datetime | None = None
    """When the run finished, whatever the outcome."""
    steps: StepCounts | None = None
    """How many steps succeeded, failed and were skipped, out of the total."""
    retries: Annotated[int, Field(ge=0)] | None = None
    """How many times the run was retried after an infrastructure failure."""
    observed_generation: int | None = None
    """The `metadata.generation` this status describes."""
    conditions: Conditions | None = None
    """Accepted, PodReady and Succeeded, with one-word reasons: Unschedulable,
    ImagePullBackOff, OOMKilled, Evicted, DeadlineExceeded, UserCodeError, Canceled…"""


class RunResource(CustomResource):
    """A request to run a job once; its status follows the run until it finishes."""

    kind_name: ClassVar[str] = "Run"
    plural: ClassVar[str] = "runs"
    short_names: ClassVar[tuple[str, ...]] = ("kdrun",)
    printer_columns: ClassVar[tuple[PrinterColumn, ...]] = (
        PrinterColumn(
            name="Phase",
            type="string",
            json_path=".status.phase",
            description="Queued, Starting, Running, Succeeded, Failed or Canceled.",
        ),
        PrinterColumn(
            name="Job", type="string", json_path=".spec.jobRef.name", description="The Job run."
        ),
        PrinterColumn(
            name="Started",
            type="date",
            json_path=".status.startTime",
            description="When the run started executing.",
        ),
        PrinterColumn(
            name="Completed",
            type="date",
            json_path=".status.completionTime",
            description="When the run finished.",
        ),
        AGE_COLUMN,
        PrinterColumn(
            name="Run-ID",
            type="string",
            json_path=".status.runId",
            description="The run's id in storage.",
            priority=1,
        ),
        PrinterColumn(
            name="Pod",
            type="string",
            json_path=".status.podName",
            description="The pod running the run.",
            priority=1,
        ),
    )

    kind: Literal["Run"] = "Run"
    spec: RunSpec
    """What to run. Immutable once created."""
    status: RunStatus = Field(default_factory=RunStatus)
    """The run as the operator last saw it."""
