"""The runtime `Instance` behind each `Instance` object, and how handlers find it.

An `Instance` object's spec is the instance document with secrets as Secret references.
`runtime_document` (pure) turns it into what the runtime and the run pods use: the document
with `{env: VAR}` references, plus the pod environment entries that fill those variables from
the Secrets (`valueFrom.secretKeyRef`), added to the Kubernetes run launcher's `env`. So a run
pod gets every secret from Kubernetes, and the document it receives holds none.

The operator process itself has no such pod environment for every namespace: it reads the
referenced Secrets through the API and exposes their values, under the variables' names, only
while `Instance.from_config` builds the instance (which is when the runtime reads `{env: VAR}`),
under a lock, and restores its environment right after. Values never reach a status, a log
line or an Event.

`InstanceRegistry` keeps one open runtime `Instance` per object, keyed by namespace and name
and rebuilt when the object's generation changes; `instance_for_namespace` finds "the"
Instance of a namespace — exactly one is allowed — for every other handler (Runs, Schedules).
"""

from __future__ import annotations

import contextlib
import copy
import os
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kubedag_operator.resources import InstanceResource, InvalidResourceError
from kubedag_operator.resources.instance import InstanceSpec

if TYPE_CHECKING:
    from kubedag.instance.instance import Instance
    from kubedag_operator.kube import KubeApi


class InstanceUnavailableError(Exception):
    """No usable runtime instance for a namespace; `reason` is one CamelCase word for a
    condition (`InstanceNotFound`, `InstanceNotReady`, `MultipleInstances`)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class SecretReference:
    """An environment variable of the document filled from a key of a Secret."""

    env: str
    secret: str
    key: str
    optional: bool = False


@dataclass(frozen=True)
class RuntimeDocument:
    """What an `Instance` spec becomes: the runtime document (no secrets) and the Secrets whose
    values fill its `{env: VAR}` references."""

    document: dict[str, Any]
    secrets: tuple[SecretReference, ...] = field(default_factory=tuple)


def runtime_document(
    spec: InstanceSpec, namespace: str, *, in_cluster: bool, kubeconfig_file: str | None = None
) -> RuntimeDocument:
    """The runtime document of an `Instance` in `namespace` (pure).

    - secrets become `{env: VAR}` references; the variables' `valueFrom` entries are added to
      `run_launcher.kubernetes.env`, so every run pod gets them from the Secrets;
    - with no `run_launcher`, runs are pods (`kubernetes`): in a cluster, local processes
      would run inside the operator's pod;
    - the launcher's `namespace` defaults to the Instance's, and the operator, when it runs
      in a cluster, reaches the API with its service account (`in_cluster`), else with the
      operator's own kubeconfig file when it was given one."""
    document, env = spec.to_instance_document()
    document = copy.deepcopy(document)
    launcher_part = document.setdefault("run_launcher", {"kubernetes": {}})
    launcher = launcher_part.get("kubernetes")
    if launcher is not None:
        launcher.setdefault("namespace", namespace)
        if in_cluster and not launcher.get("kubeconfig_file"):
            launcher.setdefault("in_cluster", True)
        elif kubeconfig_file and not launcher.get("in_cluster"):
            launcher.setdefault("kubeconfig_file", kubeconfig_file)
        entries = list(launcher.get("env") or [])
        known = {entry.get("name") for entry in entries}
        for variable in env:
            entry = variable.model_dump(mode="json", by_alias=True, exclude_none=True)
            if entry["name"] not in known:
                entries.append(entry)
        if entries:
            launcher["env"] = entries
    secrets = []
    for variable in env:
        ref = variable.value_from.secret_key_ref if variable.value_from else None
        if ref is not None:
            secrets.append(SecretReference(variable.name, ref.name, ref.key, bool(ref.optional)))
    return RuntimeDocument(document, tuple(secrets))


