"""`Config`: typed config for assets and ops, validated by pydantic.

Subclass it and annotate a parameter with the subclass; kubedag validates the run config for that
op against it before the run starts, so a wrong value fails with the field named and nothing
executed.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from kubedag.config.config_errors import ConfigError
from kubedag.errors import InvalidConfigError


class Config(BaseModel):
    """Base class of typed config for assets, ops and checks."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class PermissiveConfig(Config):
    """A `Config` that also keeps fields it does not declare (reachable as attributes)."""

    model_config = ConfigDict(extra="allow", frozen=True, arbitrary_types_allowed=True)


def check_model(cls: type[BaseModel], value: Any, field: str, check: Any) -> Any:
    """Validate `value` as `cls`; on failure add each bad field to `check` (a `ConfigCheck`)
    and return the value unchanged."""
    try:
        return cls.model_validate(value)
    except ValidationError as exc:
        for path, line in validation_error_lines(exc, field, cls.__name__, cls):
            check.errors.append(
                ConfigError(path, line, "RUNTIME_TYPE_MISMATCH", "Invalid config:\n  " + line)
            )
        return value


def validate_model(cls: type[BaseModel], value: Any, field: str) -> Any:
    """Validate `value` as `cls`; on failure, name every bad field under `field`."""
    try:
        return cls.model_validate(value)
    except ValidationError as exc:
        lines = validation_error_lines(exc, field, cls.__name__, cls)
        errors = [ConfigError(path, line) for path, line in lines]
        message = "Invalid config:\n  " + "\n  ".join(line for _, line in lines)
        raise InvalidConfigError(message, errors, value) from None


def describe_validation_error(
    exc: ValidationError, field: str, model: str, cls: type[BaseModel] | None = None
) -> str:
    """One line per bad field: its dotted path, what is wrong, the value given (unless it may
    be a secret) and, for a misspelled field, the closest field of the model."""
    lines = [line for _, line in validation_error_lines(exc, field, model, cls)]
    return "Invalid config:\n  " + "\n  ".join(lines)


def validation_error_lines(
    exc: ValidationError, field: str, model: str, cls: type[BaseModel] | None = None
) -> list[tuple[str, str]]:
    """(dotted path, line) for each bad field of a pydantic validation error."""
    from kubedag.config.suggestions import did_you_mean, shown_value

    lines = []
    for error in exc.errors():
        loc = ".".join(str(part) for part in error["loc"])
        where = f"{field}.{loc}" if loc else field
        kind = error["type"]
        if kind == "missing":
            line = f"{where}: required by {model} but not given"
        elif kind == "extra_forbidden":
            owner = _model_at(cls, error["loc"][:-1]) if cls is not None else None
            known = sorted(owner.model_fields) if owner is not None else []
            hint = did_you_mean(error["loc"][-1], known) if known else ""
            fields = f" (its fields: {', '.join(known)})" if known else ""
            line = f"{where}: not a field of {owner.__name__ if owner else model}{fields}.{hint}"
        else:
            declared = _declared_type(cls, error["loc"]) if cls is not None else ""
            got = shown_value(where, error.get("input"))
            line = f"{where}: {error['msg']}; got {got}{declared}"
        lines.append((where, line))
    return lines


def _declared_type(cls: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    """` (Model.field is int)`: how the field is declared, or `""` when it cannot be found."""
    if not loc:
        return ""
    owner, name = _model_at(cls, loc[:-1]), loc[-1]
    if owner is None or not isinstance(name, str) or name not in owner.model_fields:
        return ""
    annotation = owner.model_fields[name].annotation
    shown = getattr(annotation, "__name__", None) if isinstance(annotation, type) else None
    return f" ({owner.__name__}.{name} is {shown or annotation})"


def _model_at(cls: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The nested model that the location `loc` (field names) points into, if it is one."""
    current: Any = cls
    for part in loc:
        fields = getattr(current, "model_fields", None)
        if not isinstance(part, str) or fields is None or part not in fields:
            return None
        current = fields[part].annotation
    if isinstance(current, type) and issubclass(current, BaseModel):
        return current
    return None
