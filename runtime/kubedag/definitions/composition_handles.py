"""What a node call inside `@graph`/`@job` composition returns and binds: handles to a node's
output or to the graph's own input. Apart from the composition so that dynamic outputs
(`dynamic.py`), which make their own kinds of handle, and the composition can both use them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubedag.errors import InvalidDefinitionError


@dataclass(frozen=True)
class NodeOutputHandle:
    """One output of one node in a graph being composed."""

    node_name: str
    output_name: str

    def alias(self, name: str) -> Any:  # pragma: no cover - guard for a common mistake
        raise InvalidDefinitionError("Call .alias() on the op definition, not on its output.")


@dataclass(frozen=True)
class GraphInputHandle:
    """An input of the graph being composed, passed on to the nodes that use it."""

    input_name: str


InputBinding = NodeOutputHandle | GraphInputHandle | tuple[NodeOutputHandle | GraphInputHandle, ...]
