"""The Kubernetes objects that serve a `CodeLocation`: a Deployment and a Service.

The operator's own image cannot import user code, so each `CodeLocation` runs as a Deployment of
the user's image serving `kubedag code-server` on port 4000, with a Service in front of it. The
operator then asks that server for the definition snapshot (see `docs/code-server.md`).

Everything here is pure: `deployment_manifest(location, namespace)` and `service_manifest(...)`
turn a parsed `CodeLocationResource` into the manifests to apply. `spec_hash` is a digest of a
manifest's desired part; the handler stores it in an annotation and replaces an object only when
it changed, so re-running the handler is free and a change of the CodeLocation's spec rolls out.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from kubedag_operator.resources import API_VERSION, CodeLocationResource

CODE_SERVER_PORT = 4000
CONTAINER_NAME = "code-server"
PORT_NAME = "http"

NAME_LABEL = "app.kubernetes.io/name"
COMPONENT_LABEL = "app.kubernetes.io/component"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
CODE_LOCATION_LABEL = "kubedag.io/code-location"
SPEC_HASH_ANNOTATION = "kubedag.io/spec-hash"
# Where the operator reaches the code server, instead of the in-cluster Service address (for
# an operator running outside the cluster, and for tests).
CODE_SERVER_URL_ANNOTATION = "kubedag.io/code-server-url"

_SUFFIX = "-code-server"
_NOT_NAME_CHARS = re.compile(r"[^a-z0-9-]+")


def code_server_name(location_name: str) -> str:
    """The name of the Deployment and the Service: `<location>-code-server`, cut to the 63
    characters a Service name may have (a DNS-1035 label)."""
    base = _NOT_NAME_CHARS.sub("-", location_name.lower()).strip("-")
    base = base[: 63 - len(_SUFFIX)].rstrip("-")
    if not base or not base[0].isalpha():
        base = f"cl-{base}"[: 63 - len(_SUFFIX)].rstrip("-")
    return base + _SUFFIX


def label_value(text: str) -> str:
    """`text` as a label value: at most 63 of [A-Za-z0-9._-], alphanumeric at both ends."""
    value = re.sub(r"[^A-Za-z0-9._-]+", "-", text)[:63]
    return re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", value)


def selector_labels(location_name: str) -> dict[str, str]:
    """The labels that select a location's code server pods (never change: a Deployment's
    selector is immutable)."""
    return {
        NAME_LABEL: "kubedag",
        COMPONENT_LABEL: "code-server",
        CODE_LOCATION_LABEL: label_value(location_name),
    }


def object_labels(location_name: str) -> dict[str, str]:
    return {**selector_labels(location_name), MANAGED_BY_LABEL: "kubedag"}


def owner_reference(location: CodeLocationResource) -> dict[str, Any]:
    """Ties the objects to the CodeLocation: deleting it deletes them."""
    return {
        "apiVersion": API_VERSION,
        "kind": "CodeLocation",
        "name": location.metadata.name or "",
        "uid": location.metadata.uid or "",
        "controller": True,
        "blockOwnerDeletion": True,
    }


def code_server_args(location: CodeLocationResource) -> list[str]:
    """`code-server -m MODULE | -f FILE [-a ATTR] --port 4000 --location-name NAME`."""
    spec = location.spec
    if spec.module is not None:
        args = ["code-server", "-m", spec.module]
    else:
        args = ["code-server", "-f", spec.python_file or ""]
    if spec.attribute:
        args += ["-a", spec.attribute]
    args += ["--host", "0.0.0.0", "--port", str(CODE_SERVER_PORT)]
    args += ["--location-name", location.metadata.name or ""]
    return args


def code_server_url(location_name: str, namespace: str) -> str:
    """The in-cluster address of a location's code server (its Service)."""
    return f"http://{code_server_name(location_name)}.{namespace}.svc:{CODE_SERVER_PORT}"


def _dump(items: list[Any] | None) -> list[dict[str, Any]]:
    return [item.model_dump(mode="json", by_alias=True, exclude_none=True) for item in items or []]


def _probe(path: str, period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": PORT_NAME},
        "periodSeconds": period,
        "timeoutSeconds": 5,
        "failureThreshold": failures,
    }


