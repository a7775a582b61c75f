"""`Job` handlers: tell whether a Job can be run, from its CodeLocation's status.

A Job names a job of a code location (`jobName`) or assets to materialize (`assetSelection`).
It is `Ready` when its CodeLocation is ready and its status (what the code server found, see
`kubedag_operator.handlers.code_location`) lists that job or every one of those assets.
Otherwise `Ready=False` with one reason: `InvalidSpec` (naming the field),
`CodeLocationNotFound`, `CodeLocationNotReady` or `JobNotFound` (naming what is missing and what
the code defines).

`job_readiness` decides (pure); `reconcile_job` reads and writes. It runs when a Job is created,
changed or the operator resumes, on a timer, and for every Job of a CodeLocation whenever that
CodeLocation changes (any watch event, its status included), so a Job turns ready as soon as
its code location has loaded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import kopf

from kubedag_operator.handlers.code_location import handler_api, object_lock, ready_status
from kubedag_operator.kube import KubeApi
from kubedag_operator.metrics import counted
from kubedag_operator.resources import (
    GROUP,
    VERSION,
    ConditionStatus,
    InvalidResourceError,
    JobResource,
)

PLURAL = "jobs"
CODE_LOCATIONS = "codelocations"
INTERVAL_ENV = "KUBEDAG_OPERATOR_JOB_INTERVAL"
DEFAULT_INTERVAL_SECONDS = 60.0
STATUS_KEYS = ("observedGeneration", "conditions")
_SHOWN = 10


@dataclass(frozen=True)
class Readiness:
    status: ConditionStatus
    reason: str
    message: str


def _listing(names: list[str]) -> str:
    if not names:
        return "none"
    shown = ", ".join(names[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")


def job_readiness(job: JobResource, location: dict[str, Any] | None) -> Readiness:
    """Whether `job` can be run, given its CodeLocation as read from the API (None: absent)."""
    location_name = job.spec.code_location_ref.name
    false = ConditionStatus.FALSE
    if location is None:
        return Readiness(
            false,
            "CodeLocationNotFound",
            f"spec.codeLocationRef.name: no CodeLocation {location_name!r} in this namespace; "
            "create it or fix the name.",
        )
    status = location.get("status") or {}
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    if ready is None or ready.get("status") != "True":
        why = f" ({ready.get('reason')}: {ready.get('message')})" if ready else ""
        return Readiness(
            false,
            "CodeLocationNotReady",
            f"CodeLocation {location_name!r} is not ready{why}; the Job is checked again "
            "once it is.",
        )
    if job.spec.job_name is not None:
        jobs = list(status.get("jobs") or [])
        if job.spec.job_name not in jobs:
            return Readiness(
                false,
                "JobNotFound",
                f"spec.jobName: CodeLocation {location_name!r} defines no job "
                f"{job.spec.job_name!r}; its jobs: {_listing(jobs)}.",
            )
        return Readiness(
            ConditionStatus.TRUE,
            "Found",
            f"CodeLocation {location_name!r} defines job {job.spec.job_name!r}.",
        )
    assets = set(status.get("assets") or [])
    missing = [key for key in job.spec.asset_selection or [] if key not in assets]
    if missing:
        return Readiness(
            false,
            "JobNotFound",
            f"spec.assetSelection: CodeLocation {location_name!r} defines no asset "
            f"{_listing(missing)}; its assets: {_listing(sorted(assets))}.",
        )
    return Readiness(
        ConditionStatus.TRUE,
        "Found",
        f"CodeLocation {location_name!r} defines the {len(job.spec.asset_selection or [])} "
        "selected assets.",
    )


@counted("Job")
def reconcile_job(api: KubeApi, body: dict[str, Any], now: datetime) -> Readiness:
    """Check the Job against its CodeLocation and write its `Ready` condition if it changed."""
    metadata = body.get("metadata") or {}
    namespace, name = metadata.get("namespace") or "default", metadata["name"]
    try:
        job = JobResource.parse(body)
    except InvalidResourceError as exc:
        readiness = Readiness(ConditionStatus.FALSE, "InvalidSpec", exc.message)
    else:
        location = api.get_custom(CODE_LOCATIONS, namespace, job.spec.code_location_ref.name)
        readiness = job_readiness(job, location)
    status = ready_status(body, readiness.status, readiness.reason, readiness.message, now)
    current = body.get("status") or {}
    if any(current.get(key) != status.get(key) for key in STATUS_KEYS):
        api.patch_custom_status(PLURAL, namespace, name, {key: status[key] for key in STATUS_KEYS})
    return readiness


def reconcile_jobs_of(api: KubeApi, namespace: str, location_name: str, now: datetime) -> None:
    """Re-check every Job of the CodeLocation `location_name`."""
    for body in api.list_custom(PLURAL, namespace):
        reference = ((body.get("spec") or {}).get("codeLocationRef") or {}).get("name")
        if reference == location_name:
            reconcile_job(api, body, now)


def register(
    registry: kopf.OperatorRegistry,
    api: KubeApi | None = None,
    *,
    interval: float = DEFAULT_INTERVAL_SECONDS,
) -> None:
    """Register the Job handlers in `registry`, acting through `api`."""

    def reconcile(body: kopf.Body, memo: Any, **_: Any) -> None:
        with object_lock(memo, body.get("metadata", {}).get("uid", "")):
            reconcile_job(handler_api(api, memo), dict(body), datetime.now(UTC))

    for decorator in (kopf.on.create, kopf.on.update, kopf.on.resume):
        decorator(GROUP, VERSION, PLURAL, registry=registry, id="job")(reconcile)
    kopf.timer(GROUP, VERSION, PLURAL, registry=registry, id="job-refresh", interval=interval)(
        reconcile
    )

    def location_changed(body: kopf.Body, type: str | None, memo: Any, **_: Any) -> None:
        if type is None:
            return  # the initial listing: each Job's own handlers check it
        metadata = body.get("metadata") or {}
        namespace, name = metadata.get("namespace") or "default", str(metadata.get("name"))
        reconcile_jobs_of(handler_api(api, memo), namespace, name, datetime.now(UTC))

    kopf.on.event(GROUP, VERSION, CODE_LOCATIONS, registry=registry, id="jobs-of-code-location")(
        location_changed
    )


register(
    kopf.get_default_registry(),
    interval=float(os.environ.get(INTERVAL_ENV, DEFAULT_INTERVAL_SECONDS)),
)
