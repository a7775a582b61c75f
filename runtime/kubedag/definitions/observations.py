"""Observations: recording what an asset kubedag does not materialize looks like right now.

A *source asset* (`SourceAsset`) is data made elsewhere that assets read. It can be observed:
`@observable_source_asset` wraps a function that looks at the data (a file's modification time,
a table's row count) and returns a `DataVersion`, or an `ObserveResult` with a data version and
metadata. Running it records an `AssetObservation` event (ASSET_OBSERVATION in the event log),
not a materialization: nothing was produced, something was seen. `@multi_observable_source_asset`
observes several assets in one function, yielding one `ObserveResult` per asset. Any step can
also record observations of its own with `context.log_event(dg.AssetObservation(...))`.

A data version is a string that changes when the data changes. It is recorded as the
`dagster/data_version` tag of the observation (or of a materialization given
`data_version=`), as the reference does, so later readers can tell whether the data changed.

An observable source asset becomes, for execution, an assets definition whose step observes
instead of materializing (`is_observation`); as an input of other assets it is still loaded
through its I/O manager, never from the observing step.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kubedag.definitions.asset_attributes import IO_MANAGER_KEY
from kubedag.definitions.asset_key import AssetKey, to_asset_key
from kubedag.definitions.assets import AssetsDefinition, AssetSpec
from kubedag.definitions.metadata import normalized as normalize_metadata
from kubedag.definitions.op import OpDefinition
from kubedag.definitions.results import AssetCheckResult
from kubedag.definitions.signature import OutputDef, read_signature
from kubedag.errors import InvalidDefinitionError

DATA_VERSION_TAG = "dagster/data_version"
DATA_VERSION_IS_USER_PROVIDED_TAG = "dagster/data_version_is_user_provided"
CODE_VERSION_TAG = "dagster/code_version"
INPUT_DATA_VERSION_TAG_PREFIX = "dagster/input_data_version/"
INPUT_EVENT_POINTER_TAG_PREFIX = "dagster/input_event_pointer/"


# -- data versions ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DataVersion:
    """A version of an asset's data: any string that changes when the data changes."""

    value: str

    def __post_init__(self) -> None:
        if not isinstance(self.value, str):
            raise TypeError(f"DataVersion(value=…) must be a str; got {self.value!r}.")


@dataclass(frozen=True, slots=True, init=False)
class DataVersionsByPartition:
    """The data version of each partition of an asset, from one observation."""

    data_versions_by_partition: dict[str, DataVersion]

    def __init__(self, data_versions_by_partition: Mapping[str, str | DataVersion]) -> None:
        versions = {
            key: value if isinstance(value, DataVersion) else DataVersion(value)
            for key, value in data_versions_by_partition.items()
        }
        object.__setattr__(self, "data_versions_by_partition", versions)


@dataclass(frozen=True, slots=True)
class DataProvenance:
    """Where a materialization's data came from: the code version, and the data version (and
    event storage id) of each input, as its tags record them."""

    code_version: str
    input_data_versions: Mapping[AssetKey, DataVersion]
    input_storage_ids: Mapping[AssetKey, int | None]
    is_user_provided: bool

    @staticmethod
    def from_tags(tags: Mapping[str, str]) -> DataProvenance | None:
        """The provenance recorded in an event's tags, or None when there is none."""
        code_version = tags.get(CODE_VERSION_TAG)
        if code_version is None:
            return None
        versions: dict[AssetKey, DataVersion] = {}
        storage_ids: dict[AssetKey, int | None] = {}
        for tag, value in tags.items():
            if tag.startswith(INPUT_DATA_VERSION_TAG_PREFIX):
                key = AssetKey.from_user_string(tag[len(INPUT_DATA_VERSION_TAG_PREFIX) :])
                versions[key] = DataVersion(value)
                pointer = tags.get(INPUT_EVENT_POINTER_TAG_PREFIX + key.to_user_string())
                storage_ids[key] = int(pointer) if pointer and pointer.isdigit() else None
        user_provided = tags.get(DATA_VERSION_IS_USER_PROVIDED_TAG) == "true"
        return DataProvenance(code_version, versions, storage_ids, user_provided)

    @property
    def input_logical_versions(self) -> Mapping[AssetKey, DataVersion]:
        return self.input_data_versions

    def has_input_asset(self, key: AssetKey) -> bool:
        return key in self.input_data_versions


def data_version_tags(data_version: Any, *, user_provided: bool = False) -> dict[str, str]:
    """The tags recording `data_version` (a DataVersion or a str) on an event."""
    if data_version is None:
        return {}
    value = data_version.value if isinstance(data_version, DataVersion) else str(data_version)
    tags = {DATA_VERSION_TAG: value}
    if user_provided:
        tags[DATA_VERSION_IS_USER_PROVIDED_TAG] = "true"
    return tags


