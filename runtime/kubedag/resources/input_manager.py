"""Input managers: how an input is loaded, when its upstream's I/O manager should not decide.

`In(input_manager_key="k")` or `AssetIn(input_manager_key="k")` makes the resource bound to
`k` load that input: from the upstream output (its `InputContext.upstream_output` describes
it), or with no upstream at all for an op input that nothing feeds (`upstream_output` is then
None). Every `IOManager` is an `InputManager`, so an I/O manager can be named there too.

`@input_manager` turns a load function into a resource: the function receives the
`InputContext` and returns the value, or returns an `InputManager` that does the loading.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Set
from typing import Any

from kubedag.resources.definition import ResourceDefinition


class InputManager(ABC):
    """Loads an input of an op or asset: implement `load_input(context)`."""

    @abstractmethod
    def load_input(self, context: Any) -> Any: ...


class InputManagerDefinition(ResourceDefinition):
    """A resource whose value is an `InputManager` (what `@input_manager` builds)."""

    def __init__(
        self,
        resource_fn: Callable[..., Any],
        config_schema: Any = None,
        description: str | None = None,
        input_config_schema: Any = None,
        required_resource_keys: Set[str] | None = None,
        version: str | None = None,
    ) -> None:
        super().__init__(resource_fn, config_schema, description, set(required_resource_keys or ()))
        self.input_config_schema = input_config_schema
        self.version = version


class _LoadFunctionInputManager(InputManager):
    """The input manager of an `@input_manager` function."""

    def __init__(self, load_fn: Callable[..., Any]) -> None:
        self._load_fn = load_fn
        self._takes_context = bool(inspect.signature(load_fn).parameters)

    def load_input(self, context: Any) -> Any:
        loaded = self._load_fn(context) if self._takes_context else self._load_fn()
        if isinstance(loaded, InputManager):
            return loaded.load_input(context)
        return loaded


def input_manager(
    config_schema: Any = None,
    description: str | None = None,
    input_config_schema: Any = None,
    required_resource_keys: Set[str] | None = None,
    version: str | None = None,
) -> Any:
    """Declare an input manager from a load function: `@input_manager` or
    `@input_manager(config_schema=…, required_resource_keys=…)`."""

    def decorate(load_fn: Callable[..., Any]) -> InputManagerDefinition:
        manager = _LoadFunctionInputManager(load_fn)
        return InputManagerDefinition(
            lambda _init_context: manager,
            config_schema=config_schema,
            description=description or inspect.getdoc(load_fn),
            input_config_schema=input_config_schema,
            required_resource_keys=required_resource_keys,
            version=version,
        )

    if callable(config_schema) and not isinstance(config_schema, type | dict):
        fn, config_schema = config_schema, None
        return decorate(fn)
    return decorate
