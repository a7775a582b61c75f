"""I/O managers configured by pydantic fields.

`ConfigurableIOManager` is the I/O manager itself: its fields are its config, and it implements
`handle_output` / `load_input`. `ConfigurableIOManagerFactory` is for an I/O manager that is
not a pydantic model (a class from a library, one holding a connection): its fields are the
config, and `create_io_manager(context)` builds the manager once per run.
`ConfigurableLegacyIOManagerAdapter` gives an `@io_manager` function a class-style face: its
fields are handed to the function as `resource_config`.
"""

from __future__ import annotations

import inspect
from abc import abstractmethod
from typing import Any

from kubedag.resources.definition import InitResourceContext, call_resource_fn
from kubedag.resources.io_manager import IOManager
from kubedag.resources.io_manager_definition import IOManagerDefinition
from kubedag.resources.resource import ConfigurableResource


class ConfigurableIOManager(ConfigurableResource, IOManager):
    """Subclass it, declare config fields, implement `handle_output` and `load_input`."""


class ConfigurableIOManagerFactory(ConfigurableResource):
    """Subclass it, declare config fields, implement `create_io_manager(context)`: what it
    returns stores the outputs and loads the inputs of the run."""

    @abstractmethod
    def create_io_manager(self, context: InitResourceContext) -> Any: ...

    def create_resource(self, context: InitResourceContext) -> Any:
        return self.create_io_manager(context)


class ConfigurableLegacyIOManagerAdapter(ConfigurableIOManagerFactory):
    """Subclass it, declare the `@io_manager` function's config as fields, and return the
    function's definition from the `wrapped_io_manager` property."""

    @property
    @abstractmethod
    def wrapped_io_manager(self) -> IOManagerDefinition: ...

    def create_io_manager(self, context: InitResourceContext) -> Any:
        config = {name: getattr(self, name) for name in type(self).model_fields}
        wrapped = self.wrapped_io_manager.resource_fn
        manager = call_resource_fn(wrapped, context.replace_config(config))
        if inspect.isgenerator(manager):
            raise TypeError(
                f"{type(self).__name__}: the wrapped I/O manager function is a generator; "
                "an adapter needs one that returns its I/O manager."
            )
        return manager
