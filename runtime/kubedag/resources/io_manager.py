"""I/O managers: where step outputs are stored and how downstream steps load them.

Assets return values; the I/O manager bound to the output's `io_manager_key` (by default
`io_manager`) persists them and loads them back for consumers. The default for `materialize` is
`FilesystemIOManager` (pickle files under the instance's storage directory); `execute_in_process`
keeps outputs in memory. Nothing here imports pydantic: the built-in managers are plain classes,
and `ConfigurableIOManager` lives in `configurable_io_manager.py`.
"""

from __future__ import annotations

import os
import pickle
from abc import abstractmethod
from pathlib import Path
from typing import Any

from kubedag.definitions.asset_key import AssetKey
from kubedag.resources.definition import ResourceDefinition
from kubedag.resources.input_manager import InputManager


class _TestResources:
    """A context built for a test (`build_output_context`) owns the resources it initialized:
    `with build_output_context(resources=…) as context:` tears them down at the end."""

    _exit_stack: Any = None

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._exit_stack is not None:
            self._exit_stack.close()


class OutputContext(_TestResources):
    """Describes the output being stored."""

    def __init__(
        self,
        *,
        name: str,
        step_key: str,
        run_id: str,
        asset_key: AssetKey | None = None,
        partition_key: str | None = None,
        metadata: dict[str, Any] | None = None,
        op_def: Any = None,
        log: Any = None,
        resources: Any = None,
        annotation: Any = None,
        instance: Any = None,
        partition_keys: list[str] | None = None,
        partitions_def: Any = None,
        config: Any = None,
        resource_config: Any = None,
        mapping_key: str | None = None,
    ) -> None:
        self.name = name
        self.config = config  # the output's config (build_output_context(config=…) in tests)
        self.resource_config = resource_config
        self.mapping_key = mapping_key  # which value of a dynamic output
        self.version: str | None = None
        self.step_key = step_key
        self.run_id = run_id
        self.instance = instance
        self._asset_key = asset_key
        self._partition_key = partition_key
        # A run over a range of partitions stores one output for all of them.
        self._partition_keys = (
            list(partition_keys)
            if partition_keys
            else ([partition_key] if partition_key is not None else [])
        )
        self.asset_partitions_def = partitions_def
        self.definition_metadata = dict(metadata or {})
        self.op_def = op_def
        self.log = log
        self.resources = resources
        self.dagster_type = annotation
        self.added_metadata: dict[str, Any] = {}

    @property
    def metadata(self) -> dict[str, Any]:
        return self.definition_metadata

    @property
    def has_asset_key(self) -> bool:
        return self._asset_key is not None

    @property
    def asset_key(self) -> AssetKey:
        if self._asset_key is None:
            raise AttributeError(f"output '{self.name}' of step '{self.step_key}' is not an asset")
        return self._asset_key

    @property
    def has_partition_key(self) -> bool:
        return self._partition_key is not None

    @property
    def partition_key(self) -> str:
        if self._partition_key is None:
            if len(self._partition_keys) == 1:
                return self._partition_keys[0]
            raise AttributeError(
                "this output is not partitioned"
                if not self._partition_keys
                else f"this output covers {len(self._partition_keys)} partitions; use "
                "asset_partition_keys or asset_partition_key_range."
            )
        return self._partition_key

    # The reference's names for the partitions of the asset being stored.
    @property
    def has_asset_partitions(self) -> bool:
        return bool(self._partition_keys)

    @property
    def asset_partition_key(self) -> str:
        return self.partition_key

    @property
    def asset_partition_keys(self) -> list[str]:
        return list(self._partition_keys)

    @property
    def asset_partition_key_range(self) -> Any:
        return _key_range(self._partition_keys, "output")

    @property
    def asset_partitions_time_window(self) -> Any:
        return _time_window(self.asset_partitions_def, self._partition_keys, "output")

    def add_output_metadata(self, metadata: dict[str, Any]) -> None:
        self.added_metadata.update(metadata)

    def get_identifier(self) -> list[str]:
        if self._asset_key is not None:
            parts = list(self._asset_key.path)
            return [*parts, self._partition_key] if self._partition_key else parts
        if self.mapping_key is not None:
            return [self.run_id, self.step_key, self.name, self.mapping_key]
        return [self.run_id, self.step_key, self.name]

    def get_asset_identifier(self) -> list[str]:
        """The asset key's path, then the partition key if there is one."""
        return [*self.asset_key.path, *([self.partition_key] if self.has_partition_key else [])]

    def identifier_for_partition(self, partition_key: str | None) -> list[str]:
        """Where the output of one partition of this asset is stored (`get_identifier` is for
        this run's own partition)."""
        if self._asset_key is None:
            return self.get_identifier()
        parts = list(self._asset_key.path)
        return [*parts, partition_key] if partition_key else parts


