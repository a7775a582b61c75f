"""Where a launched run's code is: the run record's `code_location`.

A run worker starts with nothing but a run id, so the run record says which code to load. Its
`code_location` is a plain mapping (it is stored as JSON and travels into pods):

    {"python_file": "/repo/definitions.py"}                       # a file, or
    {"module_name": "my_pipelines.definitions",
     "working_directory": "/repo"}                                 # an importable module
    # optional in both: "attribute": "defs" (when the module holds several dg.Definitions)

`working_directory` is where the worker runs (the launcher's cwd) and is put first on
`sys.path`; a relative `python_file` is relative to it.

A job made by a function (`dg.build_reconstructable_job`) is pointed at by that function
instead of a `Definitions`: `"reconstructor": "make_job"` names it, in the module or file, and
`"reconstructor_args"` holds its arguments as JSON (`{"args": [...], "kwargs": {...}}`);
`load_job` calls it. Such a pointer has no `Definitions` to `load`.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kubedag.errors import CodeLocationLoadError

if TYPE_CHECKING:
    from kubedag.definitions.definitions import Definitions
    from kubedag.definitions.job import JobDefinition

CODE_LOCATION_KEYS = (
    "python_file",
    "module_name",
    "attribute",
    "working_directory",
    "reconstructor",
    "reconstructor_args",
)


@dataclass(frozen=True)
class CodePointer:
    python_file: str | None = None
    module_name: str | None = None
    attribute: str | None = None
    working_directory: str | None = None
    reconstructor: str | None = None  # a function returning the job (build_reconstructable_job)
    reconstructor_args: str | None = None  # its arguments, JSON: {"args": [...], "kwargs": {...}}

    @staticmethod
    def from_mapping(value: Mapping[str, Any] | None, run_id: str = "") -> CodePointer:
        """Check a run's `code_location`; every mistake names the key and the fix."""
        where = f"run {run_id}: code_location" if run_id else "code_location"
        if not value:
            raise CodeLocationLoadError(
                f"{where}: the run records no code location, so a run worker cannot load its "
                'job. Create the run with code_location={"python_file": ...} or '
                '{"module_name": ..., "working_directory": ...}.'
            )
        unknown = sorted(set(value) - set(CODE_LOCATION_KEYS))
        if unknown:
            raise CodeLocationLoadError(
                f"{where}.{unknown[0]}: unknown key; expected {', '.join(CODE_LOCATION_KEYS)}."
            )
        for key in CODE_LOCATION_KEYS:
            if value.get(key) is not None and not isinstance(value[key], str):
                raise CodeLocationLoadError(
                    f"{where}.{key}: expected a string; got {value[key]!r}."
                )
        if (value.get("python_file") is None) == (value.get("module_name") is None):
            raise CodeLocationLoadError(
                f"{where}: give exactly one of python_file or module_name; got "
                f"{sorted(k for k in value if value[k] is not None)}."
            )
        return CodePointer(
            value.get("python_file"),
            value.get("module_name"),
            value.get("attribute"),
            value.get("working_directory"),
            value.get("reconstructor"),
            value.get("reconstructor_args"),
        )

    def to_mapping(self) -> dict[str, str]:
        return {k: v for k, v in vars(self).items() if v is not None}

    def load(self) -> Definitions:
        """Import the code and return its `Definitions` (`CodeLocationLoadError` otherwise)."""
        from kubedag.code_location.load import load_definitions

        if self.reconstructor is not None:
            raise CodeLocationLoadError(
                f"code_location points at the job function '{self.reconstructor}' "
                "(dg.build_reconstructable_job), not at a dg.Definitions; what loads it needs "
                "the job (CodePointer.load_job), and this does not."
            )
        python_file = self._prepare_path()
        return load_definitions(
            python_file=python_file, module_name=self.module_name, attribute=self.attribute
        )

    def load_job(self, job_name: str) -> JobDefinition:
        """The job `job_name`: made by calling the reconstructor with its arguments, or taken
        from the code location's `Definitions`."""
        if self.reconstructor is None:
            return self.load().get_job_def(job_name)
        from kubedag.code_location.load import import_module_by_name, import_python_file
        from kubedag.definitions.job import JobDefinition

        python_file = self._prepare_path()
        module = (
            import_python_file(python_file)
            if python_file is not None
            else import_module_by_name(self.module_name or "")
        )
        where = f"file '{python_file}'" if python_file else f"module '{self.module_name}'"
        function = getattr(module, self.reconstructor, None)
        if not callable(function):
            raise CodeLocationLoadError(
                f"code_location.reconstructor: {where} has no function '{self.reconstructor}'."
            )
        arguments = json.loads(self.reconstructor_args or "{}")
        job = function(*arguments.get("args", ()), **arguments.get("kwargs", {}))
        if not isinstance(job, JobDefinition):
            raise CodeLocationLoadError(
                f"code_location.reconstructor: '{self.reconstructor}' of {where} returned "
                f"{type(job).__name__}, not a job."
            )
        if job.name != job_name:
            raise CodeLocationLoadError(
                f"code_location.reconstructor: '{self.reconstructor}' of {where} made job "
                f"'{job.name}', but the run is of job '{job_name}'."
            )
        return job

    def _prepare_path(self) -> str | None:
        """Put the working directory first on `sys.path`; the file's path, made absolute."""
        python_file = self.python_file
        if self.working_directory is not None:
            if not os.path.isdir(self.working_directory):
                raise CodeLocationLoadError(
                    f"code_location.working_directory: '{self.working_directory}' is not a "
                    "directory on this machine."
                )
            if self.working_directory not in sys.path:
                sys.path.insert(0, self.working_directory)
            if python_file is not None and not os.path.isabs(python_file):
                python_file = os.path.join(self.working_directory, python_file)
        return python_file
