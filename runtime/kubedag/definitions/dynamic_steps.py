"""The steps of a mapped op, made once the dynamic output it maps over has its values.

A step mapped over a dynamic output is a *template* (`StepSpec.mapped_over` set): it never runs
itself. Once the dynamic step has succeeded, its mapping keys are known, and each key `k` gives
the concrete step `<template key>[k]`, whose inputs read the value of key `k`
(`FromMappedOutput`) and the outputs of the other templates' steps for key `k`
(`FromMappedStep`). A step that collects (`FromCollected`) gets, when it is about to run, the
list of those outputs that exist.

Everything here is pure: it takes steps and keys and returns steps, so the executors (which
learn the keys from the events) and a step's own process (which learns its key from its step
key) build the same steps.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

from kubedag.definitions.steps import (
    FromCollected,
    FromMany,
    FromMappedOutput,
    FromMappedStep,
    FromStepOutput,
    InputSource,
    StepSpec,
)


def concrete_key(template_key: str, mapping_key: str) -> str:
    return f"{template_key}[{mapping_key}]"


def split_concrete_key(step_key: str) -> tuple[str, str] | None:
    """`("op", "k")` for the step key `op[k]`; None for a key without a mapping key."""
    if not step_key.endswith("]") or "[" not in step_key:
        return None
    index = step_key.rindex("[")
    return step_key[:index], step_key[index + 1 : -1]


def concrete_step(template: StepSpec, mapping_key: str) -> StepSpec:
    """The run of `template` for one mapping key."""

    def resolve(source: InputSource) -> InputSource:
        if isinstance(source, FromMany):
            return FromMany(tuple(resolve(s) for s in source.sources))
        if isinstance(source, FromMappedOutput):
            return FromStepOutput(source.step_key, source.output_name, mapping_key)
        if isinstance(source, FromMappedStep):
            return FromStepOutput(concrete_key(source.step_key, mapping_key), source.output_name)
        return source

    return dataclasses.replace(
        template,
        key=concrete_key(template.key, mapping_key),
        inputs={name: resolve(source) for name, source in template.inputs.items()},
        mapped_over=None,
        mapping_key=mapping_key,
    )


def has_collected_inputs(step: StepSpec) -> bool:
    return any(_collects(source) for source in step.inputs.values())


def _collects(source: InputSource) -> bool:
    if isinstance(source, FromMany):
        return any(_collects(s) for s in source.sources)
    return isinstance(source, FromCollected)


def with_collected(
    step: StepSpec, sources_for: Callable[[FromCollected], tuple[FromStepOutput, ...]]
) -> StepSpec:
    """`step` with each collected input replaced by the list of sources `sources_for` gives."""

    def resolve(source: InputSource) -> InputSource:
        if isinstance(source, FromMany):
            return FromMany(tuple(resolve(s) for s in source.sources))
        if isinstance(source, FromCollected):
            return FromMany(sources_for(source))
        return source

    return dataclasses.replace(
        step, inputs={name: resolve(source) for name, source in step.inputs.items()}
    )


def collected_sources(
    source: FromCollected,
    steps_by_key: Mapping[str, StepSpec],
    mapping_keys: list[str],
    produced: Callable[[str, str, str | None], bool],
) -> tuple[FromStepOutput, ...]:
    """What a collected input reads: every value of the dynamic output, or the output of
    each run of the mapped step that produced it, in mapping-key order."""
    collected = steps_by_key[source.step_key]
    if collected.mapped_over is None:  # the dynamic output itself
        return tuple(
            FromStepOutput(source.step_key, source.output_name, key)
            for key in mapping_keys
            if produced(source.step_key, source.output_name, key)
        )
    return tuple(
        FromStepOutput(concrete_key(source.step_key, key), source.output_name)
        for key in mapping_keys
        if produced(concrete_key(source.step_key, key), source.output_name, None)
    )
