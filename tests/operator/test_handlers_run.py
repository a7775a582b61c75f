"""The operator end to end on the emulated Kubernetes API, with a real PostgreSQL (storage,
through a Secret) and a real S3-API server (compute logs): Instance, CodeLocation, Job and Run
objects → a run pod owned by the Run → the test kubelet runs `kubedag run-worker` → the run
record and the Run's status say how it went."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

import kubedag as dg
from kubedag.runs.launchers.kubernetes import pod_name
from kubedag_operator import metrics
from kubedag_operator import run_status as run_status_module
from kubedag_operator.handlers import instance as instance_handlers
from kubedag_operator.handlers.run import check_run_config
from kubedag_operator.resources import CodeLocationResource, JobResource, RunResource
from kubedag_operator.run_requests import idempotency_key, run_request
from tests.fixtures.kubernetes import KubernetesHarness
from tests.fixtures.postgres import PostgresServer
from tests.fixtures.s3 import S3Server
from tests.operator.cluster import IN_PROCESS, Cluster, G
from tests.operator.conftest import OperatorRunner
from tests.runtime.runs.conftest import wait_for


def test_a_run_succeeds_in_a_pod_owned_by_the_run(
    cluster: Cluster, s3_server: S3Server, s3_bucket: str
) -> None:
    ready = wait_for(
        lambda: next(
            (
                c
                for c in ((cluster.get("instances", "kubedag") or {}).get("status") or {}).get(
                    "conditions"
                )
                or []
                if c["type"] == "Ready" and c["status"] == "True"
            ),
            None,
        ),
        30,
        f"the Instance to be Ready: {cluster.get('instances', 'kubedag')}",
    )
    assert ready["reason"] == "Migrated"
    runs_followed = metrics.handler_counts().get(("Run", "success"), 0)
    created = cluster.run("quick-1", "quick", tags={"requested-by": "alice"})
    status = cluster.wait_phase("quick-1", ("Succeeded", "Failed"))
    assert status["phase"] == "Succeeded", cluster.describe("quick-1")
    run = cluster.record("quick-1")
    assert run.status is dg.RunStatus.SUCCESS
    assert run.tags["team"] == "data" and run.tags["requested-by"] == "alice"
    assert status["steps"] == {"succeeded": 2, "failed": 0, "skipped": 0, "total": 2}
    assert status["startTime"] and status["completionTime"]
    assert metrics.handler_counts()[("Run", "success")] > runs_followed  # on /metrics
    assert cluster.condition("quick-1", "Succeeded")["reason"] == "Succeeded"  # type: ignore[index]
    assert cluster.condition("quick-1", "Accepted")["status"] == "True"  # type: ignore[index]
    pod = cluster.pod(pod_name(run.run_id))
    assert pod is not None and status["podName"] == pod["metadata"]["name"]
    assert pod["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "kubedag.io/v1alpha1",
            "kind": "Run",
            "name": "quick-1",
            "uid": created["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert pod["spec"]["containers"][0]["image"] == "registry.example/jobs:1.0"
    secret_text = str(pod) + str(cluster.get("instances", "kubedag"))
    assert s3_server.secret_key not in secret_text and "password" not in str(status)
    logs = cluster.compute_logs(run.run_id)
    assert any("hello from one in location-region" in text for text in logs.values()), logs


def test_the_jobs_pod_overrides_reach_the_run_pod(cluster: Cluster) -> None:
    cluster.job(
        "quick-tuned",
        "quick",
        runConfig=IN_PROCESS,
        pod={
            "env": [{"name": "SALES_REGION", "value": "job-region"}],
            "nodeSelector": {"pool": "batch"},
            "resources": {"limits": {"memory": "1Gi"}},
            "labels": {"cost-center": "42"},
        },
    )
    cluster.run("tuned-1", "quick-tuned")
    status = cluster.wait_phase("tuned-1", ("Succeeded", "Failed"))
    assert status["phase"] == "Succeeded", cluster.describe("tuned-1")
    pod = cluster.pod(status["podName"])
    assert pod is not None
    container = pod["spec"]["containers"][0]
    assert pod["spec"]["nodeSelector"] == {"pool": "batch"}
    assert container["resources"] == {"limits": {"memory": "1Gi"}}
    assert pod["metadata"]["labels"]["cost-center"] == "42"
    env = [e for e in container["env"] if e["name"] == "SALES_REGION"]
    assert env == [{"name": "SALES_REGION", "value": "job-region"}]
    logs = cluster.compute_logs(status["runId"])
    assert any("hello from one in job-region" in text for text in logs.values()), logs


def test_a_failing_step_fails_the_run_with_user_code_error(cluster: Cluster) -> None:
    cluster.run("failing-1", "failing")
    status = cluster.wait_phase("failing-1", ("Succeeded", "Failed", "Canceled"))
    assert status["phase"] == "Failed", cluster.describe("failing-1")
    assert status["steps"]["failed"] == 1
    condition = cluster.condition("failing-1", "Succeeded")
    assert condition is not None and condition["status"] == "False"
    assert condition["reason"] == "UserCodeError"
    assert cluster.record("failing-1").status is dg.RunStatus.FAILURE


def test_deleting_a_running_run_cancels_it(cluster: Cluster) -> None:
    gate = cluster.tmp / "gate"
    cluster.run("gated-1", "gated", runConfig={"ops": {"first": {"config": {"path": str(gate)}}}})
    wait_for(lambda: cluster.step_started("gated-1", "first"), 30, "the first step to start")
    name = cluster.status("gated-1")["podName"]
    run_id = cluster.status("gated-1")["runId"]
    cluster.wait_phase("gated-1", ("Running",))
    cluster.api.store.delete(cluster.api.store.resource(G, "runs"), cluster.namespace, "gated-1")
    # the finalizer holds the Run while the worker stops (SIGTERM: the run becomes CANCELING)
    assert cluster.get("runs", "gated-1") is not None
    wait_for(
        lambda: (
            cluster.instance.get_run_by_id(run_id).status  # type: ignore[union-attr]
            in (dg.RunStatus.CANCELING, dg.RunStatus.CANCELED)
        ),
        30,
        "the run to be canceling",
    )
    gate.touch()  # the running step may finish; no further step starts
    wait_for(lambda: cluster.get("runs", "gated-1") is None, 30, "the Run to be gone")
    run = cluster.instance.get_run_by_id(run_id)
    assert run is not None and run.status is dg.RunStatus.CANCELED
    wait_for(lambda: cluster.pod(name) is None, 10, "the pod to be gone")
    assert not any(
        e.step_key == "second"
        for e in cluster.instance.all_logs(run_id, of_type=dg.EventType.STEP_START)
    )


def test_an_invalid_run_gets_a_condition_and_others_still_run(cluster: Cluster) -> None:
    cluster.create(
        "runs",
        {
            "apiVersion": "kubedag.io/v1alpha1",
            "kind": "Run",
            "metadata": {"name": "bad"},
            "spec": {"jobRef": {}, "activeDeadlineSeconds": 0},
        },
    )
    cluster.run("no-such-job", "nope")
    cluster.run("fine", "quick")
    condition = wait_for(
        lambda: cluster.condition("bad", "Accepted"), 30, "the invalid Run's condition"
    )
    assert (condition["status"], condition["reason"]) == ("False", "InvalidSpec")
    assert "spec.jobRef.name" in condition["message"]
    assert "spec.activeDeadlineSeconds" in condition["message"]
    missing = wait_for(
        lambda: (
            (c := cluster.condition("no-such-job", "Accepted"))
            and c["reason"] != "InstanceNotReady"
            and c
        ),
        30,
        "the missing Job's condition",
    )
    assert (missing["reason"], "spec.jobRef.name" in missing["message"]) == ("JobNotFound", True)
    assert cluster.wait_phase("fine", ("Succeeded", "Failed"))["phase"] == "Succeeded"
    assert cluster.status("bad").get("runId") is None
    # the missing Job appears: the Run is accepted then
    cluster.job("nope", "quick", runConfig=IN_PROCESS)
    assert cluster.wait_phase("no-such-job", ("Succeeded", "Failed"))["phase"] == "Succeeded"


def test_a_vanished_pod_is_retried_per_spec(cluster: Cluster) -> None:
    gate = cluster.tmp / "gate"
    cluster.run(
        "lost-1",
        "gated",
        runConfig={"ops": {"first": {"config": {"path": str(gate)}}}},
        retry={"limit": 1, "reasons": ["PodLost"]},
    )
    wait_for(lambda: cluster.step_started("lost-1", "first"), 30, "the first step to start")
    first_pod = cluster.status("lost-1")["podName"]
    pods = cluster.api.store.resource("", "pods")
    cluster.api.store.delete(pods, cluster.namespace, first_pod, grace_period=0)  # node lost
    status = wait_for(
        lambda: (s := cluster.status("lost-1")).get("retries") == 1 and s, 30, "a retry"
    )
    assert status["podName"] == pod_name(status["runId"], 1)
    gate.touch()
    status = cluster.wait_phase("lost-1", ("Succeeded", "Failed"))
    assert status["phase"] == "Succeeded", cluster.describe("lost-1")
    events = [e.user_message for e in cluster.instance.all_logs(status["runId"])]
    assert any("PodLost" in m for m in events)


def test_a_vanished_pod_without_retries_fails_the_run_naming_the_reason(
    cluster: Cluster,
) -> None:
    gate = cluster.tmp / "gate"
    cluster.run("lost-2", "gated", runConfig={"ops": {"first": {"config": {"path": str(gate)}}}})
    wait_for(lambda: cluster.step_started("lost-2", "first"), 30, "the first step to start")
    pods = cluster.api.store.resource("", "pods")
    cluster.api.store.delete(
        pods, cluster.namespace, cluster.status("lost-2")["podName"], grace_period=0
    )
    status = cluster.wait_phase("lost-2", ("Succeeded", "Failed", "Canceled"))
    assert status["phase"] == "Failed"
    condition = cluster.condition("lost-2", "Succeeded")
    assert condition is not None and condition["reason"] == "PodLost", condition


def test_an_operator_restart_keeps_state_and_does_nothing_twice(
    cluster: Cluster, operator_runner: OperatorRunner, kubernetes_api: KubernetesHarness
) -> None:
    gate = cluster.tmp / "gate"
    cluster.run("restart-1", "gated", runConfig={"ops": {"first": {"config": {"path": str(gate)}}}})
    wait_for(lambda: cluster.step_started("restart-1", "first"), 30, "the first step to start")
    status = cluster.status("restart-1")
    operator_runner.stop_all()
    gate.touch()
    operator_runner(cluster.namespace)
    done = cluster.wait_phase("restart-1", ("Succeeded", "Failed"))
    assert done["phase"] == "Succeeded"
    assert done["runId"] == status["runId"]
    runs = cluster.instance.get_runs(dg.RunsFilter(tags={"kubedag.io/run": "restart-1"}))
    assert [r.run_id for r in runs] == [status["runId"]]
    pods = kubernetes_api.list(
        "", "pods", cluster.namespace, f"kubedag.io/run-id={status['runId']}"
    )
    assert len(pods) == 1
    created = [
        e
        for e in kubernetes_api.list("", "events", cluster.namespace)
        if "Created run" in e.get("message", "") and e["involvedObject"]["name"] == "restart-1"
    ]
    assert len(created) == 1, [
        (e["involvedObject"]["name"], e.get("message"))
        for e in kubernetes_api.list("", "events", cluster.namespace)
    ]


def test_a_run_whose_launch_was_interrupted_is_launched_again(
    cluster: Cluster, operator_runner: OperatorRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The operator stopped after the run became STARTING and before its pod existed: the
    next operator launches it (once the grace period is over) and it succeeds."""
    operator_runner.stop_all()
    created = cluster.run("interrupted-1", "quick")
    bodies = {
        kind: cluster.get(kind, name)
        for kind, name in (("jobs", "quick"), ("codelocations", "jobs"))
    }
    request = run_request(
        RunResource.parse(
            {**created, "metadata": {**created["metadata"], "namespace": cluster.namespace}}
        ),
        JobResource.parse(bodies["jobs"]),
        CodeLocationResource.parse(bodies["codelocations"]),
        created["metadata"]["uid"],
    )
    run = cluster.instance.create_run(
        job_name=request.job_name,
        run_config=request.run_config,
        tags=request.tags,
        code_location=request.code_location,
        idempotency_key=idempotency_key(created["metadata"]["uid"]),
    )
    starting = (dg.RunStatus.NOT_STARTED,)
    assert cluster.instance.run_storage.try_update_run_status(
        run.run_id, dg.RunStatus.STARTING, starting
    )
    monkeypatch.setattr(run_status_module, "LAUNCH_GRACE_SECONDS", 1.0)
    operator_runner(cluster.namespace)
    status = cluster.wait_phase("interrupted-1", ("Succeeded", "Failed"))
    assert status["phase"] == "Succeeded", cluster.describe("interrupted-1")
    assert status["runId"] == run.run_id
    assert cluster.pod(pod_name(run.run_id)) is not None
    relaunched = [
        e
        for e in cluster.api.list("", "events", cluster.namespace)
        if e.get("reason") == "Relaunching" and e["involvedObject"]["name"] == "interrupted-1"
    ]
    assert relaunched and "without a pod" in relaunched[0]["message"]


