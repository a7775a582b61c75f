"""Operator faults and bad custom resources: the kubedag operator against the emulated
Kubernetes API and the test kubelet (tests/fixtures/kubernetes.py), with a real PostgreSQL
(storage) and a real S3-API server (compute logs), as in tests/operator.

Where the fault is the operator dying, the operator is a real process (`python -m
kubedag_operator`) that the test SIGKILLs; otherwise it runs in a thread of the test process
(the `cluster` fixture's). Bad inputs are checked twice: against the CRD's `openAPIV3Schema`
(what a real API server refuses) and, since the emulated API server stores whatever it is
given, against the operator, which must say what is wrong in a condition and carry on.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

import kubedag as dg
from kubedag.runs.launchers.kubernetes import POD_NAME_TAG, RUN_ID_LABEL, pod_name
from kubedag_operator.code_location_objects import CODE_SERVER_URL_ANNOTATION
from tests.faults._operator import killed_when_pod_stored, pods_ever_created, start_operator
from tests.fixtures.kubernetes import KubernetesHarness
from tests.operator.cluster import (  # noqa: F401  (the `cluster` fixture)
    IN_PROCESS,
    SECRET,
    Cluster,
    G,
    cluster,
)
from tests.operator.conftest import OperatorRunner, operator_runner  # noqa: F401
from tests.runtime.runs.conftest import wait_for

E = dg.EventType
DEADLINE_S = 60.0


def _events(where: Cluster, run_id: str, *types: dg.EventType) -> dict[dg.EventType, int]:
    counts = dict.fromkeys(types, 0)
    for entry in where.instance.all_logs(run_id, of_type=list(types)):
        assert entry.event is not None
        counts[entry.event.event_type] += 1
    return counts


def test_fault_operator_sigkill_after_creating_a_run_pod(
    cluster: Cluster,  # noqa: F811
    operator_runner: OperatorRunner,  # noqa: F811
    kubernetes_api: KubernetesHarness,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Operator SIGKILLed right after creating a run's pod, before recording it; restarted

    The restarted operator adopts the pod that is already running (the Run's status names it,
    the run record is tagged with it) instead of creating a second one: exactly one pod ever
    existed for the Run, the Run ends Succeeded and its run SUCCESS with one RUN_START and one
    RUN_SUCCESS event."""
    # The window is hit exactly: the emulated API server runs in the test process and SIGKILLs
    # the operator the moment it has stored the pod, before answering the create, so the
    # operator never learns that the pod exists.
    operator_runner.stop_all()  # the fixture's in-thread operator: a process replaces it
    first = start_operator(cluster, tmp_path / "first")
    gate = cluster.tmp / "gate"
    with killed_when_pod_stored(kubernetes_api, monkeypatch, cluster.namespace, first) as killed:
        created = cluster.run(
            "adopted-1", "gated", runConfig={"ops": {"first": {"config": {"path": str(gate)}}}}
        )
        wait_for(killed.is_set, DEADLINE_S, f"the run pod to be created:\n{first.log()}")
    uid = created["metadata"]["uid"]
    assert first.process.returncode == -9  # SIGKILL
    status = cluster.status("adopted-1")
    run_id = status["runId"]
    assert "podName" not in status, status  # the operator died before it could write it
    run = cluster.instance.get_run_by_id(run_id)
    assert run is not None and POD_NAME_TAG not in run.tags  # nor tag the run with it
    name = pod_name(run_id)
    assert pods_ever_created(kubernetes_api, cluster.namespace, uid) == [name]

    second = start_operator(cluster, tmp_path / "second")
    try:
        adopted = wait_for(
            lambda: (s := cluster.status("adopted-1")).get("podName") == name and s,
            DEADLINE_S,
            f"the restarted operator to adopt pod {name}: {cluster.describe('adopted-1')}\n"
            f"{second.log()}",
        )
        assert adopted["runId"] == run_id
        gate.touch()
        done = cluster.wait_phase("adopted-1", ("Succeeded", "Failed", "Canceled"), DEADLINE_S)
        assert done["phase"] == "Succeeded", cluster.describe("adopted-1")
        assert done["podName"] == name
    finally:
        second.kill()
    assert pods_ever_created(kubernetes_api, cluster.namespace, uid) == [name]
    pods = kubernetes_api.list("", "pods", cluster.namespace, f"{RUN_ID_LABEL}={run_id}")
    assert [p["metadata"]["name"] for p in pods] == [name]
    record = cluster.instance.get_run_by_id(run_id)
    assert record is not None and record.status is dg.RunStatus.SUCCESS
    assert record.tags[POD_NAME_TAG] == name
    assert _events(cluster, run_id, E.RUN_START, E.RUN_SUCCESS, E.RUN_FAILURE) == {
        E.RUN_START: 1,
        E.RUN_SUCCESS: 1,
        E.RUN_FAILURE: 0,
    }
    runs = cluster.instance.get_runs(dg.RunsFilter(tags={"kubedag.io/run": "adopted-1"}))
    assert [r.run_id for r in runs] == [run_id]


