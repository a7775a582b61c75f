"""Creating, canceling and refreshing backfills: the adapters between the pure status logic
and an instance.

A backfill is recorded first (REQUESTED, with its partitions), then its runs are created one
by one through the same checks as any launched run and handed to the run coordinator. Each run
is created with the idempotency key `backfill:<id>:<partition>`, so creating it again (a retry
after a crash) returns the run that exists instead of a second one.
"""

from __future__ import annotations

import contextlib
import secrets
import string
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from kubedag.backfills.status import BACKFILL_TAG, backfill_status
from kubedag.definitions.job import JobDefinition
from kubedag.definitions.partitions import PartitionKeyRange, TimeWindowPartitionsDefinition
from kubedag.errors import InvalidConfigError, KubedagError
from kubedag.execution.preparation import prepare_run, storable_run_config, validate_partition
from kubedag.records.run import Run, RunStatus
from kubedag.runs.submission import create_run_for_job
from kubedag.storage.records import Backfill, BackfillStatus

RANGE_SEPARATOR = "..."


def new_backfill_id() -> str:
    """Eight random lowercase letters, like the reference's backfill ids."""
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(8))


def range_label(keys: Sequence[str]) -> str:
    """How a range run is named in `Backfill.run_ids`: "FIRST...LAST"."""
    return f"{keys[0]}{RANGE_SEPARATOR}{keys[-1]}"


def check_range_backfill(job: JobDefinition) -> TimeWindowPartitionsDefinition:
    """One run over a range needs every asset of the job time-partitioned the same way."""
    partitions_def = job.partitions_def
    if not isinstance(partitions_def, TimeWindowPartitionsDefinition):
        raise InvalidConfigError(
            f"--from-range: job '{job.name}' must have time-window partitions (daily, hourly, "
            f"…) to run a range in one run; its partitions are {partitions_def!r}. Drop "
            "--from-range to run one partition per run."
        )
    for step in job.steps:
        assets_def = step.assets_def
        if assets_def is not None and assets_def.partitions_def != partitions_def:
            keys = ", ".join(key.to_user_string() for key in assets_def.keys)
            raise InvalidConfigError(
                f"--from-range: asset {keys} is not partitioned like the rest of job "
                f"'{job.name}' ({partitions_def}); select only assets with the same "
                "partitions, or drop --from-range."
            )
    return partitions_def


def create_backfill(
    instance: Any,
    job: JobDefinition,
    *,
    code_location: Mapping[str, str],
    partition_keys: Sequence[str],
    from_range: bool = False,
    tags: Mapping[str, str] | None = None,
    run_config: Any = None,
) -> Backfill:
    """Check the runs, record the backfill, then create and submit its runs.

    Everything that can be wrong (run config, resources, the partitions, `from_range` on assets
    partitioned differently) raises before anything is stored."""
    keys = list(partition_keys)
    if not keys:
        raise InvalidConfigError(
            "partitions: the backfill selects no partition; name some with --partition, "
            "--partitions FROM...TO or --all."
        )
    if from_range:
        check_range_backfill(job)
        prepare_run(
            job,
            run_config=run_config,
            instance=instance,
            partition_key_range=PartitionKeyRange(keys[0], keys[-1]),
            use_job_executor=True,
        )
    else:
        for key in keys:  # every key, so a wrong one fails before any run exists
            validate_partition(job, key, None, instance)
        prepare_run(
            job,
            run_config=run_config,
            instance=instance,
            partition_key=keys[0],
            use_job_executor=True,
        )
    backfill = Backfill(
        backfill_id=new_backfill_id(),
        status=BackfillStatus.REQUESTED,
        job_name=job.name,
        partition_keys=tuple(keys),
        asset_selection=tuple(sorted(key.to_user_string() for key in job.selection.asset_keys))
        if job.selection is not None
        else None,
        from_range=from_range,
        tags=dict(tags or {}),
        run_config=storable_run_config(run_config or {}),
        code_location=dict(code_location),
    )
    instance.add_backfill(backfill)
    return submit_backfill_runs(instance, job, backfill)


