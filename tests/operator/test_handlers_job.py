"""Job handlers: a Job is Ready when its CodeLocation is ready and defines the job or assets."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import kopf
import pytest

from kubedag_operator.code_location_objects import CODE_SERVER_URL_ANNOTATION
from kubedag_operator.handlers import code_location as code_location_handlers
from kubedag_operator.handlers import job as job_handlers
from kubedag_operator.handlers.job import job_readiness, reconcile_job
from kubedag_operator.kube import KubeApi
from kubedag_operator.resources import JobResource
from tests.fixtures.kubernetes import KubernetesHarness
from tests.operator.test_handlers_code_location import (
    create_location,
    kube,  # noqa: F401 (fixture)
    ready,
    running_operator,
    serving_sample,
    wait_for,
)


def job(**spec: Any) -> JobResource:
    return JobResource.parse(
        {
            "kind": "Job",
            "metadata": {"name": "j"},
            "spec": {"codeLocationRef": {"name": "sales"}, **spec},
        }
    )


def location(ready: str = "True", **status: Any) -> dict[str, Any]:
    condition = {"type": "Ready", "status": ready, "reason": "Loaded", "message": "ok"}
    return {"metadata": {"name": "sales"}, "status": {"conditions": [condition], **status}}


LOADED = location(jobs=["__ASSET_JOB", "daily"], assets=["raw", "sales/summary"])


@pytest.mark.parametrize(
    ("spec", "found", "reason", "words"),
    [
        ({"jobName": "daily"}, LOADED, "Found", ["daily"]),
        ({"assetSelection": ["raw", "sales/summary"]}, LOADED, "Found", ["2 selected"]),
        ({"jobName": "weekly"}, LOADED, "JobNotFound", ["spec.jobName", "weekly", "daily"]),
        (
            {"assetSelection": ["raw", "nope"]},
            LOADED,
            "JobNotFound",
            ["spec.assetSelection", "nope"],
        ),
        ({"jobName": "daily"}, None, "CodeLocationNotFound", ["spec.codeLocationRef.name"]),
        ({"jobName": "daily"}, location("False"), "CodeLocationNotReady", ["not ready"]),
        ({"jobName": "daily"}, {"metadata": {"name": "sales"}}, "CodeLocationNotReady", []),
    ],
)
def test_readiness(
    spec: dict[str, Any], found: dict[str, Any] | None, reason: str, words: list[str]
) -> None:
    readiness = job_readiness(job(**spec), found)
    assert readiness.reason == reason
    assert (readiness.status == "True") == (reason == "Found")
    for word in words:
        assert word in readiness.message


def create_job(
    harness: KubernetesHarness, namespace: str, name: str, **spec: Any
) -> dict[str, Any]:
    return harness.create(
        "kubedag.io",
        "jobs",
        namespace,
        {
            "apiVersion": "kubedag.io/v1alpha1",
            "kind": "Job",
            "metadata": {"name": name},
            "spec": {"codeLocationRef": {"name": "sales"}, **spec},
        },
    )


def get_job(harness: KubernetesHarness, namespace: str, name: str) -> dict[str, Any]:
    found = harness.get("kubedag.io", "jobs", namespace, name)
    assert found is not None
    return found


def test_an_invalid_job_gets_invalid_spec(
    kubernetes_api: KubernetesHarness,
    k8s_namespace: str,
    kube: KubeApi,  # noqa: F811
) -> None:
    body = create_job(kubernetes_api, k8s_namespace, "both", jobName="a", assetSelection=["b"])
    reconcile_job(kube, body, datetime.now(UTC))
    condition = ready(get_job(kubernetes_api, k8s_namespace, "both"))
    assert condition["reason"] == "InvalidSpec" and "jobName" in condition["message"]
    # Idempotent: a second check writes nothing.
    version = get_job(kubernetes_api, k8s_namespace, "both")["metadata"]["resourceVersion"]
    reconcile_job(kube, get_job(kubernetes_api, k8s_namespace, "both"), datetime.now(UTC))
    assert get_job(kubernetes_api, k8s_namespace, "both")["metadata"]["resourceVersion"] == version


def test_jobs_turn_ready_when_their_code_location_loads(
    kubernetes_api: KubernetesHarness,
    k8s_namespace: str,
    kube: KubeApi,  # noqa: F811
    tmp_path: Path,
) -> None:
    """With kopf running: Jobs wait for their CodeLocation (CodeLocationNotReady) and are
    checked again as soon as its status changes."""
    create_job(kubernetes_api, k8s_namespace, "orders", jobName="orders_job")
    create_job(kubernetes_api, k8s_namespace, "summary", assetSelection=["orders_summary"])
    create_job(kubernetes_api, k8s_namespace, "missing", jobName="nightly")

    def register(registry: kopf.OperatorRegistry) -> None:
        code_location_handlers.register(registry, kube, interval=0.3)
        job_handlers.register(registry, kube, interval=1)

    with serving_sample(tmp_path) as url, running_operator(kubernetes_api, k8s_namespace, register):
        wait_for(
            lambda: (
                ready(get_job(kubernetes_api, k8s_namespace, "orders")).get("reason")
                == "CodeLocationNotFound"
            ),
            10,
            "CodeLocationNotFound before the CodeLocation exists",
        )
        create_location(
            kubernetes_api, k8s_namespace, annotations={CODE_SERVER_URL_ANNOTATION: url}
        )
        for name in ("orders", "summary"):
            wait_for(
                lambda name=name: (
                    ready(get_job(kubernetes_api, k8s_namespace, name)).get("status") == "True"
                ),
                10,
                f"Job {name} Ready",
            )
        missing = wait_for(
            lambda: (
                condition
                if (condition := ready(get_job(kubernetes_api, k8s_namespace, "missing"))).get(
                    "reason"
                )
                == "JobNotFound"
                else None
            ),
            10,
            "JobNotFound for a job the code does not define",
        )
        assert "orders_job" in missing["message"]
