"""High availability: operator replicas share a kopf peering object; one acts, the other
takes over when it stops."""

from __future__ import annotations

import pytest

from tests.fixtures.kubernetes import KubernetesHarness
from tests.operator.cluster import Cluster
from tests.operator.conftest import OperatorRunner
from tests.runtime.runs.conftest import wait_for


@pytest.mark.skip(
    reason="flaky on the emulator: in about half the runs neither replica's keepalive reaches "
    "the peering object, so neither pauses; to be investigated (issue 6 left open)"
)
def test_replicas_share_a_peering_object_and_one_takes_over_from_the_other(
    cluster: Cluster,
    operator_runner: OperatorRunner,
    kubernetes_api: KubernetesHarness,
    caplog: pytest.LogCaptureFixture,
) -> None:
    operator_runner.stop_all()  # the fixture's standalone operator
    caplog.set_level("INFO", logger="kopf")
    standby = operator_runner(cluster.namespace, standalone=False, priority=100)
    active = operator_runner(cluster.namespace, standalone=False, priority=200)
    peering = kubernetes_api.get("kopf.dev", "kopfpeerings", cluster.namespace, "kubedag-operator")
    assert peering is not None  # created by the operator when missing
    wait_for(
        lambda: any("Pausing operations in favour of" in r.getMessage() for r in caplog.records),
        30,
        f"the lower-priority replica to pause: {kubernetes_api.get('kopf.dev', 'kopfpeerings', cluster.namespace, 'kubedag-operator')}",
    )
    cluster.run("peered-1", "quick")
    assert cluster.wait_phase("peered-1", ("Succeeded", "Failed"))["phase"] == "Succeeded"
    active.stop()  # the standby takes over once the active replica's record is gone
    cluster.run("peered-2", "quick")
    status = cluster.wait_phase("peered-2", ("Succeeded", "Failed"), timeout=60)
    assert status["phase"] == "Succeeded"
    assert not standby.stop_flag.is_set()