def submit_backfill_runs(instance: Any, job: JobDefinition, backfill: Backfill) -> Backfill:
    """Create and submit each run the backfill does not have yet; stop if it was canceled.

    Safe to call again for the same backfill: existing runs are found by idempotency key."""
    units: list[tuple[str, str | None]] = (
        [(range_label(backfill.partition_keys), None)]
        if backfill.from_range
        else [(key, key) for key in backfill.partition_keys]
    )
    tags = {**backfill.tags, BACKFILL_TAG: backfill.backfill_id}
    for label, key in units:
        if label in backfill.run_ids:
            continue
        stored = instance.get_backfill(backfill.backfill_id)
        if stored is not None and stored.status in (
            BackfillStatus.CANCELING,
            BackfillStatus.CANCELED,
        ):
            return refresh_backfill(instance, stored)
        idempotency_key = f"backfill:{backfill.backfill_id}:{label}"
        if key is None:
            run = create_run_for_job(
                instance,
                job,
                code_location=backfill.code_location,
                partition_key_range=PartitionKeyRange(
                    backfill.partition_keys[0], backfill.partition_keys[-1]
                ),
                run_config=backfill.run_config or None,
                tags=tags,
                idempotency_key=idempotency_key,
            )
        else:
            run = create_run_for_job(
                instance,
                job,
                code_location=backfill.code_location,
                run_config=backfill.run_config or None,
                tags=tags,
                partition_key=key,
                idempotency_key=idempotency_key,
            )
        backfill = replace(
            backfill,
            run_ids={**backfill.run_ids, label: run.run_id},
            update_timestamp=time.time(),
        )
        instance.update_backfill(backfill)
        if run.status is RunStatus.NOT_STARTED:
            _submit(instance, run)
    return refresh_backfill(instance, backfill)


def _submit(instance: Any, run: Run) -> None:
    """Hand a run to the coordinator; a launch that fails leaves the run FAILURE, which the
    backfill's status reports, and the other partitions still run."""
    with contextlib.suppress(KubedagError):
        instance.submit_run(run.run_id)


def expected_runs(backfill: Backfill) -> int:
    return 1 if backfill.from_range else len(backfill.partition_keys)


def run_statuses(instance: Any, backfill: Backfill) -> dict[str, RunStatus]:
    """Each created run's status, by partition (or range label)."""
    statuses = {}
    for label, run_id in backfill.run_ids.items():
        run = instance.get_run_by_id(run_id)
        statuses[label] = run.status if run is not None else RunStatus.CANCELED
    return statuses


def refresh_backfill(instance: Any, backfill: Backfill) -> Backfill:
    """Recompute the backfill's status from its runs; store it when it changed."""
    status = backfill_status(
        backfill.status, run_statuses(instance, backfill).values(), expected_runs(backfill)
    )
    if status is backfill.status:
        return backfill
    changed = replace(backfill, status=status, update_timestamp=time.time())
    instance.update_backfill(changed)
    return changed


def update_backfill_statuses(instance: Any) -> list[Backfill]:
    """Refresh every unfinished backfill (what a daemon loop calls); returns the changed ones."""
    changed = []
    for status in (BackfillStatus.REQUESTED, BackfillStatus.CANCELING):
        for backfill in instance.get_backfills(status=status):
            refreshed = refresh_backfill(instance, backfill)
            if refreshed.status is not backfill.status:
                changed.append(refreshed)
    return changed


def cancel_backfill(instance: Any, backfill_id: str) -> Backfill:
    """Stop creating runs, cancel the runs not finished yet, and mark the backfill canceled
    (CANCELING until its running runs have stopped)."""
    backfill: Backfill | None = instance.get_backfill(backfill_id)
    if backfill is None:
        raise KeyError(backfill_id)
    if backfill.status.is_finished:
        return backfill
    backfill = replace(backfill, status=BackfillStatus.CANCELING, update_timestamp=time.time())
    instance.update_backfill(backfill)
    for run_id in backfill.run_ids.values():
        run = instance.get_run_by_id(run_id)
        if run is not None and not run.status.is_finished:
            instance.terminate_run(run_id)
    return refresh_backfill(instance, backfill)
