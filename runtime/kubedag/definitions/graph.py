"""Graphs: ops wired together by a composition function, reusable inside jobs, other graphs and
graph-backed assets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from kubedag.definitions.composition import (
    CompositionBuilder,
    GraphInputHandle,
    NodeInvocation,
    NodeOutputHandle,
    PendingNodeInvocation,
    composing,
    current_composition,
)
from kubedag.definitions.signature import FunctionSignature, read_signature
from kubedag.errors import InvalidDefinitionError


class GraphDefinition:
    """A set of node invocations with the graph's inputs and output mappings."""

    def __init__(
        self,
        name: str,
        nodes: list[NodeInvocation],
        input_names: tuple[str, ...] = (),
        output_mappings: Mapping[str, NodeOutputHandle] | None = None,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        config: Any = None,
    ) -> None:
        self.name = name
        self.nodes = nodes
        self.input_names = input_names
        self.output_mappings = dict(output_mappings or {})
        self.description = description
        self.tags = dict(tags or {})
        self.config = config
        self._check_nodes()

    def _check_nodes(self) -> None:
        names = {node.name for node in self.nodes}
        for node in self.nodes:
            for binding in node.inputs.values():
                handles = binding if isinstance(binding, tuple) else (binding,)
                for handle in handles:
                    if isinstance(handle, NodeOutputHandle) and handle.node_name not in names:
                        raise InvalidDefinitionError(
                            f"graph '{self.name}': node '{node.name}' reads an output of "
                            f"'{handle.node_name}', which is not part of this graph."
                        )

    @property
    def composition_input_names(self) -> tuple[str, ...]:
        return self.input_names

    @property
    def composition_positional_input_names(self) -> tuple[str, ...]:
        return self.input_names

    @property
    def composition_output_names(self) -> tuple[str, ...]:
        return tuple(self.output_mappings)

    def node_named(self, name: str) -> NodeInvocation:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def alias(self, name: str) -> PendingNodeInvocation:
        return PendingNodeInvocation(self, alias=name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        builder = current_composition()
        if builder is None:
            raise InvalidDefinitionError(
                f"graph '{self.name}' can only be called inside another @graph or @job body; "
                "to run it, use .to_job() or .execute_in_process()."
            )
        return builder.invoke(self, args, kwargs)

    def to_job(self, name: str | None = None, **kwargs: Any) -> Any:
        from kubedag.definitions.engine import engine

        return engine().job_from_graph(self, name=name or self.name, **kwargs)

    def execute_in_process(self, **kwargs: Any) -> Any:
        return self.to_job().execute_in_process(**kwargs)

    def __repr__(self) -> str:
        return f"<GraphDefinition {self.name}>"


def compose(
    fn: Callable[..., Any], *, owner: str, signature: FunctionSignature | None = None
) -> tuple[list[NodeInvocation], tuple[str, ...], dict[str, NodeOutputHandle]]:
    """Run a composition function and return its nodes, input names and output mappings.

    `signature` is the function's, read by the caller when it adds inputs of its own (a
    `@graph_asset`'s `ins` collected by `**kwargs`); those are passed by name."""
    signature = signature or read_signature(fn, owner=owner)
    builder = CompositionBuilder(owner)
    with composing(builder):
        returned = fn(
            *(GraphInputHandle(i.name) for i in signature.inputs if not i.via_kwargs),
            **{i.name: GraphInputHandle(i.name) for i in signature.inputs if i.via_kwargs},
        )
    return builder.nodes, signature.input_names, _output_mappings(owner, returned)


def _output_mappings(owner: str, returned: Any) -> dict[str, NodeOutputHandle]:
    if returned is None:
        return {}
    if isinstance(returned, NodeOutputHandle):
        return {"result": returned}
    if isinstance(returned, dict):
        mappings = {}
        for name, handle in returned.items():
            if not isinstance(handle, NodeOutputHandle):
                raise InvalidDefinitionError(f"{owner}: output '{name}' must be an op's output.")
            mappings[name] = handle
        return mappings
    if isinstance(returned, tuple) and all(isinstance(h, NodeOutputHandle) for h in returned):
        fields = getattr(returned, "_fields", None)
        names = list(fields) if fields else [f"result_{i}" for i in range(len(returned))]
        return dict(zip(names, returned, strict=True))
    raise InvalidDefinitionError(
        f"{owner}: the body must return an op's output, a dict of them, or None; got {returned!r}."
    )


def graph(
    compose_fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    tags: Mapping[str, str] | None = None,
    config: Any = None,
) -> Any:
    """Declare a graph: the body calls ops to wire them together."""

    def decorate(fn: Callable[..., Any]) -> GraphDefinition:
        graph_name = name or fn.__name__
        nodes, inputs, outputs = compose(fn, owner=f"graph '{graph_name}'")
        return GraphDefinition(
            graph_name,
            nodes,
            inputs,
            outputs,
            description=description or (fn.__doc__ or "").strip() or None,
            tags=tags,
            config=config,
        )

    return decorate(compose_fn) if compose_fn is not None else decorate
