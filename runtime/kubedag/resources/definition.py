"""Function-style resources (`@resource`) and the context every resource is set up with.

Kept free of pydantic so that runs whose resources are plain objects or functions never import
it; `ConfigurableResource` (pydantic-based) lives in `kubedag.resources.resource`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from kubedag.resources.namespace import ResourceNamespace


class InitResourceContext:
    """What a resource sees while it is set up for a run."""

    def __init__(
        self,
        resource_config: Any = None,
        resources: Any = None,
        instance: Any = None,
        run_id: str | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        self.resource_config = resource_config
        self.resources = resources
        self.instance = instance
        self.run_id = run_id
        self.log = log or logging.getLogger("kubedag.resources")

    def replace_config(self, config: Any) -> InitResourceContext:
        return InitResourceContext(config, self.resources, self.instance, self.run_id, self.log)


def build_init_resource_context(
    config: Any = None, resources: Mapping[str, Any] | None = None, instance: Any = None
) -> InitResourceContext:
    """A context for testing a resource's set-up outside a run."""
    return InitResourceContext(config, ResourceNamespace(dict(resources or {})), instance)


class ResourceDefinition:
    """A resource built by a function of its init context (the `@resource` style)."""

    def __init__(
        self,
        resource_fn: Callable[..., Any],
        config_schema: Any = None,
        description: str | None = None,
        required_resource_keys: set[str] | None = None,
    ) -> None:
        self.resource_fn = resource_fn
        self.config_schema = config_schema
        self.description = description
        self.required_resource_keys = frozenset(required_resource_keys or ())

    @staticmethod
    def hardcoded_resource(value: Any, description: str | None = None) -> ResourceDefinition:
        return ResourceDefinition(lambda _ctx: value, description=description)

    @staticmethod
    def none_resource(description: str | None = None) -> ResourceDefinition:
        return ResourceDefinition.hardcoded_resource(None, description)

    @staticmethod
    def mock_resource(description: str | None = None) -> ResourceDefinition:
        """A resource that is a `unittest.mock.MagicMock`: any attribute, any call, for tests."""
        from unittest import mock

        return ResourceDefinition.hardcoded_resource(mock.MagicMock(), description)

    @staticmethod
    def string_resource(description: str | None = None) -> ResourceDefinition:
        """A resource whose value is its config, a string."""
        return ResourceDefinition(_config_as_value, config_schema=str, description=description)

    def configured(self, config: Any) -> ResourceDefinition:
        """The same resource (of the same class) with its config fixed to `config`."""
        import copy

        fn = self.resource_fn
        fixed = copy.copy(self)
        fixed.resource_fn = lambda ctx: fn(ctx.replace_config(config))
        fixed.config_schema = None  # the config is given: run config has none to give
        return fixed

    def __call__(self, context: InitResourceContext | None = None) -> Any:
        return self.resource_fn(context or InitResourceContext())


def _config_as_value(context: InitResourceContext) -> Any:
    return context.resource_config


def resource(
    resource_fn: Callable[..., Any] | None = None,
    *,
    config_schema: Any = None,
    description: str | None = None,
    required_resource_keys: set[str] | None = None,
) -> Any:
    """Declare a function-style resource; a generator function may clean up after `yield`."""

    def decorate(fn: Callable[..., Any]) -> ResourceDefinition:
        return ResourceDefinition(fn, config_schema, description, required_resource_keys)

    return decorate(resource_fn) if resource_fn is not None else decorate
