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
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from kubedag.definitions.asset_key import AssetKey
from kubedag.resources.definition import ResourceDefinition


class OutputContext:
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
    ) -> None:
        self.name = name
        self.step_key = step_key
        self.run_id = run_id
        self.instance = instance
        self._asset_key = asset_key
        self._partition_key = partition_key
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
            raise AttributeError("this output is not partitioned")
        return self._partition_key

    def add_output_metadata(self, metadata: dict[str, Any]) -> None:
        self.added_metadata.update(metadata)

    def get_identifier(self) -> list[str]:
        if self._asset_key is not None:
            parts = list(self._asset_key.path)
            return [*parts, self._partition_key] if self._partition_key else parts
        return [self.run_id, self.step_key, self.name]


class InputContext:
    """Describes the input being loaded, and the upstream output it comes from."""

    def __init__(
        self,
        *,
        name: str,
        step_key: str,
        upstream_output: OutputContext,
        asset_key: AssetKey | None = None,
        partition_key: str | None = None,
        metadata: dict[str, Any] | None = None,
        op_def: Any = None,
        log: Any = None,
        resources: Any = None,
        annotation: Any = None,
        instance: Any = None,
    ) -> None:
        self.name = name
        self.step_key = step_key
        self.upstream_output = upstream_output
        self.instance = instance if instance is not None else upstream_output.instance
        self._asset_key = asset_key
        self._partition_key = partition_key
        self.definition_metadata = dict(metadata or {})
        self.op_def = op_def
        self.log = log
        self.resources = resources
        self.dagster_type = annotation

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


class IOManager(ABC):
    """Stores outputs and loads inputs."""

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
        key = tuple(context.upstream_output.get_identifier())
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
        path = self._path(context.get_identifier(), context)
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
        context.add_output_metadata({"path": str(path)})

    def load_input(self, context: InputContext) -> Any:
        upstream = context.upstream_output
        path = self._path(upstream.get_identifier(), context)
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