def test_pod_changes_wake_the_run_before_the_next_resync(
    cluster: Cluster, operator_runner: OperatorRunner
) -> None:
    """With a resync of a minute, a run of a few seconds is Succeeded long before it: each
    change of its pod (created, running, finished) wakes the Run's follower."""
    operator_runner.stop_all()
    operator_runner(cluster.namespace, resync_seconds=90.0)
    cluster.run("woken-1", "quick")
    status = cluster.wait_phase("woken-1", ("Succeeded", "Failed"), timeout=45)
    assert status["phase"] == "Succeeded", cluster.describe("woken-1")


def test_a_run_past_its_deadline_is_canceled_and_a_ttl_deletes_finished_runs(
    cluster: Cluster,
) -> None:
    cluster.job("gated-mp", "gated")  # the multiprocess executor: a cancel stops the running step
    never = cluster.tmp / "never"
    cluster.run(
        "slow",
        "gated-mp",
        activeDeadlineSeconds=1,
        runConfig={"ops": {"first": {"config": {"path": str(never)}}}},
    )
    cluster.run("short-lived", "quick", ttlSecondsAfterFinished=1)
    status = cluster.wait_phase("slow", ("Succeeded", "Failed", "Canceled"), timeout=40)
    assert status["phase"] == "Canceled", cluster.describe("slow")
    condition = cluster.condition("slow", "Succeeded")
    assert condition is not None and condition["reason"] == "DeadlineExceeded", condition
    assert cluster.record("slow").status is dg.RunStatus.CANCELED
    wait_for(lambda: cluster.get("runs", "short-lived") is None, 30, "the TTL to delete the Run")
    runs = cluster.instance.get_runs(dg.RunsFilter(tags={"kubedag.io/run": "short-lived"}))
    assert [r.status for r in runs] == [dg.RunStatus.SUCCESS]  # the record stays


