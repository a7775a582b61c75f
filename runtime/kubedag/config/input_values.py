"""An input's value from run config (`ops.<op>.inputs.<name>`), as its Dagster type loads it.

An untyped input takes the value as given, or `v` from `{"value": v}`. A typed input's value
goes through its type's loader (see `definitions/type_loaders.py`), which checks it and builds
the value, or leaves a user loader's checked config for the step to build. The op and its
types are used through their attributes only: config sits below the definitions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubedag.errors import InvalidConfigError


def input_config_value(op: Any, name: str, value: Any, field: str) -> Any:
    if any(i.name == name and i.is_nothing for i in getattr(op, "input_defs", ())):
        raise InvalidConfigError(
            f"{field}: input '{name}' of op '{op.name}' is of type Nothing: it only orders the "
            "op after others and takes no value. Remove this entry."
        )
    dagster_type = getattr(op, "input_types", {}).get(name)
    loader = getattr(dagster_type, "loader", None)
    if loader is None:
        if isinstance(value, Mapping) and set(value) == {"value"}:
            return value["value"]
        return value
    return loader.value_from_config(value, field)
