"""File managers: write and read whole files through a resource, by handle.

Code that writes a file and hands it downstream gets a `FileHandle` back from the file manager
(`write_data(b"…")`, `write(file_obj)`), passes the handle on as an ordinary output, and reads
it elsewhere (`read_data(handle)`, `read(handle)`). The handle says where the file is; the
manager knows how to reach it, so the same ops work against a local directory in development
and an object store elsewhere. `copy_handle_to_local_temp` makes a local copy for a library
that needs a real path; `delete_local_temp` removes those copies (the resource also does when
the run's resources are torn down).

`local_file_manager` stores files under its `base_dir` config, by default
`<instance storage directory>/file_manager`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from abc import ABC, abstractmethod
from collections.abc import Generator
from typing import IO, Any

from kubedag.config.schema import Field
from kubedag.resources.definition import ResourceDefinition


class FileHandle(ABC):
    """Where a file written by a file manager is: subclasses per kind of storage."""

    @property
    @abstractmethod
    def path_desc(self) -> str:
        """The file's location, for display."""


class LocalFileHandle(FileHandle):
    """A file on the local filesystem."""

    def __init__(self, path: str) -> None:
        self._path = str(path)

    @property
    def path(self) -> str:
        return self._path

    @property
    def path_desc(self) -> str:
        return self._path

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LocalFileHandle) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self._path)

    def __repr__(self) -> str:
        return f"LocalFileHandle({self._path!r})"


class FileManager(ABC):
    """Reads and writes files by handle (the internals reference's file manager interface)."""

    @abstractmethod
    def copy_handle_to_local_temp(self, file_handle: FileHandle) -> str: ...

    @abstractmethod
    def delete_local_temp(self) -> None: ...

    @abstractmethod
    def read(self, file_handle: FileHandle, mode: str = "rb") -> IO[Any]: ...

    @abstractmethod
    def read_data(self, file_handle: FileHandle) -> bytes: ...

    @abstractmethod
    def write(self, file_obj: IO[Any], mode: str = "wb", ext: str | None = None) -> FileHandle: ...

    @abstractmethod
    def write_data(self, data: bytes, ext: str | None = None) -> FileHandle: ...


class LocalFileManager(FileManager):
    """Files under `base_dir`, each named by a fresh UUID (plus the extension asked for)."""

    def __init__(self, base_dir: str) -> None:
        self.base_dir = str(base_dir)
        self._temp_paths: list[str] = []

    def _new_path(self, ext: str | None) -> str:
        os.makedirs(self.base_dir, exist_ok=True)
        suffix = ("" if ext.startswith(".") else ".") + ext if ext else ""
        return os.path.join(self.base_dir, f"{uuid.uuid4()}{suffix}")

    @staticmethod
    def _local(file_handle: FileHandle) -> LocalFileHandle:
        if not isinstance(file_handle, LocalFileHandle):
            raise TypeError(
                f"the local file manager reads LocalFileHandles, not {type(file_handle).__name__}"
            )
        return file_handle

    def write_data(self, data: bytes, ext: str | None = None) -> LocalFileHandle:
        if not isinstance(data, bytes):
            raise TypeError(f"write_data takes bytes, not {type(data).__name__}")
        path = self._new_path(ext)
        with open(path, "wb") as handle:
            handle.write(data)
        return LocalFileHandle(path)

    def write(self, file_obj: IO[Any], mode: str = "wb", ext: str | None = None) -> LocalFileHandle:
        if mode not in ("w", "wb"):
            raise ValueError(f"write: mode must be 'w' (text) or 'wb' (bytes), not {mode!r}")
        path = self._new_path(ext)
        encoding = "utf-8" if mode == "w" else None
        with open(path, mode, encoding=encoding) as handle:
            shutil.copyfileobj(file_obj, handle)
        return LocalFileHandle(path)

    def read(self, file_handle: FileHandle, mode: str = "rb") -> IO[Any]:
        if mode not in ("r", "rb"):
            raise ValueError(f"read: mode must be 'r' (text) or 'rb' (bytes), not {mode!r}")
        path = self._local(file_handle).path
        return open(path, mode, encoding="utf-8" if mode == "r" else None)

    def read_data(self, file_handle: FileHandle) -> bytes:
        with open(self._local(file_handle).path, "rb") as handle:
            return handle.read()

    def copy_handle_to_local_temp(self, file_handle: FileHandle) -> str:
        fd, temp_path = tempfile.mkstemp(prefix="kubedag-file-")
        os.close(fd)
        shutil.copyfile(self._local(file_handle).path, temp_path)
        self._temp_paths.append(temp_path)
        return temp_path

    def delete_local_temp(self) -> None:
        for path in self._temp_paths:
            if os.path.exists(path):
                os.unlink(path)
        self._temp_paths = []


def _default_base_dir(instance: Any) -> str:
    if instance is None:
        raise ValueError(
            "local_file_manager needs config base_dir when no instance is at hand: "
            "local_file_manager.configured({'base_dir': '/data/files'})."
        )
    return os.path.join(instance.storage_directory(), "file_manager")


def _local_file_manager(init_context: Any) -> Generator[LocalFileManager, None, None]:
    config = init_context.resource_config or {}
    base_dir = config.get("base_dir") or _default_base_dir(init_context.instance)
    manager = LocalFileManager(base_dir)
    try:
        yield manager
    finally:
        manager.delete_local_temp()


local_file_manager = ResourceDefinition(
    _local_file_manager,
    config_schema={"base_dir": Field(str, is_required=False)},
    description="A LocalFileManager under config base_dir (default: the instance's storage).",
)