class SecretNotFoundError(Exception):
    """A Secret (or a key of it) the Instance refers to does not exist."""


def read_secrets(
    kube: KubeApi, namespace: str, references: tuple[SecretReference, ...]
) -> dict[str, str]:
    """The values of the referenced Secrets, by variable name (for this process only)."""
    values: dict[str, str] = {}
    for ref in references:
        value = kube.secret_value(namespace, ref.secret, ref.key)
        if value is None:
            if ref.optional:
                continue
            raise SecretNotFoundError(
                f"Secret {ref.secret!r} with key {ref.key!r} was not found in namespace "
                f"{namespace!r} (it fills {ref.env}); create it, or fix the secretKeyRef in "
                "the Instance spec."
            )
        values[ref.env] = value
    return values


_ENVIRONMENT_LOCK = threading.Lock()


@contextlib.contextmanager
def secret_environment(values: Mapping[str, str]) -> Iterator[None]:
    """The variables set in this process while the block runs, restored after (one block at
    a time: two Instances may use the same variable names with different values)."""
    with _ENVIRONMENT_LOCK:
        saved = {name: os.environ.get(name) for name in values}
        os.environ.update(values)
        try:
            yield
        finally:
            for name, old in saved.items():
                if old is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = old


@dataclass
class OpenInstance:
    """A runtime instance built from one generation of an `Instance` object."""

    namespace: str
    name: str
    uid: str
    generation: int
    instance: Instance
    schema_version: str | None


class InstanceRegistry:
    """The open runtime instances of the operator, one per `Instance` object."""

    def __init__(self) -> None:
        self._open: dict[tuple[str, str], OpenInstance] = {}
        self._lock = threading.Lock()

    def get(self, namespace: str, name: str) -> OpenInstance | None:
        with self._lock:
            return self._open.get((namespace, name))

    def put(self, opened: OpenInstance) -> None:
        """Keep `opened`, disposing the instance it replaces."""
        with self._lock:
            old = self._open.get((opened.namespace, opened.name))
            self._open[(opened.namespace, opened.name)] = opened
        if old is not None and old.instance is not opened.instance:
            old.instance.dispose()

    def remove(self, namespace: str, name: str) -> None:
        with self._lock:
            old = self._open.pop((namespace, name), None)
        if old is not None:
            old.instance.dispose()

    def in_namespace(self, namespace: str) -> list[OpenInstance]:
        with self._lock:
            return [o for (ns, _), o in self._open.items() if ns == namespace]

    def dispose_all(self) -> None:
        with self._lock:
            opened, self._open = list(self._open.values()), {}
        for item in opened:
            item.instance.dispose()


def choose_instance(names: list[str], namespace: str) -> str:
    """The name of the namespace's one `Instance` object (pure); raises
    `InstanceUnavailableError` when there is none or more than one."""
    if not names:
        raise InstanceUnavailableError(
            "InstanceNotFound",
            f"no Instance in namespace {namespace!r}: create one (kubectl apply an Instance, "
            "see docs/crds.md)",
        )
    if len(names) > 1:
        raise InstanceUnavailableError(
            "MultipleInstances",
            f"namespace {namespace!r} has {len(names)} Instances ({', '.join(sorted(names))}); "
            "keep exactly one",
        )
    return names[0]


def instance_for_namespace(
    registry: InstanceRegistry, kube: KubeApi, namespace: str, home: str
) -> Instance:
    """The runtime instance of the namespace's one `Instance` object, opened now if it is not
    open yet (handlers do not depend on the Instance handler having run first); raises
    `InstanceUnavailableError` (with a reason for a condition) when there is none, more than
    one, or it cannot be opened."""
    objects = [
        o
        for o in kube.list_custom("instances", namespace)
        if not o["metadata"].get("deletionTimestamp")
    ]
    name = choose_instance([o["metadata"]["name"] for o in objects], namespace)
    body = next(o for o in objects if o["metadata"]["name"] == name)
    opened = registry.get(namespace, name)
    generation = body["metadata"].get("generation")
    if opened is None or (generation is not None and opened.generation != generation):
        outcome = open_instance(registry, kube, home, body)
        opened = registry.get(namespace, name)
        if not outcome.ready or opened is None:
            raise InstanceUnavailableError(
                "InstanceNotReady",
                f"Instance {name!r} is not Ready ({outcome.reason}: {outcome.message})",
            )
    return opened.instance


