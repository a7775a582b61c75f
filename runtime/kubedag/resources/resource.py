"""Resources: typed, configurable handles to external systems, injected by parameter name.

`ConfigurableResource` is a pydantic model: its fields are its config. Fields may hold an
`EnvVar`; the variable is read when a run initializes the resource, so the value never sits in a
definition, run record or log. `setup_for_execution` / `teardown_after_execution` bracket each
run. Function-style resources (`@resource`) and plain objects work too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Mapping
from contextlib import contextmanager
from typing import Any

from pydantic import BaseModel, ConfigDict, PrivateAttr

from kubedag.config.env_var import EnvVar


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
    from kubedag.resources.initialization import ResourceNamespace

    return InitResourceContext(config, ResourceNamespace(dict(resources or {})), instance)


class ConfigurableResource(BaseModel):
    """Base class of resources whose config is their fields."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    _env_fields: dict[str, EnvVar] = PrivateAttr(default_factory=dict)

    def __init__(self, **data: Any) -> None:
        env_fields = {k: v for k, v in data.items() if isinstance(v, EnvVar)}
        super().__init__(**data)
        self._env_fields = env_fields

    # -- lifecycle hooks users override ------------------------------------------------------
    def setup_for_execution(self, context: InitResourceContext) -> None:
        """Called once per run before the first step that uses the resource."""

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        """Called once per run after the last step, also when the run failed."""

    @contextmanager
    def yield_for_execution(self, context: InitResourceContext) -> Generator[Any, None, None]:
        self.setup_for_execution(context)
        try:
            yield self
        finally:
            self.teardown_after_execution(context)

    def create_resource(self, context: InitResourceContext) -> Any:
        """What user code receives; the resource itself unless a subclass says otherwise."""
        return self

    # -- what kubedag uses ------------------------------------------------------------------
    @property
    def env_var_fields(self) -> dict[str, EnvVar]:
        return dict(self._env_fields)

    def with_runtime_values(
        self, key: str, overrides: Mapping[str, Any] | None
    ) -> ConfigurableResource:
        """A copy with `EnvVar` fields read from the environment and run config applied."""
        values = {
            name: env.resolve(f"resources.{key}.{name}") for name, env in self._env_fields.items()
        }
        if not values and not overrides:
            return self
        from kubedag.config.config import validate_model

        data = {
            name: getattr(self, name)
            for name in type(self).model_fields
            if name in self.model_fields_set
        }
        data.update(values)
        data.update(overrides or {})
        resolved: ConfigurableResource = validate_model(type(self), data, f"resources.{key}.config")
        resolved._env_fields = {}
        return resolved

    @classmethod
    def configure_at_launch(cls) -> PartialResource:
        return PartialResource(cls)

    @classmethod
    def from_resource_context(cls, context: InitResourceContext) -> Any:
        return cls(**(context.resource_config or {}))


class PartialResource:
    """A resource whose config is given at launch time, in run config."""

    def __init__(self, resource_cls: type[ConfigurableResource]) -> None:
        self.resource_cls = resource_cls

    def __repr__(self) -> str:
        return f"{self.resource_cls.__name__}.configure_at_launch()"


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
