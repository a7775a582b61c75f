"""Type loaders: how an input that no op feeds gets its value from run config.

`ops: {my_op: {inputs: {x: <config>}}}` gives input `x` its config; the input's Dagster type's
loader checks that config against the loader's schema when the run config is resolved, and
builds the value from it. The built-in types (`int`, `str`, `float`, `bool`, lists and optionals
of them) take the value itself or `{"value": v}` and build it on the spot. A loader declared
with `@dg.dagster_type_loader(config_schema)` is user code that may use resources, so it runs
when the step starts, with a `DagsterTypeLoaderContext`; until then the checked config travels
as a `LoadFromConfig`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kubedag.errors import InvalidConfigError


class DagsterTypeLoader(ABC):
    """Builds an input's value from its run config (the config is checked against
    `schema_type` first)."""

    @property
    @abstractmethod
    def schema_type(self) -> Any: ...

    @abstractmethod
    def construct_from_config_value(self, context: Any, config_value: Any) -> Any: ...

    def required_resource_keys(self) -> frozenset[str]:
        return frozenset()

    @property
    def loader_version(self) -> str | None:
        return None

    def value_from_config(self, value: Any, field: str) -> Any:
        """The checked config as what the step will receive: a `LoadFromConfig` that the step
        turns into the value with a context (user loaders), or the value itself."""
        from kubedag.config.run_config import check_config_schema

        return LoadFromConfig(self, check_config_schema(self.schema_type, value, field))


@dataclass(frozen=True)
class LoadFromConfig:
    """An input's checked config, to be built into its value by `loader` when the step runs."""

    loader: DagsterTypeLoader
    config_value: Any


class _DecoratedLoader(DagsterTypeLoader):
    def __init__(
        self,
        config_schema: Any,
        loader_fn: Callable[[Any, Any], Any],
        required_resource_keys: frozenset[str],
        loader_version: str | None,
    ) -> None:
        self._schema = config_schema
        self._loader_fn = loader_fn
        self._required_resource_keys = required_resource_keys
        self._loader_version = loader_version
        self.__name__ = getattr(loader_fn, "__name__", "loader")
        self.__doc__ = getattr(loader_fn, "__doc__", None)

    @property
    def schema_type(self) -> Any:
        return self._schema

    def construct_from_config_value(self, context: Any, config_value: Any) -> Any:
        return self._loader_fn(context, config_value)

    def required_resource_keys(self) -> frozenset[str]:
        return self._required_resource_keys

    @property
    def loader_version(self) -> str | None:
        return self._loader_version

    def __call__(self, context: Any, config_value: Any) -> Any:
        return self._loader_fn(context, config_value)

    def __repr__(self) -> str:
        return f"<DagsterTypeLoader {self.__name__}>"


def dagster_type_loader(
    config_schema: Any,
    required_resource_keys: set[str] | frozenset[str] | None = None,
    loader_version: str | None = None,
) -> Callable[[Callable[[Any, Any], Any]], DagsterTypeLoader]:
    """Decorate `fn(context, config) -> value` as the loader of a DagsterType (`loader=`)."""

    def decorate(fn: Callable[[Any, Any], Any]) -> DagsterTypeLoader:
        return _DecoratedLoader(
            config_schema, fn, frozenset(required_resource_keys or ()), loader_version
        )

    return decorate


# -- the built-in types' loaders: pure, so they build the value when config is resolved --------


def _unwrapped(value: Any) -> Any:
    if isinstance(value, Mapping) and set(value) == {"value"}:
        return value["value"]
    return value


class ScalarLoader(DagsterTypeLoader):
    """`v` or `{"value": v}`, of the given Python type (`None` for Any)."""

    def __init__(self, python_type: type | tuple[type, ...] | None, name: str) -> None:
        self._python_type = python_type
        self._name = name

    @property
    def schema_type(self) -> Any:
        return self._python_type

    def construct_from_config_value(self, context: Any, config_value: Any) -> Any:
        return config_value

    def value_from_config(self, value: Any, field: str) -> Any:
        value = _unwrapped(value)
        wanted = self._python_type
        if wanted is not None and (
            not isinstance(value, wanted) or (isinstance(value, bool) and wanted is not bool)
        ):
            raise InvalidConfigError(
                f"{field}: expected a value of type {self._name} (or {{'value': …}}); got "
                f"{value!r} of type {type(value).__name__}."
            )
        return value


class ListLoader(DagsterTypeLoader):
    """A list, each item loaded by the item type's loader."""

    def __init__(self, item_loader: DagsterTypeLoader) -> None:
        self._item_loader = item_loader

    @property
    def schema_type(self) -> Any:
        return [self._item_loader.schema_type]

    def construct_from_config_value(self, context: Any, config_value: Any) -> Any:
        return config_value

    def required_resource_keys(self) -> frozenset[str]:
        return self._item_loader.required_resource_keys()

    def value_from_config(self, value: Any, field: str) -> Any:
        if not isinstance(value, list):
            raise InvalidConfigError(
                f"{field}: expected a list; got {value!r} of type {type(value).__name__}."
            )
        return [
            self._item_loader.value_from_config(item, f"{field}[{index}]")
            for index, item in enumerate(value)
        ]


class OptionalLoader(DagsterTypeLoader):
    """`None`, or what the inner type's loader takes."""

    def __init__(self, inner_loader: DagsterTypeLoader) -> None:
        self._inner_loader = inner_loader

    @property
    def schema_type(self) -> Any:
        return self._inner_loader.schema_type

    def construct_from_config_value(self, context: Any, config_value: Any) -> Any:
        return config_value

    def required_resource_keys(self) -> frozenset[str]:
        return self._inner_loader.required_resource_keys()

    def value_from_config(self, value: Any, field: str) -> Any:
        if value is None:
            return None
        return self._inner_loader.value_from_config(value, field)