@dataclass(frozen=True)
class InstanceOutcome:
    """What opening an Instance found."""

    ready: bool
    reason: str
    message: str
    schema_version: str | None = None


def redact(message: str, secrets: list[str]) -> str:
    """`message` with every secret value replaced by `***` (defence in depth: the runtime's
    messages already leave passwords out)."""
    for value in sorted(secrets, key=len, reverse=True):
        if len(value) >= 3:
            message = message.replace(value, "***")
    return message


def check_open_instance(opened: OpenInstance) -> InstanceOutcome:
    """Whether an instance that was Ready still is: its databases answer now. An outage keeps
    the instance open (its connection pool reconnects when the database is back); the status
    says `StorageUnreachable` meanwhile, and handlers' calls are retried, not lost."""
    from kubedag.errors import StorageUnavailableError

    try:
        opened.instance.check_storage()
    except StorageUnavailableError as exc:
        return InstanceOutcome(False, "StorageUnreachable", str(exc), opened.schema_version)
    return InstanceOutcome(
        True, "Migrated", "storage is reachable and migrated", opened.schema_version
    )


def open_instance(
    registry: InstanceRegistry, kube: KubeApi, home: str, body: Any
) -> InstanceOutcome:
    """Open (or reuse) the runtime instance of the Instance object `body` and migrate its
    storage; an instance that opened is kept in `registry`."""
    from kubedag.errors import InstanceConfigError, StorageUnavailableError
    from kubedag.instance.instance import Instance

    meta = body.get("metadata") or {}
    namespace, name = meta["namespace"], meta["name"]
    generation = int(meta.get("generation") or 0)
    opened = registry.get(namespace, name)
    if opened is not None and opened.generation == generation and opened.uid == meta.get("uid"):
        return check_open_instance(opened)
    try:
        resource = InstanceResource.parse(dict(body))
    except InvalidResourceError as exc:
        return InstanceOutcome(False, "InvalidSpec", exc.message)
    built = runtime_document(
        resource.spec, namespace, in_cluster=kube.in_cluster, kubeconfig_file=kube.kubeconfig_file
    )
    try:
        values = read_secrets(kube, namespace, built.secrets)
    except SecretNotFoundError as exc:
        return InstanceOutcome(False, "SecretNotFound", str(exc))
    home = os.path.join(home, namespace, name)
    secrets = list(values.values())
    try:
        with secret_environment(values):
            instance = Instance.from_config(
                built.document,
                home=home,
                source=f"Instance {namespace}/{name}",
                check_schema=False,
            )
    except InstanceConfigError as exc:
        return InstanceOutcome(False, "InvalidSpec", redact(str(exc), secrets))
    except Exception as exc:
        return InstanceOutcome(False, "StorageUnreachable", redact(str(exc), secrets))
    try:
        results = instance.migrate()
    except StorageUnavailableError as exc:
        instance.dispose()
        return InstanceOutcome(False, "StorageUnreachable", redact(str(exc), secrets))
    except Exception as exc:
        instance.dispose()
        return InstanceOutcome(
            False, "MigrationFailed", redact(f"{type(exc).__name__}: {exc}", secrets)
        )
    version = results[0].to_revision if results else None
    registry.put(OpenInstance(namespace, name, str(meta.get("uid")), generation, instance, version))
    return InstanceOutcome(True, "Migrated", "storage is reachable and migrated", version)
