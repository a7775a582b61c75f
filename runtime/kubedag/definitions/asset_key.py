"""Asset keys: the identity of an asset, a path of name parts.

A key is written by users in many shapes (a string, a `/`-separated string, a list of parts, an
assets definition, a spec); `to_asset_key` is the one place that turns any of them into a key, so
every other module deals with `AssetKey` only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

_VALID_PART = re.compile(r"^[A-Za-z0-9_\-.]+$")


class AssetKey:
    """The path that names an asset, e.g. `AssetKey(["staging", "sales", "orders"])`."""

    __slots__ = ("_hash", "path")

    path: tuple[str, ...]

    def __init__(self, path: str | Sequence[str]) -> None:
        parts = (path,) if isinstance(path, str) else tuple(path)
        if not parts:
            raise ValueError("An AssetKey needs at least one path part.")
        for part in parts:
            if not isinstance(part, str) or not part:
                raise ValueError(f"AssetKey parts must be non-empty strings; got {parts!r}.")
        object.__setattr__(self, "path", parts)
        object.__setattr__(self, "_hash", hash(parts))

    @classmethod
    def from_stored_path(cls, path: Sequence[str]) -> AssetKey:
        """A key whose parts were checked when it was first made (read back from storage):
        skipping the checks matters when a read brings back 10,000 keys."""
        parts = tuple(path)
        key = object.__new__(cls)
        object.__setattr__(key, "path", parts)
        object.__setattr__(key, "_hash", hash(parts))
        return key

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("AssetKey is immutable")

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its path: the slots cannot be restored through `__setattr__`, and the
        cached hash of strings differs from one process to another."""
        return (AssetKey, (self.path,))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AssetKey) and other.path == self.path

    def __hash__(self) -> int:
        return self._hash  # type: ignore[attr-defined, no-any-return]

    def __lt__(self, other: AssetKey) -> bool:
        return self.path < other.path

    def __repr__(self) -> str:
        return f"AssetKey({list(self.path)!r})"

    def __str__(self) -> str:
        return self.to_user_string()

    def to_user_string(self) -> str:
        """The key as users write it on the command line: parts joined by `/`."""
        return "/".join(self.path)

    def to_python_identifier(self, suffix: str | None = None) -> str:
        """A name usable as an op or output name: parts joined by `__`."""
        name = "__".join(self.path).replace("-", "_").replace(".", "_")
        return f"{name}_{suffix}" if suffix else name

    def with_prefix(self, prefix: str | Sequence[str]) -> AssetKey:
        parts = [prefix] if isinstance(prefix, str) else list(prefix)
        return AssetKey([*parts, *self.path])

    @staticmethod
    def from_user_string(text: str) -> AssetKey:
        return AssetKey(text.split("/"))

    @staticmethod
    def from_coercible(value: Any) -> AssetKey:
        return to_asset_key(value)

    def has_valid_name(self) -> bool:
        return all(_VALID_PART.match(part) for part in self.path)


def to_asset_key(value: Any) -> AssetKey:
    """Turn anything a user may write for an asset into its key.

    Accepts an `AssetKey`, a string (a `/` splits it into parts), a list or tuple of parts, or any
    object exposing `key` (an `AssetSpec`, a single-asset `AssetsDefinition`).
    """
    if isinstance(value, AssetKey):
        return value
    if isinstance(value, str):
        return AssetKey(value.split("/")) if "/" in value else AssetKey([value])
    if isinstance(value, list | tuple):
        return AssetKey(list(value))
    key = getattr(value, "key", None)
    if isinstance(key, AssetKey):
        return key
    raise TypeError(
        f"Cannot use {value!r} as an asset key: expected a string, a list of strings, an AssetKey, "
        "an AssetSpec or an asset definition."
    )


def to_asset_keys(values: Iterable[Any]) -> list[AssetKey]:
    """Keys of many coercible values; a multi-asset contributes every key it produces."""
    keys: list[AssetKey] = []
    for value in values:
        many = getattr(value, "keys", None)
        if many is not None and not isinstance(value, dict) and hasattr(value, "specs"):
            keys.extend(many)
        else:
            keys.append(to_asset_key(value))
    return keys
