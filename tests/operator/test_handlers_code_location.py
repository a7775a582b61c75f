"""CodeLocation handlers: the code server's Deployment and Service, and the status from a real
code server.

The emulated API has no Deployment controller, so no code server pod runs from the Deployment:
the tests check the objects' specs, and serve the code themselves (a real `CodeServer` over HTTP
on 127.0.0.1, loading a sample file) with the CodeLocation pointed at it by the annotation
`kubedag.io/code-server-url`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import kopf
import pytest

from kubedag_operator.code_location_objects import (
    CODE_SERVER_URL_ANNOTATION,
    SPEC_HASH_ANNOTATION,
    code_server_name,
    code_server_url,
    deployment_manifest,
    image_digest,
    pinned_image,
    selector_labels,
    service_manifest,
)
from kubedag_operator.handlers import code_location as code_location_handlers
from kubedag_operator.handlers.code_location import reconcile_code_location
from kubedag_operator.kube import KubeApi
from kubedag_operator.resources import CodeLocationResource
from tests.fixtures.kubernetes import KubernetesHarness

SAMPLE_CODE = """
import kubedag as dg


@dg.asset
def raw_orders() -> int:
    return 1


@dg.asset
def orders_summary(raw_orders: int) -> int:
    return raw_orders + 1


orders_job = dg.define_asset_job("orders_job", selection=["raw_orders", "orders_summary"])