def container_manifest(location: CodeLocationResource) -> dict[str, Any]:
    spec = location.spec
    container: dict[str, Any] = {
        "name": CONTAINER_NAME,
        "image": spec.image,
        "command": ["kubedag"],
        "args": code_server_args(location),
        "ports": [{"name": PORT_NAME, "containerPort": CODE_SERVER_PORT, "protocol": "TCP"}],
        "env": [{"name": "PYTHONUNBUFFERED", "value": "1"}, *_dump(spec.env)],
        # The server answers /healthz while the code imports; a slow import only delays
        # readiness, and the startup probe gives it five minutes before liveness counts.
        "startupProbe": _probe("/healthz", 5, 60),
        "readinessProbe": _probe("/readyz", 5, 3),
        "livenessProbe": _probe("/healthz", 10, 3),
        "securityContext": {
            "runAsNonRoot": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }
    if spec.env_from:
        container["envFrom"] = _dump(spec.env_from)
    if spec.resources is not None:
        container["resources"] = spec.resources.model_dump(
            mode="json", by_alias=True, exclude_none=True
        )
    if spec.image_pull_policy is not None:
        container["imagePullPolicy"] = spec.image_pull_policy.value
    if spec.working_dir:
        container["workingDir"] = spec.working_dir
    return container


def deployment_manifest(location: CodeLocationResource, namespace: str) -> dict[str, Any]:
    """The Deployment running `kubedag code-server` for `location`."""
    name = location.metadata.name or ""
    spec = location.spec
    pod_spec: dict[str, Any] = {
        "containers": [container_manifest(location)],
        "securityContext": {
            "runAsNonRoot": True,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }
    if spec.service_account_name:
        pod_spec["serviceAccountName"] = spec.service_account_name
    else:
        pod_spec["automountServiceAccountToken"] = False  # the code server needs no API access
    if spec.image_pull_secrets:
        pod_spec["imagePullSecrets"] = _dump(spec.image_pull_secrets)
    deployment_spec = {
        "replicas": spec.replicas,
        "selector": {"matchLabels": selector_labels(name)},
        "template": {"metadata": {"labels": object_labels(name)}, "spec": pod_spec},
    }
    return _with_hash(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": code_server_name(name),
                "namespace": namespace,
                "labels": object_labels(name),
                "ownerReferences": [owner_reference(location)],
            },
            "spec": deployment_spec,
        }
    )


def service_manifest(location: CodeLocationResource, namespace: str) -> dict[str, Any]:
    """The Service in front of the code server pods, on port 4000."""
    name = location.metadata.name or ""
    service_spec = {
        "type": "ClusterIP",
        "selector": selector_labels(name),
        "ports": [
            {
                "name": PORT_NAME,
                "port": CODE_SERVER_PORT,
                "targetPort": PORT_NAME,
                "protocol": "TCP",
            }
        ],
    }
    return _with_hash(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": code_server_name(name),
                "namespace": namespace,
                "labels": object_labels(name),
                "ownerReferences": [owner_reference(location)],
            },
            "spec": service_spec,
        }
    )


def spec_hash(manifest: dict[str, Any]) -> str:
    """A digest of what the operator wants of an object: its labels, owners and spec."""
    desired = {
        "labels": manifest["metadata"].get("labels"),
        "owners": manifest["metadata"].get("ownerReferences"),
        "spec": manifest["spec"],
    }
    text = json.dumps(desired, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _with_hash(manifest: dict[str, Any]) -> dict[str, Any]:
    manifest["metadata"]["annotations"] = {SPEC_HASH_ANNOTATION: spec_hash(manifest)}
    return manifest


def code_server_address(body: dict[str, Any]) -> str:
    """Where a CodeLocation's code server answers: the annotation `kubedag.io/code-server-url`,
    else its Service in the cluster."""
    metadata = body.get("metadata") or {}
    annotations = metadata.get("annotations") or {}
    return annotations.get(CODE_SERVER_URL_ANNOTATION) or code_server_url(
        metadata.get("name") or "", metadata.get("namespace") or "default"
    )


def image_digest(pods: list[dict[str, Any]]) -> str | None:
    """The digest (`sha256:…`) of the image the code server's pods run, from the kubelet's
    `imageID` (`registry/name@sha256:…`): of a ready pod when there is one, so a rolling update
    reports the image that answers. None until a pod has pulled its image."""

    def digest_of(pod: dict[str, Any]) -> str | None:
        for container in (pod.get("status") or {}).get("containerStatuses") or []:
            image_id = str(container.get("imageID") or "")
            if container.get("name") == CONTAINER_NAME and "@sha256:" in image_id:
                return image_id.rsplit("@", 1)[1]
        return None

    def ready(pod: dict[str, Any]) -> bool:
        conditions = (pod.get("status") or {}).get("conditions") or []
        return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)

    ordered = sorted(pods, key=lambda pod: not ready(pod))
    return next((digest for digest in map(digest_of, ordered) if digest), None)


def pinned_image(image: str, digest: str | None) -> str:
    """`image` pinned to `digest` (`registry/name:tag@sha256:…`), so runs execute exactly the
    code the code server loaded even when a tag moves; unchanged without a digest or when the
    image names one already."""
    if not digest or "@" in image:
        return image
    return f"{image}@{digest}"