def test_fault_run_cr_deleted_while_its_pod_runs(
    cluster: Cluster,  # noqa: F811
    operator_runner: OperatorRunner,  # noqa: F811
) -> None:
    """Run custom resource deleted while its pod runs, with the operator down at that moment

    The pod is owned by the Run (an owner reference to its uid, so Kubernetes' garbage
    collector removes it with the Run); the operator's finalizer holds the Run until the pod
    is deleted and the run is CANCELED, with one RUN_CANCELED event and no later step started,
    also when the Run was deleted while the operator was not running."""
    gate = cluster.tmp / "gate"
    created = cluster.run(
        "doomed", "gated", runConfig={"ops": {"first": {"config": {"path": str(gate)}}}}
    )
    wait_for(lambda: cluster.step_started("doomed", "first"), DEADLINE_S, "the first step")
    status = cluster.wait_phase("doomed", ("Running",), DEADLINE_S)
    name, run_id = status["podName"], status["runId"]
    pod = cluster.pod(name)
    assert pod is not None
    owners = pod["metadata"]["ownerReferences"]
    assert [(o["kind"], o["name"], o["uid"]) for o in owners] == [
        ("Run", "doomed", created["metadata"]["uid"])
    ]
    operator_runner.stop_all()  # the operator is down when the Run is deleted
    cluster.api.store.delete(cluster.api.store.resource(G, "runs"), cluster.namespace, "doomed")
    marked = cluster.get("runs", "doomed")
    assert marked is not None and marked["metadata"].get("deletionTimestamp")  # the finalizer
    run = cluster.instance.get_run_by_id(run_id)
    assert run is not None and run.status is dg.RunStatus.STARTED  # nobody acted yet
    operator_runner(cluster.namespace)
    wait_for(lambda: cluster.get("runs", "doomed") is None, DEADLINE_S, "the Run to be gone")
    wait_for(lambda: cluster.pod(name) is None, DEADLINE_S, "the pod to be gone")
    run = cluster.instance.get_run_by_id(run_id)
    assert run is not None and run.status is dg.RunStatus.CANCELED
    gate.touch()
    assert _events(cluster, run_id, E.RUN_CANCELED, E.RUN_SUCCESS, E.RUN_FAILURE) == {
        E.RUN_CANCELED: 1,
        E.RUN_SUCCESS: 0,
        E.RUN_FAILURE: 0,
    }
    started = [e.step_key for e in cluster.instance.all_logs(run_id, of_type=E.STEP_START)]
    assert started == ["first"]


def _crd_schema(plural: str) -> dict[str, Any]:
    path = Path(__file__).parents[2] / "crds" / f"{plural}.kubedag.io.yaml"
    crd = yaml.safe_load(path.read_text())
    schema: dict[str, Any] = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def _schema_errors(plural: str, body: dict[str, Any]) -> list[str]:
    """What a real API server's schema check says about `body` (paths and messages)."""
    validator = jsonschema.Draft4Validator(_crd_schema(plural))
    return sorted(
        ".".join(str(p) for p in error.absolute_path) + ": " + error.message
        for error in validator.iter_errors(body)
    )


def _run_body(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "kubedag.io/v1alpha1",
        "kind": "Run",
        "metadata": {"name": name},
        "spec": spec,
    }


def _settled(cluster: Cluster, name: str) -> dict[str, Any]:  # noqa: F811
    """The Run's metadata once kopf's own writes (the finalizer, then the last-handled
    annotation, in patches of their own that may land after our status) are in."""

    def metadata() -> dict[str, Any] | None:
        meta: dict[str, Any] = cluster.get("runs", name)["metadata"]
        annotations = meta.get("annotations") or {}
        handled = any(k.endswith("/last-handled-configuration") for k in annotations)
        return meta if handled and meta.get("finalizers") else None

    settled: dict[str, Any] = wait_for(metadata, DEADLINE_S, f"kopf's bookkeeping on {name}")
    return settled


