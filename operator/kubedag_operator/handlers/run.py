"""`Run` handlers: accept a Run into storage, launch it as a pod, mirror it, cancel it.

A daemon follows each Run (started for every Run when the operator starts, so a restart loses
nothing). Every `resync_seconds` it reads what is (the Run, the run record and its events, the
pod), lets the pure functions of `kubedag_operator.run_status` decide, acts, and writes the
status only when it changed:

1. not accepted yet: parse the spec (invalid → `Accepted=False`, reason `InvalidSpec`, the
   message naming the field; the daemon then stops for this Run and other Runs are not
   affected), resolve the Job and its CodeLocation (missing → `JobNotFound` /
   `CodeLocationNotFound`, tried again), find the namespace's Instance, then create the run
   record with `instance.create_run(…, idempotency_key="k8s-run:UID")` — a second attempt
   finds the same record — and hand it to the Instance's run coordinator (`submit_run`),
   which launches it through the Kubernetes run launcher: a pod owned by the Run (the run tags
   `kubedag.io/owner-*`), running the CodeLocation's image.
   The operator does not import user code: before recording the run it asks the
   CodeLocation's code server (when it is Ready) to check the run config and partition, and a
   mistake is `Accepted=False`, reason `InvalidRunConfig`, with no run and no pod; without a
   Ready code server the run worker checks it, and a mistake ends the run FAILURE with the
   reason in its events (`kubedag logs RUN_ID`).
2. then, until the run finished: phase, times, step counts, conditions; retries with a new
   pod after an infrastructure failure listed in `spec.retry`; `activeDeadlineSeconds`.
3. once finished: `ttlSecondsAfterFinished` deletes the Run (the run record stays).

Deleting a Run whose run has not finished cancels it (`instance.terminate_run`): the pod gets
SIGTERM, the worker ends the run CANCELED, and only then is the finalizer removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import datetime
import time
from typing import TYPE_CHECKING, Any

import kopf

from kubedag_operator.code_location_objects import code_server_address
from kubedag_operator.instances import InstanceUnavailableError
from kubedag_operator.metrics import counted
from kubedag_operator.resources import (
    GROUP,
    VERSION,
    CodeLocationResource,
    InvalidResourceError,
    JobResource,
    RunResource,
)
from kubedag_operator.run_requests import RunRequest, idempotency_key, run_request
from kubedag_operator.run_status import (
    WORKER_STATUSES,
    ActionKind,
    PodView,
    RunAction,
    RunObservation,
    StepCounts,
    conditions_of,
    decide,
    rejected_status,
    run_status,
    status_changed,
)
from kubedag_operator.settings import announce
from kubedag_operator.state import OperatorState, operator_state

if TYPE_CHECKING:
    from kubedag.instance.instance import Instance
    from kubedag.records.run import Run


CHECK_TIMEOUT_SECONDS = 10.0


class Rejection(Exception):
    """The Run cannot be accepted (yet): a reason for `Accepted=False`, and whether trying
    again later may help (a missing Job may be created; an invalid spec never changes)."""

    def __init__(self, reason: str, message: str, *, final: bool) -> None:
        super().__init__(message)
        self.reason, self.message, self.final = reason, message, final


# -- reading -----------------------------------------------------------------------------------
def _resolve(state: OperatorState, run: RunResource, uid: str) -> tuple[RunRequest, dict[str, Any]]:
    """The run a Run asks for, and its CodeLocation object."""
    namespace = run.metadata.namespace or ""
    job_name = run.spec.job_ref.name
    job_body = state.kube.get_custom("jobs", namespace, job_name)
    if job_body is None:
        raise Rejection(
            "JobNotFound",
            f"spec.jobRef.name: no Job {job_name!r} in namespace {namespace!r}; create it or "
            "fix the name",
            final=False,
        )
    try:
        job = JobResource.parse(job_body)
    except InvalidResourceError as exc:
        raise Rejection("JobNotFound", f"spec.jobRef.name: {exc}", final=False) from None
    location_name = job.spec.code_location_ref.name
    location_body = state.kube.get_custom("codelocations", namespace, location_name)
    if location_body is None:
        raise Rejection(
            "CodeLocationNotFound",
            f"Job {job_name!r} names CodeLocation {location_name!r} (spec.codeLocationRef), "
            f"which does not exist in namespace {namespace!r}",
            final=False,
        )
    try:
        location = CodeLocationResource.parse(location_body)
    except InvalidResourceError as exc:
        raise Rejection("CodeLocationNotFound", str(exc), final=False) from None
    return run_request(run, job, location, uid), location_body


def check_run_config(
    request: RunRequest, location_body: dict[str, Any], logger: Any
) -> dict[str, str] | None:
    """Ask the CodeLocation's code server whether the run config (and partition) would be
    accepted, so a mistake is a condition on the Run (`InvalidRunConfig`, final) and no pod
    starts; the answer is the job's own run tags (its `@job(tags=...)`), which go on the run
    under the Job's and the Run's. Without a Ready code server (none deployed, still loading,
    unreachable) the answer is None: the run is accepted, and its worker checks the config and
    adds the job's tags when it starts."""
    from kubedag.code_server.client import CodeServerClient, CodeServerError

    conditions = (location_body.get("status") or {}).get("conditions") or []
    if not any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions):
        return None
    client = CodeServerClient(code_server_address(location_body), timeout=CHECK_TIMEOUT_SECONDS)
    try:
        check = client.check_run(
            request.job_name, request.run_config, request.partition, request.asset_selection
        )
    except CodeServerError as exc:
        logger.warning(f"The run config was not checked before the run: {exc}")
        return None
    if check.problem is not None:
        raise Rejection(
            "InvalidRunConfig",
            f"spec.runConfig (merged over the Job's): {check.problem}",
            final=True,
        )
    return check.run_tags