def test_runs_created_outside_kubernetes_are_launched_as_pods_too(cluster: Cluster) -> None:
    code = cluster.tmp / "code" / "jobs.py"
    run = cluster.instance.create_run(
        job_name="quick",
        run_config=IN_PROCESS,
        code_location={"python_file": str(code)},
        tags={"kubedag/image": "registry.example/jobs:1.0"},  # or run_launcher.kubernetes.image
        status=dg.RunStatus.QUEUED,
    )
    done = wait_for(
        lambda: (r := cluster.instance.get_run_by_id(run.run_id)) and r.is_finished and r,
        30,
        f"the queued run to be launched and finish: {cluster.pod(pod_name(run.run_id))}",
    )
    assert done.status is dg.RunStatus.SUCCESS, [
        e.user_message for e in cluster.instance.all_logs(run.run_id)
    ]
    pod = cluster.pod(pod_name(run.run_id))
    assert pod is not None and "ownerReferences" not in pod["metadata"]
    assert cluster.api.list(G, "runs", cluster.namespace) == []  # no Run object needed


def test_an_instance_whose_secret_is_missing_says_so(
    kubernetes_api: KubernetesHarness, k8s_namespace: str, operator_runner: OperatorRunner
) -> None:
    kubernetes_api.create(
        G,
        "instances",
        k8s_namespace,
        {
            "apiVersion": "kubedag.io/v1alpha1",
            "kind": "Instance",
            "metadata": {"name": "kubedag"},
            "spec": {
                "storage": {
                    "postgres": {"postgres_url": {"secretKeyRef": {"name": "absent", "key": "url"}}}
                }
            },
        },
    )
    operator_runner(k8s_namespace)

    def ready() -> dict[str, Any] | None:
        body = kubernetes_api.get(G, "instances", k8s_namespace, "kubedag") or {}
        return next(
            (c for c in (body.get("status") or {}).get("conditions") or [] if c["type"] == "Ready"),
            None,
        )

    condition = wait_for(ready, 30, "the Instance's Ready condition")
    assert (condition["status"], condition["reason"]) == ("False", "SecretNotFound")
    assert "'absent'" in condition["message"] and "'url'" in condition["message"]


