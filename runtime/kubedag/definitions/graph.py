"""Graphs: ops wired together by a composition function, reusable inside jobs, other graphs and
graph-backed assets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from kubedag.definitions.composition import (
    CompositionBuilder,
    NodeInvocation,
    PendingNodeInvocation,
    composing,
    current_composition,
)
from kubedag.definitions.composition_handles import GraphInputHandle, NodeOutputHandle
from kubedag.definitions.dependencies import (
    Dependencies,
    DependencyDefinition,
    GraphIn,
    GraphOut,
    InputMapping,
    MultiDependencyDefinition,
    OutputMapping,
    graph_nodes,
)
from kubedag.definitions.dependencies import NodeInvocation as PublicNodeInvocation
from kubedag.definitions.signature import (
    FunctionSignature,
    InputDef,
    OutputDef,
    read_signature,
)
from kubedag.errors import CalledOutsideCompositionError, InvalidDefinitionError

NodeKey = PublicNodeInvocation


class GraphDefinition:
    """A set of node invocations with the graph's inputs and output mappings.

    Made by `@graph` (the body records the nodes), or written as data as in the reference:
    `GraphDefinition(name, node_defs=[…], dependencies={…}, input_mappings=[…],
    output_mappings=[…])` (see `kubedag.definitions.dependencies`)."""

    def __init__(
        self,
        name: str,
        *,
        description: str | None = None,
        node_defs: Sequence[Any] | None = None,
        dependencies: Dependencies | None = None,
        input_mappings: Sequence[InputMapping] | None = None,
        output_mappings: Sequence[OutputMapping] | None = None,
        config: Any = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        input_mappings = list(input_mappings or ())
        output_mappings = list(output_mappings or ())
        nodes = graph_nodes(name, list(node_defs or ()), dependencies or {}, input_mappings)
        names = {node.name for node in nodes}
        for mapping in output_mappings:
            if mapping.mapped_node_name not in names:
                raise InvalidDefinitionError(
                    f'graph "{name}": output mapping "{mapping.graph_output_name}" names node '
                    f'"{mapping.mapped_node_name}", which is not in the graph.'
                )
        self._setup(
            name,
            nodes,
            tuple(dict.fromkeys(m.graph_input_name for m in input_mappings)),
            {
                m.graph_output_name: NodeOutputHandle(m.mapped_node_name, m.mapped_node_output_name)
                for m in output_mappings
            },
            description=description,
            tags=tags,
            config=config,
            input_descriptions={
                m.graph_input_name: m.graph_input_description
                for m in input_mappings
                if m.graph_input_description
            },
            output_descriptions={
                m.graph_output_name: m.graph_output_description
                for m in output_mappings
                if m.graph_output_description
            },
        )

    @classmethod
    def from_nodes(
        cls,
        name: str,
        nodes: list[NodeInvocation],
        input_names: tuple[str, ...] = (),
        output_handles: Mapping[str, NodeOutputHandle] | None = None,
        **kwargs: Any,
    ) -> GraphDefinition:
        """A graph of nodes a composition function recorded."""
        graph = cls.__new__(cls)
        graph._setup(name, nodes, input_names, dict(output_handles or {}), **kwargs)
        return graph

    def _setup(
        self,
        name: str,
        nodes: list[NodeInvocation],
        input_names: tuple[str, ...],
        output_handles: dict[str, NodeOutputHandle],
        *,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        config: Any = None,
        input_descriptions: Mapping[str, str | None] | None = None,
        output_descriptions: Mapping[str, str | None] | None = None,
    ) -> None:
        self.name = name
        self.nodes = nodes
        self.input_names = input_names
        self.output_handles = output_handles
        self.description = description
        self.tags = dict(tags or {})
        self.config = config
        self.input_descriptions = dict(input_descriptions or {})
        self.output_descriptions = dict(output_descriptions or {})
        self._check_nodes()

    # -- the reference's views of the wiring ------------------------------------------------
    @property
    def node_defs(self) -> list[Any]:
        return list({id(n.definition): n.definition for n in self.nodes}.values())

    @property
    def input_mappings(self) -> list[InputMapping]:
        mappings = []
        for node in self.nodes:
            for input_name, binding in node.inputs.items():
                singles = binding if isinstance(binding, tuple) else (binding,)
                for index, single in enumerate(singles):
                    if isinstance(single, GraphInputHandle):
                        mappings.append(
                            InputMapping(
                                single.input_name,
                                node.name,
                                input_name,
                                index if isinstance(binding, tuple) else None,
                                self.input_descriptions.get(single.input_name),
                            )
                        )
        return mappings

    @property
    def output_mappings(self) -> list[OutputMapping]:
        return [
            OutputMapping(
                name, handle.node_name, handle.output_name, self.output_descriptions.get(name)
            )
            for name, handle in self.output_handles.items()
        ]

    @property
    def input_defs(self) -> tuple[InputDef, ...]:
        return tuple(
            InputDef(name, description=self.input_descriptions.get(name))
            for name in self.input_names
        )

    @property
    def output_defs(self) -> tuple[OutputDef, ...]:
        return tuple(
            OutputDef(name, description=self.output_descriptions.get(name))
            for name in self.output_handles
        )

    @property
    def dependencies(self) -> dict[NodeKey, dict[str, Any]]:
        """The wiring as a reference-style dependency dict (node inputs from other nodes)."""
        wiring: dict[NodeKey, dict[str, Any]] = {}
        for node in self.nodes:
            key: NodeKey = PublicNodeInvocation(
                node.definition.name,
                node.name if node.name != node.definition.name else None,
                dict(node.tags),
                frozenset(),
                node.retry_policy,
            )
            deps: dict[str, Any] = {}
            for input_name, binding in node.inputs.items():
                if isinstance(binding, NodeOutputHandle):
                    deps[input_name] = DependencyDefinition(binding.node_name, binding.output_name)
                elif isinstance(binding, tuple):
                    deps[input_name] = MultiDependencyDefinition(
                        [
                            DependencyDefinition(b.node_name, b.output_name)
                            for b in binding
                            if isinstance(b, NodeOutputHandle)
                        ]
                    )
            wiring[key] = deps
        return wiring

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
        return tuple(self.output_handles)

    def node_named(self, name: str) -> NodeInvocation:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def alias(self, name: str) -> PendingNodeInvocation:
        return PendingNodeInvocation(self, alias=name)

    def with_hooks(self, hook_defs: Any) -> PendingNodeInvocation:
        return PendingNodeInvocation(self).with_hooks(hook_defs)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        builder = current_composition()
        if builder is None:
            raise CalledOutsideCompositionError(
                f"graph '{self.name}' can only be called inside another @graph or @job body; "
                "to run it, use .to_job() or .execute_in_process()."
            )
        return builder.invoke(self, args, kwargs)

    def configured(
        self,
        config_or_config_fn: Any,
        name: str | None = None,
        config_schema: Any = None,
        description: str | None = None,
    ) -> GraphDefinition:
        """A copy named `name` whose config mapping is fed a fixed config, or one computed by a
        function from a config of `config_schema`."""
        from kubedag.definitions.configured import configured_graph

        copy: GraphDefinition = configured_graph(
            self, config_or_config_fn, name, config_schema, description
        )
        return copy

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
    ins: Mapping[str, GraphIn] | None = None,
    out: GraphOut | Mapping[str, GraphOut] | None = None,
    tags: Mapping[str, str] | None = None,
    config: Any = None,
) -> Any:
    """Declare a graph: the body calls ops to wire them together. `ins` describes the body's
    parameters (the graph's inputs), `out` names and describes what it returns."""

    def decorate(fn: Callable[..., Any]) -> GraphDefinition:
        graph_name = name or fn.__name__
        owner = f"graph '{graph_name}'"
        nodes, inputs, outputs = compose(fn, owner=owner)
        for input_name in ins or {}:
            if input_name not in inputs:
                raise InvalidDefinitionError(
                    f"{owner}: ins names '{input_name}', which is not a parameter of the "
                    f"function; its parameters are: {', '.join(inputs) or 'none'}."
                )
        outputs, output_descriptions = _declared_outputs(owner, outputs, out)
        return GraphDefinition.from_nodes(
            graph_name,
            nodes,
            inputs,
            outputs,
            description=description or (fn.__doc__ or "").strip() or None,
            tags=tags,
            config=config,
            input_descriptions={k: v.description for k, v in (ins or {}).items()},
            output_descriptions=output_descriptions,
        )

    return decorate(compose_fn) if compose_fn is not None else decorate


def _declared_outputs(
    owner: str,
    returned: dict[str, NodeOutputHandle],
    out: GraphOut | Mapping[str, GraphOut] | None,
) -> tuple[dict[str, NodeOutputHandle], dict[str, str | None]]:
    """The body's outputs named as `out` declares them (a single `GraphOut`: "result")."""
    if out is None:
        return returned, {}
    declared = {"result": out} if isinstance(out, GraphOut) else dict(out)
    handles = list(returned.values())
    if set(returned) == set(declared):
        named = returned
    elif len(handles) == len(declared) and not set(returned) & set(declared):
        named = dict(zip(declared, handles, strict=True))  # a single output or a plain tuple
    else:
        named = {k: v for k, v in returned.items() if k in declared}
        extra = sorted(set(returned) - set(declared))
        if extra:
            raise InvalidDefinitionError(
                f"{owner}: the body returns output '{extra[0]}', which out= does not declare; "
                f"declared: {', '.join(declared)}."
            )
    for output_name in declared:
        if output_name not in named:
            raise InvalidDefinitionError(
                f"@graph {owner.removeprefix('graph ')} has unmapped output '{output_name}'. "
                "Remove it or return a value from the appropriate op/graph invocation."
            )
    return {k: named[k] for k in declared}, {k: v.description for k, v in declared.items()}
