"""`context.resources`: the resources a run initialized, by key, read-only.

Its own module because both the resource definitions (a test context built by
`build_init_resource_context`) and their initialization hand it out.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any


class ResourceNamespace:
    """`context.resources`: initialized resources by key, as attributes."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        object.__setattr__(self, "_values", dict(values))

    def __getattr__(self, name: str) -> Any:
        values = object.__getattribute__(self, "_values")
        try:
            return values[name]
        except KeyError:
            known = ", ".join(sorted(values)) or "none"
            raise AttributeError(
                f"No resource '{name}' is available here (available: {known}). Bind it in "
                f"Definitions(resources={{'{name}': …}}) and declare it on the asset or op."
            ) from None

    def __getitem__(self, name: str) -> Any:
        return self.__getattr__(name)

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
