"""`dg.build_reconstructable_job`: a job made by a function, that a fresh process can make again.

`dg.reconstructable(job)` needs the job at a module's top level. A job built by a function
(from arguments: a list of tables, an environment) is pointed at by the function and its
arguments instead:

    job = dg.build_reconstructable_job("my_pipelines.factory", "make_job", ("prod",))
    dg.execute_job(job, instance)

The function is called here, once, to make the job; the run records where it lives (module,
function name, arguments as JSON, working directory) as its code location, so a step's spawned
process, or a run worker, calls it again (`CodePointer.load_job`). Forked step processes (the
default on Linux) share this process's job and call nothing.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Mapping
from typing import Any

from kubedag.definitions.job import JobDefinition
from kubedag.errors import CodeLocationLoadError, InvalidInvocationError
from kubedag.execution.execute_job import ReconstructableJob


def build_reconstructable_job(
    reconstructor_module_name: str,
    reconstructor_function_name: str,
    reconstructable_args: tuple[object, ...] | None = None,
    reconstructable_kwargs: Mapping[str, object] | None = None,
    reconstructor_working_directory: str | None = None,
) -> ReconstructableJob:
    """The job `reconstructor_module_name.reconstructor_function_name(*args, **kwargs)`
    returns, with what a fresh process needs to make it again (the arguments must be JSON:
    strings, numbers, booleans, None, lists and dicts of them)."""
    working_directory = os.path.abspath(reconstructor_working_directory or os.getcwd())
    args = list(reconstructable_args or ())
    kwargs = dict(reconstructable_kwargs or {})
    try:
        arguments = json.dumps({"args": args, "kwargs": kwargs})
    except TypeError as exc:
        raise InvalidInvocationError(
            f"build_reconstructable_job: the arguments of '{reconstructor_function_name}' "
            f"must be JSON values (strings, numbers, lists, dicts), so that another process "
            f"can call it again: {exc}."
        ) from exc
    if working_directory not in sys.path:
        sys.path.insert(0, working_directory)
    try:
        module = importlib.import_module(reconstructor_module_name)
    except ImportError as exc:
        raise CodeLocationLoadError(
            f"build_reconstructable_job: cannot import module '{reconstructor_module_name}' "
            f"({exc}); give reconstructor_working_directory= the folder it is in."
        ) from exc
    function = getattr(module, reconstructor_function_name, None)
    if not callable(function):
        raise InvalidInvocationError(
            f"build_reconstructable_job: {reconstructor_function_name} not found in module "
            f"{reconstructor_module_name}."
        )
    job = function(*args, **kwargs)
    if not isinstance(job, JobDefinition):
        raise InvalidInvocationError(
            f"build_reconstructable_job: {reconstructor_module_name}."
            f"{reconstructor_function_name} returned {type(job).__name__}, not a job."
        )
    location: dict[str, Any] = {
        "module_name": reconstructor_module_name,
        "working_directory": working_directory,
        "reconstructor": reconstructor_function_name,
        "reconstructor_args": arguments,
    }
    return ReconstructableJob(job, location)
