"""Composition: calling ops inside a `@graph`, `@job` or `@graph_asset` body records a node
instead of running the op.

While a composition function runs, calls to op and graph definitions return handles to their
outputs (`NodeOutputHandle`); passing a handle to another call records a data dependency. The
result is a list of `NodeInvocation`s that `GraphDefinition` keeps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from kubedag.definitions.composition_handles import (
    GraphInputHandle,
    InputBinding,
    NodeOutputHandle,
)
from kubedag.definitions.dynamic import output_handles
from kubedag.definitions.policies import RetryPolicy
from kubedag.errors import InvalidDefinitionError


@dataclass(frozen=True)
class NodeInvocation:
    """A use of an op or graph inside a graph, with what feeds each of its inputs."""

    name: str
    definition: Any  # OpDefinition | GraphDefinition
    inputs: Mapping[str, InputBinding]
    tags: Mapping[str, str] = field(default_factory=dict)
    retry_policy: RetryPolicy | None = None
    hook_defs: frozenset[Any] = frozenset()


class CompositionBuilder:
    """Collects the nodes recorded while one composition function runs."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.nodes: list[NodeInvocation] = []
        self._used_names: dict[str, int] = {}

    def _unique_name(self, base: str, explicit: bool) -> str:
        count = self._used_names.get(base, 0)
        self._used_names[base] = count + 1
        if count == 0:
            return base
        if explicit:
            raise InvalidDefinitionError(
                f"{self.owner}: two nodes are named '{base}'; give each .alias() a distinct name."
            )
        return f"{base}_{count + 1}"

    def invoke(
        self,
        definition: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        alias: str | None = None,
        tags: Mapping[str, str] | None = None,
        retry_policy: RetryPolicy | None = None,
        hook_defs: frozenset[Any] = frozenset(),
    ) -> Any:
        input_names: tuple[str, ...] = definition.composition_input_names
        positional: tuple[str, ...] = definition.composition_positional_input_names
        if len(args) > len(positional):
            by_name = [n for n in input_names if n not in positional]
            raise InvalidDefinitionError(
                f"{self.owner}: '{definition.name}' takes {len(positional)} positional input(s) "
                f"({', '.join(positional) or 'none'}) but was given {len(args)}."
                + (
                    f" Pass {', '.join(f'{n}=…' for n in by_name)} by name: the function "
                    "collects them with **kwargs."
                    if by_name
                    else ""
                )
            )
        bindings: dict[str, InputBinding] = {}
        for name, value in [*zip(positional, args, strict=False), *kwargs.items()]:
            if name not in input_names:
                raise InvalidDefinitionError(
                    f"{self.owner}: '{definition.name}' has no input '{name}'; "
                    f"its inputs are: {', '.join(input_names) or 'none'}."
                )
            bindings[name] = _binding(self.owner, definition.name, name, value)
        node_name = self._unique_name(alias or definition.name, explicit=alias is not None)
        self.nodes.append(
            NodeInvocation(
                node_name, definition, bindings, dict(tags or {}), retry_policy, hook_defs
            )
        )
        output_names: tuple[str, ...] = definition.composition_output_names
        handles = output_handles(self.owner, definition, node_name, output_names, bindings)
        if len(handles) == 1:
            return handles[0]
        if not handles:
            return NodeOutputHandle(node_name, "result")
        outputs_type = NamedTuple("Outputs", [(n, NodeOutputHandle) for n in output_names])  # type: ignore[misc]
        return outputs_type(*handles)


def _binding(owner: str, node: str, input_name: str, value: Any) -> InputBinding:
    if isinstance(value, NodeOutputHandle | GraphInputHandle):
        return value
    if (
        isinstance(value, list | tuple)
        and value
        and all(isinstance(v, NodeOutputHandle | GraphInputHandle) for v in value)
    ):
        return tuple(value)
    raise InvalidDefinitionError(
        f"{owner}: input '{input_name}' of '{node}' was given {value!r}. Inside a graph or job "
        "body, inputs must be outputs of other ops (or graph inputs); pass constants through "
        "config instead."
    )


_stack: list[CompositionBuilder] = []


def current_composition() -> CompositionBuilder | None:
    return _stack[-1] if _stack else None


class composing:
    """`with composing(builder):` makes op calls record nodes into `builder`."""

    def __init__(self, builder: CompositionBuilder) -> None:
        self.builder = builder

    def __enter__(self) -> CompositionBuilder:
        _stack.append(self.builder)
        return self.builder

    def __exit__(self, *exc: object) -> None:
        _stack.pop()


class PendingNodeInvocation:
    """An op or graph with an alias, tags or retry policy, waiting to be called in a body."""

    def __init__(
        self,
        definition: Any,
        alias: str | None = None,
        tags: Mapping[str, str] | None = None,
        retry_policy: RetryPolicy | None = None,
        hook_defs: Iterable[Any] | None = None,
    ) -> None:
        self.definition = definition
        self.given_alias = alias
        self.given_tags = dict(tags or {})
        self.given_retry_policy = retry_policy
        self.hook_defs: frozenset[Any] = frozenset(hook_defs or ())

    def alias(self, name: str) -> PendingNodeInvocation:
        return PendingNodeInvocation(
            self.definition, name, self.given_tags, self.given_retry_policy, self.hook_defs
        )

    def tag(self, tags: Mapping[str, str]) -> PendingNodeInvocation:
        merged = {**self.given_tags, **tags}
        return PendingNodeInvocation(
            self.definition, self.given_alias, merged, self.given_retry_policy, self.hook_defs
        )

    def with_retry_policy(self, policy: RetryPolicy) -> PendingNodeInvocation:
        return PendingNodeInvocation(
            self.definition, self.given_alias, self.given_tags, policy, self.hook_defs
        )

    def with_hooks(self, hook_defs: Iterable[Any]) -> PendingNodeInvocation:
        """The same use, with `hook_defs` running after it (after each of its ops, for a
        graph)."""
        from kubedag.definitions.hooks import to_hook_set

        hooks = to_hook_set(hook_defs, f"'{self.definition.name}'.with_hooks")
        return PendingNodeInvocation(
            self.definition,
            self.given_alias,
            self.given_tags,
            self.given_retry_policy,
            self.hook_defs | hooks,
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        builder = current_composition()
        if builder is None:
            raise InvalidDefinitionError(
                f"'{self.definition.name}' with .alias()/.tag() can only be called inside a "
                "@graph, @job or @graph_asset body."
            )
        return builder.invoke(
            self.definition,
            args,
            kwargs,
            alias=self.given_alias,
            tags=self.given_tags,
            retry_policy=self.given_retry_policy,
            hook_defs=self.hook_defs,
        )

    # -- the reference's other uses of a pending invocation ---------------------------------
    @property
    def node_def(self) -> Any:
        return self.definition

    def describe_node(self) -> str:
        kind = "graph" if hasattr(self.definition, "nodes") else "op"
        alias = f" (as '{self.given_alias}')" if self.given_alias else ""
        return f"{kind} '{self.definition.name}'{alias}"

    def to_job(self, name: str | None = None, **kwargs: Any) -> Any:
        """A job of just this node (a graph, with its alias as the job's name)."""
        if not hasattr(self.definition, "to_job"):
            raise InvalidDefinitionError(
                f"{self.describe_node()}: only a graph can become a job; wrap the op in a @job."
            )
        return self.definition.to_job(name=name or self.given_alias, **kwargs)

    def execute_in_process(self, **kwargs: Any) -> Any:
        return self.to_job().execute_in_process(**kwargs)
