"""Steps: the flat, executable form of a job. One step per op invocation.

Graphs nest and assets are keyed by asset key; execution wants neither. Building steps flattens
graphs into dotted step keys (`complex_asset.step_one`) and turns every data dependency into an
input *source*: another step's output in the same run, an asset loaded through its I/O manager,
a default value, or several of these (fan-in).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kubedag.definitions.asset_attributes import IO_MANAGER_KEY
from kubedag.definitions.asset_graph import AssetGraph
from kubedag.definitions.asset_key import AssetKey
from kubedag.definitions.assets import AssetsDefinition
from kubedag.definitions.checks import AssetCheckKey, AssetChecksDefinition, AssetCheckSpec
from kubedag.definitions.composition_handles import GraphInputHandle, NodeOutputHandle
from kubedag.definitions.dynamic import CollectedOutputHandle, MappedOutputHandle
from kubedag.definitions.graph import GraphDefinition
from kubedag.definitions.op import OpDefinition
from kubedag.definitions.policies import RetryPolicy
from kubedag.errors import InvalidDefinitionError, InvalidSelectionError


@dataclass(frozen=True)
class FromStepOutput:
    step_key: str
    output_name: str
    mapping_key: str | None = None  # one value of a dynamic output


@dataclass(frozen=True)
class FromMappedOutput(FromStepOutput):
    """One value of dynamic output `output_name` of `step_key`: the value of the mapping key
    of the step it feeds (see `kubedag.definitions.dynamic_steps`)."""


@dataclass(frozen=True)
class FromMappedStep(FromStepOutput):
    """An output of `step_key`, a step mapped over the same dynamic output as the step it
    feeds: the output of its run for the same mapping key."""


@dataclass(frozen=True)
class FromCollected(FromStepOutput):
    """Every value of output `output_name` of a dynamic or mapped step, as a list."""


@dataclass(frozen=True)
class FromAsset:
    """Load an asset that this run does not produce, through the I/O manager that stores it."""

    asset_key: AssetKey
    io_manager_key: str


@dataclass(frozen=True)
class FromDefault:
    value: Any


@dataclass(frozen=True)
class FromRunConfig:
    """No upstream: the value must come from run config (`ops.<op>.inputs.<name>`)."""

    node_path: tuple[str, ...]
    input_name: str
    graph_input: str | None = None  # the job's own input feeding it, for `input_values=`


@dataclass(frozen=True)
class FromMany:
    sources: tuple[Any, ...]


InputSource = FromStepOutput | FromAsset | FromDefault | FromRunConfig | FromMany


@dataclass(frozen=True)
class StepOutput:
    name: str
    asset_key: AssetKey | None = None
    io_manager_key: str = "io_manager"
    is_nothing: bool = False
    is_required: bool = True
    is_dynamic: bool = False


@dataclass(frozen=True)
class StepSpec:
    """Everything needed to execute one op invocation, with no reference to graphs."""

    key: str
    op: OpDefinition
    node_path: tuple[str, ...]
    inputs: Mapping[str, InputSource]
    outputs: tuple[StepOutput, ...]
    after: tuple[str, ...] = ()
    check_specs: tuple[AssetCheckSpec, ...] = ()
    assets_def: AssetsDefinition | None = None
    checks_def: AssetChecksDefinition | None = None
    retry_policy: RetryPolicy | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    # Mapped over dynamic output (step key, output name): a template, run once per mapping
    # key as the step `<key>[<mapping key>]` (which has `mapping_key` set).
    mapped_over: tuple[str, str] | None = None
    mapping_key: str | None = None

    @property
    def asset_keys(self) -> tuple[AssetKey, ...]:
        return tuple(o.asset_key for o in self.outputs if o.asset_key is not None)

    @property
    def upstream_step_keys(self) -> set[str]:
        keys = set(self.after)
        for source in self.inputs.values():
            for single in source.sources if isinstance(source, FromMany) else (source,):
                if isinstance(single, FromStepOutput):
                    keys.add(single.step_key)
        return keys

    def output(self, name: str) -> StepOutput:
        for output in self.outputs:
            if output.name == name:
                return output
        raise InvalidDefinitionError(f"Step '{self.key}' has no output '{name}'.")

    @property
    def kind(self) -> str:
        if self.checks_def is not None:
            return "asset check"
        return "asset" if self.assets_def is not None else "op"

    @property
    def label(self) -> str:
        """How error messages name the step's definition."""
        if self.assets_def is not None and self.asset_keys:
            return "asset '" + ", ".join(k.to_user_string() for k in self.asset_keys) + "'"
        if self.check_specs:
            return (
                "asset check '" + ", ".join(s.key.to_user_string() for s in self.check_specs) + "'"
            )
        return f"op '{self.key}'"


