"""The Kubernetes run launcher: each run's worker is a pod.

`launch_run` creates one pod per run, named from the run id (`kubedag-run-RUN_ID`), so a launch
that is retried finds the pod already there and is done. The pod runs the same program as every
launcher's worker, `kubedag run-worker RUN_ID`, with `restartPolicy: Never`:

- the instance travels as `KUBEDAG_INSTANCE_REF` (its document with `{env: VAR}` references
  unresolved); secrets reach the pod as environment variables from Kubernetes Secrets
  (`env: [{name, valueFrom: {secretKeyRef: ...}}]`, `env_from`), never inline;
- labels `app.kubernetes.io/name=kubedag`, `app.kubernetes.io/component=run-worker`,
  `kubedag.io/run-id`, `kubedag.io/job`, `kubedag.io/code-location` find a run's pods;
- a restricted security context (non-root, read-only root filesystem with `emptyDir` volumes for
  `/tmp` and the instance home, no privilege escalation, no capabilities, seccomp RuntimeDefault);
- the run's own pod overrides, from its tag `kubedag.io/pod-overrides` (resources, nodeSelector,
  env, volumes…; see `kubedag.runs.launchers.pod_overrides`);
- an owner reference when the run carries one as tags (`kubedag.io/owner-uid`, `-name`, `-kind`,
  `-api-version`, `-namespace`; the operator sets them for a `Run` object), so deleting the owner
  deletes the pod.

The pod's name and namespace are recorded on the run (`kubedag/pod_name`,
`kubedag/pod_namespace`); a pod created by a launch that died before recording it is found by
its fixed name and adopted (`recorded_pod`). `check_run_worker_health` reads that pod and names what went wrong
(`health_from_pod`, a pure function): OOMKilled, an exit code, Evicted, image pull errors, a pod
Unschedulable or Pending for longer than `pending_timeout_seconds`; NOT_FOUND when it is gone.
`terminate` deletes the pod with a grace period: the worker gets SIGTERM, which it takes as a
cancel. `resume_run` creates `kubedag-run-RUN_ID-resume-N` running `--resume-attempt N`.

The `kubernetes` client is imported when the launcher first talks to the API, never at
`import kubedag` (a run worker whose instance names this launcher never imports it at all).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from kubedag.records.run import Run
from kubedag.runs.launchers.base import (
    LaunchRunContext,
    ResumeRunContext,
    RunLauncher,
    WorkerHealth,
    WorkerStatus,
)
from kubedag.runs.launchers.pod_overrides import (
    POD_OVERRIDES_TAG,
    apply_pod_overrides,
    parse_pod_overrides,
)
from kubedag.runs.tags import resume_attempts

POD_NAME_TAG = "kubedag/pod_name"
POD_NAMESPACE_TAG = "kubedag/pod_namespace"
IMAGE_TAG = "kubedag/image"  # overrides the launcher's `image` for one run
OWNER_UID_TAG = "kubedag.io/owner-uid"
OWNER_NAME_TAG = "kubedag.io/owner-name"
OWNER_KIND_TAG = "kubedag.io/owner-kind"  # default Run
OWNER_API_VERSION_TAG = "kubedag.io/owner-api-version"  # default kubedag.io/v1alpha1
OWNER_NAMESPACE_TAG = "kubedag.io/owner-namespace"  # the pod goes to the owner's namespace

RUN_ID_LABEL = "kubedag.io/run-id"
JOB_LABEL = "kubedag.io/job"
CODE_LOCATION_LABEL = "kubedag.io/code-location"
CONTAINER_NAME = "run-worker"
IN_CLUSTER_NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")

# Container waiting reasons that will not go away by waiting.
FATAL_WAITING_REASONS = frozenset(
    {
        "ImagePullBackOff",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
    }
)
_PULL_POLICIES = ("Always", "IfNotPresent", "Never")
_NOT_LABEL_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
_NOT_NAME_CHARS = re.compile(r"[^a-z0-9-]+")


# ----------------------------------------------------------------------------------------------
# Settings


@dataclass(frozen=True)
class K8sLauncherSettings:
    """The launcher's configuration (`run_launcher: {kubernetes: {...}}`), checked."""

    image: str | None = None
    namespace: str | None = None
    image_pull_policy: str | None = None
    service_account_name: str | None = None
    env: list[dict[str, Any]] = field(default_factory=list)
    env_from: list[dict[str, Any]] = field(default_factory=list)
    resources: dict[str, Any] = field(default_factory=dict)
    node_selector: dict[str, str] = field(default_factory=dict)
    tolerations: list[dict[str, Any]] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    home: str = "/tmp/kubedag"
    working_dir: str | None = None
    run_as_user: int = 10001  # the kubedag image's user (Dockerfile)
    read_only_root_filesystem: bool = True
    grace_period_seconds: int = 30
    pending_timeout_seconds: float = 300.0
    kubeconfig_file: str | None = None
    context: str | None = None
    in_cluster: bool = False


