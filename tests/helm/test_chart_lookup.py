"""The chart's `lookup` calls, answered by an API server: the bundled PostgreSQL's password is
generated once and reused by every later render, and an upgrade that lost its values cannot
move an Instance off its own PostgreSQL.

`helm template` alone has no cluster, so `lookup` finds nothing there. With `--dry-run=server`
and a kubeconfig, helm 3 and helm 4 run the lookups against that API (here, the tests'
emulated one) and still change nothing in it. `--disable-openapi-validation`: the emulator
serves no OpenAPI documents. What `helm install` would have created is put into the emulator
by the test, with the ownership labels and annotations helm writes (helm 4 refuses, even in a
dry run, to adopt objects without them). A real `helm install` cannot run here: helm stores
releases as protobuf, which the emulator does not speak.
"""

from __future__ import annotations

import base64
import copy
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.kubernetes import (
    REPO_ROOT,
    KubernetesApiServer,
    KubernetesHarness,
    Resource,
    write_kubeconfig,
)
from tests.helm.chart import RELEASE, VALUES, Helm, one

MINIMAL = VALUES / "minimal.yaml"
SECRET = f"{RELEASE}-kubedag-postgres"
SERVER_DRY_RUN = ("--dry-run=server", "--disable-openapi-validation")
UPGRADE = (*SERVER_DRY_RUN, "--is-upgrade")

# Kinds the chart renders that the emulator does not serve by default: helm maps every
# rendered object to a resource of the API before it renders the release.
CHART_KINDS = [
    Resource("apps", "v1", "statefulsets", "StatefulSet"),
    Resource("rbac.authorization.k8s.io", "v1", "roles", "Role", has_status=False),
    Resource("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", has_status=False),
    Resource("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", has_status=False),
    Resource("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget"),
]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubernetesHarness]:
    """An emulated API of its own (the session's stays as other tests expect it), with our
    CRDs and the kinds the chart renders."""
    server = KubernetesApiServer().start()
    server.preload_crds(REPO_ROOT / "crds")
    for resource in CHART_KINDS:
        server.store.register(resource)
    kubeconfig = write_kubeconfig(tmp_path_factory.mktemp("helm-kube") / "kubeconfig", server.url)
    try:
        yield KubernetesHarness(server, server.url, kubeconfig)
    finally:
        server.stop()


@pytest.fixture
def namespace(cluster: KubernetesHarness) -> str:
    name = f"helm-{uuid.uuid4().hex[:8]}"
    cluster.create("", "namespaces", "", {"metadata": {"name": name}})
    return name


def _installed(manifest: dict[str, Any], namespace: str) -> dict[str, Any]:
    """`manifest` as `helm install` leaves it in the cluster: with helm's ownership marks."""
    body = copy.deepcopy(manifest)
    meta = body["metadata"]
    meta.setdefault("labels", {})["app.kubernetes.io/managed-by"] = "Helm"
    meta.setdefault("annotations", {}).update(
        {"meta.helm.sh/release-name": RELEASE, "meta.helm.sh/release-namespace": namespace}
    )
    return body


def _password(manifests: list[dict[str, Any]]) -> str:
    secret = one(manifests, "Secret")
    assert secret["metadata"]["name"] == SECRET
    return base64.b64decode(secret["data"]["password"]).decode()


def _render(
    helm: Helm, cluster: KubernetesHarness, namespace: str, *flags: str, values: Path | None = None
) -> list[dict[str, Any]]:
    return helm.against(cluster.kubeconfig).template(values, namespace=namespace, flags=flags)


def test_the_bundled_password_is_generated_once_then_reused(
    helm: Helm, cluster: KubernetesHarness, namespace: str
) -> None:
    install = _render(helm, cluster, namespace, *SERVER_DRY_RUN)
    generated = _password(install)  # lookup found no Secret: a new random password
    assert re.fullmatch(r"[A-Za-z0-9]{32}", generated), generated
    assert cluster.get("", "secrets", namespace, SECRET) is None  # a dry run creates nothing
    cluster.create("", "secrets", namespace, _installed(one(install, "Secret"), namespace))
    for _ in range(2):  # every later upgrade finds it and keeps its password
        upgrade = _render(helm, cluster, namespace, *UPGRADE)
        assert _password(upgrade) == generated
        db = one(upgrade, "Instance")["spec"]["storage"]["postgres"]["postgres_db"]
        assert db["password"] == {"secretKeyRef": {"name": SECRET, "key": "password"}}


def test_a_password_set_in_the_secret_is_kept(
    helm: Helm, cluster: KubernetesHarness, namespace: str
) -> None:
    """Whatever the Secret holds is what the database was initialised with: it is kept as is,
    even when it is not a password the chart would have generated."""
    chosen = "chosen by an operator: 42!"
    body = {
        "metadata": {"name": SECRET},
        "data": {"password": base64.b64encode(chosen.encode()).decode()},
    }
    cluster.create("", "secrets", namespace, _installed(body, namespace))
    assert _password(_render(helm, cluster, namespace, *UPGRADE)) == chosen


def test_a_secret_without_the_password_key_gets_a_generated_one(
    helm: Helm, cluster: KubernetesHarness, namespace: str
) -> None:
    body = {"metadata": {"name": SECRET}, "data": {"other": base64.b64encode(b"x").decode()}}
    cluster.create("", "secrets", namespace, _installed(body, namespace))
    assert re.fullmatch(r"[A-Za-z0-9]{32}", _password(_render(helm, cluster, namespace)))


def test_an_upgrade_without_its_values_cannot_move_an_instance_to_the_bundled_postgres(
    helm: Helm, cluster: KubernetesHarness, namespace: str
) -> None:
    """`helm upgrade --set image.tag=…` without the values file falls back to the defaults,
    whose bundled PostgreSQL would replace the database of an install on its own."""
    installed = _render(helm, cluster, namespace, *SERVER_DRY_RUN, values=MINIMAL)
    cluster.create(
        "kubedag.io", "instances", namespace, _installed(one(installed, "Instance"), namespace)
    )
    lost = helm.against(cluster.kubeconfig).rejected(
        None, {"image.tag": "0.2.0"}, namespace=namespace, flags=UPGRADE
    )
    moved = 'uses the PostgreSQL at "postgres.data.svc", but these values would move it to the'
    assert f"{moved} bundled PostgreSQL" in lost, lost
    assert "instance.postgres.bundled.enabled=false" in lost, lost
    assert "instance.postgres.external.host" in lost, lost
    kept = _render(helm, cluster, namespace, *UPGRADE, values=MINIMAL)  # with its values: fine
    db = one(kept, "Instance")["spec"]["storage"]["postgres"]["postgres_db"]
    assert db["hostname"] == "postgres.data.svc"


def test_an_evaluation_install_upgrades_with_no_values(
    helm: Helm, cluster: KubernetesHarness, namespace: str
) -> None:
    installed = _render(helm, cluster, namespace, *SERVER_DRY_RUN)
    for kind, plural, group in (("Secret", "secrets", ""), ("Instance", "instances", "kubedag.io")):
        cluster.create(group, plural, namespace, _installed(one(installed, kind), namespace))
    upgraded = _render(helm, cluster, namespace, *UPGRADE)
    assert one(upgraded, "Instance")["spec"] == one(installed, "Instance")["spec"]
    assert _password(upgraded) == _password(installed)