defs = dg.Definitions(
    assets=[raw_orders, orders_summary],
    jobs=[orders_job],
    schedules=[dg.ScheduleDefinition(name="hourly_orders", cron_schedule="0 * * * *", job=orders_job)],
)
"""


def location_body(name: str = "sales", namespace: str = "ns", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "kubedag.io/v1alpha1",
        "kind": "CodeLocation",
        "metadata": {"name": name, "namespace": namespace, "uid": "uid-1", "generation": 1},
        "spec": {"image": "registry.example.com/sales:1.0", "module": "sales.defs", **spec},
    }


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture
def kube(kubernetes_api: KubernetesHarness) -> Iterator[KubeApi]:
    """The operator's client, on the emulator.

    Also points the `kubernetes` client's default kubeconfig at the emulator, for the session:
    the client reads `$KUBECONFIG` once, when first imported, and `import kopf` (at collection,
    by these modules) imports it before any fixture could set the variable; kopf's default
    login (`login_via_client`, used by the `operator_runner` fixture) reads that default."""
    from kubernetes.config import kube_config  # type: ignore[import-untyped]

    kube_config.KUBE_CONFIG_DEFAULT_LOCATION = str(kubernetes_api.kubeconfig)
    api = KubeApi(str(kubernetes_api.kubeconfig))
    yield api
    api.close()


@contextmanager
def running_operator(
    harness: KubernetesHarness,
    namespace: str,
    register: Callable[[kopf.OperatorRegistry], None],
) -> Iterator[None]:
    """kopf in a thread, watching `namespace`, with only the handlers `register` adds."""
    registry = kopf.OperatorRegistry()
    register(registry)

    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        return kopf.ConnectionInfo(server=harness.url, token="test-token", insecure=True)

    settings = kopf.OperatorSettings()
    settings.posting.enabled = False
    settings.watching.server_timeout = 10
    settings.queueing.idle_timeout = 0.5  # quick exit of per-object workers at stop
    settings.queueing.exit_timeout = 2
    settings.background.instant_exit_timeout = 0.5  # timers stop at once when kopf exits
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(
        prefix="kopf.kubedag.io"
    )
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix="kopf.kubedag.io", key="last-handled-configuration"
    )
    stop, ready = threading.Event(), threading.Event()

    def main() -> None:
        asyncio.run(
            kopf.operator(
                registry=registry,
                settings=settings,
                namespaces=[namespace],
                standalone=True,
                stop_flag=stop,
                ready_flag=ready,
            )
        )

    logging.getLogger("kopf").setLevel(logging.WARNING)
    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    assert ready.wait(15), "kopf did not start"
    try:
        yield
    finally:
        stop.set()
        thread.join(15)
        assert not thread.is_alive(), "kopf did not stop"


@contextmanager
def serving_sample(tmp_path: Path) -> Iterator[str]:
    """A real code server for a sample file, on 127.0.0.1; yields its URL."""
    from kubedag.code_location.load import load_definitions
    from kubedag.code_server.server import CodeServer, serving

    source = tmp_path / "sales_defs.py"
    source.write_text(SAMPLE_CODE)
    server = CodeServer("sales", lambda: load_definitions(python_file=str(source)))
    server.load()
    assert server.state == "loaded", server.load_error
    with serving(server) as httpd:
        yield httpd.base_url


# -- the manifests (pure) -------------------------------------------------------------------------
def test_the_deployment_runs_the_code_server_with_a_restricted_context() -> None:
    location = CodeLocationResource.parse(
        location_body(
            attribute="defs",
            replicas=2,
            serviceAccountName="sales-sa",
            workingDir="/app",
            env=[{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}],
            envFrom=[{"configMapRef": {"name": "settings"}}],
            resources={"requests": {"cpu": "100m"}, "limits": {"memory": "1Gi"}},
            imagePullPolicy="IfNotPresent",
        )
    )
    deployment = deployment_manifest(location, "ns")
    assert deployment["metadata"]["name"] == "sales-code-server"
    assert deployment["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "kubedag.io/v1alpha1",
            "kind": "CodeLocation",
            "name": "sales",
            "uid": "uid-1",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    labels = {
        "app.kubernetes.io/name": "kubedag",
        "app.kubernetes.io/component": "code-server",
        "kubedag.io/code-location": "sales",
    }
    assert labels.items() <= deployment["metadata"]["labels"].items()
    spec = deployment["spec"]
    assert spec["replicas"] == 2 and spec["selector"]["matchLabels"] == labels
    pod = spec["template"]["spec"]
    assert labels.items() <= spec["template"]["metadata"]["labels"].items()
    assert pod["serviceAccountName"] == "sales-sa"
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    assert container["image"] == "registry.example.com/sales:1.0"
    assert [container["command"][0], *container["args"]] == [
        "kubedag",
        "code-server",
        "-m",
        "sales.defs",
        "-a",
        "defs",
        "--host",
        "0.0.0.0",
        "--port",
        "4000",
        "--location-name",
        "sales",
    ]
    assert container["ports"][0]["containerPort"] == 4000
    assert container["securityContext"] == {
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}} in container[
        "env"
    ]
    assert container["envFrom"] == [{"configMapRef": {"name": "settings"}}]
    assert container["resources"] == {"requests": {"cpu": "100m"}, "limits": {"memory": "1Gi"}}
    assert container["workingDir"] == "/app" and container["imagePullPolicy"] == "IfNotPresent"


def test_a_python_file_location_and_the_service() -> None:
    location = CodeLocationResource.parse(
        location_body(module=None, pythonFile="/app/definitions.py")
        | {"spec": {"image": "img", "pythonFile": "/app/definitions.py"}}
    )
    args = deployment_manifest(location, "ns")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[:3] == ["code-server", "-f", "/app/definitions.py"]
    pod = deployment_manifest(location, "ns")["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    service = service_manifest(location, "ns")
    assert service["metadata"]["name"] == "sales-code-server"
    assert service["spec"]["ports"] == [
        {"name": "http", "port": 4000, "targetPort": "http", "protocol": "TCP"}
    ]
    assert service["spec"]["selector"]["kubedag.io/code-location"] == "sales"
    assert service["metadata"]["ownerReferences"][0]["kind"] == "CodeLocation"
    assert code_server_url("sales", "ns") == "http://sales-code-server.ns.svc:4000"


def test_the_spec_hash_changes_with_the_spec_only() -> None:
    first = deployment_manifest(CodeLocationResource.parse(location_body()), "ns")
    again = deployment_manifest(CodeLocationResource.parse(location_body()), "ns")
    other = deployment_manifest(CodeLocationResource.parse(location_body(image="img:2")), "ns")
    hashes = [m["metadata"]["annotations"][SPEC_HASH_ANNOTATION] for m in (first, again, other)]
    assert hashes[0] == hashes[1] != hashes[2]


def test_long_and_odd_names_give_valid_service_names() -> None:
    name = code_server_name("A" * 80 + ".x")
    assert len(name) <= 63 and name.endswith("-code-server") and name[0].isalpha()
    assert code_server_name("9lives").startswith("cl-9lives")


# -- on the emulated API --------------------------------------------------------------------------
def create_location(harness: KubernetesHarness, namespace: str, **spec: Any) -> dict[str, Any]:
    body = location_body(namespace=namespace, **spec)
    annotations = spec.pop("annotations", None)
    body["spec"].pop("annotations", None)
    del body["metadata"]["uid"], body["metadata"]["generation"]
    if annotations:
        body["metadata"]["annotations"] = annotations
    return harness.create("kubedag.io", "codelocations", namespace, body)


def get_location(harness: KubernetesHarness, namespace: str) -> dict[str, Any]:
    found = harness.get("kubedag.io", "codelocations", namespace, "sales")
    assert found is not None
    return found


def ready(body: dict[str, Any]) -> dict[str, Any]:
    conditions = (body.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c["type"] == "Ready"), {})


def test_objects_are_created_updated_on_spec_change_and_left_alone_otherwise(
    kubernetes_api: KubernetesHarness, k8s_namespace: str, kube: KubeApi
) -> None:
    body = create_location(kubernetes_api, k8s_namespace)
    status = reconcile_code_location(kube, body, datetime.now(UTC))
    deployment = kubernetes_api.get("apps", "deployments", k8s_namespace, "sales-code-server")
    service = kubernetes_api.get("", "services", k8s_namespace, "sales-code-server")
    assert deployment is not None and service is not None
    assert deployment["metadata"]["ownerReferences"][0]["uid"] == body["metadata"]["uid"]
    assert service["spec"]["ports"][0]["port"] == 4000
    # Nothing serves the code: not ready, and it says where it looked.
    assert status["conditions"][0]["reason"] == "CodeServerUnavailable"
    assert "sales-code-server" in status["conditions"][0]["message"]
    assert ready(get_location(kubernetes_api, k8s_namespace))["status"] == "False"

    versions = (deployment["metadata"]["resourceVersion"], service["metadata"]["resourceVersion"])
    reconcile_code_location(kube, get_location(kubernetes_api, k8s_namespace), datetime.now(UTC))
    deployment = kubernetes_api.get("apps", "deployments", k8s_namespace, "sales-code-server")
    service = kubernetes_api.get("", "services", k8s_namespace, "sales-code-server")
    assert deployment and service
    assert (
        deployment["metadata"]["resourceVersion"],
        service["metadata"]["resourceVersion"],
    ) == versions

    changed = get_location(kubernetes_api, k8s_namespace)
    changed["spec"]["image"] = "registry.example.com/sales:2.0"
    changed["spec"]["replicas"] = 3
    reconcile_code_location(kube, changed, datetime.now(UTC))
    deployment = kubernetes_api.get("apps", "deployments", k8s_namespace, "sales-code-server")
    assert deployment is not None
    assert deployment["spec"]["replicas"] == 3
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "registry.example.com/sales:2.0"


def test_an_invalid_spec_is_a_condition_naming_the_field(
    kubernetes_api: KubernetesHarness, k8s_namespace: str, kube: KubeApi
) -> None:
    body = create_location(kubernetes_api, k8s_namespace, pythonFile="/app/d.py", replicas=-1)
    reconcile_code_location(kube, body, datetime.now(UTC))
    condition = ready(get_location(kubernetes_api, k8s_namespace))
    assert condition["status"] == "False" and condition["reason"] == "InvalidSpec"
    assert "spec.replicas" in condition["message"]
    assert kubernetes_api.get("apps", "deployments", k8s_namespace, "sales-code-server") is None


def test_the_status_lists_what_a_real_code_server_serves(
    kubernetes_api: KubernetesHarness, k8s_namespace: str, kube: KubeApi, tmp_path: Path
) -> None:
    digest = "sha256:" + "ab" * 32
    code_server_pod(kubernetes_api, k8s_namespace, f"registry.example.com/sales@{digest}")
    with serving_sample(tmp_path) as url:
        body = create_location(
            kubernetes_api, k8s_namespace, annotations={CODE_SERVER_URL_ANNOTATION: url}
        )
        reconcile_code_location(kube, body, datetime.now(UTC))
    found = get_location(kubernetes_api, k8s_namespace)
    status = found["status"]
    assert status["jobs"] == ["__ASSET_JOB", "orders_job"]
    assert status["assets"] == ["orders_summary", "raw_orders"]
    assert status["schedules"] == ["hourly_orders"] and status["sensors"] == []
    assert ready(found)["status"] == "True" and ready(found)["reason"] == "Loaded"
    assert len(status["contentHash"]) == 64
    assert status["imageDigest"] == digest
    assert CodeLocationResource.parse(found).status.image_digest == digest


def code_server_pod(harness: KubernetesHarness, namespace: str, image_id: str) -> None:
    """A pod of the code server's Deployment, as a kubelet reports it once running (the
    emulator has no Deployment controller); bound to another node than the test kubelet's, so
    the status written here is the only one."""
    harness.create(
        "",
        "pods",
        namespace,
        {
            "metadata": {"name": "sales-code-server-1", "labels": selector_labels("sales")},
            "spec": {
                "nodeName": "node-1",
                "containers": [{"name": "code-server", "image": "registry.example.com/sales:1.0"}],
            },
        },
    )
    status = {
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "True"}],
        "containerStatuses": [{"name": "code-server", "imageID": image_id, "ready": True}],
    }
    pods = harness.store.resource("", "pods")
    harness.store.update(
        pods, namespace, "sales-code-server-1", lambda old: {**old, "status": status}, "status"
    )


def test_the_image_digest_comes_from_a_ready_pod_and_pins_the_runs_image() -> None:
    def pod(ready: bool, image_id: str) -> dict[str, Any]:
        return {
            "status": {
                "conditions": [{"type": "Ready", "status": str(ready)}],
                "containerStatuses": [{"name": "code-server", "imageID": image_id}],
            }
        }

    old, new = "sha256:" + "0" * 64, "sha256:" + "1" * 64
    assert (
        image_digest([pod(False, f"r/x@{old}"), pod(True, f"docker-pullable://r/x@{new}")]) == new
    )
    assert image_digest([pod(True, "emulated://r/x:1")]) is None
    assert image_digest([]) is None
    assert pinned_image("r/x:1.0", new) == f"r/x:1.0@{new}"
    assert pinned_image(f"r/x@{old}", new) == f"r/x@{old}"
    assert pinned_image("r/x:1.0", None) == "r/x:1.0"


def test_the_operator_serves_a_location_and_retries_until_its_server_answers(
    kubernetes_api: KubernetesHarness, k8s_namespace: str, kube: KubeApi, tmp_path: Path
) -> None:
    """With kopf running: the objects appear at creation; the status says the code is loading,
    then Ready once it loaded, then CodeServerUnavailable once nothing answers (the operator
    keeps going)."""
    from kubedag.code_location.load import load_definitions
    from kubedag.code_server.server import CodeHTTPServer, CodeServer

    source = tmp_path / "sales_defs.py"
    source.write_text(SAMPLE_CODE)
    server = CodeServer("sales", lambda: load_definitions(python_file=str(source)))
    httpd = CodeHTTPServer(("127.0.0.1", 0), server)  # answers 503 "loading" until load()
    url = httpd.base_url
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    create_location(kubernetes_api, k8s_namespace, annotations={CODE_SERVER_URL_ANNOTATION: url})

    def register(registry: kopf.OperatorRegistry) -> None:
        code_location_handlers.register(registry, kube, interval=0.3)

    with running_operator(kubernetes_api, k8s_namespace, register):
        wait_for(
            lambda: kubernetes_api.get("apps", "deployments", k8s_namespace, "sales-code-server"),
            10,
            "the Deployment",
        )
        wait_for(
            lambda: (
                ready(get_location(kubernetes_api, k8s_namespace)).get("reason")
                == "CodeServerLoading"
            ),
            10,
            "Ready=False while the code loads",
        )
        server.load()
        try:
            wait_for(
                lambda: ready(get_location(kubernetes_api, k8s_namespace)).get("status") == "True",
                10,
                "Ready=True once the server answers",
            )
        finally:
            httpd.shutdown()
            httpd.server_close()
            thread.join(5)
        wait_for(
            lambda: (
                ready(get_location(kubernetes_api, k8s_namespace)).get("reason")
                == "CodeServerUnavailable"
            ),
            10,
            "Ready=False once the server is gone",
        )
    assert get_location(kubernetes_api, k8s_namespace)["status"]["jobs"] == [
        "__ASSET_JOB",
        "orders_job",
    ]