BAD_RUNS = {
    "no-job-ref": ({"runConfig": {}}, "spec.jobRef", "jobRef"),
    "negative-limits": (
        {"jobRef": {"name": "quick"}, "retry": {"limit": -1}, "ttlSecondsAfterFinished": -5},
        "spec.retry.limit",
        "ttlSecondsAfterFinished",
    ),
}


def test_bad_input_run_crs_with_missing_fields_unknown_job_or_negative_limits(
    cluster: Cluster,  # noqa: F811
) -> None:
    """Run custom resources with a missing required field, an unknown Job, or negative limits

    The CRD schema refuses the missing field and the negative limits; a Run the API server
    stored anyway gets `Accepted=False` (InvalidSpec, naming each field; JobNotFound, naming
    the Job) and no run record and no pod, once: the operator does not retry an invalid spec in
    a loop, and a valid Run created after them succeeds."""
    for name, (spec, *_fields) in BAD_RUNS.items():
        errors = _schema_errors("runs", _run_body(name, spec))
        assert errors, f"the CRD schema accepts the Run {name}: {spec}"
    assert any(
        "jobRef" in e and "required" in e
        for e in _schema_errors("runs", _run_body("x", BAD_RUNS["no-job-ref"][0]))
    )
    negative = _schema_errors("runs", _run_body("x", BAD_RUNS["negative-limits"][0]))
    assert any(e.startswith("spec.retry.limit:") for e in negative), negative
    assert any(e.startswith("spec.ttlSecondsAfterFinished:") for e in negative), negative

    for name, (spec, *_fields) in BAD_RUNS.items():
        cluster.create("runs", _run_body(name, spec))
    cluster.run("unknown-job", "no-such-job")
    for name, (_spec, *fields) in BAD_RUNS.items():
        condition = wait_for(
            lambda name=name: cluster.condition(name, "Accepted"), DEADLINE_S, f"{name}'s condition"
        )
        assert (condition["status"], condition["reason"]) == ("False", "InvalidSpec"), condition
        for field in fields:
            assert field in condition["message"], (field, condition["message"])
    unknown = wait_for(
        lambda: (
            (c := cluster.condition("unknown-job", "Accepted"))
            and c["reason"] == "JobNotFound"
            and c
        ),
        DEADLINE_S,
        "the unknown Job's condition",
    )
    assert "no-such-job" in unknown["message"] and "spec.jobRef.name" in unknown["message"]
    versions = {name: _settled(cluster, name)["resourceVersion"] for name in BAD_RUNS}

    cluster.run("fine", "quick")  # the operator carries on
    assert cluster.wait_phase("fine", ("Succeeded", "Failed"), DEADLINE_S)["phase"] == "Succeeded"
    for name in BAD_RUNS:  # written once, not rewritten while the good run went through
        assert cluster.get("runs", name)["metadata"]["resourceVersion"] == versions[name]
        assert cluster.status(name).get("runId") is None
    assert cluster.status("unknown-job").get("runId") is None
    runs = cluster.instance.get_runs()
    assert [r.tags.get("kubedag.io/run") for r in runs] == ["fine"]
    pods = cluster.api.list("", "pods", cluster.namespace)
    assert len(pods) == 1, [p["metadata"]["name"] for p in pods]