def provided_version_tags(
    step: Any, run_id: str, data_version: Any, tags: Mapping[str, str] | None
) -> dict[str, str] | None:
    """The tags of a materialization given `data_version=` (and `tags=`): as the reference
    records a user-provided version, with the code version (the asset's, else the run id)."""
    if data_version is None:
        return dict(tags) if tags else None
    code_version = getattr(step.op, "code_version", None) or run_id
    return {
        CODE_VERSION_TAG: code_version,
        **data_version_tags(data_version, user_provided=True),
        **(tags or {}),
    }


# -- events and results -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class AssetObservation:
    """The recorded fact that an asset (or one of its partitions) was seen, with what was seen
    as metadata; its data version, if any, is the `dagster/data_version` tag."""

    asset_key: AssetKey
    description: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    partition: str | None = None
    tags: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.asset_key, AssetKey):
            object.__setattr__(self, "asset_key", to_asset_key(self.asset_key))
        object.__setattr__(self, "metadata", normalize_metadata(self.metadata))
        object.__setattr__(self, "tags", dict(self.tags or {}))

    @property
    def label(self) -> str:
        return self.asset_key.to_user_string()

    @property
    def data_version(self) -> str | None:
        return self.tags.get(DATA_VERSION_TAG)

    def with_metadata(self, metadata: Mapping[str, Any] | None) -> AssetObservation:
        return dataclasses.replace(self, metadata=dict(metadata or {}))


