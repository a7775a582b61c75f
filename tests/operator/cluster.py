"""The operator's test cluster: one namespace of the emulated Kubernetes API with a real
PostgreSQL (storage, through a Secret) and a real S3-API server (compute logs), an Instance, a
CodeLocation of sample jobs (`quick`, `failing`, `gated`), their Job objects and a running
operator. Tests take the `cluster` fixture (registered in `tests/operator/conftest.py`)."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import kubedag as dg
from tests.fixtures.kubernetes import KubernetesHarness, TestKubelet
from tests.fixtures.s3 import S3Server
from tests.runtime.runs.conftest import JOBS, wait_for

if TYPE_CHECKING:
    from tests.operator.conftest import OperatorRunner

SECRET = "kubedag-storage"
IN_PROCESS = {"execution": {"config": {"in_process": {}}}}
G = "kubedag.io"


@dataclass
class Cluster:
    """One test's namespace with an Instance, a CodeLocation and Jobs, and its operator."""

    api: KubernetesHarness
    kubelet: TestKubelet
    namespace: str
    instance: dg.Instance  # the test's own view of the same PostgreSQL
    tmp: Path
    s3: S3Server
    bucket: str

    def create(self, plural: str, body: dict[str, Any], group: str = G) -> dict[str, Any]:
        return self.api.create(group, plural, self.namespace, body)

    def get(self, plural: str, name: str, group: str = G) -> dict[str, Any] | None:
        return self.api.get(group, plural, self.namespace, name)

    def run(self, name: str, job: str, **spec: Any) -> dict[str, Any]:
        return self.create(
            "runs",
            {
                "apiVersion": "kubedag.io/v1alpha1",
                "kind": "Run",
                "metadata": {"name": name},
                "spec": {"jobRef": {"name": job}, **spec},
            },
        )

    def job(self, name: str, job_name: str, location: str = "jobs", **spec: Any) -> dict[str, Any]:
        """A Job `name` for the job `job_name` of the CodeLocation `location`."""
        return self.create(
            "jobs",
            {
                "apiVersion": "kubedag.io/v1alpha1",
                "kind": "Job",
                "metadata": {"name": name},
                "spec": {"codeLocationRef": {"name": location}, "jobName": job_name, **spec},
            },
        )

    def status(self, name: str) -> dict[str, Any]:
        return (self.get("runs", name) or {}).get("status") or {}

    def condition(self, name: str, type: str) -> dict[str, Any] | None:
        return next(
            (c for c in self.status(name).get("conditions") or [] if c["type"] == type), None
        )

    def wait_phase(self, name: str, phases: tuple[str, ...], timeout: float = 30) -> dict:
        def ready() -> dict[str, Any] | None:
            status = self.status(name)
            return status if status.get("phase") in phases else None

        return wait_for(  # type: ignore[no-any-return]
            ready, timeout, f"Run {name} to be {'/'.join(phases)}; {self.describe(name)}"
        )

    def describe(self, name: str) -> str:
        status = self.status(name)
        pod = status.get("podName")
        log = self.kubelet.log(self.namespace, pod) if pod else ""
        return f"status: {status}\npod log:\n{log}"

    def record(self, name: str) -> dg.Run:
        run_id = self.status(name)["runId"]
        run = self.instance.get_run_by_id(run_id)
        assert run is not None
        return run

    def compute_logs(self, run_id: str) -> dict[str, str]:
        """The run's compute logs in the bucket, by object key."""
        client = self.s3.client()
        try:
            listed = client.list_objects_v2(Bucket=self.bucket).get("Contents", [])
            return {
                o["Key"]: client.get_object(Bucket=self.bucket, Key=o["Key"])["Body"]
                .read()
                .decode()
                for o in listed
                if run_id in o["Key"]
            }
        finally:
            client.close()

    def pod(self, name: str) -> dict[str, Any] | None:
        return self.api.get("", "pods", self.namespace, name)

    def step_started(self, name: str, step: str) -> bool:
        run_id = self.status(name).get("runId")
        return bool(run_id) and any(
            e.step_key == step
            for e in self.instance.all_logs(run_id, of_type=dg.EventType.STEP_START)
        )


@pytest.fixture
def cluster(
    postgres_url: str,  # first: its database is dropped after the namespace's pods are gone
    kubernetes_api: KubernetesHarness,
    test_kubelet: TestKubelet,
    k8s_namespace: str,
    s3_server: S3Server,
    s3_bucket: str,
    operator_runner: OperatorRunner,
    tmp_path: Path,
) -> Iterator[Cluster]:
    code = tmp_path / "code" / "jobs.py"
    code.parent.mkdir()
    code.write_text(textwrap.dedent(JOBS))
    ns = k8s_namespace
    kubernetes_api.create(
        "",
        "secrets",
        ns,
        {
            "metadata": {"name": SECRET},
            "stringData": {
                "url": postgres_url,
                "access-key": s3_server.access_key,
                "secret-key": s3_server.secret_key,
            },
        },
    )

    def ref(key: str) -> dict[str, Any]:
        return {"secretKeyRef": {"name": SECRET, "key": key}}

    kubernetes_api.create(
        G,
        "instances",
        ns,
        {
            "apiVersion": "kubedag.io/v1alpha1",
            "kind": "Instance",
            "metadata": {"name": "kubedag"},
            "spec": {
                "storage": {"postgres": {"postgres_url": ref("url")}},
                "compute_logs": {
                    "s3": {
                        "bucket": s3_bucket,
                        "endpoint_url": s3_server.endpoint_url,
                        "region": s3_server.region,
                        "credentials": {
                            "access_key_id": ref("access-key"),
                            "secret_access_key": ref("secret-key"),
                        },
                    }
                },
                "run_coordinator": {
                    "queued": {"max_concurrent_runs": 10, "dequeue_interval_seconds": 0.2}
                },
                "run_monitoring": {"poll_interval_seconds": 0.5, "start_timeout_seconds": 60},
                "run_launcher": {
                    "kubernetes": {
                        "home": str(tmp_path / "pod-home"),
                        "grace_period_seconds": 5,
                        "env": [{"name": "AWS_DEFAULT_REGION", "value": s3_server.region}],
                    }
                },
            },
        },
    )
    kubernetes_api.create(
        G,
        "codelocations",
        ns,
        {
            "apiVersion": "kubedag.io/v1alpha1",
            "kind": "CodeLocation",
            "metadata": {"name": "jobs"},
            "spec": {
                "image": "registry.example/jobs:1.0",
                "pythonFile": str(code),
                "replicas": 0,
                "env": [{"name": "SALES_REGION", "value": "location-region"}],
            },
        },
    )
    instance = dg.Instance.from_config(
        {"storage": {"postgres": {"postgres_url": postgres_url}}}, home=str(tmp_path / "home")
    )
    try:
        cluster = Cluster(
            kubernetes_api, test_kubelet, ns, instance, tmp_path, s3_server, s3_bucket
        )
        # Job objects by Kubernetes name → the job in the code (`quick` runs two steps here)
        for job, job_name in (("quick", "pair"), ("failing", "failing"), ("gated", "gated")):
            cluster.job(job, job_name, runConfig=IN_PROCESS, tags={"team": "data"})
        operator_runner(ns)
        yield cluster
    finally:
        instance.dispose()