def test_bad_input_instance_cr_with_negative_limits(
    cluster: Cluster,  # noqa: F811
    operator_runner: OperatorRunner,  # noqa: F811
) -> None:
    """Instance custom resource with negative concurrency limits

    The CRD schema refuses them; an Instance stored anyway is `Ready=False`, reason
    InvalidSpec, naming `run_coordinator.queued.max_concurrent_runs` and the tag limit, and
    the operator keeps serving its other namespaces."""
    namespace = cluster.namespace[:50] + "-neg"
    cluster.api.create("", "namespaces", "", {"metadata": {"name": namespace}})
    spec = {
        "storage": {"postgres": {"postgres_url": {"secretKeyRef": {"name": SECRET, "key": "url"}}}},
        "run_coordinator": {
            "queued": {
                "max_concurrent_runs": -2,
                "tag_concurrency_limits": [{"key": "db", "value": "warehouse", "limit": -1}],
            }
        },
    }
    body = {
        "apiVersion": "kubedag.io/v1alpha1",
        "kind": "Instance",
        "metadata": {"name": "kubedag"},
        "spec": spec,
    }
    errors = _schema_errors("instances", body)
    assert any("max_concurrent_runs" in e for e in errors), errors
    assert any("tag_concurrency_limits" in e for e in errors), errors
    cluster.api.create(G, "instances", namespace, body)
    operator_runner(namespace)

    def ready() -> dict[str, Any] | None:
        found = cluster.api.get(G, "instances", namespace, "kubedag") or {}
        conditions = (found.get("status") or {}).get("conditions") or []
        return next((c for c in conditions if c["type"] == "Ready"), None)

    condition = wait_for(ready, DEADLINE_S, "the Instance's Ready condition")
    assert (condition["status"], condition["reason"]) == ("False", "InvalidSpec"), condition
    assert "max_concurrent_runs" in condition["message"], condition["message"]
    assert "tag_concurrency_limits" in condition["message"], condition["message"]
    cluster.run("elsewhere", "quick")  # the first namespace is served all along
    assert cluster.wait_phase("elsewhere", ("Succeeded", "Failed"), DEADLINE_S)["phase"] == (
        "Succeeded"
    )


BROKEN_DEFS = """
import kubedag as dg


@dg.asset
def orders() -> int:
    return 1


WAREHOUSE = {"dsn": None}
connection = WAREHOUSE["dsn"].split("@")  # line 11: the bug
defs = dg.Definitions(assets=[orders])
"""


def test_bad_input_definitions_file_raising_on_import(
    cluster: Cluster,  # noqa: F811
) -> None:
    """Definitions file that raises on import

    The CodeLocation is `Ready=False`, reason UserCodeError, its message naming the exception
    and the user's file and line, and `status.loadError` holding the traceback; it turns Ready
    once the code imports, and the Runs of other CodeLocations are not affected."""
    from kubedag.code_location.load import load_definitions
    from kubedag.code_server.server import CodeServer, serving

    source = cluster.tmp / "broken_defs.py"
    source.write_text(textwrap.dedent(BROKEN_DEFS))
    server = CodeServer("broken", lambda: load_definitions(python_file=str(source)))
    server.load()
    assert server.state == "failed"
    with serving(server) as httpd:
        cluster.create(
            "codelocations",
            {
                "apiVersion": "kubedag.io/v1alpha1",
                "kind": "CodeLocation",
                "metadata": {
                    "name": "broken",
                    "annotations": {CODE_SERVER_URL_ANNOTATION: httpd.base_url},
                },
                "spec": {"image": "registry.example/broken:1.0", "pythonFile": str(source)},
            },
        )

        def ready() -> dict[str, Any] | None:
            found = cluster.get("codelocations", "broken") or {}
            conditions = (found.get("status") or {}).get("conditions") or []
            return next((c for c in conditions if c["type"] == "Ready"), None)

        condition = wait_for(
            lambda: (c := ready()) and c["reason"] == "UserCodeError" and c,
            DEADLINE_S,
            "the CodeLocation's UserCodeError",
        )
        assert condition["status"] == "False"
        message = condition["message"]
        assert "AttributeError" in message and "'NoneType' object has no attribute" in message
        assert f"{source}:11" in message, message
        assert message.count("CodeLocationLoadError") == 1, message
        status = (cluster.get("codelocations", "broken") or {})["status"]
        trace = status["loadError"]
        assert trace.startswith("Traceback (most recent call last):"), trace
        assert 'connection = WAREHOUSE["dsn"].split("@")' in trace, trace
        assert trace.rstrip().endswith("AttributeError: 'NoneType' object has no attribute 'split'")
        assert "jobs" not in status

        cluster.run("unaffected", "quick")
        done = cluster.wait_phase("unaffected", ("Succeeded", "Failed"), DEADLINE_S)
        assert done["phase"] == "Succeeded"

        source.write_text(textwrap.dedent(BROKEN_DEFS).replace('{"dsn": None}', '{"dsn": "a@b"}'))
        server.load()
        assert server.state == "loaded", server.load_error
        wait_for(
            lambda: (c := ready()) and c["status"] == "True", DEADLINE_S, "Ready once it imports"
        )
    status = (cluster.get("codelocations", "broken") or {})["status"]
    assert "loadError" not in status and status["assets"] == ["orders"]