def check_settings(values: Mapping[str, Any]) -> K8sLauncherSettings:
    """Check the keyword arguments; a mistake raises ValueError starting with the key."""
    known = K8sLauncherSettings.__dataclass_fields__
    for key in values:
        if key not in known:
            raise ValueError(f"{key}: unknown key; expected one of: {', '.join(known)}.")
    checked: dict[str, Any] = {}
    for key in ("image", "namespace", "image_pull_policy", "service_account_name", "home"):
        checked[key] = _optional_text(values, key)
    for key in ("working_dir", "kubeconfig_file", "context"):
        checked[key] = _optional_text(values, key)
    policy = checked["image_pull_policy"]
    if policy is not None and policy not in _PULL_POLICIES:
        raise ValueError(
            f"image_pull_policy: expected one of {', '.join(_PULL_POLICIES)}; got {policy!r}."
        )
    if checked["home"] is None:
        del checked["home"]
    elif not checked["home"].startswith("/"):
        raise ValueError(f"home: expected an absolute path in the pod; got {checked['home']!r}.")
    checked["env"] = [_check_env(i, e) for i, e in enumerate(_list(values, "env"))]
    checked["env_from"] = [_check_env_from(i, e) for i, e in enumerate(_list(values, "env_from"))]
    checked["tolerations"] = _list(values, "tolerations")
    for key in ("resources", "node_selector", "labels", "annotations"):
        checked[key] = _mapping(values, key)
    for key in ("node_selector", "labels", "annotations"):
        for name, item in checked[key].items():
            if not isinstance(item, str):
                raise ValueError(f"{key}.{name}: expected a string; got {item!r}.")
    for key, kind in (
        ("run_as_user", int),
        ("grace_period_seconds", int),
        ("pending_timeout_seconds", float),
    ):
        if values.get(key) is not None:
            checked[key] = _number(key, values[key], kind)
    for key in ("read_only_root_filesystem", "in_cluster"):
        if values.get(key) is not None:
            checked[key] = _bool(key, values[key])
    if checked.get("in_cluster") and checked["kubeconfig_file"]:
        raise ValueError("in_cluster: set either in_cluster: true or kubeconfig_file, not both.")
    return K8sLauncherSettings(**{k: v for k, v in checked.items() if v is not None})


def _optional_text(values: Mapping[str, Any], key: str) -> str | None:
    value = values.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key}: expected a non-empty string; got {value!r}.")
    return value


def _list(values: Mapping[str, Any], key: str) -> list[Any]:
    value = values.get(key) or []
    if not isinstance(value, list):
        raise ValueError(f"{key}: expected a list; got {value!r}.")
    return list(value)


