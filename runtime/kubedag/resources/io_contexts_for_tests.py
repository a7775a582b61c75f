"""`build_output_context` / `build_input_context`: contexts for testing an I/O manager directly.

An I/O manager is a plain object: a test builds the context a run would hand it and calls
`handle_output(context, obj)` or `load_input(context)`. Resources given here are initialized
as a run would initialize them (a resource definition is set up, a plain object is used as it
is); using the context in a `with` block tears them down at the end.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from contextlib import ExitStack
from typing import Any

from kubedag.definitions.asset_key import to_asset_key
from kubedag.resources.io_manager import InputContext, OutputContext
from kubedag.resources.namespace import ResourceNamespace

_TEST_RUN_ID = "EPHEMERAL"


def _resources(
    resources: Mapping[str, Any] | None, resource_config: Any
) -> tuple[ResourceNamespace | None, ExitStack]:
    stack = ExitStack()
    if resources is None:
        return None, stack
    if isinstance(resources, ResourceNamespace):
        return resources, stack
    from kubedag.resources.initialization import initialize_resources

    values = initialize_resources(dict(resources), resources.keys(), stack)
    return ResourceNamespace(values), stack


def _partition_keys(
    partition_key: str | None, key_range: Any, partitions_def: Any
) -> list[str] | None:
    if partition_key is not None:
        return [partition_key]
    if key_range is None:
        return None
    if partitions_def is None:
        raise ValueError("asset_partition_key_range needs asset_partitions_def, to list its keys.")
    keys: list[str] = partitions_def.get_partition_keys_in_range(key_range)
    return keys


def _merged_metadata(definition_metadata: Any, metadata: Any, function: str) -> dict[str, Any]:
    if metadata is not None:
        warnings.warn(
            f"{function}(metadata=…) is the old spelling of definition_metadata=…",
            DeprecationWarning,
            stacklevel=3,
        )
    return {**dict(metadata or {}), **dict(definition_metadata or {})}


def build_output_context(
    step_key: str | None = None,
    name: str | None = None,
    definition_metadata: Mapping[str, Any] | None = None,
    run_id: str | None = None,
    mapping_key: str | None = None,
    config: Any = None,
    dagster_type: Any = None,
    version: str | None = None,
    resource_config: Mapping[str, Any] | None = None,
    resources: Mapping[str, Any] | None = None,
    op_def: Any = None,
    asset_key: Any = None,
    partition_key: str | None = None,
    asset_partitions_def: Any = None,
    asset_partition_key_range: Any = None,
    instance: Any = None,
    asset_spec: Any = None,
    metadata: Mapping[str, Any] | None = None,
    output_metadata: Mapping[str, Any] | None = None,
) -> OutputContext:
    """An `OutputContext` for calling `io_manager.handle_output(context, obj)` in a test."""
    if asset_spec is not None and asset_key is None:
        asset_key = asset_spec.key
    namespace, stack = _resources(resources, resource_config)
    keys = _partition_keys(partition_key, asset_partition_key_range, asset_partitions_def)
    context = OutputContext(
        name=name or "result",
        step_key=step_key or "",
        run_id=run_id or _TEST_RUN_ID,
        asset_key=to_asset_key(asset_key) if asset_key is not None else None,
        partition_key=partition_key,
        partition_keys=keys,
        partitions_def=asset_partitions_def,
        metadata=_merged_metadata(definition_metadata, metadata, "build_output_context"),
        op_def=op_def,
        resources=namespace,
        annotation=dagster_type,
        instance=instance,
        config=config,
        resource_config=resource_config,
    )
    context.mapping_key = mapping_key
    context.version = version
    if output_metadata:
        context.add_output_metadata(dict(output_metadata))
    context._exit_stack = stack
    return context


def build_input_context(
    name: str | None = None,
    config: Any = None,
    definition_metadata: Mapping[str, Any] | None = None,
    upstream_output: OutputContext | None = None,
    dagster_type: Any = None,
    resource_config: Mapping[str, Any] | None = None,
    resources: Mapping[str, Any] | None = None,
    op_def: Any = None,
    step_context: Any = None,
    asset_key: Any = None,
    partition_key: str | None = None,
    asset_partition_key_range: Any = None,
    asset_partitions_def: Any = None,
    instance: Any = None,
    metadata: Mapping[str, Any] | None = None,
) -> InputContext:
    """An `InputContext` for calling `io_manager.load_input(context)` in a test.

    `upstream_output` (from `build_output_context`) describes what was stored; without it, an
    I/O manager that reads by asset key loads `asset_key` (partitions: `partition_key` or
    `asset_partition_key_range`)."""
    namespace, stack = _resources(resources, resource_config)
    if asset_key is None and upstream_output is not None and upstream_output.has_asset_key:
        asset_key = upstream_output.asset_key
    partitions_def = asset_partitions_def
    if partitions_def is None and upstream_output is not None:
        partitions_def = upstream_output.asset_partitions_def
    keys = _partition_keys(partition_key, asset_partition_key_range, partitions_def)
    context = InputContext(
        name=name or "input",
        step_key=getattr(step_context, "step_key", None) or "",
        upstream_output=upstream_output,
        asset_key=to_asset_key(asset_key) if asset_key is not None else None,
        partition_key=partition_key,
        metadata=_merged_metadata(definition_metadata, metadata, "build_input_context"),
        op_def=op_def,
        resources=namespace,
        annotation=dagster_type,
        instance=instance,
        asset_partition_keys=keys,
        config=config,
        resource_config=resource_config,
    )
    context._asset_partitions_def = partitions_def
    context._exit_stack = stack
    return context