class InputContext(_TestResources):
    """Describes the input being loaded, and the upstream output it comes from."""

    def __init__(
        self,
        *,
        name: str,
        step_key: str,
        upstream_output: OutputContext | None,
        asset_key: AssetKey | None = None,
        partition_key: str | None = None,
        metadata: dict[str, Any] | None = None,
        op_def: Any = None,
        log: Any = None,
        resources: Any = None,
        annotation: Any = None,
        instance: Any = None,
        asset_partition_keys: list[str] | None = None,
        config: Any = None,
        resource_config: Any = None,
    ) -> None:
        self.name = name
        self.step_key = step_key
        # None for an op input that nothing feeds, loaded by an input manager.
        self.upstream_output = upstream_output
        self.config = config
        self.resource_config = resource_config
        # The upstream partitions this input reads (through the dependency's partition mapping);
        # None when the upstream asset is not partitioned.
        self._asset_partition_keys = (
            list(asset_partition_keys) if asset_partition_keys is not None else None
        )
        if instance is None and upstream_output is not None:
            instance = upstream_output.instance
        self.instance = instance
        self._asset_key = asset_key
        self._partition_key = partition_key
        self.definition_metadata = dict(metadata or {})
        self.op_def = op_def
        self.log = log
        self.resources = resources
        self.dagster_type = annotation
        self._asset_partitions_def: Any = None  # only when there is no upstream output

    @property
    def metadata(self) -> dict[str, Any]:
        return self.definition_metadata

    @property
    def has_asset_key(self) -> bool:
        return self._asset_key is not None

    @property
    def asset_key(self) -> AssetKey:
        if self._asset_key is None:
            raise AttributeError(f"input '{self.name}' of step '{self.step_key}' is not an asset")
        return self._asset_key

    @property
    def has_partition_key(self) -> bool:
        return self._partition_key is not None

    @property
    def partition_key(self) -> str:
        if self._partition_key is None:
            raise AttributeError("this input is not partitioned")
        return self._partition_key

    # The reference's names for the upstream partitions this input loads.
    @property
    def has_asset_partitions(self) -> bool:
        return self._asset_partition_keys is not None

    @property
    def asset_partition_keys(self) -> list[str]:
        if self._asset_partition_keys is None:
            raise AttributeError(f"input '{self.name}': the upstream asset is not partitioned")
        return list(self._asset_partition_keys)

    @property
    def asset_partition_key(self) -> str:
        keys = self.asset_partition_keys
        if len(keys) != 1:
            raise AttributeError(
                f"input '{self.name}' reads {len(keys)} upstream partitions; use "
                "asset_partition_keys or asset_partition_key_range."
            )
        return keys[0]

    @property
    def asset_partition_key_range(self) -> Any:
        return _key_range(self.asset_partition_keys, f"input '{self.name}'")

    @property
    def asset_partitions_def(self) -> Any:
        if self.upstream_output is None:
            return self._asset_partitions_def
        return self.upstream_output.asset_partitions_def

    @property
    def asset_partitions_time_window(self) -> Any:
        return _time_window(
            self.asset_partitions_def, self.asset_partition_keys, f"input '{self.name}'"
        )

    def get_asset_identifier(self) -> list[str]:
        """The upstream asset key's path, then the partition key if there is one."""
        keys = self._asset_partition_keys or []
        return [*self.asset_key.path, *(keys[:1] if len(keys) == 1 else [])]


def upstream_of(context: InputContext) -> OutputContext:
    """The output an input is loaded from; for an input built with no upstream output (in a
    test, `build_input_context(asset_key=…)`), one that stores the input's own asset."""
    if context.upstream_output is not None:
        return context.upstream_output
    return OutputContext(
        name=context.name,
        step_key=context.step_key,
        run_id="",
        asset_key=context._asset_key,
        partition_keys=context._asset_partition_keys,
        partitions_def=context._asset_partitions_def,
        resources=context.resources,
        instance=context.instance,
    )


def _key_range(keys: list[str], owner: str) -> Any:
    from kubedag.definitions.partitions import PartitionKeyRange

    if not keys:
        raise AttributeError(f"{owner} is not partitioned")
    return PartitionKeyRange(keys[0], keys[-1])


def _time_window(partitions_def: Any, keys: list[str], owner: str) -> Any:
    """The time spanned by `keys` of a time-window partitions definition."""
    window_of = getattr(partitions_def, "time_window_for_partition_key", None)
    if window_of is None or not keys:
        raise AttributeError(f"{owner}: a time window needs time-window partitions.")
    first, last = window_of(keys[0]), window_of(keys[-1])
    return type(first)(first.start, last.end)