def test_a_ready_instance_whose_database_goes_away_says_so_and_recovers(
    cluster: Cluster, postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(instance_handlers, "RECHECK_SECONDS", 0.5)

    def ready_is(status: str) -> dict[str, Any] | None:
        body = cluster.get("instances", "kubedag") or {}
        condition = next(
            (c for c in (body.get("status") or {}).get("conditions") or [] if c["type"] == "Ready"),
            None,
        )
        return condition if condition and condition["status"] == status else None

    wait_for(lambda: ready_is("True"), 30, "the Instance to be Ready")
    database = cluster.instance.run_storage.database.engine.url.database
    quoted = f'"{database}"'
    with postgres_server.admin_engine.connect() as admin:
        admin.execute(sa.text(f"ALTER DATABASE {quoted} ALLOW_CONNECTIONS false"))
        try:
            admin.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"
                ),
                {"d": database},
            )
            down = wait_for(lambda: ready_is("False"), 60, "Ready=False while the database is away")
            assert down["reason"] == "StorageUnreachable"
            assert database in down["message"]
        finally:
            admin.execute(sa.text(f"ALTER DATABASE {quoted} ALLOW_CONNECTIONS true"))
    back = wait_for(lambda: ready_is("True"), 60, "Ready=True once the database is back")
    assert back["reason"] == "Migrated"
    cluster.run("after-outage-1", "quick")
    assert cluster.wait_phase("after-outage-1", ("Succeeded", "Failed"))["phase"] == "Succeeded"


