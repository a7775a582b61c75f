"""`ResourceDependency[T]`: a field of a `ConfigurableResource` that holds another resource.

A resource field annotated with another `ConfigurableResource` class already nests it (its
config is part of the outer resource's). `ResourceDependency[T]` is for a field whose value is
any resource, a function-style `@resource` among them: what the field is given is the resource
definition; what the outer resource sees at run time is the initialized value of type `T`.
Nested resources are set up before the resource that holds them and torn down after it.
"""

from __future__ import annotations

from typing import Annotated, TypeVar

from pydantic import SkipValidation

T = TypeVar("T")


class _ResourceDependencyMarker:
    def __repr__(self) -> str:
        return "ResourceDependency"


RESOURCE_DEPENDENCY_MARKER = _ResourceDependencyMarker()

ResourceDependency = Annotated[T, SkipValidation, RESOURCE_DEPENDENCY_MARKER]
