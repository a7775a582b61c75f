"""`materialize`: build an asset job from a list of assets and run it in this process."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kubedag.definitions.asset_graph import AssetGraph, split_asset_like
from kubedag.definitions.job import JobDefinition
from kubedag.definitions.selection import AssetSelection, to_selection
from kubedag.execution.result import ExecuteInProcessResult
from kubedag.execution.run import execute_job

IMPLICIT_ASSET_JOB_NAME = "__ASSET_JOB"


def _asset_job(
    assets: Sequence[Any], selection: Any, resources: Mapping[str, Any] | None
) -> JobDefinition:
    assets_defs, specs, checks = split_asset_like(assets)
    graph = AssetGraph(assets_defs, specs, checks)
    resolved = (to_selection(selection) if selection is not None else AssetSelection.all()).resolve(
        graph
    )
    resource_defs = {**graph.resource_defs(), **(resources or {})}
    return JobDefinition.from_asset_selection(
        name=IMPLICIT_ASSET_JOB_NAME,
        asset_graph=graph,
        selection=resolved,
        resource_defs=resource_defs,
    )


def materialize(
    assets: Sequence[Any],
    run_config: Any = None,
    instance: Any = None,
    resources: Mapping[str, Any] | None = None,
    partition_key: str | None = None,
    raise_on_error: bool = True,
    tags: Mapping[str, str] | None = None,
    selection: Any = None,
) -> ExecuteInProcessResult:
    """Materialize `assets` (or the `selection` of them) in this process.

    Unless `resources` binds an `io_manager`, values are pickled under the instance's storage
    directory, so later runs (and checks) can load them.
    """
    job = _asset_job(assets, selection, resources)
    return execute_job(
        job,
        run_config=run_config,
        instance=instance,
        partition_key=partition_key,
        raise_on_error=raise_on_error,
        tags=tags,
        default_io_manager="filesystem",
    )


def materialize_to_memory(
    assets: Sequence[Any],
    run_config: Any = None,
    instance: Any = None,
    resources: Mapping[str, Any] | None = None,
    partition_key: str | None = None,
    raise_on_error: bool = True,
    tags: Mapping[str, str] | None = None,
    selection: Any = None,
) -> ExecuteInProcessResult:
    """Like `materialize`, but values are kept in memory for the run only."""
    job = _asset_job(assets, selection, resources)
    return execute_job(
        job,
        run_config=run_config,
        instance=instance,
        partition_key=partition_key,
        raise_on_error=raise_on_error,
        tags=tags,
        default_io_manager="memory",
    )
