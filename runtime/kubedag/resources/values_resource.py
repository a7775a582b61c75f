"""`make_values_resource(**fields)`: a resource whose value is its config, for values that many
ops share (a date, a bucket name) and that are set once per run in run config."""

from __future__ import annotations

from typing import Any

from kubedag.resources.definition import InitResourceContext, ResourceDefinition


def _values(context: InitResourceContext) -> Any:
    return context.resource_config


def make_values_resource(**kwargs: Any) -> ResourceDefinition:
    """A resource whose value is its config: with fields (`make_values_resource(date=str,
    bucket=Field(str, default_value="raw"))`) the config is checked against them; without, any
    config is taken as it is (and the value is None when none is given)."""
    from kubedag.config.schema import ANY, Field, Shape

    schema = Field(Shape(kwargs)) if kwargs else Field(ANY, is_required=False)
    return ResourceDefinition(
        _values, config_schema=schema, description="A resource whose value is its config."
    )
