"""`UPathIOManager`: an I/O manager base class that stores each output at a path.

Subclass it and say how a value is written to and read from one path (`dump_to_path`,
`load_from_path`); the base class decides the paths: `<base_path>/<asset key path>` for an
asset, `<base_path>/<run id>/<step key>/<output name>` for an op output, plus `extension`.
A partitioned asset stores one path per partition (`<asset path>/<partition key>`; a
multi-dimensional key `a|b` becomes `<asset path>/a/b`), and an input that reads several
upstream partitions gets `{partition key: value}`.

Paths are universal-pathlib `UPath`s, so `base_path` may be local (`UPath("/data")`, or a
`pathlib.Path`) or in an object store (`UPath("s3://bucket/prefix")`). `s3://` is served by
s3fs when it is installed, and otherwise by kubedag's boto3-backed filesystem
(`s3_filesystem.py`). universal-pathlib is imported when this module is, never by
`import kubedag`.
"""

from __future__ import annotations

from abc import abstractmethod
from pathlib import PurePath
from typing import Any

from upath import UPath

from kubedag.resources.io_manager import InputContext, IOManager, OutputContext, upstream_of
from kubedag.resources.s3_filesystem import register_if_needed

register_if_needed()


class UPathIOManager(IOManager):
    """Stores outputs at paths under `base_path`; subclasses write and read one path."""

    extension: str | None = None  # with the dot: ".pkl"

    def __init__(self, base_path: Any = None) -> None:
        self._base_path = base_path

    @property
    def base_path(self) -> Any:
        return self._base_path

    # -- what subclasses implement ----------------------------------------------------------
    @abstractmethod
    def dump_to_path(self, context: OutputContext, obj: Any, path: Any) -> None:
        """Write `obj` to `path`."""

    @abstractmethod
    def load_from_path(self, context: InputContext, path: Any) -> Any:
        """Read the value stored at `path`."""

    def get_metadata(self, context: OutputContext, obj: Any) -> dict[str, Any]:
        """Metadata to record with the output, besides its path (override to add some)."""
        return {}

    # -- path operations (override for a storage that needs other calls) ---------------------
    def path_exists(self, path: Any) -> bool:
        return bool(path.exists())

    def make_directory(self, path: Any) -> None:
        path.mkdir(parents=True, exist_ok=True)

    def unlink(self, path: Any) -> None:
        path.unlink()

    # -- paths -------------------------------------------------------------------------------
    def _base(self, context: OutputContext | InputContext) -> Any:
        if self._base_path is not None:
            return (
                self._base_path if isinstance(self._base_path, PurePath) else UPath(self._base_path)
            )
        instance = context.instance
        if instance is None:
            raise ValueError(
                f"{type(self).__name__} needs base_path when no instance is at hand "
                "(outside a run, pass base_path=UPath(…))."
            )
        return UPath(instance.storage_directory())

    def get_asset_relative_path(self, context: OutputContext | InputContext) -> Any:
        return UPath(*context.asset_key.path)

    def get_op_output_relative_path(self, context: OutputContext | InputContext) -> Any:
        output = context if isinstance(context, OutputContext) else upstream_of(context)
        return UPath(*output.get_identifier())

    def _with_extension(self, path: Any) -> Any:
        return path.with_name(path.name + self.extension) if self.extension else path

    def _path(self, context: OutputContext | InputContext) -> Any:
        """The path of the whole output (of one partition's directory, when partitioned)."""
        if context.has_asset_key:
            relative = self.get_asset_relative_path(context)
        else:
            relative = self.get_op_output_relative_path(context)
        return self._base(context) / relative

    def get_path_for_partition(
        self, context: OutputContext | InputContext, path: Any, partition: str
    ) -> Any:
        """Where one partition of the asset at `path` is stored, before the extension is added;
        `partition` is the key with the dimensions of a multi-partition key as directories."""
        return path / partition

    def _partition_paths(self, context: OutputContext | InputContext) -> dict[str, Any]:
        path = self._path(context)
        multi = _is_multi(context.asset_partitions_def)
        return {
            key: self._with_extension(
                self.get_path_for_partition(context, path, _as_path_part(key, multi))
            )
            for key in context.asset_partition_keys
        }

    # -- the IOManager interface -------------------------------------------------------------
    def handle_output(self, context: OutputContext, obj: Any) -> None:
        if context.has_asset_key and context.has_asset_partitions:
            paths = self._partition_paths(context)
            if len(paths) != 1:
                raise ValueError(
                    f"{type(self).__name__} stores one partition per output; this run of "
                    f"'{context.asset_key.to_user_string()}' covers {len(paths)}. Run one "
                    "partition per run, or write the partitions yourself."
                )
            (path,) = paths.values()
        else:
            path = self._with_extension(self._path(context))
        self.make_directory(path.parent)
        self.dump_to_path(context, obj, path)
        context.add_output_metadata({"path": str(path), **self.get_metadata(context, obj)})

    def load_input(self, context: InputContext) -> Any:
        if context.has_asset_key and context.has_asset_partitions:
            paths = self._partition_paths(context)
            if not paths:
                return None
            allow_missing = bool(context.definition_metadata.get("allow_missing_partitions"))
            values: dict[str, Any] = {}
            for key, path in paths.items():
                if allow_missing and not self.path_exists(path):
                    continue
                values[key] = self._load(context, path)
            if len(paths) == 1:
                return next(iter(values.values()), None)
            return values
        return self._load(context, self._with_extension(self._path(context)))

    def _load(self, context: InputContext, path: Any) -> Any:
        if not self.path_exists(path):
            raise FileNotFoundError(
                f"{type(self).__name__}: nothing is stored at {path}. Materialize the upstream "
                "asset (or run the upstream op) first."
            )
        return self.load_from_path(context, path)


def _is_multi(partitions_def: Any) -> bool:
    from kubedag.definitions.partitions import MultiPartitionsDefinition

    return isinstance(partitions_def, MultiPartitionsDefinition)


def _as_path_part(key: str, multi: bool) -> str:
    """`2024-01-01|eu` -> `2024-01-01/eu` (dimensions in name order, as the key spells them)."""
    by_dimension = getattr(key, "keys_by_dimension", None)
    if by_dimension:
        return "/".join(by_dimension[name] for name in sorted(by_dimension))
    return key.replace("|", "/") if multi else key
