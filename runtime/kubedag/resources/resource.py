"""Resources: typed, configurable handles to external systems, injected by parameter name.

`ConfigurableResource` is a pydantic model: its fields are its config. Fields may hold an
`EnvVar`; the variable is read when a run initializes the resource, so the value never sits in a
definition, run record or log. `setup_for_execution` / `teardown_after_execution` bracket each
run. Function-style resources (`@resource`, in `definition.py`) and plain objects work too.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from contextlib import contextmanager
from typing import Any

from pydantic import BaseModel, ConfigDict, PrivateAttr

from kubedag.config.env_var import EnvVar
from kubedag.resources.definition import InitResourceContext


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
