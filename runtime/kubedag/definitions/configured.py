"""`configured` copies of ops and graphs: the same definition under a new name, whose config is
fixed or computed by a function from a simpler config (`kubedag.config.mapping` does the
mapping; this module makes the copies)."""

from __future__ import annotations

import copy
from typing import Any

from kubedag.config.mapping import ConfigMapping, configured_field, inner_field
from kubedag.config.schema import ModelType
from kubedag.errors import InvalidDefinitionError


def configured_op(
    op: Any, config_or_config_fn: Any, name: str | None, config_schema: Any, description: Any
) -> Any:
    """A copy of `op` named `name` whose config comes from `config_or_config_fn`."""
    if not name:
        raise InvalidDefinitionError(
            f"configured op '{op.name}': give the copy a name, configured(op, name='...')(config) "
            "or op.configured(config, name='...'), or decorate a config function, whose name it "
            "takes."
        )
    if op.config_class is not None:
        inner = inner_field(ModelType(op.config_class))
    elif op.config_schema is not None:
        inner = inner_field(op.config_schema)
    else:
        raise InvalidDefinitionError(
            f"configured op '{op.name}': the op takes no config, so there is nothing to configure."
        )
    copied = copy.copy(op)
    copied.name = name
    copied.config_class = None
    copied.config_schema = configured_field(
        inner, config_or_config_fn, config_schema, f"the configured op '{name}'"
    )
    if description is not None:
        copied.description = description
    return copied


def configured_graph(
    graph: Any, config_or_config_fn: Any, name: str | None, config_schema: Any, description: Any
) -> Any:
    """A copy of `graph` named `name` whose config mapping is fed from `config_or_config_fn`
    (a fixed config of the mapping, or a function from a config of `config_schema` to one).
    Only a graph with a config mapping has a config to configure."""
    mapping = graph.config
    if not isinstance(mapping, ConfigMapping):
        raise InvalidDefinitionError(
            f"configured graph '{graph.name}': only a graph with a config mapping "
            "(@graph(config=ConfigMapping(...))) has a config to configure; configure its ops "
            "instead."
        )
    if not name:
        raise InvalidDefinitionError(
            f"configured graph '{graph.name}': give the copy a name, "
            "configured(graph, name='...')(config)."
        )
    field = configured_field(
        mapping.field, config_or_config_fn, config_schema, f"the configured graph '{name}'"
    )
    copied = copy.copy(graph)
    copied.name = name
    copied.config = ConfigMapping(mapping.config_fn, field, mapping.receive_processed_config_values)
    if description is not None:
        copied.description = description
    return copied
