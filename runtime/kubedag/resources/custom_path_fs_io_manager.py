"""`custom_path_fs_io_manager`: pickle files at a path each output names in its metadata.

An output declares `Out(metadata={"path": "relative/file"})` (or `@asset(metadata=…)`); the
value is pickled to `<base_dir>/relative/file`, and a downstream input reads the file its
upstream output names. `base_dir` is required config.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

from kubedag.resources.io_manager import InputContext, IOManager, OutputContext, upstream_of
from kubedag.resources.io_manager_definition import IOManagerDefinition


class CustomPathPickledObjectFilesystemIOManager(IOManager):
    """Pickles each output to `<base_dir>/<its "path" metadata>`."""

    def __init__(self, base_dir: str) -> None:
        self.base_dir = base_dir

    def _path(self, metadata: dict[str, Any], owner: str) -> Path:
        path = metadata.get("path")
        path = getattr(path, "value", path)  # a MetadataValue holding the text
        if not isinstance(path, str | os.PathLike):
            raise ValueError(
                f"custom_path_fs_io_manager: {owner} has no 'path' in its metadata; declare "
                "one, e.g. dg.Out(metadata={'path': 'dir/file'})."
            )
        return Path(self.base_dir, path)

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        path = self._path(context.definition_metadata, f"output '{context.name}'")
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            pickle.dump(obj, handle, protocol=pickle.HIGHEST_PROTOCOL)
        context.add_output_metadata({"path": str(path.resolve())})

    def load_input(self, context: InputContext) -> Any:
        upstream = upstream_of(context)
        path = self._path(upstream.definition_metadata, f"upstream output '{upstream.name}'")
        with path.open("rb") as handle:
            return pickle.load(handle)


def _custom_path_fs_io_manager(init_context: Any) -> CustomPathPickledObjectFilesystemIOManager:
    config = init_context.resource_config or {}
    if "base_dir" not in config:
        raise ValueError(
            "custom_path_fs_io_manager needs config base_dir: "
            "custom_path_fs_io_manager.configured({'base_dir': '/data'})."
        )
    return CustomPathPickledObjectFilesystemIOManager(str(config["base_dir"]))


custom_path_fs_io_manager = IOManagerDefinition(
    _custom_path_fs_io_manager,
    config_schema={"base_dir": str},
    description="Pickles outputs to the path named by each output's 'path' metadata, under "
    "config base_dir.",
)