def observe(state: OperatorState, instance: Instance, run: Run) -> RunObservation:
    """One look at the run: its record, its events, its pod."""
    from kubedag.records.events import EventType
    from kubedag.runs.launchers.kubernetes import (
        POD_NAME_TAG,
        POD_NAMESPACE_TAG,
        K8sRunLauncher,
        health_from_pod,
    )
    from kubedag.runs.tags import resume_attempts

    record = instance.get_run_record_by_id(run.run_id)
    if record is None:
        raise Rejection("RunNotFound", f"run {run.run_id} is gone from storage", final=True)
    run = record.run
    now = time.time()
    step_types = {
        EventType.STEP_START: "start",
        EventType.STEP_SUCCESS: "succeeded",
        EventType.STEP_FAILURE: "failed",
        EventType.STEP_SKIPPED: "skipped",
    }
    end_types = (EventType.RUN_FAILURE, EventType.RUN_CANCELING, EventType.RUN_CANCELED)
    entries = instance.all_logs(run.run_id, of_type=[*step_types, *end_types])
    steps: dict[str, set[str]] = {kind: set() for kind in step_types.values()}
    end_messages = []
    for entry in entries:
        event = entry.event
        if event is None:
            continue
        if event.event_type in step_types and entry.step_key:
            steps[step_types[event.event_type]].add(entry.step_key)
        elif event.event_type in end_types:
            end_messages.append(event.message or entry.user_message)
    counts = StepCounts(
        succeeded=len(steps["succeeded"]),
        failed=len(steps["failed"] - steps["succeeded"]),
        skipped=len(steps["skipped"]),
        total=len(set().union(*steps.values())),
    )
    pod: PodView | None = None
    launcher = instance.run_launcher
    recorded = (
        launcher.recorded_pod(run)  # adopts a pod whose launch died before recording it
        if isinstance(launcher, K8sRunLauncher) and run.status.value in WORKER_STATUSES
        else None
    )
    name, namespace = recorded or (run.tags.get(POD_NAME_TAG), run.tags.get(POD_NAMESPACE_TAG))
    if name and namespace:
        timeout = (
            launcher.settings.pending_timeout_seconds
            if isinstance(launcher, K8sRunLauncher)
            else 300.0
        )
        body = state.kube.get_pod(namespace, name)
        health = health_from_pod(body, f"{namespace}/{name}", now, timeout)
        phase = ((body or {}).get("status") or {}).get("phase")
        ready = phase == "Running" and any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in ((body or {}).get("status") or {}).get("conditions") or []
        )
        pod = PodView(name, health.status.value, health.message, phase, ready)
    return RunObservation(
        run_id=run.run_id,
        status=run.status.value,
        now=now,
        created=record.create_timestamp,
        updated=record.update_timestamp,
        start_time=record.start_time,
        end_time=record.end_time,
        steps=counts,
        end_messages=tuple(end_messages),
        retries=resume_attempts(run),
        pod=pod,
    )