# -- op graphs -----------------------------------------------------------------------------

NodeOutputs = dict[tuple[str, str], FromStepOutput]


def steps_from_graph(graph: GraphDefinition) -> tuple[list[StepSpec], NodeOutputs]:
    """Flatten a graph into steps; also return where each node's outputs come from, keyed by
    (dotted node path, output name), for `output_for_node`."""
    steps: list[StepSpec] = []
    node_outputs: NodeOutputs = {}
    _flatten(graph, (), {}, steps, node_outputs)
    return steps, node_outputs


def _flatten(
    graph: GraphDefinition,
    prefix: tuple[str, ...],
    graph_inputs: Mapping[str, InputSource],
    steps: list[StepSpec],
    node_outputs: NodeOutputs,
) -> dict[str, FromStepOutput]:
    local: dict[tuple[str, str], FromStepOutput] = {}

    def resolve(binding: Any, node_path: tuple[str, ...], input_name: str) -> InputSource:
        if isinstance(binding, tuple):
            return FromMany(tuple(resolve(b, node_path, input_name) for b in binding))
        if isinstance(binding, NodeOutputHandle):
            source = local[(binding.node_name, binding.output_name)]
            if isinstance(binding, CollectedOutputHandle):
                return FromCollected(source.step_key, source.output_name)
            if isinstance(binding, MappedOutputHandle):
                mapped = FromMappedOutput if binding.is_item else FromMappedStep
                return mapped(source.step_key, source.output_name)
            return source
        if isinstance(binding, GraphInputHandle):
            return graph_inputs.get(binding.input_name) or FromRunConfig(
                node_path, input_name, binding.input_name if not prefix else None
            )
        raise InvalidDefinitionError(f"Unsupported input binding {binding!r}.")

    for node in graph.nodes:
        path = (*prefix, node.name)
        definition = node.definition
        if isinstance(definition, OpDefinition):
            inputs: dict[str, InputSource] = {}
            after: set[str] = set()
            for input_def in definition.input_defs:
                binding = node.inputs.get(input_def.name)
                if input_def.is_nothing:  # ordering only: no value is passed
                    if binding is not None:
                        after |= _step_keys(resolve(binding, path, input_def.name))
                    continue
                if binding is not None:
                    inputs[input_def.name] = resolve(binding, path, input_def.name)
                elif input_def.has_default:
                    inputs[input_def.name] = FromDefault(input_def.default)
                else:
                    inputs[input_def.name] = FromRunConfig(path, input_def.name)
            key = ".".join(path)
            mapped_over = _mapped_over(node.inputs.values(), local)
            steps.append(
                StepSpec(
                    key=key,
                    op=definition,
                    node_path=path,
                    inputs=inputs,
                    outputs=tuple(
                        StepOutput(
                            o.name,
                            None,
                            o.io_manager_key,
                            o.is_nothing,
                            o.is_required,
                            o.is_dynamic,
                        )
                        for o in definition.output_defs
                    ),
                    after=tuple(sorted(after)),
                    retry_policy=node.retry_policy or definition.retry_policy,
                    tags={**definition.tags, **node.tags},
                    mapped_over=mapped_over,
                )
            )
            for output_def in definition.output_defs:
                source = FromStepOutput(key, output_def.name)
                local[(node.name, output_def.name)] = source
                node_outputs[(key, output_def.name)] = source
        else:
            if _mapped_over(node.inputs.values(), local) is not None:
                raise InvalidDefinitionError(
                    f"graph '{definition.name}' (node '{'.'.join(path)}') is mapped over a "
                    "dynamic output; map ops, not graphs, over dynamic outputs."
                )
            sub_inputs = {
                name: resolve(binding, path, name) for name, binding in node.inputs.items()
            }
            sub_outputs = _flatten(definition, path, sub_inputs, steps, node_outputs)
            for name, source in sub_outputs.items():
                local[(node.name, name)] = source
                node_outputs[(".".join(path), name)] = source
    return {
        name: local[(handle.node_name, handle.output_name)]
        for name, handle in graph.output_handles.items()
    }


def _step_keys(source: InputSource) -> set[str]:
    """The steps whose outputs `source` reads (for a Nothing input: the steps to wait for)."""
    if isinstance(source, FromMany):
        return {key for single in source.sources for key in _step_keys(single)}
    return {source.step_key} if isinstance(source, FromStepOutput) else set()


def _mapped_over(
    bindings: Iterable[Any], local: Mapping[tuple[str, str], FromStepOutput]
) -> tuple[str, str] | None:
    """The dynamic output (step key, output name) a node is mapped over, if it is."""
    for binding in bindings:
        if isinstance(binding, MappedOutputHandle):
            source = local[(binding.source_node, binding.source_output)]
            return (source.step_key, source.output_name)
    return None


