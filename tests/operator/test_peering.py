"""High availability: operator replicas share a kopf peering object; the one with the highest
priority acts, and another takes over when it stops — at once after a graceful stop, after the
peering lifetime when it is killed.

Each replica is its own process (`python -m kubedag_operator`, see `operator_process.py`), as in
a cluster, so that one can be SIGKILLed. The peering lifetime is 3 s to keep the tests short.
Which replica acts is read from each one's metrics page (`kubedag_operator_active`), and proven
by what happens: Runs succeed, and a waiting replica's log shows no handler at work.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kubedag.errors import KubedagError
from kubedag_operator.kube import KubeApi
from kubedag_operator.peering import acts, blocking_peers, peer_records
from tests.fixtures.kubernetes import KubernetesApiServer, KubernetesHarness, write_kubeconfig
from tests.operator.cluster import Cluster, G
from tests.operator.conftest import OperatorRunner
from tests.operator.operator_process import OperatorProcess, http_get
from tests.runtime.runs.conftest import wait_for

LIFETIME = "3"
PEERING = ("kopf.dev", "kopfpeerings")


class Replicas:
    """Starts operator processes for one test and kills what is left at the end."""

    def __init__(self, cluster: Cluster, work_dir: Path) -> None:
        self.cluster, self.work_dir = cluster, work_dir
        self.started: list[OperatorProcess] = []

    def start(self, priority: int) -> OperatorProcess:
        replica = OperatorProcess.start(
            self.cluster.api,
            self.cluster.namespace,
            self.work_dir,
            "--priority",
            str(priority),
            "--peering-lifetime",
            LIFETIME,
            "--resync-seconds",
            "0.2",
        )
        self.started.append(replica)
        return replica

    def kill_all(self) -> None:
        for replica in self.started:
            replica.kill()


@pytest.fixture
def replicas(
    cluster: Cluster, operator_runner: OperatorRunner, tmp_path: Path
) -> Iterator[Replicas]:
    operator_runner.stop_all()  # the cluster's own in-thread operator: the replicas replace it
    started = Replicas(cluster, tmp_path / "replicas")
    try:
        yield started
    finally:
        started.kill_all()


def peering_records(api: KubernetesHarness, namespace: str) -> dict[str, Any]:
    peering = api.get(*PEERING, namespace, "kubedag-operator")
    return dict((peering or {}).get("status") or {})


def priorities(api: KubernetesHarness, namespace: str) -> list[int]:
    return sorted(r["priority"] for r in peering_records(api, namespace).values())


def handler_lines(log: str) -> list[str]:
    """kopf's lines about handling an object's events (`Handler '…' succeeded`, `Creation is
    processed`), which a paused replica never writes. Timers and daemons are left out: kopf
    stops them when it pauses, and their last words may come just after the pause."""
    return [
        line
        for line in log.splitlines()
        if " kopf.objects: " in line and ("Handler '" in line or " is processed" in line)
    ]


HANDLED = "kopf.kubedag.io/last-handled-configuration"


def all_handled(api: KubernetesHarness, namespace: str) -> bool:
    """Whether every object the cluster fixture made has been handled to the end: it carries the
    last-handled spec and no handler's progress. A replica that pauses does not cancel a handler
    already at work, so the test waits for this before another replica takes over; otherwise the
    paused one's last handler may finish after the pause and look like work done while paused."""
    objects = [
        o
        for plural in ("instances", "codelocations", "jobs")
        for o in api.list(G, plural, namespace)
    ]
    return bool(objects) and all(
        set(k for k in (o["metadata"].get("annotations") or {}) if k.startswith("kopf.kubedag.io/"))
        == {HANDLED}
        for o in objects
    )


def run_succeeds(cluster: Cluster, name: str) -> None:
    cluster.run(name, "quick")
    assert cluster.wait_phase(name, ("Succeeded", "Failed"), timeout=60)["phase"] == "Succeeded"


def test_the_higher_priority_replica_acts_and_the_other_takes_over_when_it_stops(
    cluster: Cluster, replicas: Replicas, kubernetes_api: KubernetesHarness
) -> None:
    ns = cluster.namespace
    low = replicas.start(priority=100)
    wait_for(low.active, 30, f"the only replica to act:\n{low.log()}")
    wait_for(lambda: all_handled(kubernetes_api, ns), 30, f"every object handled:\n{low.log()}")
    high = replicas.start(priority=200)
    wait_for(
        lambda: high.active() and not low.active(),
        30,
        f"the higher priority to act and the lower to pause: {peering_records(kubernetes_api, ns)}",
    )
    assert priorities(kubernetes_api, ns) == [100, 200]  # one shared object, both records

    paused_at = len(low.log())
    run_succeeds(cluster, "peered-1")
    assert handler_lines(low.log()[paused_at:]) == [], "the paused replica handled something"

    assert high.terminate() == 0  # graceful: kopf removes its record on the way out
    wait_for(low.active, 10, f"the remaining replica to act: {peering_records(kubernetes_api, ns)}")
    assert priorities(kubernetes_api, ns) == [100]
    run_succeeds(cluster, "peered-2")
    assert handler_lines(low.log()[paused_at:]), "the remaining replica handled nothing"


