"""`K8sRunLauncher` against the emulated Kubernetes API (`tests/fixtures/kubernetes.py`), whose
test kubelet runs each pod's `kubedag run-worker` as a local process, with a real PostgreSQL
(run storage) and a real S3-API server (compute logs). Secrets reach the pods only through a
Kubernetes Secret."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import kubedag as dg
from kubedag.errors import InstanceConfigError
from kubedag.runs.launchers.base import LaunchRunContext, WorkerHealth, WorkerStatus
from kubedag.runs.launchers.kubernetes import (
    OWNER_NAME_TAG,
    OWNER_NAMESPACE_TAG,
    OWNER_UID_TAG,
    POD_NAME_TAG,
    POD_NAMESPACE_TAG,
    K8sLauncherSettings,
    K8sRunLauncher,
    health_from_pod,
    pod_name,
    run_pod_manifest,
)
from kubedag.runs.monitoring import monitor_runs
from kubedag.runs.monitoring_settings import RunMonitoringSettings
from tests.fixtures.kubernetes import KubernetesHarness, TestKubelet
from tests.fixtures.s3 import S3Server
from tests.runtime.runs.conftest import IN_PROCESS, JOBS, event_types, finished, messages, wait_for

S = dg.RunStatus
PG_ENV = "KUBEDAG_TEST_POD_PG_URL"
SECRET = "kubedag-storage"


class Cluster:
    """One test's instance (PostgreSQL + S3 logs + this launcher), its namespace and kubelet."""

    def __init__(
        self,
        instance: dg.Instance,
        namespace: str,
        kubelet: TestKubelet,
        api: KubernetesHarness,
        code: Path,
        secret_values: list[str],
    ) -> None:
        self.instance, self.namespace, self.kubelet, self.api = instance, namespace, kubelet, api
        self.code, self.secret_values = code, secret_values

    def run(self, job: str, gate: Path | None = None, tags: dict[str, str] | None = None) -> dg.Run:
        run_config: dict[str, Any] = dict(IN_PROCESS)
        if gate is not None:
            run_config["ops"] = {"first": {"config": {"path": str(gate)}}}
        run = self.instance.create_run(
            job_name=job,
            run_config=run_config,
            tags=tags,
            code_location={"python_file": str(self.code)},
        )
        self.instance.submit_run(run.run_id)
        return run

    def pod(self, name: str) -> dict[str, Any] | None:
        return self.api.get("", "pods", self.namespace, name)

    def phase(self, name: str) -> str | None:
        pod = self.pod(name)
        return (pod.get("status") or {}).get("phase") if pod else None

    def get_run(self, run_id: str) -> dg.Run:
        run = self.instance.get_run_by_id(run_id)
        assert run is not None
        return run

    def log(self, name: str) -> str:
        return self.kubelet.log(self.namespace, name)

    def finished(self, run_id: str, timeout: float = 30) -> dg.Run:
        name = pod_name(run_id)
        return wait_for(  # type: ignore[no-any-return]
            lambda: finished(self.instance, run_id),
            timeout,
            f"run {run_id} to finish; its pod says:\n{self.log(name)}",
        )