def _mapping(values: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = values.get(key) or {}
    if not isinstance(value, dict):
        raise ValueError(f"{key}: expected a mapping; got {value!r}.")
    return dict(value)


def _number(key: str, value: Any, kind: type[int] | type[float]) -> Any:
    try:
        if isinstance(value, bool):
            raise ValueError
        number = kind(value)
    except (TypeError, ValueError):
        what = "a whole number" if kind is int else "a number"
        raise ValueError(f"{key}: expected {what}; got {value!r}.") from None
    if number < 0:
        raise ValueError(f"{key}: must be 0 or more; got {value!r}.")
    return number


def _bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError(f"{key}: expected true or false; got {value!r}.")


def _check_env(index: int, entry: Any) -> dict[str, Any]:
    where = f"env[{index}]"
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"]:
        raise ValueError(
            f"{where}: expected {{name: NAME, value: ...}} or {{name: NAME, valueFrom: "
            f"{{secretKeyRef: {{name: SECRET, key: KEY}}}}}}; got {entry!r}."
        )
    if ("value" in entry) == ("valueFrom" in entry) or set(entry) - {"name", "value", "valueFrom"}:
        raise ValueError(
            f"{where} ({entry['name']}): set exactly one of value or valueFrom "
            "(secrets: valueFrom.secretKeyRef, never an inline value)."
        )
    if "value" in entry and not isinstance(entry["value"], str):
        raise ValueError(f"{where}.value: expected a string; got {entry['value']!r}.")
    if "valueFrom" in entry and not isinstance(entry["valueFrom"], dict):
        raise ValueError(f"{where}.valueFrom: expected a mapping; got {entry['valueFrom']!r}.")
    return dict(entry)


def _check_env_from(index: int, entry: Any) -> dict[str, Any]:
    if not isinstance(entry, dict) or not ({"secretRef", "configMapRef"} & set(entry)):
        raise ValueError(
            f"env_from[{index}]: expected {{secretRef: {{name: SECRET}}}} or "
            f"{{configMapRef: {{name: CONFIGMAP}}}}; got {entry!r}."
        )
    return dict(entry)


# ----------------------------------------------------------------------------------------------
# Pure pieces: names, labels, the pod, its health


def pod_name(run_id: str, resume_attempt: int | None = None) -> str:
    """`kubedag-run-RUN_ID` (`-resume-N`): deterministic, a valid DNS-1123 name."""
    base = _NOT_NAME_CHARS.sub("-", run_id.lower()).strip("-")
    suffix = f"-resume-{resume_attempt}" if resume_attempt else ""
    return f"kubedag-run-{base}"[: 63 - len(suffix)].rstrip("-") + suffix


def label_value(text: str) -> str:
    """`text` as a label value: at most 63 of [A-Za-z0-9._-], alphanumeric at both ends."""
    value = _NOT_LABEL_CHARS.sub("-", text)[:63]
    return re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", value)


def code_location_name(code_location: Mapping[str, Any] | None) -> str:
    if not code_location:
        return ""
    if code_location.get("module_name"):
        return str(code_location["module_name"])
    if code_location.get("python_file"):
        return Path(str(code_location["python_file"])).stem
    return ""


def owner_reference(tags: Mapping[str, str]) -> dict[str, Any] | None:
    uid, name = tags.get(OWNER_UID_TAG), tags.get(OWNER_NAME_TAG)
    if not uid or not name:
        return None
    return {
        "apiVersion": tags.get(OWNER_API_VERSION_TAG) or "kubedag.io/v1alpha1",
        "kind": tags.get(OWNER_KIND_TAG) or "Run",
        "name": name,
        "uid": uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def worker_args(run_id: str, resume_attempt: int | None = None) -> list[str]:
    args = ["run-worker", run_id]
    if resume_attempt:
        args += ["--resume-attempt", str(resume_attempt)]
    return args


def run_pod_manifest(
    run: Run,
    settings: K8sLauncherSettings,
    instance_ref_json: str,
    image: str,
    resume_attempt: int | None = None,
) -> dict[str, Any]:
    """The pod that runs `kubedag run-worker` for `run` (no namespace: the caller's choice)."""
    from kubedag.records.instance_ref import INSTANCE_REF_ENV

    labels = {
        **settings.labels,
        "app.kubernetes.io/name": "kubedag",
        "app.kubernetes.io/component": "run-worker",
        "app.kubernetes.io/managed-by": "kubedag",
        RUN_ID_LABEL: label_value(run.run_id),
        JOB_LABEL: label_value(run.job_name),
        CODE_LOCATION_LABEL: label_value(code_location_name(run.code_location)),
    }
    annotations = {**settings.annotations, "kubedag.io/job-name": run.job_name}
    if resume_attempt:
        annotations["kubedag.io/resume-attempt"] = str(resume_attempt)
    env = [
        {"name": INSTANCE_REF_ENV, "value": instance_ref_json},
        {"name": "KUBEDAG_HOME", "value": settings.home},
        {"name": "PYTHONUNBUFFERED", "value": "1"},
        *settings.env,
    ]
    volumes = [{"name": "tmp", "emptyDir": {}}]
    mounts = [{"name": "tmp", "mountPath": "/tmp"}]
    if not settings.home.startswith("/tmp/"):
        volumes.append({"name": "kubedag-home", "emptyDir": {}})
        mounts.append({"name": "kubedag-home", "mountPath": settings.home})
    container: dict[str, Any] = {
        "name": CONTAINER_NAME,
        "image": image,
        "command": ["kubedag"],
        "args": worker_args(run.run_id, resume_attempt),
        "env": env,
        "volumeMounts": mounts,
        "securityContext": {
            "runAsNonRoot": True,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": settings.read_only_root_filesystem,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    working_dir = (run.code_location or {}).get("working_directory") or settings.working_dir
    if working_dir:
        container["workingDir"] = str(working_dir)
    for key, value in (
        ("envFrom", settings.env_from),
        ("resources", settings.resources),
        ("imagePullPolicy", settings.image_pull_policy),
    ):
        if value:
            container[key] = value
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "terminationGracePeriodSeconds": settings.grace_period_seconds,
        "containers": [container],
        "volumes": volumes,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": settings.run_as_user,
            "runAsGroup": settings.run_as_user,
            "fsGroup": settings.run_as_user,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }
    if settings.service_account_name:
        spec["serviceAccountName"] = settings.service_account_name
    else:
        spec["automountServiceAccountToken"] = False  # the worker needs no Kubernetes API
    if settings.node_selector:
        spec["nodeSelector"] = settings.node_selector
    if settings.tolerations:
        spec["tolerations"] = settings.tolerations
    metadata: dict[str, Any] = {
        "name": pod_name(run.run_id, resume_attempt),
        "labels": labels,
        "annotations": annotations,
    }
    owner = owner_reference(run.tags)
    if owner is not None:
        metadata["ownerReferences"] = [owner]
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}
    return apply_pod_overrides(
        pod, parse_pod_overrides(run.tags.get(POD_OVERRIDES_TAG), run.run_id)
    )


def _seconds_since(timestamp: str | None, now: float) -> float:
    if not timestamp:
        return 0.0
    try:
        return now - datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def health_from_pod(
    pod: Mapping[str, Any] | None, where: str, now: float, pending_timeout_seconds: float
) -> WorkerHealth:
    """What a run pod's phase and container state say about its worker; `where` names the pod
    (`namespace/name`) in the message, which starts with the reason (`OOMKilled: ...`)."""
    if pod is None:
        return WorkerHealth(WorkerStatus.NOT_FOUND, f"pod {where} is gone")
    status = pod.get("status") or {}
    phase = status.get("phase") or "Pending"
    containers = status.get("containerStatuses") or []
    state = (containers[0].get("state") or {}) if containers else {}
    terminated, waiting = state.get("terminated") or {}, state.get("waiting") or {}
    if status.get("reason") == "Evicted":
        return WorkerHealth(
            WorkerStatus.FAILED, f"Evicted: pod {where} was evicted: {status.get('message', '')}"
        )
    if phase == "Succeeded":
        return WorkerHealth(WorkerStatus.SUCCESS, f"pod {where} succeeded")
    if phase == "Failed":
        code = terminated.get("exitCode")
        if terminated.get("reason") == "OOMKilled":
            return WorkerHealth(
                WorkerStatus.FAILED,
                f"OOMKilled: the worker in pod {where} ran out of memory (exit code {code}); "
                "raise run_launcher.kubernetes.resources.limits.memory",
            )
        if terminated:
            return WorkerHealth(
                WorkerStatus.FAILED,
                f"{terminated.get('reason') or 'Error'}: the worker in pod {where} exited with "
                f"code {code}",
            )
        reason = status.get("reason") or "Failed"
        return WorkerHealth(
            WorkerStatus.FAILED, f"{reason}: pod {where} failed: {status.get('message', '')}"
        )
    if phase == "Running":
        deleting = " (terminating)" if (pod.get("metadata") or {}).get("deletionTimestamp") else ""
        return WorkerHealth(WorkerStatus.RUNNING, f"pod {where} is running{deleting}")
    if phase == "Pending":
        if waiting.get("reason") in FATAL_WAITING_REASONS:
            return WorkerHealth(
                WorkerStatus.FAILED,
                f"{waiting['reason']}: pod {where} cannot start: {waiting.get('message', '')}",
            )
        unschedulable = next(
            (
                c
                for c in status.get("conditions") or []
                if c.get("type") == "PodScheduled" and c.get("status") == "False"
            ),
            None,
        )
        created = (pod.get("metadata") or {}).get("creationTimestamp")
        age = _seconds_since(created, now)
        if unschedulable is not None:
            reason = unschedulable.get("reason") or "Unschedulable"
            detail = f"{reason}: pod {where} {unschedulable.get('message', '')}".rstrip()
        elif waiting:
            detail = f"{waiting.get('reason')}: pod {where} {waiting.get('message', '')}".rstrip()
        else:
            detail = f"Pending: pod {where} is pending"
        if age > pending_timeout_seconds:
            return WorkerHealth(
                WorkerStatus.FAILED,
                f"{detail} (still pending after {age:.0f}s, above "
                f"run_launcher.kubernetes.pending_timeout_seconds={pending_timeout_seconds:g})",
            )
        return WorkerHealth(WorkerStatus.RUNNING, detail)
    return WorkerHealth(WorkerStatus.UNKNOWN, f"pod {where} is in phase {phase}")


# ----------------------------------------------------------------------------------------------
# The launcher


class K8sRunLauncher(RunLauncher):
    """Runs each run's worker as a Kubernetes pod (see the module docstring)."""

    def __init__(self, **settings: Any) -> None:
        self.settings = check_settings(settings)
        self._core: Any = None
        self._lock = threading.Lock()
        self._namespace: str | None = self.settings.namespace

    # -- the API client (lazy) ------------------------------------------------------------------
    def _api(self) -> Any:
        """The client's CoreV1Api, built on first use."""
        with self._lock:
            if self._core is None:
                from kubernetes import client, config  # type: ignore[import-untyped]

                if self.settings.in_cluster:
                    configuration = client.Configuration()
                    config.load_incluster_config(client_configuration=configuration)
                    api_client = client.ApiClient(configuration)
                else:
                    api_client = config.new_client_from_config(
                        config_file=self.settings.kubeconfig_file, context=self.settings.context
                    )
                self._core = client.CoreV1Api(api_client)
            return self._core

    @property
    def namespace(self) -> str:
        """`namespace`, else the pod's own (in a cluster), else the kubeconfig context's."""
        if self._namespace is None:
            found: str | None = None
            if self.settings.in_cluster and IN_CLUSTER_NAMESPACE_FILE.exists():
                found = IN_CLUSTER_NAMESPACE_FILE.read_text().strip()
            elif not self.settings.in_cluster:
                from kubernetes import config

                try:
                    contexts, active = config.list_kube_config_contexts(
                        self.settings.kubeconfig_file
                    )
                except config.ConfigException:
                    contexts, active = [], None  # no kubeconfig: the first API call says so
                chosen = next((c for c in contexts if c["name"] == self.settings.context), active)
                found = (chosen or {}).get("context", {}).get("namespace")
            self._namespace = found or "default"
        return self._namespace

    def _read_pod(self, namespace: str, name: str) -> dict[str, Any] | None:
        from kubernetes.client.exceptions import ApiException  # type: ignore[import-untyped]

        try:
            answer = self._api().read_namespaced_pod(name, namespace, _preload_content=False)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        pod: dict[str, Any] = json.loads(answer.data)
        return pod

    # -- launching ------------------------------------------------------------------------------
    def launch_run(self, context: LaunchRunContext) -> None:
        self._create_pod(context.run, None)

    @property
    def supports_resume_run(self) -> bool:
        return True

    def resume_run(self, context: ResumeRunContext) -> None:
        self._create_pod(context.run, context.resume_attempt)

    def _create_pod(self, run: Run, resume_attempt: int | None) -> None:
        from kubernetes.client.exceptions import ApiException

        from kubedag.records.instance_ref import InstanceRef

        image = run.tags.get(IMAGE_TAG) or self.settings.image
        if not image:
            raise ValueError(
                f"Run {run.run_id}: no image for its pod. Set run_launcher.kubernetes.image in "
                f"the instance configuration, or the run tag {IMAGE_TAG}."
            )
        ref = self.instance.get_ref()  # an ephemeral instance cannot be handed over: this raises
        pod_ref = InstanceRef(self.settings.home, ref.document)
        manifest = run_pod_manifest(run, self.settings, pod_ref.to_json(), image, resume_attempt)
        namespace = run.tags.get(OWNER_NAMESPACE_TAG) or self.namespace
        name = manifest["metadata"]["name"]
        try:
            self._api().create_namespaced_pod(namespace, manifest, _preload_content=False)
        except ApiException as exc:
            if exc.status != 409:  # 409: created by an earlier attempt of this same launch
                raise
        self.instance.run_storage.add_run_tags(
            run.run_id, {POD_NAME_TAG: name, POD_NAMESPACE_TAG: namespace}
        )

    def recorded_pod(self, run: Run) -> tuple[str, str] | None:
        """The run's pod as (name, namespace): the one its tags record, unless the pod of its
        current attempt exists and the tags do not name it yet. That happens when whoever
        launched the pod died between creating it and tagging the run (an operator SIGKILLed
        mid-launch); the pod is then adopted — recorded on the run — instead of being taken
        for lost or launched a second time (its name is fixed per attempt)."""
        expected = pod_name(run.run_id, resume_attempts(run) or None)
        name, namespace = run.tags.get(POD_NAME_TAG), run.tags.get(POD_NAMESPACE_TAG)
        if name == expected and namespace:
            return name, namespace
        where = run.tags.get(OWNER_NAMESPACE_TAG) or self.namespace
        if self._read_pod(where, expected) is not None:
            self.instance.run_storage.add_run_tags(
                run.run_id, {POD_NAME_TAG: expected, POD_NAMESPACE_TAG: where}
            )
            return expected, where
        return (name, namespace) if name and namespace else None

    # -- health ---------------------------------------------------------------------------------
    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: Run) -> WorkerHealth:
        recorded = self.recorded_pod(run)
        if recorded is None:
            return WorkerHealth(WorkerStatus.UNKNOWN, "no pod is recorded on the run yet")
        name, namespace = recorded
        pod = self._read_pod(namespace, name)
        return health_from_pod(
            pod, f"{namespace}/{name}", time.time(), self.settings.pending_timeout_seconds
        )

    # -- stopping -------------------------------------------------------------------------------
    def terminate(self, run_id: str) -> bool:
        """Delete the run's pod with the grace period: SIGTERM (a cancel for the worker), then
        SIGKILL. The worker, or the monitor once the pod is gone, marks the run CANCELED."""
        from kubernetes.client.exceptions import ApiException

        run = self.instance.run_storage.get_run_by_id(run_id)
        if run is None:
            return False
        recorded = self.recorded_pod(run)
        if recorded is None:
            return False
        name, namespace = recorded
        pod = self._read_pod(namespace, name)
        if pod is None or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            return False
        try:
            self._api().delete_namespaced_pod(
                name,
                namespace,
                grace_period_seconds=self.settings.grace_period_seconds,
                _preload_content=False,
            )
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def dispose(self) -> None:
        with self._lock:
            if self._core is not None:
                self._core.api_client.close()
                self._core = None
