"""Per-run changes to a run pod, carried by the run itself as the tag `kubedag.io/pod-overrides`.

A run pod starts from the launcher's settings (the instance configuration); a run may change it
for itself: the operator puts a CodeLocation's environment and service account and a Job's pod
overrides (resources, nodeSelector, tolerations, affinity, serviceAccountName, env, volumes…)
there, and a user launching from the CLI can set the same tag. Keeping them on the run, rather
than in the launcher's configuration, is what lets one instance launch pods for many jobs with
different needs, and lets a retried or resumed run get the same pod again.

The tag's value is a JSON object with Kubernetes' own field names (camelCase). How each field
combines with the launcher's settings is decided by `apply_pod_overrides` (pure): lists are
appended (an `env` entry of the same name replaces the earlier one), maps merged, single values
replaced; kubedag's own labels and the security context are never overridden.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

POD_OVERRIDES_TAG = "kubedag.io/pod-overrides"

_CONTAINER_LISTS = ("env", "envFrom", "volumeMounts")
_CONTAINER_VALUES = ("resources", "imagePullPolicy")
_POD_LISTS = ("tolerations", "volumes", "imagePullSecrets")
_POD_VALUES = ("affinity", "serviceAccountName", "priorityClassName")
_POD_MAPS = ("nodeSelector",)
_METADATA_MAPS = ("labels", "annotations")
KNOWN_FIELDS = (
    *_CONTAINER_LISTS,
    *_CONTAINER_VALUES,
    *_POD_LISTS,
    *_POD_VALUES,
    *_POD_MAPS,
    *_METADATA_MAPS,
)
_PROTECTED_LABEL_PREFIXES = ("app.kubernetes.io/", "kubedag.io/")


class PodOverridesError(ValueError):
    """The tag's value is not a valid set of pod overrides; the message names the field."""


def parse_pod_overrides(text: str | None, run_id: str) -> dict[str, Any]:
    """The overrides a run's tag holds ({} without the tag), checked field by field."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise PodOverridesError(
            f"Run {run_id}: the tag {POD_OVERRIDES_TAG} is not JSON ({exc}); give a JSON object "
            f'such as {{"nodeSelector": {{"pool": "batch"}}}}.'
        ) from None
    return check_pod_overrides(value, f"Run {run_id}: tag {POD_OVERRIDES_TAG}")


def check_pod_overrides(value: Any, where: str) -> dict[str, Any]:
    """`value` if it is a valid overrides object; else PodOverridesError naming the field."""
    if not isinstance(value, Mapping):
        raise PodOverridesError(f"{where}: expected a JSON object; got {value!r}.")
    for key, item in value.items():
        if key not in KNOWN_FIELDS:
            raise PodOverridesError(
                f"{where}: unknown field {key!r}; expected one of: {', '.join(KNOWN_FIELDS)}."
            )
        if key in (*_CONTAINER_LISTS, *_POD_LISTS) and not isinstance(item, list):
            raise PodOverridesError(f"{where}: {key} must be a list; got {item!r}.")
        is_text_map = isinstance(item, Mapping) and all(isinstance(v, str) for v in item.values())
        if key in (*_POD_MAPS, *_METADATA_MAPS) and not is_text_map:
            raise PodOverridesError(f"{where}: {key} must map names to strings; got {item!r}.")
        if key in ("resources", "affinity") and not isinstance(item, Mapping):
            raise PodOverridesError(f"{where}: {key} must be an object; got {item!r}.")
        if key in ("imagePullPolicy", "serviceAccountName", "priorityClassName") and not (
            isinstance(item, str) and item
        ):
            raise PodOverridesError(f"{where}: {key} must be a non-empty string; got {item!r}.")
    for index, entry in enumerate(value.get("env") or []):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            raise PodOverridesError(f"{where}: env[{index}] needs a name; got {entry!r}.")
    return dict(value)


def _merge_env(first: list[Any], later: list[Any]) -> list[Any]:
    """`first` then `later`; an entry of `later` replaces the one of `first` with its name."""
    names = {entry.get("name") for entry in later}
    return [entry for entry in first if entry.get("name") not in names] + list(later)


def apply_pod_overrides(
    manifest: Mapping[str, Any], overrides: Mapping[str, Any]
) -> dict[str, Any]:
    """The pod `manifest` (one container: the run worker) with `overrides` applied (pure)."""
    pod = copy.deepcopy(dict(manifest))
    if not overrides:
        return pod
    metadata, spec = pod.setdefault("metadata", {}), pod.setdefault("spec", {})
    container = spec["containers"][0]
    for key in _CONTAINER_LISTS:
        if overrides.get(key):
            items = copy.deepcopy(list(overrides[key]))
            current = list(container.get(key) or [])
            container[key] = _merge_env(current, items) if key == "env" else current + items
    for key in _CONTAINER_VALUES:
        if overrides.get(key):
            container[key] = copy.deepcopy(overrides[key])
    for key in _POD_LISTS:
        if overrides.get(key):
            spec[key] = list(spec.get(key) or []) + copy.deepcopy(list(overrides[key]))
    for key in _POD_VALUES:
        if overrides.get(key):
            spec[key] = copy.deepcopy(overrides[key])
    if overrides.get("serviceAccountName"):
        spec.pop("automountServiceAccountToken", None)  # the account is there to be used
    for key in _POD_MAPS:
        if overrides.get(key):
            spec[key] = {**(spec.get(key) or {}), **overrides[key]}
    labels = {
        name: value
        for name, value in (overrides.get("labels") or {}).items()
        if not name.startswith(_PROTECTED_LABEL_PREFIXES)
    }
    if labels:
        metadata["labels"] = {**labels, **(metadata.get("labels") or {})}
    if overrides.get("annotations"):
        metadata["annotations"] = {
            **overrides["annotations"],
            **(metadata.get("annotations") or {}),
        }
    return pod


def combine_pod_overrides(*layers: Mapping[str, Any] | None) -> dict[str, Any]:
    """Several overrides as one, later layers over earlier ones with the same rules as
    `apply_pod_overrides` (a CodeLocation's, then a Job's)."""
    combined: dict[str, Any] = {}
    for layer in layers:
        for key, value in (layer or {}).items():
            if value in (None, [], {}):
                continue
            if key == "env":
                combined[key] = _merge_env(list(combined.get(key) or []), list(value))
            elif key in (*_CONTAINER_LISTS, *_POD_LISTS):
                combined[key] = list(combined.get(key) or []) + list(value)
            elif key in (*_POD_MAPS, *_METADATA_MAPS):
                combined[key] = {**(combined.get(key) or {}), **value}
            else:
                combined[key] = value
    return combined
