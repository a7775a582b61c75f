"""`with_resources`: bind resources to assets themselves, not to a `Definitions` or a run.

Each asset (or asset check) comes back as a copy carrying the resources it may use; the
originals are unchanged. `resource_config_by_key` configures resources as run config would
(`{key: {"config": …}}`). A key the asset already binds to a different resource is an error:
the asset's own binding would silently win otherwise.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from kubedag.errors import InvalidInvocationError
from kubedag.resources.definition import ResourceDefinition

T = TypeVar("T")


def configured_resource(key: str, resource: Any, config: Any) -> Any:
    """`resource` with its config fixed to `config`."""
    if isinstance(resource, ResourceDefinition):
        return resource.configured(config)
    model_fields = getattr(type(resource), "model_fields", None)
    if model_fields is not None:  # a ConfigurableResource: config fields are its fields
        current = {name: getattr(resource, name) for name in model_fields}
        return type(resource)(**{**current, **dict(config or {})})
    resource_cls = getattr(resource, "resource_cls", None)
    if resource_cls is not None:  # configure_at_launch(): the config given here is the launch
        return resource_cls(**dict(config or {}))
    raise InvalidInvocationError(
        f"with_resources: resource_config_by_key['{key}'] configures {type(resource).__name__}, "
        "which takes no config; configure a resource definition or a ConfigurableResource."
    )


def with_resources(
    definitions: Iterable[T],
    resource_defs: Mapping[str, Any],
    resource_config_by_key: Mapping[str, Any] | None = None,
) -> Sequence[T]:
    """Copies of `definitions` (assets, asset checks) with `resource_defs` bound to each."""
    resources = dict(resource_defs)
    for key, entry in (resource_config_by_key or {}).items():
        if key not in resources:
            raise InvalidInvocationError(
                f"with_resources: resource_config_by_key names '{key}', which is not among the "
                f"resources given ({', '.join(sorted(resources)) or 'none'})."
            )
        config = entry["config"] if isinstance(entry, Mapping) and "config" in entry else entry
        resources[key] = configured_resource(key, resources[key], config)
    bound: list[T] = []
    for definition in definitions:
        own = getattr(definition, "resource_defs", None)
        if own is None:  # an AssetSpec, a job: nothing to bind resources to
            bound.append(definition)
            continue
        conflicts = sorted(k for k in own if k in resources and own[k] is not resources[k])
        if conflicts:
            raise InvalidInvocationError(
                f"{definition!r} already binds resource(s) {', '.join(conflicts)} to something "
                "else; remove them from the asset or use other resource keys."
            )
        copied = copy.copy(definition)
        copied.resource_defs = {**resources, **own}  # type: ignore[attr-defined]
        bound.append(copied)
    return bound
