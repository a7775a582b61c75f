"""Which inputs an input manager loads (`In(input_manager_key=…)`, `AssetIn(input_manager_key=…)`).

An input with an input manager key is loaded by the resource bound to that key instead of by
the I/O manager that stored its upstream output; an op input that nothing feeds is loaded by it
too, with no upstream output at all. The key is recorded on the input (`InputDef`), and what a
step needs bound follows from it: the input manager, not the upstream's I/O manager.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from kubedag.definitions.signature import FunctionSignature


def with_input_manager_keys(
    signature: FunctionSignature, ins: Mapping[str, Any]
) -> FunctionSignature:
    """`signature` with each input's `input_manager_key` taken from its `AssetIn`."""
    keys = {name: spec.input_manager_key for name, spec in ins.items() if spec.input_manager_key}
    if not keys:
        return signature
    inputs = tuple(
        dataclasses.replace(i, input_manager_key=keys[i.name]) if i.name in keys else i
        for i in signature.inputs
    )
    return dataclasses.replace(signature, inputs=inputs)


def input_manager_key(op: Any, input_name: str) -> str | None:
    """The input manager that loads `input_name` of `op` (None: the upstream's I/O manager)."""
    for input_def in op.input_defs:
        if input_def.name == input_name:
            key: str | None = input_def.input_manager_key
            return key
    return None
