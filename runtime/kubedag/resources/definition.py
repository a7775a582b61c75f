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

    def configured(self, config: Any) -> ResourceDefinition:
        fn = self.resource_fn
        return ResourceDefinition(
            lambda ctx: fn(ctx.replace_config(config)),
            description=self.description,
            required_resource_keys=set(self.required_resource_keys),
        )

    def __call__(self, context: InitResourceContext | None = None) -> Any:
        return self.resource_fn(context or InitResourceContext())


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
