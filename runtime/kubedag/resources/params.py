"""`ResourceParam[T]`: mark a parameter of any type as a resource.

Kept apart from the resource classes so that using it does not import pydantic.
"""

from __future__ import annotations

from typing import Annotated, TypeVar

from kubedag.definitions.signature import RESOURCE_PARAM_MARKER

T = TypeVar("T")

ResourceParam = Annotated[T, RESOURCE_PARAM_MARKER]
