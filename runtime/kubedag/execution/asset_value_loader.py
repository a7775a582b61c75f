"""`AssetValueLoader`: read a stored asset value outside a run (in a notebook, a script, a test).

The value is loaded the way a downstream asset would load it: through the I/O manager bound to
the asset's `io_manager_key` (by default the filesystem I/O manager, under the instance's
storage directory), given the same contexts a run would give it. Resources are initialized on
first use and torn down when the loader is closed: use it in a `with` block to load many
values with one set-up, or `Definitions.load_asset_value(key)` for one.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import ExitStack
from typing import Any

from kubedag.definitions.asset_key import AssetKey, to_asset_key
from kubedag.definitions.job import DEFAULT_IO_MANAGER_KEY
from kubedag.resources.initialization import checked_resource_configs, initialize_resources
from kubedag.resources.io_manager import FilesystemIOManager, InputContext, OutputContext
from kubedag.resources.namespace import ResourceNamespace


class AssetValueLoader:
    """Loads asset values through their I/O managers; a context manager."""

    def __init__(
        self,
        assets_defs_by_key: Mapping[AssetKey, Any],
        instance: Any = None,
        *,
        resource_defs: Mapping[str, Any] | None = None,
        specs_by_key: Mapping[AssetKey, Any] | None = None,
    ) -> None:
        self._assets_defs_by_key = dict(assets_defs_by_key)
        self._specs_by_key = dict(specs_by_key or {})
        self._instance = instance
        self._resource_defs: dict[str, Any] = {}
        for assets_def in self._assets_defs_by_key.values():
            self._resource_defs.update(getattr(assets_def, "resource_defs", {}) or {})
        self._resource_defs.update(resource_defs or {})
        self._resource_defs.setdefault(DEFAULT_IO_MANAGER_KEY, FilesystemIOManager())
        self._stack = ExitStack()
        self._resources: dict[str, Any] = {}

    def __enter__(self) -> AssetValueLoader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Tear down the resources the loader initialized."""
        self._stack.close()
        self._resources = {}

    def _initialized(self, key: str, config: Any) -> dict[str, Any]:
        if config is None and key in self._resources:
            return self._resources
        needed = self._with_dependencies(key)
        configs = checked_resource_configs(
            self._resource_defs, needed, {key: config} if config is not None else None
        )
        values = initialize_resources(
            self._resource_defs, [key], self._stack, configs=configs, instance=self._instance
        )
        if config is not None:  # configured for this one load: not kept for the next
            return values
        self._resources.update(values)
        return self._resources

    def _with_dependencies(self, key: str) -> list[str]:
        needed: list[str] = []
        pending = [key]
        while pending:
            current = pending.pop()
            if current in needed or current not in self._resource_defs:
                continue
            needed.append(current)
            pending.extend(getattr(self._resource_defs[current], "required_resource_keys", ()))
        return needed

    def load_asset_value(
        self,
        asset_key: Any,
        *,
        python_type: type | None = None,
        partition_key: str | None = None,
        partition_key_range: Any = None,
        input_definition_metadata: dict[str, Any] | None = None,
        resource_config: Any = None,
        metadata: dict[str, Any] | None = None,
    ) -> Any:
        """The stored value of `asset_key` (of one partition, or `{partition key: value}` for a
        range), loaded by its I/O manager; `python_type` is what the input would be annotated
        with, `resource_config` the I/O manager's config for this load."""
        key = to_asset_key(asset_key)
        assets_def = self._assets_defs_by_key.get(key)
        spec = assets_def.spec_for(key) if assets_def is not None else self._specs_by_key.get(key)
        if assets_def is None and spec is None:
            known = ", ".join(sorted(k.to_user_string() for k in self._assets_defs_by_key))
            raise KeyError(f"No asset '{key.to_user_string()}' is defined here (known: {known}).")
        io_key = (
            assets_def.io_manager_key_for(key) if assets_def is not None else DEFAULT_IO_MANAGER_KEY
        )
        resources = self._initialized(io_key, resource_config)
        namespace = ResourceNamespace(resources)
        partitions_def = getattr(spec, "partitions_def", None) or getattr(
            assets_def, "partitions_def", None
        )
        keys = _partition_keys(partitions_def, partition_key, partition_key_range)
        upstream = OutputContext(
            name=assets_def.output_names_by_key[key] if assets_def is not None else "result",
            step_key=assets_def.node.name if assets_def is not None else key.to_python_identifier(),
            run_id="",
            asset_key=key,
            partition_key=partition_key,
            partition_keys=keys,
            partitions_def=partitions_def,
            metadata=dict(getattr(spec, "metadata", None) or {}),
            resources=namespace,
            instance=self._instance,
        )
        context = InputContext(
            name=key.to_python_identifier(),
            step_key="",
            upstream_output=upstream,
            asset_key=key,
            asset_partition_keys=keys,
            metadata={**(metadata or {}), **(input_definition_metadata or {})},
            resources=namespace,
            annotation=python_type,
            instance=self._instance,
        )
        return resources[io_key].load_input(context)


def _partition_keys(
    partitions_def: Any, partition_key: str | None, key_range: Any
) -> list[str] | None:
    if partition_key is not None:
        return [partition_key]
    if key_range is not None:
        if partitions_def is None:
            raise ValueError("partition_key_range: the asset is not partitioned.")
        keys: list[str] = partitions_def.get_partition_keys_in_range(key_range)
        return keys
    return None
