"""Loading a code location: the Python file or module whose `Definitions` kubedag should run.

A code location is user code that kubedag cannot know in advance. The CLI (and, later, the run
worker) points at it by file path or by module name; this module turns that pointer into the
`Definitions` object it declares. It is a thin adapter over the import system: import the code,
then choose the definitions with a pure function of the module's namespace (`find_definitions`),
so the choice is testable without importing anything.

A file is imported under a module name derived from its absolute path (`module_name_for_file`):
the same file gets the same name in every process, so a value pickled by one run can be loaded by
the next, and two `definitions.py` in different folders never clash. Its folder goes first on
`sys.path`, as with `python path/to/file.py`, so sibling modules import as usual.

Whatever goes wrong is a `CodeLocationLoadError` naming the file or module and the fix. When the
user's code raised while being imported, that exception is kept as `__cause__` with its traceback.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.machinery
import importlib.util
import os
import re
import sys
import traceback
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from kubedag.definitions.definitions import Definitions
from kubedag.errors import CodeLocationLoadError

_KUBEDAG_DIR = str(Path(__file__).resolve().parent.parent) + os.sep
_MODULE_PREFIX = "__kubedag_code_location__"


def load_definitions(
    *,
    python_file: str | None = None,
    module_name: str | None = None,
    attribute: str | None = None,
) -> Definitions:
    """Import a code location and return its `Definitions`.

    Give exactly one of `python_file` (a path) or `module_name` (importable from `sys.path`).
    With `attribute`, that module attribute is returned; otherwise the module must hold exactly
    one `dg.Definitions` object at module level.
    """
    if (python_file is None) == (module_name is None):
        raise CodeLocationLoadError(
            "Give exactly one code location: a Python file (python_file=…, -f FILE on the "
            "command line) or a module name (module_name=…, -m MODULE)."
        )
    if python_file is not None:
        origin = f"file '{python_file}'"
        module = import_python_file(python_file)
    else:
        assert module_name is not None
        origin = f"module '{module_name}'"
        module = import_module_by_name(module_name)
    return find_definitions(vars(module), attribute=attribute, origin=origin)


# -- importing ---------------------------------------------------------------------------------
def module_name_for_file(path: Path) -> str:
    """The name a file is imported under: stable per absolute path, a valid identifier."""
    resolved = str(path.resolve())
    stem = re.sub(r"\W", "_", path.stem) or "code"
    digest = hashlib.sha1(resolved.encode()).hexdigest()[:10]
    return f"{_MODULE_PREFIX}{stem}_{digest}"


def import_python_file(python_file: str) -> ModuleType:
    """Execute a Python file as a fresh module, with its folder on `sys.path`."""
    path = Path(python_file)
    if not path.exists():
        raise CodeLocationLoadError(
            f"Cannot load definitions from file '{python_file}': it does not exist. Check the "
            f"path (relative paths start from {os.getcwd()})."
        )
    if not path.is_file():
        raise CodeLocationLoadError(
            f"Cannot load definitions from '{python_file}': it is not a file. Point at the "
            "Python file that defines dg.Definitions (for example definitions.py)."
        )
    folder = str(path.resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    name = module_name_for_file(path)
    loader = importlib.machinery.SourceFileLoader(name, str(path.resolve()))
    spec = importlib.util.spec_from_loader(name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    # Registered before it runs, as a normal import does (dataclasses and pickle look it up).
    sys.modules[name] = module
    try:
        loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        raise CodeLocationLoadError(describe_import_failure(exc, f"file '{python_file}'")) from exc
    return module


def import_module_by_name(module_name: str) -> ModuleType:
    """Import a module from `sys.path`, telling "not found" apart from "its code raised"."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and _is_same_or_parent(exc.name, module_name):
            raise CodeLocationLoadError(
                f"Cannot load definitions from module '{module_name}': no module named "
                f"'{exc.name}' can be imported. Install the package that provides it, run from "
                "the folder that contains it, or load the file by path instead (python_file=…, "
                "-f FILE on the command line)."
            ) from exc
        raise CodeLocationLoadError(
            describe_import_failure(exc, f"module '{module_name}'")
        ) from exc
    except Exception as exc:
        raise CodeLocationLoadError(
            describe_import_failure(exc, f"module '{module_name}'")
        ) from exc


def _is_same_or_parent(missing: str, module_name: str) -> bool:
    return module_name == missing or module_name.startswith(missing + ".")


def describe_import_failure(exc: BaseException, origin: str) -> str:
    """One paragraph: what was loaded, what the user's code raised, and where."""
    if isinstance(exc, SyntaxError):
        # Raised by the compiler: no frame of the user's code, but the error knows its line.
        what = f"{type(exc).__name__}: {exc.msg}"
        where = f"{exc.filename}:{exc.lineno}" if exc.filename else ""
    else:
        what = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        where = user_code_location(exc)
    suffix = f" (at {where})" if where else ""
    return f"Cannot load definitions from {origin}: importing it raised {what}{suffix}."


def user_code_location(exc: BaseException) -> str:
    """`file:line` of the innermost frame that is neither kubedag nor the import machinery."""
    frames = traceback.extract_tb(exc.__traceback__)
    for frame in reversed(frames):
        if frame.filename.startswith(_KUBEDAG_DIR) or frame.filename.startswith("<frozen"):
            continue
        return f"{frame.filename}:{frame.lineno}"
    return ""


# -- choosing the Definitions ------------------------------------------------------------------
def find_definitions(
    namespace: Mapping[str, Any], *, attribute: str | None, origin: str
) -> Definitions:
    """The `Definitions` a module namespace declares: `attribute`, or the only one there is."""
    found = definitions_attributes(namespace)
    if attribute is not None:
        if attribute not in namespace:
            raise CodeLocationLoadError(
                f"{_capitalized(origin)} has no attribute '{attribute}'. "
                f"dg.Definitions found there: {', '.join(found) or 'none'}."
            )
        value = namespace[attribute]
        if not isinstance(value, Definitions):
            raise CodeLocationLoadError(
                f"'{attribute}' in {origin} is of type {type(value).__name__}, not a "
                f"dg.Definitions. dg.Definitions found there: {', '.join(found) or 'none'}."
            )
        return value
    distinct = {id(namespace[name]): namespace[name] for name in found}
    if not distinct:
        raise CodeLocationLoadError(
            f"{_capitalized(origin)} defines no dg.Definitions at module level. Add one, for "
            "example `defs = dg.Definitions(assets=[...])`."
        )
    if len(distinct) > 1:
        raise CodeLocationLoadError(
            f"{_capitalized(origin)} defines several dg.Definitions: {', '.join(found)}. Name "
            "the one to load with attribute=… (-a NAME on the command line)."
        )
    result = next(iter(distinct.values()))
    assert isinstance(result, Definitions)
    return result


def definitions_attributes(namespace: Mapping[str, Any]) -> list[str]:
    """Names in `namespace` bound to a `Definitions`, in definition order."""
    return [name for name, value in namespace.items() if isinstance(value, Definitions)]


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]
