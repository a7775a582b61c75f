"""`context.resources`: the resources a run initialized, by key, read-only.

Its own module because both the resource definitions (a test context built by
`build_init_resource_context`) and their initialization hand it out.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from kubedag.errors import UnknownResourceError
from kubedag.resources.attach_to_context import object_on_context


class ResourceNamespace:
    """`context.resources`: initialized resources by key, as attributes.

    An attribute is what the resource shows on a context (see `attach_to_context.py`); an item
    (`resources[key]`) is the resource itself, as a resource parameter receives it."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        object.__setattr__(self, "_values", dict(values))

    def __getattr__(self, name: str) -> Any:
        return object_on_context(self[name])

    def __getitem__(self, name: str) -> Any:
        values = object.__getattribute__(self, "_values")
        try:
            return values[name]
        except KeyError:
            raise UnknownResourceError(name, tuple(sorted(values))) from None

    def __contains__(self, name: object) -> bool:
        return name in object.__getattribute__(self, "_values")

    def __iter__(self) -> Iterator[str]:
        return iter(object.__getattribute__(self, "_values"))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("resources are read-only")

    def _asdict(self) -> dict[str, Any]:
        return dict(object.__getattribute__(self, "_values"))

    def __repr__(self) -> str:
        return f"ResourceNamespace({', '.join(sorted(self._asdict()))})"