@pytest.fixture
def cluster(
    postgres_url: str,  # first: its database is dropped after the namespace's pods are gone
    kubernetes_api: KubernetesHarness,
    test_kubelet: TestKubelet,
    k8s_namespace: str,
    s3_server: S3Server,
    s3_bucket: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Cluster]:
    code = tmp_path / "code" / "jobs.py"
    code.parent.mkdir()
    code.write_text(textwrap.dedent(JOBS))
    monkeypatch.setenv(PG_ENV, postgres_url)
    kubernetes_api.create(
        "",
        "secrets",
        k8s_namespace,
        {
            "metadata": {"name": SECRET},
            "stringData": {
                "url": postgres_url,
                "access-key": s3_server.access_key,
                "secret-key": s3_server.secret_key,
            },
        },
    )

    def from_secret(name: str, key: str) -> dict[str, Any]:
        return {"name": name, "valueFrom": {"secretKeyRef": {"name": SECRET, "key": key}}}

    document = {
        "storage": {"postgres": {"postgres_url": {"env": PG_ENV}}},
        "compute_logs": {"s3": {"bucket": s3_bucket, "endpoint_url": s3_server.endpoint_url}},
        "run_launcher": {
            "kubernetes": {
                "image": "registry.example/kubedag-jobs:1.0",
                "namespace": k8s_namespace,
                "kubeconfig_file": str(kubernetes_api.kubeconfig),
                "home": str(tmp_path / "pod-home"),
                "grace_period_seconds": 5,
                "env": [
                    from_secret(PG_ENV, "url"),
                    from_secret("AWS_ACCESS_KEY_ID", "access-key"),
                    from_secret("AWS_SECRET_ACCESS_KEY", "secret-key"),
                    {"name": "AWS_DEFAULT_REGION", "value": s3_server.region},
                ],
                "resources": {"limits": {"memory": "512Mi"}},
            }
        },
    }
    instance = dg.Instance.from_config(document, home=str(tmp_path / "home"))
    try:
        yield Cluster(
            instance,
            k8s_namespace,
            test_kubelet,
            kubernetes_api,
            code,
            [postgres_url, s3_server.secret_key],
        )
    finally:
        instance.dispose()


def monitor(cluster: Cluster, **settings: Any) -> dict[str, Any]:
    return monitor_runs(cluster.instance, RunMonitoringSettings.from_config(settings))


def test_a_run_executes_in_its_pod(cluster: Cluster, s3_server: S3Server, s3_bucket: str) -> None:
    run = cluster.run("quick")
    name = pod_name(run.run_id)
    pod = wait_for(lambda: cluster.pod(name), 10, "the run pod")
    tags = cluster.get_run(run.run_id).tags
    assert (tags[POD_NAME_TAG], tags[POD_NAMESPACE_TAG]) == (name, cluster.namespace)
    # a retried launch finds its pod: "already exists" means done
    cluster.instance.run_launcher.launch_run(
        LaunchRunContext(cluster.get_run(run.run_id), cluster.instance)
    )
    assert (
        len(cluster.api.list("", "pods", cluster.namespace, f"kubedag.io/run-id={run.run_id}")) == 1
    )
    labels = pod["metadata"]["labels"]
    assert labels["app.kubernetes.io/name"] == "kubedag"
    assert labels["app.kubernetes.io/component"] == "run-worker"
    assert labels["kubedag.io/run-id"] == run.run_id
    assert labels["kubedag.io/job"] == "quick"
    assert labels["kubedag.io/code-location"] == "jobs"
    container = pod["spec"]["containers"][0]
    assert [*container["command"], *container["args"]] == ["kubedag", "run-worker", run.run_id]
    assert pod["spec"]["restartPolicy"] == "Never"
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert pod["spec"]["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"] == {
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert container["resources"] == {"limits": {"memory": "512Mi"}}
    spec_text = json.dumps(pod)
    for secret in cluster.secret_values:
        assert secret not in spec_text  # only secretKeyRefs and the variable's name travel
    ref = json.loads(
        next(e["value"] for e in container["env"] if e["name"] == "KUBEDAG_INSTANCE_REF")
    )
    assert ref["document"]["storage"] == {"postgres": {"postgres_url": {"env": PG_ENV}}}

    done = cluster.finished(run.run_id)
    assert done.status is S.SUCCESS, cluster.log(name)
    assert event_types(cluster.instance, run.run_id)[-1] == "RUN_SUCCESS"
    wait_for(lambda: cluster.phase(name) == "Succeeded", 10, "the pod to succeed")
    health = cluster.instance.run_launcher.check_run_worker_health(done)
    assert health.status is WorkerStatus.SUCCESS
    s3 = s3_server.client()
    try:
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=s3_bucket).get("Contents", [])]
        logs = [
            s3.get_object(Bucket=s3_bucket, Key=key)["Body"].read().decode()
            for key in keys
            if run.run_id in key
        ]
    finally:
        s3.close()
    assert any("hello from one" in text for text in logs), keys


