"""Function-style resources (`@resource`) and the context every resource is set up with.

Kept free of pydantic so that runs whose resources are plain objects or functions never import
it; `ConfigurableResource` (pydantic-based) lives in `kubedag.resources.resource`.
"""

from __future__ import annotations

import inspect
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

    def configured(
        self,
        config_or_config_fn: Any,
        name: str | None = None,
        config_schema: Any = None,
        description: str | None = None,
    ) -> ResourceDefinition:
        """A copy whose config is fixed, or computed by a function from a config of
        `config_schema` (`name` is accepted for the reference's signature; a resource's name
        is the key it is bound to)."""
        import copy

        from kubedag.config.mapping import configured_field, inner_field

        field = configured_field(
            inner_field(self.config_schema),
            config_or_config_fn,
            config_schema,
            "a configured resource",
        )
        copied = copy.copy(self)  # the same class: an I/O manager stays one
        copied.config_schema = field
        copied.description = description or self.description
        return copied

    def __call__(self, context: InitResourceContext | None = None) -> Any:
        """Build the resource directly (a test): its config is checked against `config_schema`
        and given with defaults filled in."""
        context = context or InitResourceContext()
        if self.config_schema is not None:
            from kubedag.config.schema import check_value

            context = context.replace_config(
                check_value(self.config_schema, context.resource_config, "resource config")
            )
        return call_resource_fn(self.resource_fn, context)


def call_resource_fn(fn: Callable[..., Any], context: InitResourceContext) -> Any:
    """Call a resource function with its init context, or with nothing if it takes none (the
    reference allows both)."""
    try:
        takes_context = bool(inspect.signature(fn).parameters)
    except (TypeError, ValueError):  # a builtin or C callable: assume it takes the context
        takes_context = True
    return fn(context) if takes_context else fn()


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
