"""Config mappings: a simpler config on the outside, turned by a function into the config a job,
graph or definition really takes.

`ConfigMapping(config_fn, config_schema)` on a job (`@job(config=...)`) checks the run config
against `config_schema` and hands the result to `config_fn`, which returns the run config that
is then checked against the job as usual; on a graph (`@graph(config=...)`) the function returns
the config of the graph's ops. `configured(definition, config_schema)(fn)` (or
`configured(definition)({...})` with a fixed config) makes a copy of an op, graph or resource
whose config is mapped the same way: `ConfiguredConfig` is that copy's config type, so the
checking of run config needs to know nothing about it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from kubedag.config.config_errors import ConfigCheck, ConfigError
from kubedag.config.schema import (
    ANY,
    NOT_GIVEN,
    ConfigType,
    Field,
    resolved_field,
)
from kubedag.errors import ConfigMappingFunctionError, InvalidDefinitionError


class ConfigMapping(NamedTuple):
    """`config_fn` turns a value of `config_schema` (any value, when it is None) into the config
    of what the mapping is attached to. With `receive_processed_config_values=False` the
    function gets the value as given, without defaults filled in."""

    config_fn: Callable[[Any], Any]
    config_schema: Any = None
    receive_processed_config_values: bool | None = None

    @property
    def field(self) -> Field:
        return Field(ANY, is_required=False) if self.config_schema is None else (
            resolved_field(self.config_schema)
        )  # fmt: skip

    def resolve(self, value: Any, path: str, check: ConfigCheck, owner: str) -> Any:
        """Check `value`, call the function, return what it returns (`NOT_GIVEN` when the value
        had problems, which are in `check`)."""
        before = len(check.errors)
        processed = self.field.process_root(value, path, check)
        if len(check.errors) > before:
            return NOT_GIVEN
        given = value if self.receive_processed_config_values is False else processed
        return call_config_fn(self.config_fn, {} if given is None else given, owner)


def call_config_fn(fn: Callable[[Any], Any], value: Any, owner: str) -> Any:
    """`fn(value)`, with an exception from it wrapped in `ConfigMappingFunctionError`."""
    try:
        return fn(value)
    except Exception as exc:
        raise ConfigMappingFunctionError(
            f"The config mapping function on {owner} raised {type(exc).__name__}: {exc}",
            user_exception=exc,
        ) from exc


def config_mapping(
    config_fn: Callable[[Any], Any] | None = None,
    *,
    config_schema: Any = None,
    receive_processed_config_values: bool | None = None,
) -> Any:
    """`@config_mapping` or `@config_mapping(config_schema={...})`: a `ConfigMapping` of the
    decorated function."""

    def decorate(fn: Callable[[Any], Any]) -> ConfigMapping:
        return ConfigMapping(fn, config_schema, receive_processed_config_values)

    return decorate(config_fn) if config_fn is not None else decorate


class ConfiguredConfig(ConfigType):
    """The config type of a `configured` copy: `outer` is what the copy takes (None: nothing,
    its config is fixed), `mapped` the function (or the fixed config), `inner` the original
    definition's own config field."""

    def __init__(self, outer: Field | None, mapped: Any, inner: Field, owner: str) -> None:
        self.outer = outer
        self.mapped = mapped
        self.inner = inner
        self.owner = owner

    @property
    def type_name(self) -> str:
        return self.outer.type_name if self.outer is not None else "Any"

    def process(self, value: Any, path: str, check: ConfigCheck) -> Any:
        if self.outer is None:  # a fixed config: what is given in run config is not used
            given: Any = self.mapped
        else:
            before = len(check.errors)
            outer_value = self.outer.process_root(value, path, check)
            if len(check.errors) > before:
                return value
            given = call_config_fn(self.mapped, {} if outer_value is None else outer_value,
                                   self.owner)  # fmt: skip
        inner_check = ConfigCheck(check.resolve_env)
        processed = self.inner.process_root(given, path, inner_check)
        for error in inner_check.errors:
            message = f"{error.message.rstrip('.')} (in the config that {self.owner} maps to)."
            check.errors.append(ConfigError(error.path, message, error.reason))
        return processed

    def implicit_default(self, path: str, check: ConfigCheck) -> Any:
        if self.outer is None:
            return self.process(None, path, check)
        if self.outer.is_required:
            return NOT_GIVEN
        return self.process(None, path, check)


def configured_field(
    inner: Field, config_or_config_fn: Any, config_schema: Any, owner: str
) -> Field:
    """The config field of a `configured` copy of a definition whose config field is `inner`."""
    if callable(config_or_config_fn):
        outer = (
            Field(ANY, is_required=False)
            if config_schema is None
            else resolved_field(config_schema)
        )
        return Field(
            ConfiguredConfig(outer, config_or_config_fn, inner, owner),
            is_required=outer.is_required,
        )
    if config_schema is not None:
        raise InvalidDefinitionError(
            f"configured {owner}: config_schema= goes with a config function, which maps a value "
            "of that schema to the config; a fixed config takes no schema."
        )
    return Field(ConfiguredConfig(None, config_or_config_fn, inner, owner), is_required=False)


def configured(configurable: Any, config_schema: Any = None, **kwargs: Any) -> Any:
    """`configured(definition, config_schema=None)(fn)` or `configured(definition)({...})`: a copy
    of an op, graph, resource, executor or logger whose config is fixed, or computed by `fn` from
    a config of `config_schema`. Used as a decorator on `fn`, the copy is named after it."""
    method = getattr(configurable, "configured", None)
    if method is None or not callable(method) or isinstance(configurable, type):
        raise InvalidDefinitionError(
            f"configured: {configurable!r} cannot be configured; give an op, graph, resource, "
            "executor or logger definition (a job's config is set with @job(config=...))."
        )

    accepted = _parameters(method)

    def decorate(config_or_config_fn: Any) -> Any:
        options = dict(kwargs)
        if callable(config_or_config_fn) and "name" not in options and "name" in accepted:
            options["name"] = getattr(config_or_config_fn, "__name__", None)
        if config_schema is not None or callable(config_or_config_fn):
            if "config_schema" not in accepted:
                raise InvalidDefinitionError(
                    f"configured: {configurable!r} takes a fixed config only; give it a dict, "
                    "not a config function or config_schema."
                )
            options["config_schema"] = config_schema
        return method(config_or_config_fn, **options)

    return decorate


def _parameters(method: Callable[..., Any]) -> set[str]:
    import inspect

    try:
        return set(inspect.signature(method).parameters)
    except (TypeError, ValueError):
        return {"name", "config_schema"}


def inner_field(schema: Any) -> Field:
    """A definition's own config field; a definition that declares none takes any config."""
    if schema is None:
        return Field(ANY, is_required=False)
    return resolved_field(schema)
