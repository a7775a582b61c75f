"""Asset selections: which assets and checks a job or a materialization covers.

A selection is an expression tree (`keys("a") | groups("sales") - checks_for_assets(x)`) that is
resolved against an `AssetGraph` into a set of asset keys and a set of check keys. Selecting an
asset selects its checks too, as users expect; `without_checks()` and `checks_for_assets()` split
them apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kubedag.definitions.asset_graph import AssetGraph
from kubedag.definitions.asset_key import AssetKey, to_asset_key, to_asset_keys
from kubedag.definitions.checks import AssetCheckKey, AssetChecksDefinition
from kubedag.errors import InvalidSelectionError, UnknownAssetSelectionError


@dataclass(frozen=True)
class ResolvedSelection:
    asset_keys: frozenset[AssetKey]
    check_keys: frozenset[AssetCheckKey]


class AssetSelection:
    """Base of every selection expression; build one with the static constructors.

    Nodes are plain classes, not dataclasses: a selection module full of generated methods
    cost more to import than everything else it needs.
    """

    _fields: tuple[str, ...] = ()

    def __init__(self, *values: Any) -> None:
        for name, value in zip(self._fields, values, strict=True):
            setattr(self, name, value)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and all(
            getattr(self, f) == getattr(other, f) for f in self._fields
        )

    def __hash__(self) -> int:
        return hash((type(self), *(getattr(self, f) for f in self._fields)))

    def __repr__(self) -> str:
        args = ", ".join(repr(getattr(self, f)) for f in self._fields)
        return f"{type(self).__name__}({args})"

    def resolve(self, graph: AssetGraph) -> ResolvedSelection:
        assets, checks = self._resolve(graph)
        return ResolvedSelection(frozenset(assets), frozenset(checks))

    def resolve_keys(self, graph: AssetGraph) -> set[AssetKey]:
        return set(self._resolve(graph)[0])

    def _resolve(self, graph: AssetGraph) -> tuple[set[AssetKey], set[AssetCheckKey]]:
        raise NotImplementedError

    # -- constructors -----------------------------------------------------------------------
    @staticmethod
    def all(include_sources: bool = False) -> AssetSelection:
        return _All(include_sources)

    @staticmethod
    def assets(*assets: Any) -> AssetSelection:
        return _Keys(tuple(to_asset_keys(assets)))

    @staticmethod
    def keys(*keys: Any) -> AssetSelection:
        return _Keys(tuple(to_asset_key(k) for k in keys))

    @staticmethod
    def groups(*names: str, include_sources: bool = False) -> AssetSelection:
        return _Groups(tuple(names), include_sources)

    @staticmethod
    def key_prefixes(*prefixes: Any) -> AssetSelection:
        return _KeyPrefixes(tuple(to_asset_key(p).path for p in prefixes))

    @staticmethod
    def checks_for_assets(*assets: Any) -> AssetSelection:
        return _ChecksOnly(_Keys(tuple(to_asset_keys(assets))))

    @staticmethod
    def checks(*checks: Any) -> AssetSelection:
        keys: list[AssetCheckKey] = []
        for check in checks:
            if isinstance(check, AssetChecksDefinition):
                keys.extend(check.check_keys)
            elif isinstance(check, AssetCheckKey):
                keys.append(check)
            else:
                raise InvalidSelectionError(f"{check!r} is not an asset check.")
        return _CheckKeys(tuple(keys))

    @staticmethod
    def all_asset_checks() -> AssetSelection:
        return _ChecksOnly(_All(False))

    # -- modifiers --------------------------------------------------------------------------
    def upstream(self, depth: int | None = None, include_self: bool = True) -> AssetSelection:
        return _Upstream(self, depth, include_self)

    def downstream(self, depth: int | None = None, include_self: bool = True) -> AssetSelection:
        return _Downstream(self, depth, include_self)

    def without_checks(self) -> AssetSelection:
        return _WithoutChecks(self)

    def roots(self) -> AssetSelection:
        return _Roots(self)

    def sinks(self) -> AssetSelection:
        return _Sinks(self)

    def __or__(self, other: AssetSelection) -> AssetSelection:
        return _Combine(self, to_selection(other), "|")

    def __and__(self, other: AssetSelection) -> AssetSelection:
        return _Combine(self, to_selection(other), "&")

    def __sub__(self, other: AssetSelection) -> AssetSelection:
        return _Combine(self, to_selection(other), "-")


def _with_checks(
    graph: AssetGraph, keys: set[AssetKey]
) -> tuple[set[AssetKey], set[AssetCheckKey]]:
    checks = {c for key in keys for c in graph.checks_by_asset.get(key, ())}
    return keys, checks


class _All(AssetSelection):
    _fields = ("include_sources",)
    include_sources: bool

    def _resolve(self, graph: AssetGraph) -> tuple[set[AssetKey], set[AssetCheckKey]]:
        keys = set(graph.specs) if self.include_sources else graph.materializable_keys
        return keys, graph.all_check_keys


class _Keys(AssetSelection):
    _fields = ("keys_",)
    keys_: tuple[AssetKey, ...]

    def _resolve(self, graph: AssetGraph) -> tuple[set[AssetKey], set[AssetCheckKey]]:
        for key in self.keys_:
            if key not in graph.specs:
                known = ", ".join(sorted(k.to_user_string() for k in graph.specs)[:20])
                raise UnknownAssetSelectionError(
                    f"Selection names asset '{key.to_user_string()}', which is not defined. "
                    f"Defined assets: {known or 'none'}."
                )
        return _with_checks(graph, set(self.keys_))


class _Groups(AssetSelection):
    _fields = ("names", "include_sources")
    names: tuple[str, ...]
    include_sources: bool

    def _resolve(self, graph: AssetGraph) -> tuple[set[AssetKey], set[AssetCheckKey]]:
        pool = set(graph.specs) if self.include_sources else graph.materializable_keys
        return _with_checks(graph, {k for k in pool if graph.group_of(k) in self.names})


class _KeyPrefixes(AssetSelection):
    _fields = ("prefixes",)
    prefixes: tuple[tuple[str, ...], ...]

    def _resolve(self, graph: AssetGraph) -> tuple[set[AssetKey], set[AssetCheckKey]]:
        keys = {
            k
            for k in graph.materializable_keys
            if any(k.path[: len(p)] == p for p in self.prefixes)
        }
        return _with_checks(graph, keys)


class _CheckKeys(AssetSelection):
    _fields = ("keys_",)
    keys_: tuple[AssetCheckKey, ...]

    def _resolve(self, graph: AssetGraph) -> tuple[set[AssetKey], set[AssetCheckKey]]:
        for key in self.keys_:
            if key not in graph.check_specs:
                raise InvalidSelectionError(
                    f"Selection names unknown check '{key.to_user_string()}'."
                )
        return set(), set(self.keys_)


class _ChecksOnly(AssetSelection):
    _fields = ("inner",)
    inner: AssetSelection

    def _resolve(self, graph: AssetGraph) -> tuple[set[AssetKey], set[AssetCheckKey]]:
        _, checks = self.inner._resolve(graph)
        return set(), checks


class _WithoutChecks(AssetSelection):
    _fields = ("inner",)
    inner: AssetSelection

    def _resolve(self, graph: AssetGraph) -> tuple[set[AssetKey], set[AssetCheckKey]]:
        keys, _ = self.inner._resolve(graph)
        return keys, set()


class _Upstream(AssetSelection):
    _fields = ("inner", "depth", "include_self")
    inner: AssetSelection
    depth: int | None
    include_self: bool

    def _resolve(self, graph: AssetGraph) -> tuple[set[AssetKey], set[AssetCheckKey]]:
        base, _ = self.inner._resolve(graph)
        keys = graph.upstream(base, self.depth)
        if not self.include_self:
            keys -= base
        return _with_checks(graph, keys & graph.materializable_keys)


class _Downstream(AssetSelection):
    _fields = ("inner", "depth", "include_self")
    inner: AssetSelection
    depth: int | None
    include_self: bool

    def _resolve(self, graph: AssetGraph) -> tuple[set[AssetKey], set[AssetCheckKey]]:
        base, _ = self.inner._resolve(graph)
        keys = graph.downstream(base, self.depth)
        if not self.include_self:
            keys -= base
        return _with_checks(graph, keys)


class _Roots(AssetSelection):
    _fields = ("inner",)
    inner: AssetSelection

    def _resolve(self, graph: AssetGraph) -> tuple[set[AssetKey], set[AssetCheckKey]]:
        keys, _ = self.inner._resolve(graph)
        return _with_checks(graph, {k for k in keys if not set(graph.parents[k]) & keys})


class _Sinks(AssetSelection):
    _fields = ("inner",)
    inner: AssetSelection

    def _resolve(self, graph: AssetGraph) -> tuple[set[AssetKey], set[AssetCheckKey]]:
        keys, _ = self.inner._resolve(graph)
        return _with_checks(graph, {k for k in keys if not set(graph.children[k]) & keys})


class _Combine(AssetSelection):
    _fields = ("left", "right", "operator")
    left: AssetSelection
    right: AssetSelection
    operator: str

    def _resolve(self, graph: AssetGraph) -> tuple[set[AssetKey], set[AssetCheckKey]]:
        left_keys, left_checks = self.left._resolve(graph)
        right_keys, right_checks = self.right._resolve(graph)
        if self.operator == "|":
            return left_keys | right_keys, left_checks | right_checks
        if self.operator == "&":
            return left_keys & right_keys, left_checks & right_checks
        return left_keys - right_keys, left_checks - right_checks


def to_selection(value: Any) -> AssetSelection:
    """Accept what users write for `selection=`: a selection, a string, or a list of assets."""
    if isinstance(value, AssetSelection):
        return value
    if isinstance(value, str):
        return AssetSelection.keys(value)
    if isinstance(value, Iterable):
        items = list(value)
        checks = [v for v in items if isinstance(v, AssetChecksDefinition)]
        others = [v for v in items if not isinstance(v, AssetChecksDefinition)]
        selection: AssetSelection = AssetSelection.assets(*others)
        return selection | AssetSelection.checks(*checks) if checks else selection
    return AssetSelection.assets(value)
