"""The workspace: which code locations the daemon evaluates schedules, sensors and automation
conditions for.

The daemon runs no user code of its own choosing: it reads a workspace file, as the reference's
daemon reads `workspace.yaml`. The file is `$KUBEDAG_HOME/workspace.yaml` (or the path in
`$KUBEDAG_WORKSPACE`), in the reference's format:

    load_from:
      - python_file: definitions.py            # relative to the workspace file's folder
      - python_module: my_pipelines.definitions
      - python_file:
          relative_path: other/defs.py
          location_name: other                 # default: the file's stem or the module name
          attribute: defs                      # when the module holds several Definitions
          working_directory: /repo             # default: the workspace file's folder

Each entry is a code location with a name; the name prefixes the selector of its schedules and
sensors (`location:name`), which keys their stored state, so `kubedag schedule start NAME -f
FILE` and the daemon agree when both derive the same name (`location_name_for`). Runs created
for a location record its `code_location`, so their workers load the same code.

Parsing is pure (`parse_workspace`); loading the code is `CodeLocation.load`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kubedag.code_location.code_pointer import CodePointer
from kubedag.errors import CodeLocationLoadError

if TYPE_CHECKING:
    from kubedag.definitions.definitions import Definitions

WORKSPACE_ENV = "KUBEDAG_WORKSPACE"
WORKSPACE_FILENAME = "workspace.yaml"


def location_name_for(python_file: str | None = None, module_name: str | None = None) -> str:
    """The default name of a code location: the module name, or the file name without
    `.py`."""
    if module_name is not None:
        return module_name
    if python_file is None:
        raise CodeLocationLoadError("A code location needs a python_file or a module_name.")
    return Path(python_file).stem


@dataclass
class CodeLocation:
    """A named code location: where its code is (as a run records it), and its definitions
    once loaded."""

    name: str
    pointer: CodePointer
    _definitions: Definitions | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def code_location(self) -> dict[str, str]:
        """What runs created for this location record, for their workers."""
        return self.pointer.to_mapping()

    def load(self) -> Definitions:
        """The location's `Definitions`, imported once and kept (the daemon's loops share the
        location, so the first of them imports it and the others wait)."""
        with self._lock:
            if self._definitions is None:
                self._definitions = self.pointer.load()
            return self._definitions

    @staticmethod
    def from_definitions(name: str, definitions: Definitions, **pointer: str) -> CodeLocation:
        """A location whose definitions are already loaded (the CLI, tests)."""
        return CodeLocation(name, CodePointer(**pointer), definitions)


def _entry_error(source: str, index: int, message: str) -> CodeLocationLoadError:
    return CodeLocationLoadError(f"{source}: load_from[{index}]: {message}")


_ENTRY_KEYS = {
    "python_file": {"relative_path", "location_name", "attribute", "working_directory"},
    "python_module": {"module_name", "location_name", "attribute", "working_directory"},
}


def parse_workspace(document: Any, base_dir: str, source: str) -> list[CodeLocation]:
    """The code locations a workspace document names; every mistake names the entry and the
    fix. Relative paths are relative to `base_dir` (the workspace file's folder)."""
    if document is None:
        return []
    if not isinstance(document, Mapping) or set(document) - {"load_from"}:
        raise CodeLocationLoadError(
            f"{source}: expected `load_from: [...]` (a list of python_file / python_module "
            f"entries); got {document!r}."
        )
    entries = document.get("load_from") or []
    if not isinstance(entries, list):
        raise CodeLocationLoadError(f"{source}: load_from must be a list; got {entries!r}.")
    locations: list[CodeLocation] = []
    for index, entry in enumerate(entries):
        if (
            not isinstance(entry, Mapping)
            or len(entry) != 1
            or next(iter(entry)) not in _ENTRY_KEYS
        ):
            raise _entry_error(
                source,
                index,
                f"expected {{python_file: PATH}} or {{python_module: NAME}}; got {entry!r}.",
            )
        kind, value = next(iter(entry.items()))
        locations.append(_parse_entry(kind, value, base_dir, source, index))
    names = [location.name for location in locations]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise CodeLocationLoadError(
            f"{source}: two code locations are named '{duplicates[0]}'; give one of them "
            "location_name: …."
        )
    return locations


def _parse_entry(kind: str, value: Any, base_dir: str, source: str, index: int) -> CodeLocation:
    path_key = "relative_path" if kind == "python_file" else "module_name"
    options: dict[str, Any] = {path_key: value} if isinstance(value, str) else value
    if not isinstance(options, Mapping):
        raise _entry_error(source, index, f"{kind}: expected a string or a mapping; got {value!r}.")
    unknown = sorted(set(options) - _ENTRY_KEYS[kind])
    if unknown:
        raise _entry_error(
            source,
            index,
            f"{kind}.{unknown[0]}: unknown key; expected {', '.join(sorted(_ENTRY_KEYS[kind]))}.",
        )
    for key, item in options.items():
        if not isinstance(item, str) or not item:
            raise _entry_error(source, index, f"{kind}.{key}: expected a string; got {item!r}.")
    if path_key not in options:
        raise _entry_error(source, index, f"{kind}.{path_key} is required.")
    working_directory = os.path.join(base_dir, options.get("working_directory", "."))
    working_directory = os.path.abspath(working_directory)
    if kind == "python_file":
        python_file = os.path.abspath(os.path.join(base_dir, options["relative_path"]))
        name = options.get("location_name") or location_name_for(python_file=python_file)
        pointer = CodePointer(
            python_file=python_file,
            attribute=options.get("attribute"),
            working_directory=working_directory if "working_directory" in options else None,
        )
    else:
        module_name = options["module_name"]
        name = options.get("location_name") or location_name_for(module_name=module_name)
        pointer = CodePointer(
            module_name=module_name,
            attribute=options.get("attribute"),
            working_directory=working_directory,
        )
    return CodeLocation(name, pointer)


def workspace_path(home: str | None) -> Path | None:
    """Where the workspace file is: `$KUBEDAG_WORKSPACE`, else `workspace.yaml` in the
    instance's home; None when neither is known."""
    explicit = os.environ.get(WORKSPACE_ENV)
    if explicit:
        return Path(explicit).expanduser()
    if not home:
        return None
    return Path(home) / WORKSPACE_FILENAME


def load_workspace(home: str | None) -> list[CodeLocation]:
    """The code locations of the workspace file (none when there is no file)."""
    import yaml

    path = workspace_path(home)
    if path is None or not path.exists():
        if path is not None and os.environ.get(WORKSPACE_ENV):
            raise CodeLocationLoadError(
                f"{WORKSPACE_ENV}={path}: no such file. Create it (load_from: [...]) or unset "
                f"{WORKSPACE_ENV}."
            )
        return []
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise CodeLocationLoadError(f"{path}: cannot read the workspace: {exc}.") from None
    return parse_workspace(document, str(path.resolve().parent), str(path))
