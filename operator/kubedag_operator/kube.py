"""A thin, synchronous adapter over the official `kubernetes` client for what handlers read and
write besides the object kopf hands them: Secrets, pods, other kubedag objects, and the status
of a `Run` followed by a daemon (kopf applies `patch` only for regular handlers).

Every call answers plain dicts (JSON as the API server sent it), so the pure functions of the
operator never see client model classes. "Not found" is `None`, never an exception: handlers
are level-triggered and an object that is gone is an ordinary observation.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from kubedag_operator.resources.common import GROUP, VERSION

IN_CLUSTER_HOST_ENV = "KUBERNETES_SERVICE_HOST"


class KubeApi:
    """The operator's API client: in a cluster the pod's service account, else the kubeconfig
    (`$KUBECONFIG`, `~/.kube/config`) or `kubeconfig_file`. Built on first use; thread-safe."""

    def __init__(self, kubeconfig_file: str | None = None, context: str | None = None) -> None:
        self.kubeconfig_file = kubeconfig_file
        self.context = context
        self._client: Any = None
        self._lock = threading.Lock()

    @property
    def in_cluster(self) -> bool:
        return self.kubeconfig_file is None and bool(os.environ.get(IN_CLUSTER_HOST_ENV))

    def _api_client(self) -> Any:
        with self._lock:
            if self._client is None:
                from kubernetes import client, config  # type: ignore[import-untyped]

                if self.in_cluster:
                    configuration = client.Configuration()
                    config.load_incluster_config(client_configuration=configuration)
                    self._client = client.ApiClient(configuration)
                else:
                    self._client = config.new_client_from_config(
                        config_file=self.kubeconfig_file, context=self.context
                    )
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def _call(self, method: str, path: str, body: Any = None, content_type: str = "") -> Any:
        """One request; the decoded JSON answer, or None for a 404."""
        from kubernetes.client.exceptions import ApiException  # type: ignore[import-untyped]

        api = self._api_client()
        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        try:
            answer = api.call_api(
                path,
                method,
                header_params=headers,
                body=body,
                auth_settings=["BearerToken"],
                _preload_content=False,
                _return_http_data_only=True,
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        data = answer.data
        return json.loads(data) if data else {}

    # -- kubedag objects ------------------------------------------------------------------------
    def get_custom(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self._call(
            "GET", f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{plural}/{name}"
        )
        return found

    def list_custom(self, plural: str, namespace: str) -> list[dict[str, Any]]:
        found = self._call("GET", f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{plural}")
        return list((found or {}).get("items") or [])

    def patch_custom_status(
        self, plural: str, namespace: str, name: str, status: dict[str, Any]
    ) -> dict[str, Any] | None:
        """A merge patch of `status` (lists are replaced whole, as conditions should be)."""
        found: dict[str, Any] | None = self._call(
            "PATCH",
            f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{plural}/{name}/status",
            {"status": status},
            "application/merge-patch+json",
        )
        return found

    def delete_custom(self, plural: str, namespace: str, name: str) -> bool:
        found = self._call(
            "DELETE", f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{plural}/{name}"
        )
        return found is not None

    # -- core objects ---------------------------------------------------------------------------
    def get_pod(self, namespace: str, name: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self._call(
            "GET", f"/api/v1/namespaces/{namespace}/pods/{name}"
        )
        return found

    def secret_value(self, namespace: str, name: str, key: str) -> str | None:
        """The decoded value of one key of a Secret; None when the Secret or the key is
        missing. The value is for this process only: never log it or write it anywhere."""
        secret = self._call("GET", f"/api/v1/namespaces/{namespace}/secrets/{name}")
        if secret is None:
            return None
        encoded = (secret.get("data") or {}).get(key)
        if encoded is None:
            plain = (secret.get("stringData") or {}).get(key)
            return None if plain is None else str(plain)
        return base64.b64decode(encoded).decode()

    # -- any object, by API path ----------------------------------------------------------------
    def get(self, path: str) -> dict[str, Any] | None:
        """The object at `path` (`/api/v1/namespaces/NS/pods/NAME`), or None."""
        found: dict[str, Any] | None = self._call("GET", path)
        return found

    def list_objects(
        self, collection: str, labels: Mapping[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """The items of a collection path, those carrying every one of `labels` when given
        (sent as a label selector, and checked here too: it is cheap, and a server that
        ignored the selector must not make a handler act on objects that are not its own)."""
        wanted = dict(labels or {})
        selector = ",".join(f"{key}={value}" for key, value in sorted(wanted.items()))
        query = f"?labelSelector={quote(selector)}" if selector else ""
        found = self._call("GET", collection + query) or {}
        return [
            item
            for item in found.get("items") or []
            if all(
                ((item.get("metadata") or {}).get("labels") or {}).get(key) == value
                for key, value in wanted.items()
            )
        ]

    def create(self, path: str, body: dict[str, Any]) -> bool:
        """Create an object at the collection `path`; False when it already exists."""
        from kubernetes.client.exceptions import ApiException

        try:
            self._call("POST", path, body, "application/json")
        except ApiException as exc:
            if exc.status == 409:
                return False
            raise
        return True

    def replace(self, path: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """PUT the whole object (with the `resourceVersion` read, so a concurrent change
        fails with 409 rather than being overwritten); None when it is gone."""
        found: dict[str, Any] | None = self._call("PUT", path, body, "application/json")
        return found

    def merge_patch(self, path: str, patch: dict[str, Any]) -> dict[str, Any] | None:
        """A JSON merge patch (RFC 7386) of the object; None when it is gone."""
        found: dict[str, Any] | None = self._call(
            "PATCH", path, patch, "application/merge-patch+json"
        )
        return found

    def annotate_custom(
        self, plural: str, namespace: str, name: str, annotations: dict[str, str]
    ) -> None:
        """Set annotations of one of our objects (a merge patch of `metadata.annotations`)."""
        self.merge_patch(
            f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{plural}/{name}",
            {"metadata": {"annotations": annotations}},
        )

    def ensure_peering(self, name: str, namespaces: tuple[str, ...], clusterwide: bool) -> None:
        """The kopf peering objects the replicas share (created when missing). Without kopf's
        peering CRDs kopf would wait, paused, for ever: that is an error naming the fix."""
        from kubernetes.client.exceptions import ApiException

        for namespace in (None,) if clusterwide else namespaces:
            if self.get_peering(name, namespace) is not None:
                continue
            kind, plural = ("ClusterKopfPeering", "clusterkopfpeerings")
            path = f"/apis/kopf.dev/v1/{plural}"
            metadata = {"name": name}
            if namespace is not None:
                kind, plural = ("KopfPeering", "kopfpeerings")
                path = f"/apis/kopf.dev/v1/namespaces/{namespace}/{plural}"
                metadata["namespace"] = namespace
            body = {"apiVersion": "kopf.dev/v1", "kind": kind, "metadata": metadata}
            try:
                created = self._call("POST", path, body, "application/json")
            except ApiException as exc:
                if exc.status == 409:
                    continue  # another replica was quicker
                raise
            if created is None:
                from kubedag.errors import KubedagError

                raise KubedagError(
                    f"Cannot create the peering object {name!r}: the cluster has no "
                    f"{plural}.kopf.dev resource. Install kopf's peering CRDs (the Helm chart "
                    "does), or run a single replica with --standalone."
                )

    def get_peering(self, name: str, namespace: str | None) -> dict[str, Any] | None:
        """A kopf peering object: the namespace's `KopfPeering`, or with no namespace the
        `ClusterKopfPeering`; None when it is missing."""
        if namespace is None:
            path = f"/apis/kopf.dev/v1/clusterkopfpeerings/{name}"
        else:
            path = f"/apis/kopf.dev/v1/namespaces/{namespace}/kopfpeerings/{name}"
        found: dict[str, Any] | None = self._call("GET", path)
        return found
