"""Helpers of the operator fault tests: the operator as a process that a test can SIGKILL at an
exact moment, and counts of what the emulated Kubernetes API ever held.

The emulated API server runs in the test process, so a test can act at the instant the server
stores an object — before the client that sent it has its answer. `killed_when_pod_stored`
uses that to SIGKILL the operator right after its run pod exists and before it could have
written anything else (the pod's name on the run record, the Run's status), which is the
window an operator crash leaves behind.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.kubernetes import KubernetesHarness
from tests.operator.cluster import Cluster
from tests.operator.operator_process import OperatorProcess


def start_operator(cluster: Cluster, work_dir: Path, *extra: str) -> OperatorProcess:
    """`python -m kubedag_operator` for the cluster's namespace, alone (no peering), looking at
    each Run every 0.2 s; returns once it serves its liveness endpoint."""
    return OperatorProcess.start(
        cluster.api, cluster.namespace, work_dir, "--standalone", "--resync-seconds", "0.2", *extra
    )


@contextlib.contextmanager
def killed_when_pod_stored(
    harness: KubernetesHarness,
    monkeypatch: pytest.MonkeyPatch,
    namespace: str,
    operator: OperatorProcess,
) -> Iterator[threading.Event]:
    """SIGKILL `operator` as soon as the API server has stored the first pod created in
    `namespace`, before the server answers the create: the pod exists, and the operator never
    learns that it does. The event is set once the operator is dead."""
    store = harness.store
    original = store.create
    killed = threading.Event()

    def create(resource: Any, in_namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        stored = original(resource, in_namespace, body)
        is_run_pod = (resource.group, resource.plural, in_namespace) == ("", "pods", namespace)
        if is_run_pod and not killed.is_set():
            operator.kill()  # SIGKILL, and waits for the process to be gone
            killed.set()
        return stored

    with monkeypatch.context() as patch:
        patch.setattr(store, "create", create)
        yield killed


def pods_ever_created(harness: KubernetesHarness, namespace: str, owner_uid: str) -> list[str]:
    """The names of every pod created in `namespace` with an owner reference to `owner_uid`,
    from the API server's whole history (a pod created and deleted again counts)."""
    return [
        event.obj["metadata"]["name"]
        for event in list(harness.store.events)
        if (event.group, event.plural, event.namespace, event.type)
        == ("", "pods", namespace, "ADDED")
        and any(
            owner.get("uid") == owner_uid
            for owner in event.obj["metadata"].get("ownerReferences") or []
        )
    ]
