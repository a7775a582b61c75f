"""Evaluate a CRD schema's CEL rules (`x-kubernetes-validations`) on an object, as the API
server does, with `cel-python`: each rule runs with `self` bound to the node it is declared on
(and `oldSelf` to the previous value on an update; transition rules are skipped on create)."""

from __future__ import annotations

import functools
from typing import Any

import pytest

try:
    import celpy
except ImportError:  # cel-python is a dev extra; without it only the CEL tests skip
    celpy = None

_MISSING = object()
CEL_AVAILABLE = celpy is not None


@functools.cache
def _program(rule: str) -> Any:
    environment = celpy.Environment()
    return environment.program(environment.compile(rule))


def cel_violations(
    schema: dict[str, Any], value: Any, old: Any = _MISSING, path: str = ""
) -> list[str]:
    """The messages of every rule `value` breaks, as `path: message`."""
    if celpy is None:
        pytest.skip("cel-python is not installed: CEL rules are not evaluated")
    found = []
    for rule in schema.get("x-kubernetes-validations", []):
        is_transition = "oldSelf" in rule["rule"]
        if is_transition and old is _MISSING:
            continue
        activation = {"self": celpy.json_to_cel(value)}
        if is_transition:
            activation["oldSelf"] = celpy.json_to_cel(old)
        program = _program(rule["rule"])
        if not bool(program.evaluate(activation)):
            found.append(f"{path or '(root)'}: {rule['message']}")
    if isinstance(value, dict):
        for name, child in schema.get("properties", {}).items():
            if name in value:
                old_child = old.get(name, _MISSING) if isinstance(old, dict) else _MISSING
                found += cel_violations(child, value[name], old_child, f"{path}.{name}".lstrip("."))
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            found += cel_violations(schema["items"], item, _MISSING, f"{path}[{index}]")
    return found
