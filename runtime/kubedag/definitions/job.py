"""Jobs: a named set of steps with the resources, config and executor they run with.

A job comes from a graph of ops (`@job`, `graph.to_job()`) or from an asset selection
(`define_asset_job`, resolved against a code location's asset graph by `Definitions`). Either
way it ends up as the same flat list of steps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from kubedag.definitions.asset_graph import AssetGraph
from kubedag.definitions.graph import GraphDefinition, compose
from kubedag.definitions.hooks import HookDefinition, hooks_by_step, to_hook_set
from kubedag.definitions.input_managers import input_manager_key
from kubedag.definitions.run_tags import job_run_tags
from kubedag.definitions.selection import AssetSelection, ResolvedSelection, to_selection
from kubedag.definitions.steps import (
    FromAsset,
    NodeOutputs,
    StepSpec,
    steps_for_assets,
    steps_from_graph,
)
from kubedag.errors import InvalidDefinitionError, MissingResourceError

DEFAULT_IO_MANAGER_KEY = "io_manager"


class JobDefinition:
    """Steps plus everything they run with. Build with `@job` or `define_asset_job`."""

    def __init__(
        self,
        *,
        name: str,
        steps: list[StepSpec],
        node_outputs: NodeOutputs,
        resource_defs: Mapping[str, Any] | None = None,
        executor_def: Any = None,
        config: Any = None,
        tags: Mapping[str, str] | None = None,
        run_tags: Mapping[str, str] | None = None,
        description: str | None = None,
        partitions_def: Any = None,
        asset_graph: AssetGraph | None = None,
        selection: ResolvedSelection | None = None,
        graph: GraphDefinition | None = None,
        metadata: Mapping[str, Any] | None = None,
        hook_defs: Iterable[HookDefinition] | None = None,
        logger_defs: Mapping[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.steps = steps
        self.node_outputs = node_outputs
        self.resource_defs = dict(resource_defs or {})
        self.executor_def = executor_def
        self.config = config
        self.tags = dict(tags or {})
        # What every run of the job is tagged with: `run_tags`, or `tags` when it has none.
        self.run_tags = job_run_tags(tags, run_tags)
        self.description = description
        self.partitions_def = partitions_def or _common_partitions_def(name, steps)
        self.asset_graph = asset_graph
        self.selection = selection
        self.graph = graph
        self.metadata = dict(metadata or {})
        self._steps_by_key = {step.key: step for step in steps}
        if len(self._steps_by_key) != len(steps):
            raise InvalidDefinitionError(f"job '{name}': two steps share a key.")
        self.hook_defs = to_hook_set(hook_defs, f"job '{name}'")
        # Step key → its hooks; empty for a job without hooks (steps then skip hook handling).
        self.step_hooks = hooks_by_step(steps, graph, self.hook_defs)
        self.logger_defs: dict[str, Any] | None = dict(logger_defs) if logger_defs else None

    # -- construction -----------------------------------------------------------------------
    @staticmethod
    def from_graph(
        graph: GraphDefinition, *, name: str | None = None, **kwargs: Any
    ) -> JobDefinition:
        steps, node_outputs = steps_from_graph(graph)
        if "hooks" in kwargs:
            kwargs["hook_defs"] = kwargs.pop("hooks")
        return JobDefinition(
            name=name or graph.name,
            steps=steps,
            node_outputs=node_outputs,
            graph=graph,
            description=kwargs.pop("description", None) or graph.description,
            **kwargs,
        )

    @staticmethod
    def from_asset_selection(
        *,
        name: str,
        asset_graph: AssetGraph,
        selection: ResolvedSelection,
        **kwargs: Any,
    ) -> JobDefinition:
        steps, node_outputs = steps_for_assets(
            asset_graph, selection.asset_keys, selection.check_keys
        )
        return JobDefinition(
            name=name,
            steps=steps,
            node_outputs=node_outputs,
            asset_graph=asset_graph,
            selection=selection,
            **kwargs,
        )

    def _copy(self, **changes: Any) -> JobDefinition:
        """This job built again with `changes` to its constructor's arguments (the derived
        state, step hooks and run tags, is computed afresh from them)."""
        arguments: dict[str, Any] = {
            "name": self.name,
            "steps": self.steps,
            "node_outputs": self.node_outputs,
            "resource_defs": self.resource_defs,
            "executor_def": self.executor_def,
            "config": self.config,
            "tags": self.tags,
            "run_tags": self.run_tags,
            "description": self.description,
            "partitions_def": self.partitions_def,
            "asset_graph": self.asset_graph,
            "selection": self.selection,
            "graph": self.graph,
            "metadata": self.metadata,
            "hook_defs": self.hook_defs,
            "logger_defs": self.logger_defs,
        }
        return JobDefinition(**{**arguments, **changes})

    def with_resources(self, resources: Mapping[str, Any]) -> JobDefinition:
        """A copy whose resources are `resources` overlaid by the job's own."""
        return self._copy(resource_defs={**resources, **self.resource_defs})

    def with_hooks(self, hook_defs: Iterable[HookDefinition]) -> JobDefinition:
        """A copy whose every step also runs `hook_defs` after it."""
        return self._copy(hook_defs=self.hook_defs | to_hook_set(hook_defs, f"job '{self.name}'"))

    @property
    def loggers(self) -> dict[str, Any]:
        """The loggers a run may configure (`loggers:` in run config): the job's, or the
        default console logger."""
        if self.logger_defs:
            return dict(self.logger_defs)
        from kubedag.definitions.builtin_loggers import default_loggers

        return dict(default_loggers())

    def with_asset_selection(self, selection: Any) -> JobDefinition:
        """The same job restricted to a subset of its assets (for `asset_selection=`)."""
        if self.asset_graph is None or self.selection is None:
            raise InvalidDefinitionError(
                f"job '{self.name}' is not an asset job; use op_selection."
            )
        resolved = to_selection(selection).resolve(self.asset_graph)
        subset = ResolvedSelection(
            resolved.asset_keys & self.selection.asset_keys,
            resolved.check_keys & self.selection.check_keys,
        )
        steps, node_outputs = steps_for_assets(
            self.asset_graph, subset.asset_keys, subset.check_keys
        )
        # A subset of only unpartitioned assets (automation, a re-execution) runs unpartitioned.
        partitioned = any(
            step.assets_def is not None and step.assets_def.partitions_def is not None
            for step in steps
        )
        return self._copy(
            steps=steps,
            node_outputs=node_outputs,
            partitions_def=self.partitions_def if partitioned else None,
            selection=subset,
            graph=None,
        )

    # -- queries ----------------------------------------------------------------------------
    def get_step(self, key: str) -> StepSpec:
        step = self._steps_by_key.get(key)
        if step is None:
            return self._mapped_step(key)
        return step

    def _mapped_step(self, key: str) -> StepSpec:
        """The run `op[k]` of a step mapped over a dynamic output, made from its key."""
        from kubedag.definitions.dynamic_steps import concrete_step, split_concrete_key

        parts = split_concrete_key(key)
        template = self._steps_by_key.get(parts[0]) if parts is not None else None
        if parts is None or template is None or template.mapped_over is None:
            raise KeyError(key)
        return concrete_step(template, parts[1])

    @property
    def step_keys(self) -> list[str]:
        return [step.key for step in self.steps]

    @property
    def is_asset_job(self) -> bool:
        return self.asset_graph is not None

    def resource_requirements(self) -> dict[str, list[str]]:
        """Resource key → labels of the definitions that need it."""
        needs: dict[str, list[str]] = {}
        for step in self.steps:
            keys = set(step.op.required_resource_keys)
            keys.update(
                o.io_manager_key
                for o in step.outputs
                if not o.is_nothing or o.io_manager_key != DEFAULT_IO_MANAGER_KEY
            )
            for name, source in step.inputs.items():
                manager = input_manager_key(step.op, name)
                if manager is not None:
                    keys.add(manager)
                elif isinstance(source, FromAsset):
                    keys.add(source.io_manager_key)
            for key in keys:
                needs.setdefault(key, []).append(step.label)
            for hook in self.step_hooks.get(step.key, ()):
                for key in hook.required_resource_keys:
                    needs.setdefault(key, []).append(f"hook '{hook.name}' (after {step.label})")
        return needs

    def check_resources(self, provided: Mapping[str, Any]) -> None:
        """Fail with the resource key and who needs it if any requirement is unbound."""
        for key, users in sorted(self.resource_requirements().items()):
            if key in provided or key == DEFAULT_IO_MANAGER_KEY:
                continue
            raise MissingResourceError(
                f"{users[0]} requires resource '{key}', but no resource is bound to '{key}' in "
                f"job '{self.name}'. Bind one: dg.Definitions(resources={{'{key}': …}}) or "
                f"materialize(…, resources={{'{key}': …}})."
            )

    def execute_in_process(
        self,
        run_config: Any = None,
        instance: Any = None,
        partition_key: str | None = None,
        raise_on_error: bool = True,
        op_selection: list[str] | None = None,
        asset_selection: Any = None,
        run_id: str | None = None,
        input_values: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        resources: Mapping[str, Any] | None = None,
    ) -> Any:
        """Run the job in this process and return its result. Unless the job binds its own
        `io_manager`, outputs are kept in memory."""
        from kubedag.definitions.engine import engine

        job = self.with_asset_selection(asset_selection) if asset_selection is not None else self
        if resources:
            job = job.with_resources(resources)
        return engine().execute_job(
            job,
            run_config=run_config,
            instance=instance,
            partition_key=partition_key,
            raise_on_error=raise_on_error,
            tags=tags,
            run_id=run_id,
            op_selection=op_selection,
            input_values=input_values,
        )

    def __repr__(self) -> str:
        return f"<JobDefinition {self.name} ({len(self.steps)} steps)>"


