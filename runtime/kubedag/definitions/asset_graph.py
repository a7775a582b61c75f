"""The asset graph: every asset and check of a code location, indexed and validated.

Building the graph is where definition mistakes surface, before anything runs: two definitions
producing the same key, an input read from a key nothing defines, checks on unknown assets, and
cycles. The order of `toposorted_keys` is deterministic: among assets whose dependencies are
satisfied, the one defined first comes first.

A `deps=` entry that nothing defines is an external asset, as if it had been declared with
`dg.AssetSpec(key)`: the asset only runs after it, nothing has to be loaded, and the graph keeps
the edge so lineage shows where the data comes from. An *input* (a parameter, or an `ins=` entry)
is different: its value must be loaded, so a key nothing defines is an error that names the
asset, the input and the key.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from typing import Any

from kubedag.definitions.asset_key import AssetKey
from kubedag.definitions.assets import AssetsDefinition, AssetSpec
from kubedag.definitions.checks import AssetCheckKey, AssetChecksDefinition, AssetCheckSpec
from kubedag.definitions.observations import SourceAsset, as_asset_like
from kubedag.errors import (
    DependencyCycleError,
    DuplicateAssetKeyError,
    InvalidDefinitionError,
    UnknownDependencyError,
)


def split_asset_like(
    values: Iterable[Any],
) -> tuple[list[AssetsDefinition], list[AssetSpec], list[AssetChecksDefinition]]:
    """Sort what users pass as `assets=[…]` into computed assets, external specs and checks."""
    assets: list[AssetsDefinition] = []
    specs: list[AssetSpec] = []
    checks: list[AssetChecksDefinition] = []
    seen: set[int] = set()
    for value in values:
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, AssetsDefinition):
            assets.append(value)
        elif isinstance(value, AssetSpec):
            specs.append(value)
        elif isinstance(value, AssetChecksDefinition):
            checks.append(value)
        elif isinstance(value, SourceAsset):
            observed = as_asset_like(value)
            (assets if isinstance(observed, AssetsDefinition) else specs).append(observed)  # type: ignore[arg-type]
        else:
            raise InvalidDefinitionError(
                f"{value!r} is not an asset: expected a function decorated with @dg.asset, "
                "@dg.multi_asset or @dg.graph_asset, or a dg.AssetSpec."
            )
    return assets, specs, checks


class AssetGraph:
    """Index of assets, external assets and checks, with their dependencies."""

    def __init__(
        self,
        assets: Sequence[AssetsDefinition],
        external_specs: Sequence[AssetSpec] = (),
        checks: Sequence[AssetChecksDefinition] = (),
    ) -> None:
        self.assets_defs = list(assets)
        self.checks_defs = list(checks)
        self.producer: dict[AssetKey, AssetsDefinition] = {}
        self.specs: dict[AssetKey, AssetSpec] = {}
        self.external_keys: set[AssetKey] = set()
        self._index_assets(external_specs)
        self._add_implicit_externals()
        self.check_specs: dict[AssetCheckKey, AssetCheckSpec] = {}
        self.check_producer: dict[AssetCheckKey, AssetsDefinition | AssetChecksDefinition] = {}
        self.checks_by_asset: dict[AssetKey, list[AssetCheckKey]] = {}
        self._index_checks()
        self.parents: dict[AssetKey, tuple[AssetKey, ...]] = {
            key: tuple(dep.asset_key for dep in spec.deps) for key, spec in self.specs.items()
        }
        self._check_dependencies_known()
        self.children: dict[AssetKey, list[AssetKey]] = {key: [] for key in self.specs}
        for key, parents in self.parents.items():
            for parent in parents:
                self.children[parent].append(key)
        self.toposorted_keys = self._toposort()

    # -- building ---------------------------------------------------------------------------
    def _index_assets(self, external_specs: Sequence[AssetSpec]) -> None:
        for assets_def in self.assets_defs:
            for spec in assets_def.specs:
                other = self.producer.get(spec.key)
                if other is not None:
                    raise DuplicateAssetKeyError(
                        f"Asset key '{spec.key.to_user_string()}' is defined twice: by "
                        f"'{other.node.name}' and by '{assets_def.node.name}'. Rename one of them "
                        "or give it a key_prefix."
                    )
                self.producer[spec.key] = assets_def
                self.specs[spec.key] = spec
        for spec in external_specs:
            if spec.key in self.specs:
                if spec.key in self.external_keys:
                    continue
                raise DuplicateAssetKeyError(
                    f"Asset key '{spec.key.to_user_string()}' is both computed by "
                    f"'{self.producer[spec.key].node.name}' and declared as an external "
                    "dg.AssetSpec. Keep only one."
                )
            self.specs[spec.key] = spec
            self.external_keys.add(spec.key)

    def _add_implicit_externals(self) -> None:
        """Make every undefined `deps=` key an external asset; refuse undefined inputs."""
        for assets_def in self.assets_defs:
            inputs_by_key = {key: name for name, key in assets_def.keys_by_input_name.items()}
            for spec in assets_def.specs:
                for dep in spec.deps:
                    parent = dep.asset_key
                    if parent in self.specs:
                        continue
                    if parent in inputs_by_key:
                        raise UnknownDependencyError(
                            unknown_input_message(spec.key, inputs_by_key[parent], parent)
                        )
                    self.specs[parent] = AssetSpec(parent)
                    self.external_keys.add(parent)

    def _index_checks(self) -> None:
        owners: list[tuple[AssetsDefinition | AssetChecksDefinition, Sequence[AssetCheckSpec]]] = [
            (a, a.check_specs) for a in self.assets_defs
        ]
        owners.extend((c, c.specs) for c in self.checks_defs)
        for owner, specs in owners:
            for spec in specs:
                if spec.key in self.check_specs:
                    raise DuplicateAssetKeyError(
                        f"Asset check '{spec.key.to_user_string()}' is defined twice; give one "
                        "of them another name=…."
                    )
                if spec.asset_key not in self.specs:
                    raise UnknownDependencyError(
                        f"Asset check '{spec.key.to_user_string()}' targets asset "
                        f"'{spec.asset_key.to_user_string()}', which is not defined. Add the "
                        "asset to the same Definitions (or materialize call)."
                    )
                self.check_specs[spec.key] = spec
                self.check_producer[spec.key] = owner
                self.checks_by_asset.setdefault(spec.asset_key, []).append(spec.key)

    def _check_dependencies_known(self) -> None:
        # Assets' own dependencies are all known by now (`_add_implicit_externals`).
        for checks_def in self.checks_defs:
            for dep in checks_def.dependency_keys:
                if dep not in self.specs:
                    raise UnknownDependencyError(
                        f"Check '{checks_def.node.name}' reads asset '{dep.to_user_string()}', "
                        "which is not defined."
                    )

    def _toposort(self) -> list[AssetKey]:
        order = {key: index for index, key in enumerate(self.specs)}
        indegree = {key: len(set(parents)) for key, parents in self.parents.items()}
        ready = [(order[key], key) for key, degree in indegree.items() if degree == 0]
        heapq.heapify(ready)
        result: list[AssetKey] = []
        while ready:
            _, key = heapq.heappop(ready)
            result.append(key)
            for child in dict.fromkeys(self.children[key]):
                indegree[child] -= 1
                if indegree[child] == 0:
                    heapq.heappush(ready, (order[child], child))
        if len(result) != len(self.specs):
            remaining = [key for key in self.specs if key not in set(result)]
            raise DependencyCycleError(
                "Assets depend on each other in a cycle: "
                + " -> ".join(k.to_user_string() for k in self._find_cycle(set(remaining)))
                + ". Remove one of these dependencies."
            )
        return result

    def _find_cycle(self, candidates: set[AssetKey]) -> list[AssetKey]:
        for start in self.specs:
            if start not in candidates:
                continue
            path: list[AssetKey] = []
            on_path: set[AssetKey] = set()
            node = start
            while node not in on_path:
                path.append(node)
                on_path.add(node)
                node = next(p for p in self.parents[node] if p in candidates)
            return [*path[path.index(node) :], node][::-1]
        return []  # pragma: no cover - only called when a cycle exists

    # -- queries ----------------------------------------------------------------------------
    @property
    def materializable_keys(self) -> set[AssetKey]:
        return set(self.producer)

    @property
    def all_check_keys(self) -> set[AssetCheckKey]:
        return set(self.check_specs)

    def resource_defs(self) -> dict[str, Any]:
        """Resources bound on individual assets and checks (`@asset(resource_defs=…)`)."""
        merged: dict[str, Any] = {}
        for assets_def in self.assets_defs:
            merged.update(assets_def.resource_defs)
        for checks_def in self.checks_defs:
            merged.update(checks_def.resource_defs)
        return merged

    def group_of(self, key: AssetKey) -> str:
        return self.specs[key].effective_group

    def upstream(self, keys: Iterable[AssetKey], depth: int | None = None) -> set[AssetKey]:
        return self._walk(keys, self.parents, depth)

    def downstream(self, keys: Iterable[AssetKey], depth: int | None = None) -> set[AssetKey]:
        return self._walk(keys, self.children, depth)

    @staticmethod
    def _walk(
        keys: Iterable[AssetKey], edges: dict[AssetKey, Any], depth: int | None
    ) -> set[AssetKey]:
        seen = set(keys)
        frontier = list(seen)
        level = 0
        while frontier and (depth is None or level < depth):
            level += 1
            nxt = []
            for key in frontier:
                for other in edges.get(key, ()):
                    if other not in seen:
                        seen.add(other)
                        nxt.append(other)
            frontier = nxt
        return seen


def unknown_input_message(asset: AssetKey, input_name: str, missing: AssetKey) -> str:
    """Why an input cannot be loaded: nothing defines the asset it reads, and the ways out."""
    key = missing.to_user_string()
    return (
        f"Asset '{asset.to_user_string()}' loads input '{input_name}' from asset '{key}', which "
        f"is not defined. Add the asset that produces '{key}' to the same Definitions (or "
        f"materialize call), or declare it with dg.AssetSpec({key!r}) so the input is loaded "
        "through its I/O manager."
    )
