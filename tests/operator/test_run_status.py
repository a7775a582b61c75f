"""The pure decisions of the Run handler (`kubedag_operator.run_status`) and of building a Run's
run record and an Instance's runtime document: data in, data out."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest

from kubedag.runs.launchers.pod_overrides import POD_OVERRIDES_TAG
from kubedag_operator.instances import (
    InstanceUnavailableError,
    SecretReference,
    choose_instance,
    redact,
    runtime_document,
)
from kubedag_operator.resources import (
    CodeLocationResource,
    InstanceSpec,
    JobResource,
    RunResource,
    RunSpec,
)
from kubedag_operator.run_requests import run_request
from kubedag_operator.run_status import (
    ActionKind,
    PodView,
    RunObservation,
    StepCounts,
    decide,
    finished_condition,
    infrastructure_reason,
    merge_run_config,
    phase_of,
    run_status,
)

NOW = 1_800_000_000.0
RUNNING = PodView("kubedag-run-r", "RUNNING", "pod ns/p is running", "Running", True)
GONE = PodView("kubedag-run-r", "NOT_FOUND", "pod ns/p is gone")
OOM = PodView("kubedag-run-r", "FAILED", "OOMKilled: the worker ran out of memory", "Failed")
EVICTED = PodView("kubedag-run-r", "FAILED", "Evicted: pod ns/p was evicted: low", "Failed")
PULL = PodView("kubedag-run-r", "FAILED", "ImagePullBackOff: pod ns/p cannot start", "Pending")
EXITED = PodView("kubedag-run-r", "FAILED", "Error: the worker exited with code 3", "Failed")


def observed(status: str, pod: PodView | None = RUNNING, **kwargs: Any) -> RunObservation:
    values: dict[str, Any] = {"run_id": "r", "status": status, "now": NOW, "created": NOW - 10}
    return RunObservation(**{**values, "pod": pod, **kwargs})


def spec(**values: Any) -> RunSpec:
    return RunSpec.model_validate({"jobRef": {"name": "j"}, **values})


@pytest.mark.parametrize(
    ("status", "phase"),
    [
        ("NOT_STARTED", "Queued"),
        ("QUEUED", "Queued"),
        ("STARTING", "Starting"),
        ("STARTED", "Running"),
        ("CANCELING", "Running"),
        ("SUCCESS", "Succeeded"),
        ("FAILURE", "Failed"),
        ("CANCELED", "Canceled"),
    ],
)
def test_the_phase_follows_the_run_record(status: str, phase: str) -> None:
    assert phase_of(status) == phase


@pytest.mark.parametrize(
    ("pod", "reason"),
    [
        (RUNNING, None),
        (GONE, "PodLost"),
        (OOM, "OOMKilled"),
        (EVICTED, "Evicted"),
        (PULL, "ImagePullBackOff"),
        (EXITED, "WorkerExited"),
        (PodView("p", "SUCCESS", "pod ns/p succeeded", "Succeeded"), "WorkerExited"),
    ],
)
def test_the_infrastructure_reason_comes_from_the_pod(pod: PodView, reason: str | None) -> None:
    assert infrastructure_reason(pod) == reason


def test_a_lost_pod_is_retried_only_for_listed_reasons_and_up_to_the_limit() -> None:
    retry = spec(retry={"limit": 2, "reasons": ["PodLost", "OOMKilled"]})
    assert decide(observed("STARTED", GONE), retry).kind is ActionKind.RETRY
    assert decide(observed("STARTED", OOM, retries=1), retry).kind is ActionKind.RETRY
    exhausted = decide(observed("STARTED", GONE, retries=2), retry)
    assert (exhausted.kind, exhausted.reason) == (ActionKind.FAIL, "PodLost")
    assert "after 2 retries" in exhausted.message
    not_listed = decide(observed("STARTED", EVICTED), retry)
    assert (not_listed.kind, not_listed.reason) == (ActionKind.FAIL, "Evicted")
    # the default: no retries at all
    assert decide(observed("STARTED", GONE), spec()).kind is ActionKind.FAIL
    # a run that never started cannot be resumed: it fails
    assert decide(observed("STARTING", PULL), retry).kind is ActionKind.FAIL
    assert decide(observed("STARTED", RUNNING), retry).kind is ActionKind.NONE


def test_a_run_starting_without_a_pod_for_too_long_is_launched_again() -> None:
    fresh = observed("STARTING", None, created=NOW - 100, updated=NOW - 5)
    assert decide(fresh, spec()).kind is ActionKind.NONE  # the pod is on its way
    stuck = decide(observed("STARTING", None, created=NOW - 100, updated=NOW - 40), spec())
    assert (stuck.kind, stuck.reason) == (ActionKind.RELAUNCH, "Relaunching")
    assert "40s without a pod" in stuck.message
    shorter = observed("STARTING", None, updated=NOW - 2)
    assert decide(shorter, spec(), launch_grace_seconds=1).kind is ActionKind.RELAUNCH
    # with a pod, or in another status, nothing is launched again
    assert decide(observed("STARTING", RUNNING, updated=NOW - 99), spec()).kind is ActionKind.NONE
    assert decide(observed("QUEUED", None, updated=NOW - 99), spec()).kind is ActionKind.NONE


def test_deadline_ttl_and_canceling() -> None:
    late = decide(observed("STARTED", start_time=NOW - 120), spec(activeDeadlineSeconds=60))
    assert (late.kind, late.reason) == (ActionKind.TERMINATE, "DeadlineExceeded")
    assert "spec.activeDeadlineSeconds" in late.message
    on_time = decide(observed("STARTED", start_time=NOW - 5), spec(activeDeadlineSeconds=60))
    assert on_time.kind is ActionKind.NONE
    assert decide(observed("CANCELING", GONE), spec()).kind is ActionKind.MARK_CANCELED
    assert decide(observed("CANCELING"), spec()).kind is ActionKind.NONE
    ttl = spec(ttlSecondsAfterFinished=30)
    assert decide(observed("SUCCESS", end_time=NOW - 31), ttl).kind is ActionKind.DELETE
    assert decide(observed("SUCCESS", end_time=NOW - 5), ttl).kind is ActionKind.NONE
    assert decide(observed("FAILURE", end_time=NOW - 1e6), spec()).kind is ActionKind.NONE
    assert decide(observed("QUEUED", None), spec()).kind is ActionKind.NONE


def test_the_succeeded_condition_names_the_reason() -> None:
    assert finished_condition(observed("STARTED")) is None
    assert finished_condition(observed("SUCCESS"))[1] == "Succeeded"  # type: ignore[index]
    user = finished_condition(observed("FAILURE", steps=StepCounts(failed=1, total=1)))
    assert user is not None and user[1] == "UserCodeError"
    oom = finished_condition(observed("FAILURE", end_messages=("OOMKilled: the worker …",)))
    assert oom is not None and oom[1] == "OOMKilled"
    deadline = finished_condition(
        observed("CANCELED", end_messages=("Canceling run: DeadlineExceeded: …", "Canceled"))
    )
    assert deadline is not None and deadline[1] == "DeadlineExceeded"
    canceled = finished_condition(observed("CANCELED", end_messages=("by alice",)))
    assert canceled is not None and canceled[1] == "Canceled"


def test_the_status_keeps_transition_times_of_unchanged_conditions() -> None:
    first_time = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    later = first_time + datetime.timedelta(minutes=5)
    o = observed("STARTED", start_time=NOW - 1, steps=StepCounts(succeeded=1, total=2))
    first = run_status(o, [], now=first_time, generation=1)
    from kubedag_operator.run_status import conditions_of

    again = run_status(o, conditions_of({"status": first}), now=later, generation=1)
    assert again == first
    assert first["phase"] == "Running" and first["podName"] == "kubedag-run-r"
    assert first["steps"] == {"succeeded": 1, "failed": 0, "skipped": 0, "total": 2}
    assert first["completionTime"] is None
    types = {c["type"]: c for c in first["conditions"]}
    assert types["Accepted"]["status"] == "True" and types["PodReady"]["reason"] == "Running"


def test_run_config_merges_key_by_key() -> None:
    job = {"execution": {"config": {"multiprocess": {"max_concurrent": 4}}}, "ops": {"a": {}}}
    run = {"ops": {"b": {"config": {"x": 1}}}, "execution": {"config": {"multiprocess": {}}}}
    assert merge_run_config(job, run) == {
        "execution": {"config": {"multiprocess": {"max_concurrent": 4}}},
        "ops": {"a": {}, "b": {"config": {"x": 1}}},
    }
    assert merge_run_config(None, None) == {}


def test_a_run_request_takes_the_jobs_defaults_the_locations_code_and_owner_tags() -> None:
    run = RunResource.parse(
        {
            "kind": "Run",
            "metadata": {"name": "r1", "namespace": "data", "uid": "u-1"},
            "spec": {
                "jobRef": {"name": "daily"},
                "tags": {"team": "ops"},
                "partition": "2026-01-01",
            },
        }
    )
    job = JobResource.parse(
        {
            "kind": "Job",
            "metadata": {"name": "daily"},
            "spec": {
                "codeLocationRef": {"name": "sales"},
                "assetSelection": ["a/b"],
                "tags": {"team": "data", "tier": "1"},
            },
        }
    )
    location = CodeLocationResource.parse(
        {
            "kind": "CodeLocation",
            "metadata": {"name": "sales"},
            "spec": {"image": "img:1", "module": "sales.defs", "workingDir": "/app"},
        }
    )
    request = run_request(run, job, location, "u-1")
    assert request.job_name == "__ASSET_JOB" and request.asset_selection == ["a/b"]
    assert request.code_location == {"module_name": "sales.defs", "working_directory": "/app"}
    assert request.partition == "2026-01-01"
    tags = request.tags
    assert (tags["team"], tags["tier"], tags["kubedag/image"]) == ("ops", "1", "img:1")
    assert tags["kubedag.io/owner-uid"] == "u-1" and tags["kubedag.io/owner-name"] == "r1"
    assert tags["kubedag.io/owner-namespace"] == "data"


def test_the_run_carries_the_locations_and_the_jobs_pod_overrides() -> None:
    run = RunResource.parse(
        {"kind": "Run", "metadata": {"name": "r2", "uid": "u-2"}, "spec": {"jobRef": {"name": "j"}}}
    )
    location = CodeLocationResource.parse(
        {
            "kind": "CodeLocation",
            "metadata": {"name": "sales"},
            "spec": {
                "image": "img:1",
                "pythonFile": "/app/defs.py",
                "imagePullPolicy": "Always",
                "serviceAccountName": "sales-code",
                "env": [{"name": "REGION", "value": "eu"}, {"name": "TIER", "value": "1"}],
                "envFrom": [{"secretRef": {"name": "warehouse"}}],
                "imagePullSecrets": [{"name": "registry"}],
            },
        }
    )
    job = JobResource.parse(
        {
            "kind": "Job",
            "metadata": {"name": "j"},
            "spec": {
                "codeLocationRef": {"name": "sales"},
                "jobName": "etl",
                "pod": {
                    "serviceAccountName": "etl-runner",
                    "env": [{"name": "TIER", "value": "2"}],
                    "nodeSelector": {"pool": "batch"},
                    "resources": {"limits": {"memory": "2Gi"}},
                },
            },
        }
    )
    tags = run_request(run, job, location, "u-2").tags
    assert json.loads(tags[POD_OVERRIDES_TAG]) == {
        "env": [{"name": "REGION", "value": "eu"}, {"name": "TIER", "value": "2"}],
        "envFrom": [{"secretRef": {"name": "warehouse"}}],
        "imagePullPolicy": "Always",
        "imagePullSecrets": [{"name": "registry"}],
        "serviceAccountName": "etl-runner",
        "nodeSelector": {"pool": "batch"},
        "resources": {"limits": {"memory": "2Gi"}},
    }
    bare = CodeLocationResource.parse(
        {"kind": "CodeLocation", "metadata": {"name": "s"}, "spec": {"image": "i", "module": "m"}}
    )
    plain_job = JobResource.parse(
        {
            "kind": "Job",
            "metadata": {"name": "j"},
            "spec": {"codeLocationRef": {"name": "s"}, "jobName": "etl"},
        }
    )
    assert POD_OVERRIDES_TAG not in run_request(run, plain_job, bare, "u-2").tags


def test_the_runtime_document_holds_references_and_pods_get_the_secrets() -> None:
    spec_ = InstanceSpec.model_validate(
        {
            "storage": {
                "postgres": {"postgres_url": {"secretKeyRef": {"name": "pg", "key": "url"}}}
            },
            "compute_logs": {
                "s3": {
                    "bucket": "b",
                    "credentials": {
                        "access_key_id": {"secretKeyRef": {"name": "s3", "key": "id"}},
                        "secret_access_key": {"secretKeyRef": {"name": "s3", "key": "secret"}},
                    },
                }
            },
        }
    )
    built = runtime_document(spec_, "data", in_cluster=True)
    url_env = built.document["storage"]["postgres"]["postgres_url"]["env"]
    launcher = built.document["run_launcher"]["kubernetes"]
    assert launcher["namespace"] == "data" and launcher["in_cluster"] is True
    names = [entry["name"] for entry in launcher["env"]]
    assert {url_env, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} <= set(names)
    assert SecretReference(url_env, "pg", "url") in built.secrets
    assert "credentials" not in built.document["compute_logs"]["s3"]
    local = runtime_document(
        InstanceSpec.model_validate({"run_launcher": {"local_process": {}}}), "x", in_cluster=False
    )
    assert local.document["run_launcher"] == {"local_process": {}}


def test_exactly_one_instance_per_namespace() -> None:
    assert choose_instance(["kubedag"], "data") == "kubedag"
    with pytest.raises(InstanceUnavailableError) as none:
        choose_instance([], "data")
    assert none.value.reason == "InstanceNotFound"
    with pytest.raises(InstanceUnavailableError) as two:
        choose_instance(["a", "b"], "data")
    assert two.value.reason == "MultipleInstances" and "a, b" in two.value.message


def test_secret_values_never_reach_a_message() -> None:
    assert redact("cannot connect to postgresql://u:hunter2@db", ["hunter2"]) == (
        "cannot connect to postgresql://u:***@db"
    )
