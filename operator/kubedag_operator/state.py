"""What one running operator holds in memory, and its options.

kopf gives every handler the operator's `memo`; the startup handler (`settings.configure`)
puts an `OperatorState` in it as `memo.kubedag`. Nothing here is needed to resume after a
restart — every handler reads the observed state again — it only saves work: open runtime
instances, the API client, a lock per object so two triggers of one object do not act at once,
the events that wake a followed Run when its pod changes.
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import socket
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kubedag_operator.instances import InstanceRegistry, instance_for_namespace
from kubedag_operator.kube import KubeApi

if TYPE_CHECKING:
    from kubedag.instance.instance import Instance

DEFAULT_PEERING_NAME = "kubedag-operator"
DEFAULT_PEERING_LIFETIME = 30
POD_ID_ENV = "POD_ID"


def default_identity() -> str:
    """This replica's name in the peering records: `$POD_ID` (kopf's convention; a
    Deployment sets it to the pod's name), else host, process id and a random suffix, so that two
    operators on one machine, or in one process, never share a record."""
    pod = os.environ.get(POD_ID_ENV)
    if pod:
        return pod
    return f"{socket.gethostname()}/{os.getpid()}/{secrets.token_hex(3)}"


@dataclass(frozen=True)
class OperatorOptions:
    """How to run the operator (`kubedag operator` flags)."""

    namespaces: tuple[str, ...] = ()
    """The namespaces watched; empty with `all_namespaces`."""
    all_namespaces: bool = False
    peering_name: str = DEFAULT_PEERING_NAME
    """The kopf peering object shared by the replicas: only the one with the highest priority
    is active, the others wait and take over when it stops renewing its record."""
    standalone: bool = False
    """No peering: for one replica, or development."""
    priority: int = field(default_factory=lambda: random.randint(1, 1_000_000))
    """The replica's peering priority; distinct per replica so that exactly one is active."""
    peering_lifetime: int = DEFAULT_PEERING_LIFETIME
    """Seconds a replica's peering record stays valid without a renewal: how long a standby
    waits before taking over from an active replica that died without removing its record.
    Renewals come every `lifetime - 5..10` seconds (at least every second)."""
    identity: str = field(default_factory=default_identity)
    """This replica's key in the peering records (see `default_identity`)."""
    liveness_endpoint: str | None = None
    """kopf's liveness endpoint, e.g. `http://0.0.0.0:8080/healthz` (None: off)."""
    metrics_port: int | None = None
    """The port of the Prometheus `/metrics` page on 0.0.0.0 (None: off; 0: any free port,
    logged at start)."""
    resync_seconds: float = 5.0
    """How often a Run's status is compared with its run record (step counts, the run's end);
    a change of its pod wakes it at once (`handlers.run.pod_changed`), so this only bounds how
    stale step counts get. Every followed Run costs a few reads per resync: 1,000 unfinished
    Runs at 2 s were more than the API server of the benchmark kept up with."""
    kubeconfig_file: str | None = None
    home: str | None = None
    """Where the operator's runtime instances keep local files (default: a temporary dir)."""

    def __post_init__(self) -> None:
        if self.peering_lifetime < 1:
            raise ValueError(
                f"peering_lifetime (--peering-lifetime) must be at least 1 second, got "
                f"{self.peering_lifetime}."
            )
        if self.liveness_endpoint is not None and not self.liveness_endpoint.startswith("http://"):
            raise ValueError(
                "liveness_endpoint (--liveness) must be an http:// URL such as "
                f"http://0.0.0.0:8080/healthz, got {self.liveness_endpoint!r}."
            )
        if self.metrics_port is not None and not 0 <= self.metrics_port <= 65535:
            raise ValueError(
                f"metrics_port (--metrics-port) must be a port number (0-65535), got "
                f"{self.metrics_port}."
            )


@dataclass
class OperatorState:
    """The operator's in-memory state (`memo.kubedag`)."""

    options: OperatorOptions
    kube: KubeApi
    instances: InstanceRegistry = field(default_factory=InstanceRegistry)
    run_wakeups: dict[tuple[str, str], asyncio.Event] = field(default_factory=dict)
    """The wake-up event of each followed Run by (namespace, name): a change of its pod sets
    it (`handlers.run.pod_changed`), so the Run is looked at before its next resync."""
    _locks: defaultdict[str, threading.Lock] = field(
        default_factory=lambda: defaultdict(threading.Lock)
    )
    _locks_lock: threading.Lock = field(default_factory=threading.Lock)

    def lock(self, uid: str) -> threading.Lock:
        """The lock of one object (by uid): one action at a time per object."""
        with self._locks_lock:
            return self._locks[uid]

    def forget(self, uid: str) -> None:
        with self._locks_lock:
            self._locks.pop(uid, None)

    def instance_for(self, namespace: str) -> Instance:
        """The runtime instance of the namespace's one `Instance` object (opened on demand);
        raises `InstanceUnavailableError`, whose `reason` and `message` suit a condition."""
        return instance_for_namespace(self.instances, self.kube, namespace, self.options.home or "")

    def close(self) -> None:
        self.instances.dispose_all()
        self.kube.close()


def operator_state(memo: Any) -> OperatorState:
    """The state the startup handler put in kopf's memo."""
    state = getattr(memo, "kubedag", None)
    if not isinstance(state, OperatorState):
        raise RuntimeError(
            "The kubedag operator's state is missing from kopf's memo: start the operator with "
            "`kubedag operator` (or kubedag_operator.running), which loads "
            "kubedag_operator.settings."
        )
    return state