# -- acting ------------------------------------------------------------------------------------
def act(
    state: OperatorState,
    instance: Instance,
    body: Any,
    run_id: str,
    action: RunAction,
    observed: str,
    logger: Any,
) -> None:
    from kubedag.records.run import RunStatus
    from kubedag.runs import lifecycle

    meta = body["metadata"]
    kind = action.kind
    if kind is ActionKind.RELAUNCH:
        announce(body, logger, action.reason, f"run {run_id}: {action.message}", warning=True)
        relaunch(instance, run_id)
    elif kind is ActionKind.RETRY:
        announce(body, logger, "Retrying", f"run {run_id}: {action.message}", warning=True)
        instance.resume_run(run_id, action.message)
    elif kind is ActionKind.FAIL:
        announce(
            body, logger, action.reason, f"run {run_id} failed: {action.message}", warning=True
        )
        lifecycle.fail_run(instance, run_id, action.message, from_statuses=(RunStatus(observed),))
        instance.run_launcher.terminate(run_id)  # a pod stuck Pending is removed
    elif kind is ActionKind.MARK_CANCELED:
        lifecycle.mark_canceled(instance, run_id, action.message)
    elif kind is ActionKind.TERMINATE:
        announce(
            body, logger, action.reason, f"canceling run {run_id}: {action.message}", warning=True
        )
        lifecycle.terminate_run(instance, run_id, action.message)
    elif kind is ActionKind.DELETE:
        announce(
            body,
            logger,
            "Expired",
            f"deleting the Run: {action.message} (spec.ttlSecondsAfterFinished)",
        )
        state.kube.delete_custom("runs", meta["namespace"], meta["name"])


def relaunch(instance: Instance, run_id: str) -> None:
    """Launch a STARTING run again (its pod name is fixed: a pod that exists is kept); a launch
    that fails now ends the run FAILURE, naming why (`start_run_worker` does)."""
    from kubedag.errors import RunLaunchError
    from kubedag.records.run import RunStatus
    from kubedag.runs import lifecycle

    run = instance.get_run_by_id(run_id)
    if run is None or run.status is not RunStatus.STARTING:
        return
    with contextlib.suppress(RunLaunchError):
        lifecycle.start_run_worker(instance, run)


def _write(state: OperatorState, body: Any, status: dict[str, Any]) -> None:
    if status_changed(body.get("status"), status):
        meta = body["metadata"]
        state.kube.patch_custom_status("runs", meta["namespace"], meta["name"], status)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


@counted("Run")
def follow_once(state: OperatorState, namespace: str, name: str, logger: Any) -> bool:
    """One reconciliation of a Run; True when there is nothing left to follow."""
    body = state.kube.get_custom("runs", namespace, name)
    if body is None or body["metadata"].get("deletionTimestamp"):
        return True
    meta = body["metadata"]
    uid, generation = meta["uid"], meta.get("generation")
    with state.lock(uid):
        try:
            resource = RunResource.parse(body)
        except InvalidResourceError as exc:
            status = rejected_status(
                "InvalidSpec", exc.message, conditions_of(body), now=_now(), generation=generation
            )
            if status_changed(body.get("status"), status):
                announce(body, logger, "InvalidSpec", exc.message, warning=True)
            _write(state, body, status)
            return True
        try:
            instance = state.instance_for(namespace)
            run = instance.get_run_by_idempotency_key(idempotency_key(uid))
            if run is None:
                request, location_body = _resolve(state, resource, uid)
                job_tags = check_run_config(request, location_body, logger)
                run = instance.create_run(
                    job_name=request.job_name,
                    run_config=request.run_config,
                    tags={**(job_tags or {}), **request.tags},
                    partition=request.partition,
                    code_location=request.code_location,
                    asset_selection=_asset_keys(request.asset_selection),
                    idempotency_key=idempotency_key(uid),
                )
                announce(
                    body, logger, "Accepted", f"Created run {run.run_id} of job {request.job_name}"
                )
            if run.status.value == "NOT_STARTED":
                try:
                    instance.submit_run(run.run_id)
                except Exception as exc:  # the run ends FAILURE with the reason
                    logger.error(f"Run {run.run_id} could not be launched: {exc}")
            observation = observe(state, instance, run)
            action = decide(observation, resource.spec)
            if action.kind is not ActionKind.NONE:
                act(state, instance, body, run.run_id, action, observation.status, logger)
                if action.kind is ActionKind.DELETE:
                    return True
                observation = observe(state, instance, run)
        except InstanceUnavailableError as exc:
            _write(
                state,
                body,
                rejected_status(
                    exc.reason, exc.message, conditions_of(body), now=_now(), generation=generation
                ),
            )
            return False
        except Rejection as exc:
            status = rejected_status(
                exc.reason, exc.message, conditions_of(body), now=_now(), generation=generation
            )
            if status_changed(body.get("status"), status):
                announce(body, logger, exc.reason, exc.message, warning=True)
            _write(state, body, status)
            return exc.final
        status = run_status(observation, conditions_of(body), now=_now(), generation=generation)
        _write(state, body, status)
        finished = observation.status in ("SUCCESS", "FAILURE", "CANCELED")
        if finished and body.get("status", {}).get("phase") != status["phase"]:
            condition = next(c for c in status["conditions"] if c["type"] == "Succeeded")
            announce(
                body,
                logger,
                condition["reason"],
                f"run {observation.run_id} {status['phase']}: {condition['message']}",
                warning=condition["status"] != "True",
            )
        return finished and resource.spec.ttl_seconds_after_finished is None


