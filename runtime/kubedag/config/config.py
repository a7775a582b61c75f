"""`Config`: typed config for assets and ops, validated by pydantic.

Subclass it and annotate a parameter with the subclass; kubedag validates the run config for that
op against it before the run starts, so a wrong value fails with the field named and nothing
executed.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from kubedag.errors import InvalidConfigError


class Config(BaseModel):
    """Base class of typed config for assets, ops and checks."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


def validate_model(cls: type[BaseModel], value: Any, field: str) -> Any:
    """Validate `value` as `cls`; on failure, name every bad field under `field`."""
    try:
        return cls.model_validate(value)
    except ValidationError as exc:
        raise InvalidConfigError(describe_validation_error(exc, field, cls.__name__)) from None


def describe_validation_error(exc: ValidationError, field: str, model: str) -> str:
    lines = []
    for error in exc.errors():
        loc = ".".join(str(part) for part in error["loc"])
        where = f"{field}.{loc}" if loc else field
        kind = error["type"]
        if kind == "missing":
            lines.append(f"{where}: required by {model} but not given")
        elif kind == "extra_forbidden":
            lines.append(f"{where}: not a field of {model}")
        else:
            lines.append(f"{where}: {error['msg']}")
    return "Invalid config:\n  " + "\n  ".join(lines)