# -- asset jobs ----------------------------------------------------------------------------


def steps_for_assets(
    graph: AssetGraph,
    asset_keys: frozenset[AssetKey],
    check_keys: frozenset[AssetCheckKey],
) -> tuple[list[StepSpec], NodeOutputs]:
    """The steps that materialize `asset_keys` and evaluate `check_keys`, in graph order."""
    external = asset_keys & graph.external_keys
    if external:
        raise InvalidSelectionError(external_selection_message(external))
    producers: dict[AssetKey, FromStepOutput] = {}
    steps: list[StepSpec] = []
    node_outputs: NodeOutputs = {}
    asset_steps: dict[int, list[StepSpec]] = {}
    ordered_defs = _selected_assets_defs(graph, asset_keys)

    for assets_def in ordered_defs:
        inputs = {
            name: producers.get(key) or FromAsset(key, _io_manager_key(graph, key))
            for name, key in assets_def.keys_by_input_name.items()
        }
        after = _ordering_deps(
            assets_def.dependency_keys - set(assets_def.keys_by_input_name.values()), producers
        )
        selected_checks = tuple(s for s in assets_def.check_specs if s.key in check_keys)
        node = assets_def.node
        if isinstance(node, OpDefinition):
            step = StepSpec(
                key=node.name,
                op=node,
                node_path=(node.name,),
                inputs=inputs,
                outputs=tuple(
                    StepOutput(
                        o.name,
                        assets_def.keys_by_output_name.get(o.name),
                        o.io_manager_key,
                        o.is_nothing,
                        o.is_required,
                    )
                    for o in node.output_defs
                    # a subset runs only the selected assets' outputs (`can_subset=True`)
                    if o.name not in assets_def.keys_by_output_name
                    or assets_def.keys_by_output_name[o.name] in asset_keys
                ),
                after=after,
                check_specs=selected_checks,
                assets_def=assets_def,
                retry_policy=node.retry_policy,
                tags=node.tags,
            )
            new_steps = [step]
            for output in step.outputs:
                source = FromStepOutput(step.key, output.name)
                node_outputs[(step.key, output.name)] = source
                # An observed asset is read through its I/O manager, never from the observer.
                if output.asset_key is not None and not assets_def.is_observation:
                    producers[output.asset_key] = source
        else:
            new_steps, graph_outputs = _graph_asset_steps(
                assets_def, node, inputs, after, node_outputs
            )
            for output_name, source in graph_outputs.items():
                producers[assets_def.keys_by_output_name[output_name]] = source
        steps.extend(new_steps)
        asset_steps[id(assets_def)] = new_steps

    check_steps: list[StepSpec] = []
    for checks_def in _selected_checks_defs(graph, check_keys):
        inputs = {
            name: producers.get(key) or FromAsset(key, _io_manager_key(graph, key))
            for name, key in checks_def.keys_by_input_name.items()
        }
        op_def = checks_def.node
        check_steps.append(
            StepSpec(
                key=op_def.name,
                op=op_def,
                node_path=(op_def.name,),
                inputs=inputs,
                outputs=(StepOutput("result", None, "io_manager", True, False),),
                after=_ordering_deps(checks_def.dependency_keys, producers),
                check_specs=tuple(s for s in checks_def.specs if s.key in check_keys)
                or checks_def.specs,
                checks_def=checks_def,
                retry_policy=op_def.retry_policy,
                tags=op_def.tags,
            )
        )
    steps = _checks_after_their_assets(steps, check_steps)
    return _gate_on_blocking_checks(steps, producers), node_outputs


def external_selection_message(keys: frozenset[AssetKey]) -> str:
    """Why a selection of external assets cannot run, and how to leave them out."""
    names = sorted(k.to_user_string() for k in keys)
    quoted = ", ".join(repr(n) for n in names)
    return (
        f"The selection includes external asset(s) {quoted}: nothing here materializes them "
        "(they are declared with dg.AssetSpec, or only named in deps=). Leave them out, e.g. "
        f"`selection - dg.AssetSelection.keys({quoted})` or `.downstream(include_self=False)`."
    )


def _checks_after_their_assets(
    asset_steps: list[StepSpec], check_steps: list[StepSpec]
) -> list[StepSpec]:
    """Place each check right after the steps it depends on, so a check runs (and can block)
    as soon as its asset exists, and step lists read naturally."""
    ordered: list[StepSpec] = []
    placed: set[str] = set()
    pending = list(check_steps)

    def place_ready() -> None:
        for check in list(pending):
            if check.upstream_step_keys <= placed:
                ordered.append(check)
                placed.add(check.key)
                pending.remove(check)

    place_ready()
    for step in asset_steps:
        ordered.append(step)
        placed.add(step.key)
        place_ready()
    return ordered + pending


