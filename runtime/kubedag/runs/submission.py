"""Creating the record of a run that will be launched elsewhere: checked first, then stored.

A launched run is executed later, by a run worker in another process or pod, so everything that
can be wrong without running user code (run config, resources, environment variables, the
partition) is checked here, before the record exists: a mistake is an error for whoever asked,
not a run that fails after a pod started. The record carries the code location, so the worker
knows what to import; the CLI and (later) the operator both create runs through this function.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from kubedag.definitions.job import JobDefinition
from kubedag.definitions.partitions import PartitionKeyRange
from kubedag.definitions.run_tags import tags_for_run
from kubedag.execution.executor_selection import check_run_requirements
from kubedag.execution.preparation import prepare_run, storable_run_config
from kubedag.records.run import Run


def code_location_for(
    *,
    python_file: str | None = None,
    module_name: str | None = None,
    attribute: str | None = None,
    working_directory: str | None = None,
) -> dict[str, str]:
    """The `code_location` a run records: an absolute file path, or a module and the directory
    it is imported from (a worker started elsewhere has another current directory)."""
    location: dict[str, str] = {}
    if python_file is not None:
        location["python_file"] = os.path.abspath(python_file)
    if module_name is not None:
        location["module_name"] = module_name
        location["working_directory"] = os.path.abspath(working_directory or os.getcwd())
    if attribute is not None:
        location["attribute"] = attribute
    return location


def create_run_for_job(
    instance: Any,
    job: JobDefinition,
    *,
    code_location: Mapping[str, str],
    run_config: Any = None,
    tags: Mapping[str, str] | None = None,
    partition_key: str | None = None,
    partition_key_range: PartitionKeyRange | None = None,
    idempotency_key: str | None = None,
) -> Run:
    """Check a run of `job`, then store its record (NOT_STARTED) with where its code is.

    Raises the check's `KubedagError` (naming the field and the fix) and stores nothing when
    the run could not work. With `idempotency_key`, a run created earlier with that key is
    returned instead of a new one (see `Instance.create_run`)."""
    prepared = prepare_run(
        job,
        run_config=run_config,
        instance=instance,
        partition_key=partition_key,
        partition_key_range=partition_key_range,
        use_job_executor=True,  # the worker runs it with the job's executor: check that too
    )
    check_run_requirements(
        prepared.executor, Run(job.name, code_location=dict(code_location)), instance
    )
    # One run over a range is described by its range tags.
    run_tags = tags_for_run(
        job.run_tags, tags, partition_key=partition_key, partition_range=partition_key_range
    )
    created: Run = instance.create_run(
        job_name=job.name,
        run_config=storable_run_config(prepared.config.raw),
        tags=run_tags,
        asset_selection=job.selection.asset_keys if job.selection is not None else None,
        partition=partition_key,
        code_location=dict(code_location),
        idempotency_key=idempotency_key,
    )
    return created
