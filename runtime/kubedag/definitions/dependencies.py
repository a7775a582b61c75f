"""Graphs written as data: dependency dicts and input/output mappings.

A `@graph` body records its wiring by calling ops. The same wiring can be written out, as the
reference allows:

    GraphDefinition(
        "pipeline",
        node_defs=[extract, clean],
        dependencies={"clean": {"raw": DependencyDefinition("extract", "result")}},
    )

A key of `dependencies` is a node: a definition's name, or a `NodeInvocation` that uses a
definition under an alias (with tags or a retry policy). A value says where each input comes
from: one upstream output (`DependencyDefinition`) or several gathered into a list
(`MultiDependencyDefinition`). `InputMapping` / `OutputMapping` say which node inputs the graph's
own inputs feed and which node outputs become the graph's outputs; `GraphIn` / `GraphOut` are
what `@graph(ins=…, out=…)` takes to describe them.

`graph_nodes` turns the written form into the composed one (`composition.NodeInvocation`s in
dependency order), so the rest of kubedag sees one kind of graph.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from kubedag.definitions.composition import NodeInvocation as GraphNode
from kubedag.definitions.composition_handles import (
    GraphInputHandle,
    InputBinding,
    NodeOutputHandle,
)
from kubedag.definitions.policies import RetryPolicy
from kubedag.errors import InvalidDefinitionError


class DependencyDefinition(NamedTuple):
    """An input fed by output `output` of node `node` (a node name: the alias, if any)."""

    node: str
    output: str = "result"
    description: str | None = None

    def is_fan_in(self) -> bool:
        return False

    def get_node_dependencies(self) -> list[DependencyDefinition]:
        return [self]


class MultiDependencyDefinition(NamedTuple):
    """An input fed by several upstream outputs, in order, as one list (fan-in)."""

    dependencies: Sequence[DependencyDefinition]

    def is_fan_in(self) -> bool:
        return True

    def get_node_dependencies(self) -> list[DependencyDefinition]:
        return list(self.dependencies)


class NodeInvocation(NamedTuple):
    """A key of a `dependencies` dict: definition `name` used as node `alias` (its own name
    when None), with tags, hooks and a retry policy of this use."""

    name: str
    alias: str | None = None
    tags: Mapping[str, str] = {}
    hook_defs: frozenset[Any] = frozenset()
    retry_policy: RetryPolicy | None = None

    @property
    def node_name(self) -> str:
        return self.alias or self.name

    def __hash__(self) -> int:  # a dict key, though its tags are a dict
        tags = tuple(sorted((self.tags or {}).items()))
        return hash(
            (self.name, self.alias, tags, frozenset(self.hook_defs or ()), self.retry_policy)
        )


class GraphIn(NamedTuple):
    """Describes an input of a `@graph` (`ins={"x": GraphIn(description=…)}`)."""

    description: str | None = None


class GraphOut(NamedTuple):
    """Describes an output of a `@graph` (`out=GraphOut()` or `out={"name": GraphOut()}`)."""

    description: str | None = None


class InputMapping(NamedTuple):
    """Graph input `graph_input_name` feeds input `mapped_node_input_name` of node
    `mapped_node_name` (at position `fan_in_index` of a fan-in input, when given)."""

    graph_input_name: str
    mapped_node_name: str
    mapped_node_input_name: str
    fan_in_index: int | None = None
    graph_input_description: str | None = None
    dagster_type: Any = None


class OutputMapping(NamedTuple):
    """Output `mapped_node_output_name` of node `mapped_node_name` is the graph's output
    `graph_output_name`."""

    graph_output_name: str
    mapped_node_name: str
    mapped_node_output_name: str
    graph_output_description: str | None = None
    dagster_type: Any = None
    from_dynamic_mapping: bool = False


Dependencies = Mapping[
    str | NodeInvocation, Mapping[str, DependencyDefinition | MultiDependencyDefinition]
]


def graph_nodes(
    graph_name: str,
    node_defs: Sequence[Any],
    dependencies: Dependencies,
    input_mappings: Sequence[InputMapping],
) -> list[GraphNode]:
    """The nodes of a graph written as data, each upstream node before its downstream ones."""
    defs_by_name: dict[str, Any] = {}
    for definition in node_defs:
        if definition.name in defs_by_name and defs_by_name[definition.name] is not definition:
            raise InvalidDefinitionError(
                f'graph "{graph_name}": two node definitions are named "{definition.name}".'
            )
        defs_by_name[definition.name] = definition
    invocations: dict[str, NodeInvocation] = {}
    wiring: dict[str, Mapping[str, DependencyDefinition | MultiDependencyDefinition]] = {}
    for key, inputs in dependencies.items():
        invocation = NodeInvocation(key) if isinstance(key, str) else key
        if invocation.name not in defs_by_name:
            raise InvalidDefinitionError(
                f'Invalid dependencies: node "{invocation.name}" in dependency dictionary not '
                "found in node list"
            )
        if invocation.node_name in invocations:
            raise InvalidDefinitionError(
                f'Invalid dependencies: node "{invocation.node_name}" appears twice in the '
                "dependency dictionary; give each use a distinct alias."
            )
        invocations[invocation.node_name] = invocation
        wiring[invocation.node_name] = inputs
    used_by_name = {invocation.name for invocation in invocations.values()}
    for name in defs_by_name:  # a definition no key names is a node of its own name
        if name not in used_by_name and name not in invocations:
            invocations[name] = NodeInvocation(name)
    bindings = _bindings(graph_name, invocations, defs_by_name, wiring, input_mappings)
    nodes: dict[str, GraphNode] = {}
    for name, invocation in invocations.items():
        definition = defs_by_name[invocation.name]
        known = set(definition.composition_input_names)
        for input_name in bindings.get(name, {}):
            if input_name not in known:
                raise InvalidDefinitionError(
                    f'Invalid dependencies: node "{name}" does not have input "{input_name}"; '
                    f"its inputs are: {', '.join(sorted(known)) or 'none'}."
                )
        nodes[name] = GraphNode(
            name,
            definition,
            bindings.get(name, {}),
            dict(invocation.tags or {}),
            invocation.retry_policy,
        )
    return _in_dependency_order(nodes)


def _bindings(
    graph_name: str,
    invocations: Mapping[str, NodeInvocation],
    defs_by_name: Mapping[str, Any],
    wiring: Mapping[str, Mapping[str, DependencyDefinition | MultiDependencyDefinition]],
    input_mappings: Sequence[InputMapping],
) -> dict[str, dict[str, InputBinding]]:
    def handle(node: str, input_name: str, dep: DependencyDefinition) -> NodeOutputHandle:
        if not isinstance(dep, DependencyDefinition):
            raise InvalidDefinitionError(
                f'graph "{graph_name}": input "{input_name}" of node "{node}" must be fed by a '
                f"DependencyDefinition or MultiDependencyDefinition; got {dep!r}."
            )
        if dep.node not in invocations:
            raise InvalidDefinitionError(
                f'Invalid dependencies: node "{dep.node}" not found in node list. Listed as '
                f'dependency for node "{node}" input "{input_name}"'
            )
        if dep.node == node:
            raise InvalidDefinitionError(
                f'Invalid dependencies: circular reference detected in node "{node}" input '
                f'"{input_name}"'
            )
        upstream = defs_by_name[invocations[dep.node].name]
        if dep.output not in upstream.composition_output_names:
            raise InvalidDefinitionError(
                f'Invalid dependencies: node "{dep.node}" does not have output "{dep.output}". '
                f'Listed as dependency for node "{node}" input "{input_name}"'
            )
        return NodeOutputHandle(dep.node, dep.output)

    bindings: dict[str, dict[str, InputBinding]] = {}
    for node, inputs in wiring.items():
        for input_name, dep in inputs.items():
            if isinstance(dep, MultiDependencyDefinition):
                bound: InputBinding = tuple(
                    handle(node, input_name, d) for d in dep.get_node_dependencies()
                )
            else:
                bound = handle(node, input_name, dep)
            bindings.setdefault(node, {})[input_name] = bound
    for mapping in input_mappings:
        if mapping.mapped_node_name not in invocations:
            raise InvalidDefinitionError(
                f'graph "{graph_name}": input mapping "{mapping.graph_input_name}" names node '
                f'"{mapping.mapped_node_name}", which is not in the graph.'
            )
        node_inputs = bindings.setdefault(mapping.mapped_node_name, {})
        graph_input = GraphInputHandle(mapping.graph_input_name)
        if mapping.fan_in_index is None:
            node_inputs[mapping.mapped_node_input_name] = graph_input
            continue
        current = node_inputs.get(mapping.mapped_node_input_name, ())
        items = list(current if isinstance(current, tuple) else (current,))
        items.insert(mapping.fan_in_index, graph_input)
        node_inputs[mapping.mapped_node_input_name] = tuple(items)
    return bindings


def _in_dependency_order(nodes: Mapping[str, GraphNode]) -> list[GraphNode]:
    """The nodes with each one after those it reads from; otherwise in the order given."""
    ordered: list[GraphNode] = []
    state: dict[str, str] = {}

    def visit(name: str, path: tuple[str, ...]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            raise InvalidDefinitionError(
                "Invalid dependencies: circular reference detected in node "
                f'"{name}" ({" -> ".join((*path, name))})'
            )
        state[name] = "visiting"
        for binding in nodes[name].inputs.values():
            for single in binding if isinstance(binding, tuple) else (binding,):
                if isinstance(single, NodeOutputHandle):
                    visit(single.node_name, (*path, name))
        state[name] = "done"
        ordered.append(nodes[name])

    for name in nodes:
        visit(name, ())
    return ordered