def _io_manager_key(graph: AssetGraph, key: AssetKey) -> str:
    producer = graph.producer.get(key)
    if producer is not None:
        return producer.io_manager_key_for(key)
    spec = graph.specs.get(key)  # an external asset: `AssetSpec.with_io_manager_key(…)`
    return str(spec.metadata.get(IO_MANAGER_KEY, "io_manager")) if spec else "io_manager"


def _ordering_deps(
    keys: set[AssetKey], producers: Mapping[AssetKey, FromStepOutput]
) -> tuple[str, ...]:
    return tuple(sorted({producers[k].step_key for k in keys if k in producers}))


def _selected_assets_defs(
    graph: AssetGraph, asset_keys: frozenset[AssetKey]
) -> list[AssetsDefinition]:
    ordered: list[AssetsDefinition] = []
    seen: set[int] = set()
    for key in graph.toposorted_keys:
        if key not in asset_keys:
            continue
        assets_def = graph.producer[key]
        if id(assets_def) in seen:
            continue
        seen.add(id(assets_def))
        missing = set(assets_def.keys) - asset_keys
        if missing and not assets_def.can_subset:
            raise InvalidSelectionError(
                f"'{assets_def.node.name}' produces {', '.join(k.to_user_string() for k in assets_def.keys)} "
                f"together and cannot produce a subset; the selection leaves out "
                f"{', '.join(sorted(k.to_user_string() for k in missing))}. Select all of them."
            )
        ordered.append(assets_def)
    return ordered


def _selected_checks_defs(
    graph: AssetGraph, check_keys: frozenset[AssetCheckKey]
) -> list[AssetChecksDefinition]:
    ordered: list[AssetChecksDefinition] = []
    for checks_def in graph.checks_defs:
        if any(key in check_keys for key in checks_def.check_keys):
            ordered.append(checks_def)
    return ordered


def _graph_asset_steps(
    assets_def: AssetsDefinition,
    node: GraphDefinition,
    inputs: Mapping[str, InputSource],
    after: tuple[str, ...],
    node_outputs: NodeOutputs,
) -> tuple[list[StepSpec], dict[str, FromStepOutput]]:
    inner: list[StepSpec] = []
    outputs = _flatten(node, (node.name,), inputs, inner, node_outputs)
    asset_outputs = {
        (source.step_key, source.output_name): assets_def.keys_by_output_name[name]
        for name, source in outputs.items()
    }
    graph_output_names = {(s.step_key, s.output_name): name for name, s in outputs.items()}
    steps = []
    for step in inner:
        new_outputs = tuple(
            dataclasses.replace(
                o,
                asset_key=asset_outputs.get((step.key, o.name)),
                io_manager_key=assets_def.io_manager_keys_by_output.get(
                    graph_output_names.get((step.key, o.name), "result"), o.io_manager_key
                )
                if (step.key, o.name) in asset_outputs
                else o.io_manager_key,
            )
            for o in step.outputs
        )
        steps.append(
            dataclasses.replace(
                step,
                outputs=new_outputs,
                after=tuple(sorted(set(step.after) | set(after))),
                assets_def=assets_def,
                check_specs=assets_def.check_specs if any(o.asset_key for o in new_outputs) else (),
            )
        )
    for name, source in outputs.items():
        node_outputs[(node.name, name)] = source
    return steps, outputs


def _gate_on_blocking_checks(
    steps: Sequence[StepSpec], producers: Mapping[AssetKey, FromStepOutput]
) -> list[StepSpec]:
    """Make every consumer of an asset wait for that asset's blocking checks, so a failed
    blocking check skips everything downstream."""
    blocking: dict[AssetKey, set[str]] = {}
    for step in steps:
        if step.checks_def is None:
            continue
        for spec in step.check_specs:
            if spec.blocking:
                blocking.setdefault(spec.asset_key, set()).add(step.key)
    if not blocking:
        return list(steps)
    producer_step = {key: source.step_key for key, source in producers.items()}
    gated = []
    for step in steps:
        consumed: set[AssetKey] = set()
        if step.assets_def is not None:
            consumed = step.assets_def.dependency_keys
        elif step.checks_def is not None:
            consumed = step.checks_def.dependency_keys - step.checks_def.asset_keys
        extra = {
            gate
            for key in consumed
            if key in producer_step
            for gate in blocking.get(key, ())
            if gate != step.key
        }
        gated.append(
            dataclasses.replace(step, after=tuple(sorted(set(step.after) | extra)))
            if extra
            else step
        )
    return gated
