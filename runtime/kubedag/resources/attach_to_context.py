"""`IAttachDifferentObjectToOpContext`: a resource that shows another object on `context.resources`.

Migrating a function-style resource (whose users read `context.resources.key` and get, say, a
client) to a `ConfigurableResource` would change what those users get. A resource implementing
this interface keeps them working: `context.resources.key` gives
`get_object_to_set_on_execution_context()`, while a parameter annotated with the resource class
still receives the resource itself.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any


class IAttachDifferentObjectToOpContext(ABC):
    """Implement `get_object_to_set_on_execution_context` to choose what `context.resources`
    shows for this resource."""

    @abstractmethod
    def get_object_to_set_on_execution_context(self) -> Any: ...


def object_on_context(resource: Any) -> Any:
    """What `context.resources.<key>` gives for an initialized resource."""
    if isinstance(resource, IAttachDifferentObjectToOpContext):
        return resource.get_object_to_set_on_execution_context()
    return resource