class ObserveResult:
    """What an observation function returns: the asset's data version and metadata (and the
    results of its checks)."""

    __slots__ = ("asset_key", "check_results", "data_version", "metadata", "tags")

    def __init__(
        self,
        *,
        asset_key: Any = None,
        metadata: Mapping[str, Any] | None = None,
        check_results: Sequence[AssetCheckResult] | None = None,
        data_version: DataVersion | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        self.asset_key = to_asset_key(asset_key) if asset_key is not None else None
        self.metadata = dict(metadata or {})
        self.check_results = list(check_results or [])
        self.data_version = data_version
        self.tags = dict(tags or {})

    def check_result_named(self, check_name: str) -> AssetCheckResult:
        for result in self.check_results:
            if result.check_name == check_name:
                return result
        raise KeyError(f"ObserveResult has no check result named {check_name!r}.")

    def __repr__(self) -> str:
        return f"ObserveResult(asset_key={self.asset_key!r}, data_version={self.data_version!r})"


# -- running an observation ---------------------------------------------------------------------
def _observations(item: Any, default_key: AssetKey | None, multi: bool) -> Iterator[Any]:
    """What one returned or yielded item of an observation function records."""
    if item is None:
        return
    if isinstance(item, AssetObservation | AssetCheckResult):
        yield item
    elif isinstance(item, DataVersion):
        yield AssetObservation(_key(default_key), tags=data_version_tags(item))
    elif isinstance(item, DataVersionsByPartition):
        for partition, version in item.data_versions_by_partition.items():
            yield AssetObservation(
                _key(default_key), partition=partition, tags=data_version_tags(version)
            )
    elif isinstance(item, ObserveResult):
        key = item.asset_key or _key(default_key)
        tags = {**item.tags, **data_version_tags(item.data_version, user_provided=multi)}
        yield AssetObservation(key, metadata=item.metadata, tags=tags)
        for check in item.check_results:
            yield check if check.asset_key is not None else _with_asset(check, key)
    else:
        raise TypeError(
            f"An observation function returned {type(item).__name__}; return a dg.DataVersion, "
            "a dg.ObserveResult or a dg.DataVersionsByPartition (or yield dg.ObserveResult "
            "for each asset of a multi_observable_source_asset)."
        )


def _key(key: AssetKey | None) -> AssetKey:
    if key is None:
        raise InvalidDefinitionError(
            "This observation observes several assets; give each ObserveResult its asset_key=…."
        )
    return key


def _with_asset(check: AssetCheckResult, key: AssetKey) -> AssetCheckResult:
    return AssetCheckResult(
        passed=check.passed,
        check_name=check.check_name,
        asset_key=key,
        metadata=check.metadata,
        severity=check.severity,
        description=check.description,
    )


def _observing_fn(fn: Callable[..., Any], default_key: AssetKey | None, multi: bool) -> Any:
    """A generator compute function: calls `fn` and yields the observations it makes."""

    @functools.wraps(fn)
    def observe(*args: Any, **kwargs: Any) -> Iterator[Any]:
        returned = fn(*args, **kwargs)
        items: Iterable[Any] = (
            returned if isinstance(returned, Iterator) else ([] if returned is None else [returned])
        )
        for item in items:
            yield from _observations(item, default_key, multi)

    return observe


def _observation_assets_def(
    fn: Callable[..., Any],
    *,
    name: str,
    specs: Sequence[AssetSpec],
    default_key: AssetKey | None,
    multi: bool,
    required_resource_keys: Iterable[str] | None,
    resource_defs: Mapping[str, Any] | None,
    partitions_def: Any,
    op_tags: Mapping[str, str] | None,
    description: str | None,
    can_subset: bool = False,
    check_specs: Sequence[Any] = (),
    io_manager_key: str | None = None,
) -> AssetsDefinition:
    owner = f"observable source asset '{name}'"
    signature = read_signature(fn, owner=owner)
    if signature.inputs:
        raise InvalidDefinitionError(
            f"{owner}: an observation function takes no inputs (only context, config and "
            f"resources); it has {', '.join(signature.input_names)}."
        )
    outputs = tuple(
        OutputDef(
            name=spec.key.to_python_identifier(),
            is_nothing=True,
            is_required=False,
            io_manager_key=io_manager_key or str(spec.metadata.get(IO_MANAGER_KEY, "io_manager")),
        )
        for spec in specs
    )
    op_def = OpDefinition(
        _observing_fn(fn, default_key, multi),
        name=name,
        output_defs=outputs,
        required_resource_keys=set(required_resource_keys or ()),
        tags=op_tags,
        description=description,
        signature=dataclasses.replace(signature, is_generator=True),
    )
    assets_def = AssetsDefinition(
        node=op_def,
        keys_by_output_name={o.name: s.key for o, s in zip(outputs, specs, strict=True)},
        keys_by_input_name={},
        specs=specs,
        check_specs=check_specs,
        partitions_def=partitions_def,
        can_subset=can_subset,
        resource_defs=resource_defs,
        io_manager_keys_by_output={o.name: o.io_manager_key for o in outputs},
    )
    assets_def.is_observation = True
    return assets_def


# -- source assets ------------------------------------------------------------------------------
class SourceAsset:
    """An asset kubedag reads but does not materialize; observable when it has an
    `observe_fn`."""

    def __init__(
        self,
        key: Any,
        metadata: Mapping[str, Any] | None = None,
        io_manager_key: str | None = None,
        io_manager_def: Any = None,
        description: str | None = None,
        partitions_def: Any = None,
        group_name: str | None = None,
        resource_defs: Mapping[str, Any] | None = None,
        observe_fn: Callable[..., Any] | None = None,
        op_tags: Mapping[str, Any] | None = None,
        *,
        auto_observe_interval_minutes: float | None = None,
        automation_condition: Any = None,
        tags: Mapping[str, str] | None = None,
        required_resource_keys: Iterable[str] | None = None,
    ) -> None:
        self.key = to_asset_key(key)
        self.metadata = normalize_metadata(metadata)
        self.raw_metadata = dict(metadata or {})
        self.resource_defs = dict(resource_defs or {})
        if io_manager_def is not None:
            io_manager_key = io_manager_key or f"{self.key.to_python_identifier()}__io_manager"
            self.resource_defs[io_manager_key] = io_manager_def
        self.io_manager_key = io_manager_key
        self.description = description
        self.partitions_def = partitions_def
        self.group_name = group_name
        self.observe_fn = observe_fn
        self.op_tags = dict(op_tags or {})
        self.auto_observe_interval_minutes = auto_observe_interval_minutes
        self.automation_condition = automation_condition
        self.tags = dict(tags or {})
        self.required_resource_keys = frozenset(required_resource_keys or ())
        self._assets_def: AssetsDefinition | None = None

    @property
    def is_observable(self) -> bool:
        return self.observe_fn is not None

    @property
    def is_executable(self) -> bool:
        return self.is_observable

    def get_io_manager_key(self) -> str:
        return self.io_manager_key or "io_manager"

    def to_spec(self) -> AssetSpec:
        """The external asset this source asset declares."""
        metadata = dict(self.raw_metadata)
        if self.io_manager_key:
            metadata[IO_MANAGER_KEY] = self.io_manager_key
        return AssetSpec(
            self.key,
            description=self.description,
            metadata=metadata,
            group_name=self.group_name,
            automation_condition=self.automation_condition,
            tags=self.tags,
            partitions_def=self.partitions_def,
        )

    @property
    def assets_def(self) -> AssetsDefinition:
        """The observing assets definition that runs `observe_fn`."""
        if self.observe_fn is None:
            raise InvalidDefinitionError(
                f"Source asset '{self.key.to_user_string()}' has no observe_fn; declare it with "
                "@dg.observable_source_asset to observe it."
            )
        if self._assets_def is None:
            self._assets_def = _observation_assets_def(
                self.observe_fn,
                name=self.key.to_python_identifier(),
                specs=[self.to_spec()],
                default_key=self.key,
                multi=False,
                required_resource_keys=self.required_resource_keys,
                resource_defs=self.resource_defs,
                partitions_def=self.partitions_def,
                op_tags=self.op_tags,
                description=self.description,
                io_manager_key=self.io_manager_key,
            )
        return self._assets_def

    @property
    def op(self) -> OpDefinition:
        return self.assets_def.op

    @property
    def node_def(self) -> OpDefinition:
        return self.op

    def with_resources(self, resource_defs: Mapping[str, Any]) -> SourceAsset:
        return self.with_attributes(resource_defs={**resource_defs, **self.resource_defs})

    def with_attributes(self, **changes: Any) -> SourceAsset:
        current: dict[str, Any] = {
            "key": self.key,
            "metadata": self.raw_metadata,
            "io_manager_key": self.io_manager_key,
            "description": self.description,
            "partitions_def": self.partitions_def,
            "group_name": self.group_name,
            "resource_defs": self.resource_defs,
            "observe_fn": self.observe_fn,
            "op_tags": self.op_tags,
            "auto_observe_interval_minutes": self.auto_observe_interval_minutes,
            "automation_condition": self.automation_condition,
            "tags": self.tags,
            "required_resource_keys": self.required_resource_keys,
        }
        current.update(changes)
        return SourceAsset(**current)

    def __repr__(self) -> str:
        return f"<SourceAsset {self.key.to_user_string()}>"


def as_asset_like(source: SourceAsset) -> AssetsDefinition | AssetSpec:
    """What the asset graph keeps for a source asset: its observing definition when it is
    observable, else the external asset it declares."""
    return source.assets_def if source.is_observable else source.to_spec()


def observable_source_asset(
    observe_fn: Callable[..., Any] | None = None,
    *,
    key: Any = None,
    name: str | None = None,
    key_prefix: str | Sequence[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    io_manager_key: str | None = None,
    io_manager_def: Any = None,
    description: str | None = None,
    group_name: str | None = None,
    required_resource_keys: set[str] | None = None,
    resource_defs: Mapping[str, Any] | None = None,
    partitions_def: Any = None,
    automation_condition: Any = None,
    op_tags: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
    auto_observe_interval_minutes: float | None = None,
) -> Any:
    """Declare a source asset observed by the decorated function."""

    def decorate(fn: Callable[..., Any]) -> SourceAsset:
        if key is not None and (name or key_prefix):
            raise InvalidDefinitionError(
                f"observable_source_asset '{fn.__name__}': give either key=… or "
                "name=/key_prefix=…, not both."
            )
        asset_key = to_asset_key(key) if key is not None else AssetKey([name or fn.__name__])
        if key_prefix:
            asset_key = asset_key.with_prefix(key_prefix)
        return SourceAsset(
            asset_key,
            metadata=metadata,
            io_manager_key=io_manager_key,
            io_manager_def=io_manager_def,
            description=description or (fn.__doc__ or "").strip() or None,
            partitions_def=partitions_def,
            group_name=group_name,
            resource_defs=resource_defs,
            observe_fn=fn,
            op_tags=op_tags,
            auto_observe_interval_minutes=auto_observe_interval_minutes,
            automation_condition=automation_condition,
            tags=tags,
            required_resource_keys=required_resource_keys,
        )

    return decorate(observe_fn) if observe_fn is not None else decorate


def multi_observable_source_asset(
    *,
    specs: Sequence[AssetSpec],
    name: str | None = None,
    description: str | None = None,
    partitions_def: Any = None,
    can_subset: bool = False,
    required_resource_keys: set[str] | None = None,
    resource_defs: Mapping[str, Any] | None = None,
    group_name: str | None = None,
    check_specs: Sequence[Any] | None = None,
) -> Callable[[Callable[..., Any]], AssetsDefinition]:
    """Declare several source assets observed by one function, which yields an
    `ObserveResult(asset_key=…)` per asset."""

    def decorate(fn: Callable[..., Any]) -> AssetsDefinition:
        grouped = [
            s.replace_attributes(group_name=s.group_name or group_name) if group_name else s
            for s in specs
        ]
        return _observation_assets_def(
            fn,
            name=name or fn.__name__,
            specs=grouped,
            default_key=grouped[0].key if len(grouped) == 1 else None,
            multi=True,
            required_resource_keys=required_resource_keys,
            resource_defs=resource_defs,
            partitions_def=partitions_def,
            op_tags=None,
            description=description,
            can_subset=can_subset,
            check_specs=tuple(check_specs or ()),
        )

    return decorate