def partition_values(context: InputContext, load_one: Any) -> Any:
    """What an input of a partitioned upstream asset loads: the value of its one partition, or
    `{partition key: value}` when the mapping reads several (as the reference's file I/O
    managers do)."""
    keys = context.asset_partition_keys
    if len(keys) == 1:
        return load_one(keys[0])
    return {key: load_one(key) for key in keys}


class IOManager(InputManager):
    """Stores outputs and loads inputs (every I/O manager is an input manager too)."""

    @abstractmethod
    def handle_output(self, context: OutputContext, obj: Any) -> None: ...

    @abstractmethod
    def load_input(self, context: InputContext) -> Any: ...


class MissingOutputError(LookupError):
    """Raised by the built-in I/O managers when asked for something never stored."""


class InMemoryIOManager(IOManager):
    """Keeps outputs in a dict for the life of the run (or of this object)."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, ...], Any] = {}

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        self.values[tuple(context.get_identifier())] = obj

    def load_input(self, context: InputContext) -> Any:
        upstream = upstream_of(context)
        if context.has_asset_partitions and upstream.has_asset_key:
            return partition_values(
                context, lambda key: self._load(tuple(upstream.identifier_for_partition(key)))
            )
        return self._load(tuple(upstream.get_identifier()))

    def _load(self, key: tuple[str, ...]) -> Any:
        try:
            return self.values[key]
        except KeyError:
            raise MissingOutputError(
                f"No value stored for {'/'.join(key)} in memory. In-memory outputs live only "
                "for one run: include the upstream asset in the run, or use a persistent I/O "
                "manager."
            ) from None


class FilesystemIOManager(IOManager):
    """Pickles each output to a file: `<base_dir>/<asset key path>[/<partition>]`.

    Writes go to a temporary file that is renamed into place, so a crash never leaves a
    half-written value behind. With no `base_dir`, the instance's storage directory is used.
    """

    def __init__(self, base_dir: str | None = None) -> None:
        self.base_dir = base_dir

    def _path(self, identifier: list[str], context: OutputContext | InputContext) -> Path:
        base = self.base_dir
        if base is None and context.instance is not None:
            base = context.instance.storage_directory()
        if base is None:
            raise ValueError("FilesystemIOManager needs base_dir when no instance is available.")
        return Path(base, *identifier)

    def __repr__(self) -> str:
        return f"FilesystemIOManager(base_dir={self.base_dir!r})"

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        keys = context.asset_partition_keys if context.has_asset_key else []
        if len(keys) > 1:
            self._handle_range(context, keys, obj)
            return
        path = self._path(
            context.identifier_for_partition(keys[0]) if keys else context.get_identifier(),
            context,
        )
        self._write(path, obj)
        context.add_output_metadata({"path": str(path)})

    def _handle_range(self, context: OutputContext, keys: list[str], obj: Any) -> None:
        """A run over several partitions stores one file per partition: the asset returns
        `{partition key: value}` for exactly the run's keys."""
        if not isinstance(obj, dict) or set(obj) != set(keys):
            raise TypeError(
                f"asset '{context.asset_key.to_user_string()}' ran for {len(keys)} partitions "
                f"({keys[0]}...{keys[-1]}); FilesystemIOManager stores one file per partition, "
                "so return a dict {partition key: value} with exactly those keys (or return "
                "None and write the data yourself)."
            )
        for key in keys:
            self._write(self._path(context.identifier_for_partition(key), context), obj[key])
        context.add_output_metadata({"partitions": len(keys)})

    def _write(self, path: Path, obj: Any) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        import tempfile  # first use only; keeps the import of this module light

        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "wb") as handle:
                pickle.dump(obj, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def load_input(self, context: InputContext) -> Any:
        upstream = upstream_of(context)
        if context.has_asset_partitions and upstream.has_asset_key:
            return partition_values(
                context,
                lambda key: self._read(
                    context, self._path(upstream.identifier_for_partition(key), context)
                ),
            )
        return self._read(context, self._path(upstream.get_identifier(), context))

    def _read(self, context: InputContext, path: Path) -> Any:
        upstream = upstream_of(context)
        try:
            with path.open("rb") as handle:
                return pickle.load(handle)
        except FileNotFoundError:
            what = (
                f"asset '{upstream.asset_key.to_user_string()}'"
                if upstream.has_asset_key
                else f"output '{upstream.name}' of step '{upstream.step_key}'"
            )
            raise MissingOutputError(
                f"No stored value for {what} at {path}. Materialize it first, or include it in "
                "this run's selection."
            ) from None


def _fs_io_manager(context: Any) -> FilesystemIOManager:
    return FilesystemIOManager((context.resource_config or {}).get("base_dir"))


fs_io_manager = ResourceDefinition(_fs_io_manager, description="Pickles outputs to files.")
mem_io_manager = ResourceDefinition(
    lambda _context: InMemoryIOManager(), description="Keeps outputs in memory for one run."
)