def test_a_standby_takes_over_from_a_killed_replica_after_the_peering_lifetime(
    cluster: Cluster, replicas: Replicas, kubernetes_api: KubernetesHarness
) -> None:
    ns = cluster.namespace
    high = replicas.start(priority=200)
    wait_for(lambda: priorities(kubernetes_api, ns) == [200], 30, "the first replica's record")
    standby = replicas.start(priority=100)
    wait_for(lambda: priorities(kubernetes_api, ns) == [100, 200], 30, "the standby's record")
    assert high.active() and not standby.active()
    assert http_get(standby.liveness_url)[0] == 200  # waiting is healthy: no restarts
    run_succeeds(cluster, "before-kill")
    assert handler_lines(standby.log()) == [], "the standby handled something"

    high.kill()  # SIGKILL: no graceful peering cleanup, its record stays until it expires
    assert priorities(kubernetes_api, ns) == [100, 200]
    wait_for(standby.active, 30, f"the standby to take over: {peering_records(kubernetes_api, ns)}")
    run_succeeds(cluster, "after-kill")
    assert handler_lines(standby.log())
    # whoever sees an expired record removes it
    wait_for(lambda: priorities(kubernetes_api, ns) == [100], 30, "the dead record to go")


def test_a_standalone_operator_needs_no_peering_object(
    cluster: Cluster, kubernetes_api: KubernetesHarness
) -> None:
    # the cluster fixture's operator runs with standalone=True
    run_succeeds(cluster, "alone")
    assert kubernetes_api.get(*PEERING, cluster.namespace, "kubedag-operator") is None


# -- the rule, as a pure function ------------------------------------------------------------

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def record(priority: int, seen_ago: float = 0, lifetime: int = 30) -> dict[str, Any]:
    lastseen = (NOW - timedelta(seconds=seen_ago)).isoformat()
    return {"priority": priority, "lifetime": lifetime, "lastseen": lastseen}


def test_a_replica_acts_unless_a_live_peer_has_a_higher_or_equal_priority() -> None:
    peering = {"status": {"me": record(100), "other": record(200)}}
    assert not acts([peering], "me", 100, NOW)
    assert acts([peering], "other", 200, NOW)
    same = {"status": {"me": record(100), "twin": record(100)}}
    assert not acts([same], "me", 100, NOW) and not acts([same], "twin", 100, NOW)
    alone = {"status": {"me": record(100)}}
    assert acts([alone], "me", 100, NOW) and acts([{}], "me", 100, NOW)


def test_expired_and_malformed_records_do_not_block() -> None:
    peering = {
        "status": {
            "dead": record(500, seen_ago=31, lifetime=30),
            "junk": {"priority": 900},  # no lastseen
            "also-junk": "text",
        }
    }
    assert [r.identity for r in peer_records(peering)] == ["dead"]
    assert blocking_peers(peer_records(peering), "me", 100, NOW) == []
    assert acts([peering], "me", 100, NOW)


def test_every_peering_object_must_allow_it_and_a_missing_one_pauses() -> None:
    free = {"status": {"me": record(100)}}
    taken = {"status": {"other": record(300)}}
    assert acts([free, free], "me", 100, NOW)
    assert not acts([free, taken], "me", 100, NOW)
    assert not acts([free, None], "me", 100, NOW)


def test_without_the_peering_crds_the_operator_says_how_to_fix_it(tmp_path: Path) -> None:
    server = KubernetesApiServer().start()  # its own API: the session's keeps its CRDs
    kube = KubeApi(str(write_kubeconfig(tmp_path / "kubeconfig", server.url)))
    try:
        crds = server.store.resource("apiextensions.k8s.io", "customresourcedefinitions")
        server.store.delete(crds, "", "kopfpeerings.kopf.dev")
        with pytest.raises(KubedagError, match=r"kopfpeerings\.kopf\.dev.*--standalone"):
            kube.ensure_peering("kubedag-operator", ("data",), clusterwide=False)
        kube.ensure_peering("kubedag-operator", (), clusterwide=True)  # that CRD is still there
        assert kube.get_peering("kubedag-operator", None) is not None
    finally:
        kube.close()
        server.stop()