def test_a_failing_step_fails_the_run(cluster: Cluster) -> None:
    run = cluster.run("failing")
    done = cluster.finished(run.run_id)
    assert done.status is S.FAILURE
    assert "STEP_FAILURE" in event_types(cluster.instance, run.run_id)
    failure = next(
        entry.event
        for entry in cluster.instance.all_logs(run.run_id, of_type=dg.EventType.STEP_FAILURE)
    )
    assert "boom on purpose" in str(failure)
    # the worker finished the run, so it exits 0 (docs/run-lifecycle.md): the pod Succeeded
    name = pod_name(run.run_id)
    wait_for(lambda: cluster.phase(name) in ("Succeeded", "Failed"), 10, "the pod to end")
    assert cluster.phase(name) == "Succeeded"


def test_a_vanished_pod_is_resumed_by_the_monitor(cluster: Cluster, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    run = cluster.run("gated", gate=gate)
    name = pod_name(run.run_id)
    wait_for(lambda: "first" in cluster.log(name) or _step_started(cluster, run.run_id), 30, "step")
    core_delete(cluster, name, grace=0)  # the node is gone: SIGKILL, no chance to cancel
    launcher = cluster.instance.run_launcher
    wait_for(
        lambda: (
            launcher.check_run_worker_health(cluster.get_run(run.run_id)).status
            is WorkerStatus.NOT_FOUND
        ),
        10,
        "the health check to see the pod gone",
    )
    assert cluster.get_run(run.run_id).status is S.STARTED
    gate.touch()
    actions = monitor(cluster, max_resume_run_attempts=1)
    assert run.run_id in actions
    resumed = pod_name(run.run_id, 1)
    assert cluster.get_run(run.run_id).tags[POD_NAME_TAG] == resumed
    pod = wait_for(lambda: cluster.pod(resumed), 10, "the resume pod")
    assert pod["spec"]["containers"][0]["args"][-2:] == ["--resume-attempt", "1"]
    done = cluster.finished(run.run_id)
    assert done.status is S.SUCCESS, cluster.log(resumed)


def test_terminate_deletes_the_pod_and_cancels_the_run(cluster: Cluster, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    run = cluster.run("gated", gate=gate)
    name = pod_name(run.run_id)
    wait_for(lambda: _step_started(cluster, run.run_id), 30, "the first step to start")
    assert cluster.instance.terminate_run(run.run_id)
    assert cluster.pod(name)["metadata"]["deletionTimestamp"]  # type: ignore[index]
    gate.touch()  # the running step finishes; no further step starts
    done = cluster.finished(run.run_id)
    assert done.status is S.CANCELED
    assert not any(
        entry.step_key == "second"
        for entry in cluster.instance.all_logs(run.run_id, of_type=dg.EventType.STEP_START)
    )
    wait_for(lambda: cluster.pod(name) is None, 10, "the pod to be gone")
    assert not cluster.instance.run_launcher.terminate(run.run_id)


def test_an_oom_killed_worker_fails_the_run_naming_the_reason(
    cluster: Cluster, tmp_path: Path
) -> None:
    run = cluster.run("gated", gate=tmp_path / "never")
    name = pod_name(run.run_id)
    wait_for(lambda: _step_started(cluster, run.run_id), 30, "the first step to start")
    cluster.kubelet.oom_kill(cluster.namespace, name)
    wait_for(lambda: cluster.phase(name) == "Failed", 10, "the pod to fail")
    health = cluster.instance.run_launcher.check_run_worker_health(cluster.get_run(run.run_id))
    assert health.status is WorkerStatus.FAILED
    assert health.message.startswith("OOMKilled:"), health.message
    monitor(cluster)
    done = cluster.get_run(run.run_id)
    assert done.status is S.FAILURE
    assert any(
        "OOMKilled" in m for m in messages(cluster.instance, run.run_id, dg.EventType.RUN_FAILURE)
    )


def test_an_image_that_cannot_be_pulled_fails_a_starting_run(cluster: Cluster) -> None:
    run = cluster.instance.create_run(
        job_name="quick", run_config=IN_PROCESS, code_location={"python_file": str(cluster.code)}
    )
    cluster.kubelet.hold(cluster.namespace, pod_name(run.run_id), "ImagePullBackOff")
    cluster.instance.submit_run(run.run_id)
    launcher = cluster.instance.run_launcher
    health = wait_for(
        lambda: (
            (h := launcher.check_run_worker_health(cluster.get_run(run.run_id))).status
            is WorkerStatus.FAILED
            and h
        ),
        10,
        "the pull error to show",
    )
    assert health.message.startswith("ImagePullBackOff:")
    monitor(cluster)
    assert cluster.get_run(run.run_id).status is S.FAILURE


# -- pure pieces -----------------------------------------------------------------------------


def _step_started(cluster: Cluster, run_id: str) -> bool:
    return any(
        entry.step_key == "first"
        for entry in cluster.instance.all_logs(run_id, of_type=dg.EventType.STEP_START)
    )


def core_delete(cluster: Cluster, name: str, grace: int) -> None:
    from tests.fixtures.kubernetes import kube_client

    api_client = kube_client(cluster.api)
    try:
        from kubernetes import client  # type: ignore[import-untyped]

        client.CoreV1Api(api_client).delete_namespaced_pod(
            name, cluster.namespace, grace_period_seconds=grace
        )
    finally:
        api_client.close()


def _pod(status: dict[str, Any], created: str = "2026-01-01T00:00:00Z") -> dict[str, Any]:
    return {"metadata": {"creationTimestamp": created}, "status": status}


def _terminated(reason: str, code: int) -> dict[str, Any]:
    return {"containerStatuses": [{"state": {"terminated": {"reason": reason, "exitCode": code}}}]}


NOW = 1767225600.0 + 60  # a minute after 2026-01-01T00:00:00Z


@pytest.mark.parametrize(
    ("status", "expected", "prefix"),
    [
        ({"phase": "Running"}, WorkerStatus.RUNNING, "pod"),
        ({"phase": "Succeeded"}, WorkerStatus.SUCCESS, "pod"),
        ({"phase": "Failed", **_terminated("OOMKilled", 137)}, WorkerStatus.FAILED, "OOMKilled:"),
        ({"phase": "Failed", **_terminated("Error", 3)}, WorkerStatus.FAILED, "Error:"),
        (
            {"phase": "Failed", "reason": "Evicted", "message": "low"},
            WorkerStatus.FAILED,
            "Evicted:",
        ),
        (
            {"phase": "Failed", "reason": "DeadlineExceeded"},
            WorkerStatus.FAILED,
            "DeadlineExceeded:",
        ),
        (
            {
                "phase": "Pending",
                "containerStatuses": [{"state": {"waiting": {"reason": "ImagePullBackOff"}}}],
            },
            WorkerStatus.FAILED,
            "ImagePullBackOff:",
        ),
        (
            {
                "phase": "Pending",
                "containerStatuses": [{"state": {"waiting": {"reason": "ErrImagePull"}}}],
            },
            WorkerStatus.RUNNING,  # may still succeed: only a failure after pending_timeout
            "ErrImagePull:",
        ),
        ({"phase": "Unknown"}, WorkerStatus.UNKNOWN, "pod"),
    ],
)
def test_health_names_the_reason(
    status: dict[str, Any], expected: WorkerStatus, prefix: str
) -> None:
    health = health_from_pod(_pod(status), "ns/p", NOW, pending_timeout_seconds=300)
    assert health.status is expected and health.message.startswith(prefix), health
    assert health_from_pod(None, "ns/p", NOW, 300) == WorkerHealth(
        WorkerStatus.NOT_FOUND, "pod ns/p is gone"
    )


def test_a_pod_unschedulable_for_too_long_is_a_failure() -> None:
    status = {
        "phase": "Pending",
        "conditions": [
            {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "no"}
        ],
    }
    waiting = health_from_pod(_pod(status), "ns/p", NOW, pending_timeout_seconds=300)
    assert waiting.status is WorkerStatus.RUNNING and waiting.message.startswith("Unschedulable")
    late = health_from_pod(_pod(status), "ns/p", NOW, pending_timeout_seconds=30)
    assert late.status is WorkerStatus.FAILED and late.message.startswith("Unschedulable")
    assert "pending_timeout_seconds" in late.message


def test_the_pod_carries_the_owner_reference_and_overrides() -> None:
    run = dg.Run(
        run_id="0f0e0d0c-0000-4000-8000-000000000001",
        job_name="nightly etl!",
        tags={OWNER_UID_TAG: "uid-1", OWNER_NAME_TAG: "nightly-1", OWNER_NAMESPACE_TAG: "data"},
        code_location={"module_name": "pipelines.defs", "working_directory": "/app"},
    )
    settings = K8sLauncherSettings(
        image="img",
        service_account_name="runner",
        node_selector={"pool": "batch"},
        tolerations=[{"key": "batch", "operator": "Exists"}],
        labels={"team": "data"},
    )
    pod = run_pod_manifest(run, settings, "{}", "img", resume_attempt=2)
    meta, spec = pod["metadata"], pod["spec"]
    assert meta["name"] == f"kubedag-run-{run.run_id}-resume-2"
    assert meta["ownerReferences"] == [
        {
            "apiVersion": "kubedag.io/v1alpha1",
            "kind": "Run",
            "name": "nightly-1",
            "uid": "uid-1",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert meta["labels"]["kubedag.io/job"] == "nightly-etl"
    assert meta["labels"]["kubedag.io/code-location"] == "pipelines.defs"
    assert meta["labels"]["team"] == "data"
    assert spec["serviceAccountName"] == "runner"
    assert spec["nodeSelector"] == {"pool": "batch"}
    assert spec["containers"][0]["workingDir"] == "/app"
    assert spec["containers"][0]["args"] == ["run-worker", run.run_id, "--resume-attempt", "2"]


@pytest.mark.parametrize(
    ("launcher", "path"),
    [
        ({"env": [{"name": "PG_PASSWORD"}]}, "run_launcher.kubernetes.env[0]"),
        ({"image_pull_policy": "Sometimes"}, "run_launcher.kubernetes.image_pull_policy"),
        ({"labels": {"a": 1}}, "run_launcher.kubernetes.labels.a"),
        ({"colour": "blue"}, "run_launcher.kubernetes.colour"),
        ({"grace_period_seconds": -1}, "run_launcher.kubernetes.grace_period_seconds"),
    ],
)
def test_bad_launcher_config_names_the_key(launcher: dict[str, Any], path: str) -> None:
    with pytest.raises(InstanceConfigError, match=re.escape(path)):
        dg.Instance.from_config({"run_launcher": {"kubernetes": launcher}}, home="/tmp/unused")


def test_the_plugin_form_builds_it_too_and_kubedag_does_not_import_the_client() -> None:
    instance = dg.Instance.from_config(
        {
            "run_launcher": {
                "module": "kubedag.runs.launchers.kubernetes",
                "class": "K8sRunLauncher",
                "config": {"image": "img", "namespace": "ns"},
            }
        },
        home="/tmp/unused",
    )
    try:
        assert isinstance(instance.run_launcher, K8sRunLauncher)
    finally:
        instance.dispose()
    code = (
        "import sys, kubedag, kubedag.runs.launchers.kubernetes; print('kubernetes' in sys.modules)"
    )
    answer = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert answer.stdout.strip() == "False"