def _asset_keys(paths: list[str] | None) -> list[Any] | None:
    if paths is None:
        return None
    from kubedag.definitions.asset_key import AssetKey

    return [AssetKey.from_user_string(path) for path in paths]


@kopf.daemon(GROUP, VERSION, "runs", cancellation_backoff=2.0, cancellation_timeout=10.0)
async def follow_run(
    stopped: kopf.DaemonStopped,
    memo: Any,
    namespace: str | None,
    name: str,
    logger: Any,
    **_: Any,
) -> None:
    """Follow one Run until it finished (and, with a TTL, until it is deleted): every
    `resync_seconds`, and at once when its pod changes (`pod_changed`)."""
    state = operator_state(memo)
    loop = asyncio.get_running_loop()
    key = (namespace or "", name)
    wake = state.run_wakeups.setdefault(key, asyncio.Event())
    try:
        while not stopped:
            wake.clear()
            try:
                done = await loop.run_in_executor(
                    None,
                    contextvars.copy_context().run,
                    follow_once,
                    state,
                    namespace or "",
                    name,
                    logger,
                )
            except Exception as exc:  # storage or API trouble: say so, try again
                logger.exception(f"Following the Run failed; trying again: {exc}")
                done = False
            if done:
                return
            await _sleep_or_wake(stopped, wake, state.options.resync_seconds)
    finally:
        state.run_wakeups.pop(key, None)


async def _sleep_or_wake(stopped: kopf.DaemonStopped, wake: asyncio.Event, seconds: float) -> None:
    sleeping = asyncio.ensure_future(stopped.wait(seconds))
    woken = asyncio.ensure_future(wake.wait())
    try:
        await asyncio.wait((sleeping, woken), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sleeping, woken):
            task.cancel()


@kopf.on.event(
    "",
    "v1",
    "pods",
    labels={"app.kubernetes.io/component": "run-worker", "app.kubernetes.io/managed-by": "kubedag"},
)
async def pod_changed(body: kopf.Body, memo: Any, **_: Any) -> None:
    """A run pod changed (scheduled, started, OOMKilled, deleted…): wake its Run's daemon so
    the status follows the pod within moments, not at the next resync."""
    metadata = body.get("metadata") or {}
    for owner in metadata.get("ownerReferences") or []:
        if owner.get("kind") == "Run" and str(owner.get("apiVersion", "")).startswith(GROUP):
            key = (metadata.get("namespace") or "", owner.get("name") or "")
            wake = operator_state(memo).run_wakeups.get(key)
            if wake is not None:
                wake.set()


@kopf.on.delete(GROUP, VERSION, "runs")
def cancel_run(
    body: kopf.Body,
    memo: Any,
    namespace: str | None,
    uid: str,
    logger: Any,
    retry: int,
    **_: Any,
) -> None:
    """A Run deleted before its run finished cancels the run; the finalizer stays until the
    run is CANCELED (its pod gets SIGTERM and the worker stops)."""
    from kubedag.runs import lifecycle

    state = operator_state(memo)
    try:
        instance = state.instance_for(namespace or "")
    except InstanceUnavailableError as exc:
        logger.warning(f"The run of this Run cannot be canceled: {exc.message}")
        return
    with state.lock(uid):
        run = instance.get_run_by_idempotency_key(idempotency_key(uid))
        if run is None or run.is_finished:
            state.forget(uid)
            return
        if run.status.value in ("NOT_STARTED", "QUEUED", "STARTING", "STARTED"):
            announce(body, logger, "Canceling", f"run {run.run_id}: its Run was deleted")
            lifecycle.terminate_run(instance, run.run_id, "its Run was deleted")
        run = instance.get_run_by_id(run.run_id) or run
        if run.status.value == "CANCELING":
            observation = observe(state, instance, run)
            gone = observation.pod is None or observation.pod.health in (
                "NOT_FOUND",
                "FAILED",
                "SUCCESS",
            )
            if gone or retry >= 120:
                lifecycle.mark_canceled(instance, run.run_id, "Run canceled: its Run was deleted.")
        run = instance.get_run_by_id(run.run_id) or run
        if not run.is_finished:
            raise kopf.TemporaryError(f"waiting for run {run.run_id} to stop", delay=1)
        state.forget(uid)