def _common_partitions_def(name: str, steps: list[StepSpec]) -> Any:
    found = {
        id(step.assets_def.partitions_def): step.assets_def.partitions_def
        for step in steps
        if step.assets_def is not None and step.assets_def.partitions_def is not None
    }
    if len(found) > 1:
        defs = list(found.values())
        if not all(d == defs[0] for d in defs[1:]):
            raise InvalidDefinitionError(
                f"job '{name}' selects assets with different partitions definitions; a job runs "
                "one partition at a time, so split it into one job per partitioning."
            )
    return next(iter(found.values()), None)


def job(
    compose_fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    resource_defs: Mapping[str, Any] | None = None,
    config: Any = None,
    tags: Mapping[str, str] | None = None,
    run_tags: Mapping[str, str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    executor_def: Any = None,
    partitions_def: Any = None,
    hooks: Iterable[HookDefinition] | None = None,
    logger_defs: Mapping[str, Any] | None = None,
) -> Any:
    """Declare a job of ops: the body calls ops to wire them together."""

    def decorate(fn: Callable[..., Any]) -> JobDefinition:
        job_name = name or fn.__name__
        nodes, inputs, outputs = compose(fn, owner=f"job '{job_name}'")
        if inputs:
            raise InvalidDefinitionError(
                f"job '{job_name}': a job body takes no parameters; feed op inputs from other ops "
                "or from run config."
            )
        graph_def = GraphDefinition.from_nodes(
            job_name, nodes, (), outputs, description=description
        )
        return JobDefinition.from_graph(
            graph_def,
            name=job_name,
            description=description or (fn.__doc__ or "").strip() or None,
            resource_defs=resource_defs,
            config=config,
            tags=tags,
            run_tags=run_tags,
            metadata=metadata,
            executor_def=executor_def,
            partitions_def=partitions_def,
            hook_defs=hooks,
            logger_defs=logger_defs,
        )

    return decorate(compose_fn) if compose_fn is not None else decorate


class UnresolvedAssetJobDefinition:
    """A job over an asset selection; becomes a `JobDefinition` once the asset graph is known."""

    def __init__(
        self,
        name: str,
        selection: AssetSelection,
        *,
        config: Any = None,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        run_tags: Mapping[str, str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        partitions_def: Any = None,
        executor_def: Any = None,
        hooks: Iterable[HookDefinition] | None = None,
    ) -> None:
        self.name = name
        self.selection = selection
        self.hooks = to_hook_set(hooks, f"job '{name}'")
        self.config = config
        self.description = description
        self.tags = dict(tags or {})
        self.run_tags = job_run_tags(tags, run_tags)
        self.metadata = dict(metadata or {})
        self.partitions_def = partitions_def
        self.executor_def = executor_def

    def resolve(
        self,
        asset_graph: AssetGraph,
        resource_defs: Mapping[str, Any] | None = None,
        executor_def: Any = None,
    ) -> JobDefinition:
        return JobDefinition.from_asset_selection(
            name=self.name,
            asset_graph=asset_graph,
            selection=self.selection.resolve(asset_graph),
            resource_defs=resource_defs,
            executor_def=self.executor_def or executor_def,
            config=self.config,
            tags=self.tags,
            run_tags=self.run_tags,
            description=self.description,
            partitions_def=self.partitions_def,
            metadata=self.metadata,
            hook_defs=self.hooks,
        )

    def __repr__(self) -> str:
        return f"<UnresolvedAssetJobDefinition {self.name}>"


def define_asset_job(
    name: str,
    selection: Any = None,
    config: Any = None,
    description: str | None = None,
    tags: Mapping[str, str] | None = None,
    run_tags: Mapping[str, str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    partitions_def: Any = None,
    executor_def: Any = None,
    hooks: Iterable[HookDefinition] | None = None,
) -> UnresolvedAssetJobDefinition:
    """Declare a job that materializes a selection of assets (all of them by default)."""
    return UnresolvedAssetJobDefinition(
        name,
        to_selection(selection) if selection is not None else AssetSelection.all(),
        config=config,
        description=description,
        tags=tags,
        run_tags=run_tags,
        metadata=metadata,
        partitions_def=partitions_def,
        executor_def=executor_def,
        hooks=hooks,
    )
