"""`Schedule` handlers: create one `Run` per due tick, exactly once, and keep the history short.

Every few seconds (a kopf timer) and whenever its spec changes, each Schedule is reconciled:

1. Its Runs are listed (label `kubedag.io/schedule`, owner the Schedule), with each Run's tick
   (annotation `kubedag.io/scheduled-time`) and phase.
2. `kubedag_operator.schedule_ticks.decide_ticks` says which ticks after the cursor are due,
   which are skipped (deadline, Forbid) and which unfinished Runs go first (Replace). The cursor
   is the last tick handled, kept in the annotation `kubedag.io/last-tick` (the creation time
   before the first tick), so ticks missed while suspended or skipped never come back.
3. Each due tick creates a Run named `<schedule>-<unix seconds of the tick>` (see `run_name`),
   owned by the Schedule, with the Job reference, run config, tags (`kubedag.io/schedule`,
   `kubedag.io/scheduled-time`) and partition. "Already exists" means the tick was done, so an
   operator that restarts (or two evaluations racing) never doubles a run. The cursor is saved
   after the Runs exist.
4. Finished Runs beyond `successfulRunsHistoryLimit` / `failedRunsHistoryLimit` are deleted,
   oldest first (their run records stay in storage).
5. The status gets `lastScheduleTime`, `nextScheduleTime`, `active` and `Ready` (reasons
   `Scheduled`, `Suspended`, `InvalidSpec`, `InvalidCron`, `UnknownTimeZone`, `JobNotFound`,
   `PartitionsUnavailable`, `InvalidPartitionSelection`). With the last three no Run is
   created and the cursor stays, so the latest missed ticks run once the cause is gone
   (within the starting deadline).

Partitions: `partitionSelection.mode: Key` sets the Run's `partition` to `key`;
`LatestComplete` sets it to the time window that ended last before the tick, read from the
job's partitions in its CodeLocation's snapshot (`jobs[].partitions`, asked of the code server
when a tick is due). While the code server does not answer, no Run is created and the cursor
stays (`Ready=False`, `PartitionsUnavailable`), so the ticks run once it does.

The clock: `KUBEDAG_OPERATOR_NOW` (an ISO time with an offset), when set, replaces the real
time in this module. It is for tests only (driving ticks across an operator restart without
waiting for real minutes); never set it in a deployment.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from typing import Any

import kopf

from kubedag_operator.code_location_objects import code_server_address, label_value
from kubedag_operator.handlers.code_location import (
    handler_api,
    object_lock,
    ready_status,
)
from kubedag_operator.kube import KubeApi
from kubedag_operator.metrics import counted
from kubedag_operator.resources import (
    API_VERSION,
    GROUP,
    VERSION,
    ConditionStatus,
    InvalidResourceError,
    ScheduleResource,
)
from kubedag_operator.resources.schedule import PartitionSelectionMode
from kubedag_operator.schedule_ticks import (
    InvalidScheduleError,
    PartitionSelectionError,
    ScheduleRunInfo,
    TickPolicy,
    check_policy,
    decide_ticks,
    latest_complete_partition,
    run_name,
    runs_to_delete,
    utc_text,
)

log = logging.getLogger(__name__)

PLURAL = "schedules"
RUNS = "runs"
JOBS = "jobs"
CODE_LOCATIONS = "codelocations"
SCHEDULE_LABEL = "kubedag.io/schedule"
SCHEDULE_TAG = "kubedag.io/schedule"
SCHEDULED_TIME_TAG = "kubedag.io/scheduled-time"
SCHEDULED_TIME_ANNOTATION = "kubedag.io/scheduled-time"
CURSOR_ANNOTATION = "kubedag.io/last-tick"
NOW_ENV = "KUBEDAG_OPERATOR_NOW"  # test-only clock
INTERVAL_ENV = "KUBEDAG_OPERATOR_SCHEDULE_INTERVAL"
DEFAULT_INTERVAL_SECONDS = 10.0
STATUS_KEYS = (
    "lastScheduleTime",
    "nextScheduleTime",
    "active",
    "observedGeneration",
    "conditions",
)


def operator_now() -> datetime:
    """Now, or the test clock `KUBEDAG_OPERATOR_NOW`."""
    text = os.environ.get(NOW_ENV)
    if text:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    return datetime.now(UTC)


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def tick_policy(schedule: ScheduleResource) -> TickPolicy:
    spec = schedule.spec
    selection = spec.partition_selection
    catchup = 1
    if selection is not None and selection.mode is PartitionSelectionMode.LATEST_COMPLETE:
        catchup = max(selection.max_catchup_ticks, 1)
    return TickPolicy(
        cron=tuple(spec.cron),
        time_zone=spec.time_zone,
        suspend=spec.suspend,
        concurrency_policy=spec.concurrency_policy.value,
        starting_deadline_seconds=spec.starting_deadline_seconds,
        max_catchup_ticks=catchup,
    )


def run_manifest(
    schedule: ScheduleResource, tick: datetime, partition: str | None = None
) -> dict[str, Any]:
    """The Run of `schedule` for `tick` (of `partition`, chosen by the caller for
    `LatestComplete`)."""
    spec, name = schedule.spec, schedule.metadata.name or ""
    tags = {**(spec.tags or {}), SCHEDULE_TAG: name, SCHEDULED_TIME_TAG: tick.isoformat()}
    run_spec: dict[str, Any] = {"jobRef": {"name": spec.job_ref.name}, "tags": tags}
    if spec.run_config:
        run_spec["runConfig"] = spec.run_config
    selection = spec.partition_selection
    if selection is not None and selection.mode is PartitionSelectionMode.KEY:
        run_spec["partition"] = selection.key
    elif partition is not None:
        run_spec["partition"] = partition
    return {
        "apiVersion": API_VERSION,
        "kind": "Run",
        "metadata": {
            "name": run_name(name, tick),
            "labels": {SCHEDULE_LABEL: label_value(name)},
            "annotations": {SCHEDULED_TIME_ANNOTATION: tick.isoformat()},
            "ownerReferences": [
                {
                    "apiVersion": API_VERSION,
                    "kind": "Schedule",
                    "name": name,
                    "uid": schedule.metadata.uid or "",
                    "controller": True,
                    "blockOwnerDeletion": False,
                }
            ],
        },
        "spec": run_spec,
    }


def schedule_runs(
    api: KubeApi, namespace: str, name: str, uid: str | None
) -> list[tuple[ScheduleRunInfo, dict[str, Any]]]:
    """The Runs this schedule created (by label and owner), with what decides ticks."""
    path = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{RUNS}"
    runs = []
    for body in api.list_objects(path, {SCHEDULE_LABEL: label_value(name)}):
        metadata = body.get("metadata") or {}
        owners = metadata.get("ownerReferences") or []
        if uid and not any(owner.get("uid") == uid for owner in owners):
            continue
        tick = _parse_time((metadata.get("annotations") or {}).get(SCHEDULED_TIME_ANNOTATION))
        tick = tick or _parse_time(metadata.get("creationTimestamp")) or datetime.now(UTC)
        phase = (body.get("status") or {}).get("phase")
        runs.append((ScheduleRunInfo(metadata["name"], tick, phase), body))
    return runs


def _create_run(api: KubeApi, namespace: str, manifest: dict[str, Any]) -> bool:
    """Create the Run; False when it already exists (the tick was done before)."""
    return api.create(f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{RUNS}", manifest)


class PartitionsUnavailableError(Exception):
    """The job's partitions cannot be read now (its CodeLocation's server does not answer)."""


def job_partitions(api: KubeApi, namespace: str, job: dict[str, Any]) -> dict[str, Any] | None:
    """The partitions of a Job's job (or of its selected assets), as the code server's snapshot
    summarizes them."""
    from kubedag.code_server.client import CodeServerClient, CodeServerError

    spec = job.get("spec") or {}
    location_name = (spec.get("codeLocationRef") or {}).get("name") or ""
    location = api.get_custom(CODE_LOCATIONS, namespace, location_name)
    if location is None:
        raise PartitionsUnavailableError(f"CodeLocation {location_name!r} does not exist.")
    try:
        snapshot = CodeServerClient(code_server_address(location), timeout=10).snapshot()
    except CodeServerError as exc:
        raise PartitionsUnavailableError(
            f"The job's partitions cannot be read from CodeLocation {location_name!r}: {exc}"
        ) from None
    if spec.get("jobName"):
        found = next((j for j in snapshot.jobs if j.name == spec["jobName"]), None)
        if found is None:
            raise PartitionsUnavailableError(
                f"CodeLocation {location_name!r} defines no job {spec['jobName']!r}."
            )
        return found.partitions
    selected = set(spec.get("assetSelection") or [])
    kinds = [a.partitions for a in snapshot.assets if a.key in selected and a.partitions]
    return kinds[0] if kinds else None


@counted("Schedule")
def reconcile_schedule(api: KubeApi, body: dict[str, Any], now: datetime) -> dict[str, Any]:
    """One evaluation of a Schedule at `now` (see the module docstring); answers its status."""
    metadata = body.get("metadata") or {}
    namespace, name = metadata.get("namespace") or "default", metadata["name"]
    false = ConditionStatus.FALSE

    def finish(status: ConditionStatus, reason: str, message: str, **fields: Any) -> dict[str, Any]:
        new = ready_status(body, status, reason, message, now, **fields)
        current = body.get("status") or {}
        if any(current.get(key) != new.get(key) for key in STATUS_KEYS):
            api.patch_custom_status(PLURAL, namespace, name, {k: new.get(k) for k in STATUS_KEYS})
        return new

    try:
        schedule = ScheduleResource.parse(body)
        policy = tick_policy(schedule)
        check_policy(policy)
    except InvalidResourceError as exc:
        return finish(false, "InvalidSpec", exc.message)
    except InvalidScheduleError as exc:
        return finish(false, exc.reason, str(exc))

    observed = schedule_runs(api, namespace, name, schedule.metadata.uid)
    runs = [info for info, _ in observed]
    annotations = metadata.get("annotations") or {}
    cursor = (
        _parse_time(annotations.get(CURSOR_ANNOTATION))
        or _parse_time(metadata.get("creationTimestamp"))
        or now
    )
    last = _parse_time((body.get("status") or {}).get("lastScheduleTime"))
    job = api.get_custom(JOBS, namespace, schedule.spec.job_ref.name)
    decision = decide_ticks(policy, cursor=cursor, now=now, runs=runs)
    # Why no tick can be acted on now (the cursor stays, so the ticks are done later).
    blocked: tuple[str, str] | None = None
    partitions: dict[str, str | None] = {}
    selection = schedule.spec.partition_selection
    if job is None:
        blocked = (
            "JobNotFound",
            f"spec.jobRef.name: no Job {schedule.spec.job_ref.name!r} (jobs.kubedag.io) in "
            "this namespace; no Run is created until it exists.",
        )
    elif (
        decision.create
        and selection is not None
        and selection.mode is PartitionSelectionMode.LATEST_COMPLETE
    ):
        try:
            summary = job_partitions(api, namespace, job)
            partitions = {
                tick.isoformat(): latest_complete_partition(summary, tick)
                for tick in decision.create
            }
        except PartitionsUnavailableError as exc:
            blocked = ("PartitionsUnavailable", str(exc))
        except (PartitionSelectionError, ValueError) as exc:
            blocked = ("InvalidPartitionSelection", str(exc))
    deleted: set[str] = set()
    if blocked is None:
        for run in decision.delete:
            api.delete_custom(RUNS, namespace, run)
            deleted.add(run)
            log.info("Schedule %s/%s: deleted unfinished Run %s (Replace)", namespace, name, run)
        for tick in decision.create:
            if tick.isoformat() in partitions and partitions[tick.isoformat()] is None:
                log.info("Schedule %s/%s: no partition complete at %s", namespace, name, tick)
                continue
            manifest = run_manifest(schedule, tick, partitions.get(tick.isoformat()))
            if _create_run(api, namespace, manifest):
                log.info(
                    "Schedule %s/%s: created Run %s", namespace, name, manifest["metadata"]["name"]
                )
                runs.append(ScheduleRunInfo(manifest["metadata"]["name"], tick))
            if last is None or tick > last:
                last = tick
        for tick, why in decision.skipped:
            log.info("Schedule %s/%s: skipped tick %s (%s)", namespace, name, tick.isoformat(), why)
        if decision.cursor is not None and decision.cursor != cursor:
            api.annotate_custom(
                PLURAL, namespace, name, {CURSOR_ANNOTATION: decision.cursor.isoformat()}
            )

    spec = schedule.spec
    for run in runs_to_delete(
        runs, spec.successful_runs_history_limit, spec.failed_runs_history_limit
    ):
        api.delete_custom(RUNS, namespace, run)
        deleted.add(run)
    phases = {info.name: body for info, body in observed}
    active = [
        {"name": run.name, "runId": ((phases.get(run.name) or {}).get("status") or {}).get("runId")}
        for run in sorted(runs, key=lambda r: r.tick.timestamp())
        if not run.finished and run.name not in deleted
    ]
    fields: dict[str, Any] = {
        "lastScheduleTime": utc_text(last) if last else None,
        "nextScheduleTime": (
            utc_text(decision.next_schedule_time) if decision.next_schedule_time else None
        ),
        "active": [{k: v for k, v in item.items() if v is not None} for item in active] or None,
    }
    if blocked is not None:
        return finish(false, *blocked, **fields)
    if spec.suspend:
        return finish(false, "Suspended", "spec.suspend is true: no tick creates a Run.", **fields)
    return finish(
        ConditionStatus.TRUE,
        "Scheduled",
        f"Ticking on {', '.join(spec.cron)} ({spec.time_zone}).",
        **fields,
    )


def register(
    registry: kopf.OperatorRegistry,
    api: KubeApi | None = None,
    *,
    interval: float = DEFAULT_INTERVAL_SECONDS,
) -> None:
    """Register the Schedule handlers in `registry`, acting through `api`."""

    def reconcile(body: kopf.Body, memo: Any, **_: Any) -> None:
        with object_lock(memo, body.get("metadata", {}).get("uid", "")):
            reconcile_schedule(handler_api(api, memo), dict(body), operator_now())

    kopf.on.update(GROUP, VERSION, PLURAL, registry=registry, id="schedule", field="spec")(
        reconcile
    )
    kopf.timer(GROUP, VERSION, PLURAL, registry=registry, id="schedule-tick", interval=interval)(
        reconcile
    )


register(
    kopf.get_default_registry(),
    interval=float(os.environ.get(INTERVAL_ENV, DEFAULT_INTERVAL_SECONDS)),
)