def test_a_run_config_the_code_server_refuses_is_a_condition_and_starts_no_pod(
    cluster: Cluster,
) -> None:
    from kubedag.code_location.load import load_definitions
    from kubedag.code_server.server import CodeServer, serving

    code = cluster.tmp / "code" / "jobs.py"
    server = CodeServer("checked", lambda: load_definitions(python_file=str(code)))
    server.load()
    with serving(server) as httpd:
        cluster.create(
            "codelocations",
            {
                "apiVersion": "kubedag.io/v1alpha1",
                "kind": "CodeLocation",
                "metadata": {
                    "name": "checked",
                    "annotations": {"kubedag.io/code-server-url": httpd.base_url},
                },
                "spec": {
                    "image": "registry.example/jobs:1.0",
                    "pythonFile": str(code),
                    "replicas": 0,
                },
            },
        )
        cluster.job(
            "checked-gated",
            "gated",
            location="checked",
            runConfig=IN_PROCESS,
            tags={"team": "job-object"},
        )

        def location_ready() -> bool:
            conditions = (cluster.get("codelocations", "checked") or {}).get("status", {})
            return any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in conditions.get("conditions") or []
            )

        wait_for(location_ready, 30, "the CodeLocation to be Ready")
        cluster.run(
            "misconfigured-1",
            "checked-gated",
            runConfig={"ops": {"first": {"config": {"paht": "/x"}}}},
        )

        def refused() -> dict[str, Any] | None:
            condition = cluster.condition("misconfigured-1", "Accepted")
            return condition if condition and condition["status"] == "False" else None

        condition = wait_for(refused, 30, "Accepted=False on the misconfigured Run")
        assert condition["reason"] == "InvalidRunConfig"
        assert "spec.runConfig" in condition["message"] and "paht" in condition["message"]
        assert not cluster.instance.get_runs(
            dg.RunsFilter(tags={"kubedag.io/run": "misconfigured-1"})
        )
        gate = cluster.tmp / "gate-checked"
        gate.touch()
        cluster.run(
            "configured-1",
            "checked-gated",
            runConfig={"ops": {"first": {"config": {"path": str(gate)}}}},
        )
        status = cluster.wait_phase("configured-1", ("Succeeded", "Failed"))
        assert status["phase"] == "Succeeded", cluster.describe("configured-1")
        # The code's job tags (from the code server's answer), under the Job object's.
        tags = cluster.record("configured-1").tags
        assert tags["db"] == "warehouse" and tags["team"] == "job-object"
        location_body = cluster.get("codelocations", "checked")
        assert location_body is not None
        request = run_request(
            RunResource.parse(cluster.get("runs", "configured-1")),
            JobResource.parse(cluster.get("jobs", "checked-gated")),
            CodeLocationResource.parse(location_body),
            "uid-1",
        )
        # Asked before the run record exists: the job's tags are known before any launch.
        assert check_run_config(request, location_body, logger=None) == {"db": "warehouse"}
    assert cluster.status("misconfigured-1").get("podName") is None
    assert all(
        "misconfigured" not in str(p["metadata"].get("ownerReferences"))
        for p in cluster.api.list("", "pods", cluster.namespace)
    )
