"""`HookContext`: what a hook function sees as `context`, in a run or in a test.

In a run it describes the step the hook follows: the op, the step key, the run, the op's config,
what the step returned (`op_output_values`) or raised (`op_exception`), the resources the hook
asked for, and `context.log` (the step's log, so what a hook logs lands in the run's event log).

`build_hook_context(...)` makes one for calling a hook directly in a test; what it is not given
raises `InvalidPropertyError` naming the parameter to pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from kubedag.errors import InvalidPropertyError, KubedagError, MissingResourceError
from kubedag.execution.log_manager import DagsterLogManager, RunLogWriter
from kubedag.resources.namespace import ResourceNamespace

_UNSET: Any = object()


@dataclass(frozen=True)
class HookNode:
    """The op use a hook follows: its name in the graph (an alias if it has one), its
    definition and its tags."""

    name: str
    definition: Any
    tags: Mapping[str, str] = field(default_factory=dict)

    def describe_node(self) -> str:
        return f"op '{self.name}'"


def node_for(op: Any) -> HookNode:
    """An op definition, or one waiting to be called with an alias or tags, as a `HookNode`."""
    definition = getattr(op, "definition", op)
    name = getattr(op, "given_alias", None) or definition.name
    tags = {**getattr(definition, "tags", {}), **getattr(op, "given_tags", {})}
    return HookNode(name, definition, tags)


def _not_set(name: str, kind: str = "property") -> InvalidPropertyError:
    return InvalidPropertyError(
        f"The {name} {kind} is not set when a `HookContext` is constructed from "
        "`build_hook_context`."
    )


def _not_provided(name: str) -> InvalidPropertyError:
    return InvalidPropertyError(
        f"Attribute '{name}' was not provided when constructing context. Provide a value for "
        f"the '{name}' parameter on 'build_hook_context'."
    )


class HookContext:
    """The `context` of a hook function."""

    def __init__(
        self,
        *,
        log: DagsterLogManager,
        resources: ResourceNamespace,
        hook_def: Any = None,
        op: HookNode | None = None,
        step_key: str | None = None,
        run_id: str | None = None,
        job_name: str | None = None,
        op_config: Any = _UNSET,
        op_exception: BaseException | None = None,
        op_output_values: Mapping[str, Any] | None = None,
        op_output_metadata: Mapping[str, Any] | None = None,
        instance: Any = None,
        from_builder: bool = False,
    ) -> None:
        self._log = log
        self._resources = resources
        self._hook_def = hook_def
        self._op = op
        self._step_key = step_key
        self._run_id = run_id
        self._job_name = job_name
        self._op_config = op_config
        self._op_exception = op_exception
        self._op_output_values = op_output_values
        self._op_output_metadata = op_output_metadata
        self._instance = instance
        self._from_builder = from_builder
        self._exit_stack: ExitStack | None = None

    # -- the run ----------------------------------------------------------------------------
    @property
    def job_name(self) -> str:
        if self._job_name is None:
            raise _not_provided("job_name")
        return self._job_name

    @property
    def run_id(self) -> str:
        if self._run_id is None:
            raise _not_provided("run_id")
        return self._run_id

    @property
    def instance(self) -> Any:
        if self._instance is None:
            raise KubedagError(
                "Tried to access the HookContext instance, but no instance was provided to "
                "`build_hook_context`."
            )
        return self._instance

    @property
    def log(self) -> DagsterLogManager:
        return self._log

    # -- the hook ---------------------------------------------------------------------------
    @property
    def hook_def(self) -> Any:
        if self._hook_def is None:
            raise _not_set("hook_def")
        return self._hook_def

    @property
    def required_resource_keys(self) -> frozenset[str]:
        if self._hook_def is None:
            raise _not_set("hook_def")
        keys: frozenset[str] = self._hook_def.required_resource_keys
        return keys

    @property
    def resources(self) -> ResourceNamespace:
        return self._resources

    # -- the step ---------------------------------------------------------------------------
    @property
    def op(self) -> HookNode:
        if self._op is None:
            raise _not_provided("op")
        return self._op

    @property
    def step_key(self) -> str:
        if self._step_key is None:
            raise _not_set("step_key")
        return self._step_key

    @property
    def op_config(self) -> Any:
        if self._op_config is _UNSET:
            raise _not_set("op_config")
        return self._op_config

    @property
    def op_exception(self) -> BaseException | None:
        return self._op_exception

    @property
    def op_output_values(self) -> Mapping[str, Any]:
        if self._op_output_values is None:
            raise _not_set("op_output_values", "method")
        return self._op_output_values

    @property
    def op_output_metadata(self) -> Mapping[str, Any]:
        if self._op_output_metadata is None:
            raise _not_set("op_output_metadata", "method")
        return self._op_output_metadata

    # -- direct invocation ------------------------------------------------------------------
    def check_hook_resources(self, hook_def: Any) -> None:
        """Called by a hook invoked directly: fail if a resource it requires is missing."""
        for key in sorted(hook_def.required_resource_keys):
            if key not in self._resources:
                known = sorted(self._resources)
                raise MissingResourceError(
                    f"resource with key '{key}' required by hook '{hook_def.name}' was not "
                    f"provided. Please provide a resource to key '{key}' (build_hook_context("
                    f"resources={{'{key}': …}})), or change the required key to one of: {known}."
                )

    def bind_hook(self, hook_def: Any) -> HookContext:
        """The same context, as seen by `hook_def` (its `hook_def` is set)."""
        bound = HookContext(
            log=self._log,
            resources=self._resources,
            hook_def=hook_def,
            op=self._op,
            step_key=self._step_key,
            run_id=self._run_id,
            job_name=self._job_name,
            op_config=self._op_config,
            op_exception=self._op_exception,
            op_output_values=self._op_output_values,
            op_output_metadata=self._op_output_metadata,
            instance=self._instance,
            from_builder=self._from_builder,
        )
        return bound

    def __enter__(self) -> HookContext:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._exit_stack is not None:
            self._exit_stack.close()
            self._exit_stack = None


def build_hook_context(
    resources: Mapping[str, Any] | None = None,
    op: Any = None,
    run_id: str | None = None,
    job_name: str | None = None,
    op_exception: BaseException | None = None,
    instance: Any = None,
) -> HookContext:
    """A hook context for calling a hook directly in a test: `my_hook(build_hook_context())`.

    `resources` may hold plain values or resource definitions (initialized here; use
    `with build_hook_context(resources=…) as context:` to have them torn down)."""
    from kubedag.resources.initialization import build_resources

    stack = ExitStack()
    namespace = stack.enter_context(build_resources(dict(resources or {}), instance=instance))
    context = HookContext(
        log=RunLogWriter(run_id or "", job_name or "", None).for_step(None),
        resources=namespace,
        op=node_for(op) if op is not None else None,
        run_id=run_id,
        job_name=job_name,
        op_exception=op_exception,
        instance=instance,
        from_builder=True,
    )
    context._exit_stack = stack
    return context
