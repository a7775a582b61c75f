"""Which replica acts: kopf's peering rule, read back from the shared peering records.

Replicas of the operator share a kopf peering object (`KopfPeering` per watched namespace, or
one `ClusterKopfPeering`). Each replica keeps its own record in the object's `status`
(`{identity: {priority, lifetime, lastseen}}`), renewed before `lifetime` runs out and removed
when it stops gracefully. kopf pauses a replica while any other live record has a higher
priority — or the same one, which pauses both — and resumes it once those records expire or go.
A record of a replica that was killed stays until it expires; whoever sees it expired removes
it.

kopf keeps its own decision in memory only, so the metrics page (`kubedag_operator_active`)
recomputes it here from the same records with the same rule. `acts` is that rule, a pure
function; `replica_acts` reads the objects through `KubeApi`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from kubedag_operator.kube import KubeApi
from kubedag_operator.state import OperatorOptions


@dataclass(frozen=True)
class PeerRecord:
    """One replica's record in a peering object."""

    identity: str
    priority: int
    lifetime: timedelta
    lastseen: datetime

    def alive(self, now: datetime) -> bool:
        return self.lastseen + self.lifetime > now


def peer_records(peering: Mapping[str, Any]) -> list[PeerRecord]:
    """The records of a peering object (malformed ones are skipped: another tool's noise
    must not make every replica pause)."""
    found = []
    for identity, record in (peering.get("status") or {}).items():
        if not isinstance(record, Mapping):
            continue
        try:
            lastseen = datetime.fromisoformat(str(record["lastseen"]))
            found.append(
                PeerRecord(
                    identity=str(identity),
                    priority=int(record.get("priority", 0)),
                    lifetime=timedelta(seconds=int(record.get("lifetime", 60))),
                    lastseen=lastseen if lastseen.tzinfo else lastseen.replace(tzinfo=UTC),
                )
            )
        except (KeyError, TypeError, ValueError):
            continue
    return found


def blocking_peers(
    records: Iterable[PeerRecord], identity: str, priority: int, now: datetime
) -> list[PeerRecord]:
    """The live records of other replicas that keep this one paused (priority >= ours)."""
    return [
        record
        for record in records
        if record.identity != identity and record.alive(now) and record.priority >= priority
    ]


def acts(
    peerings: Iterable[Mapping[str, Any] | None], identity: str, priority: int, now: datetime
) -> bool:
    """Whether a replica acts, given its peering objects (one per watched namespace, or the
    cluster one). A missing object keeps kopf paused (the peering is mandatory), and kopf
    pauses the whole operator when any one object says so."""
    for peering in peerings:
        if peering is None:
            return False
        if blocking_peers(peer_records(peering), identity, priority, now):
            return False
    return True


def replica_acts(kube: KubeApi, options: OperatorOptions, now: datetime | None = None) -> bool:
    """Whether this replica acts now: always when standalone, else by its peering objects."""
    if options.standalone:
        return True
    if options.all_namespaces:
        peerings = [kube.get_peering(options.peering_name, None)]
    else:
        peerings = [kube.get_peering(options.peering_name, ns) for ns in options.namespaces]
    return acts(peerings, options.identity, options.priority, now or datetime.now(UTC))
