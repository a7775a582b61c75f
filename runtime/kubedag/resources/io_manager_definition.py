"""`IOManagerDefinition` and `@io_manager`: function-style I/O managers.

The decorated function receives the `InitResourceContext` (its `resource_config`, the
`resources` it requires) and returns the `IOManager` a run stores outputs with and loads inputs
with. It is a resource like any other: bind it under an `io_manager_key`, `.configured(…)` it,
give its config in run config (`resources.<key>.config`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Set
from typing import Any

from kubedag.resources.definition import ResourceDefinition


class IOManagerDefinition(ResourceDefinition):
    """A resource whose value is an `IOManager`."""

    def __init__(
        self,
        resource_fn: Callable[..., Any],
        config_schema: Any = None,
        description: str | None = None,
        required_resource_keys: Set[str] | None = None,
        version: str | None = None,
        input_config_schema: Any = None,
        output_config_schema: Any = None,
    ) -> None:
        super().__init__(
            resource_fn,
            config_schema,
            description,
            set(required_resource_keys or ()),
        )
        self.version = version
        self.input_config_schema = input_config_schema
        self.output_config_schema = output_config_schema

    @staticmethod
    def hardcoded_io_manager(value: Any, description: str | None = None) -> IOManagerDefinition:
        """An I/O manager definition whose manager is `value`, already built."""
        return IOManagerDefinition(lambda _context: value, description=description)


def io_manager(
    config_schema: Any = None,
    description: str | None = None,
    output_config_schema: Any = None,
    input_config_schema: Any = None,
    required_resource_keys: Set[str] | None = None,
    version: str | None = None,
) -> Any:
    """Declare an I/O manager from a function of its init context: `@io_manager` or
    `@io_manager(config_schema=…, required_resource_keys=…)`."""

    def decorate(fn: Callable[..., Any]) -> IOManagerDefinition:
        return IOManagerDefinition(
            fn,
            config_schema=config_schema,
            description=description or inspect.getdoc(fn),
            required_resource_keys=required_resource_keys,
            version=version,
            input_config_schema=input_config_schema,
            output_config_schema=output_config_schema,
        )

    if callable(config_schema) and not isinstance(config_schema, type | dict):
        fn, config_schema = config_schema, None
        return decorate(fn)
    return decorate
