"""Backfill records in every storage, their status as a function of their runs, and cancel."""

from __future__ import annotations

from dataclasses import replace

import pytest

import kubedag as dg
from kubedag.backfills.status import BACKFILL_TAG, backfill_status, progress
from kubedag.backfills.submission import cancel_backfill, refresh_backfill, update_backfill_statuses
from kubedag.storage.records import Backfill, BackfillStatus

S = dg.RunStatus


def backfill(backfill_id: str = "abcdefgh", **changes: object) -> Backfill:
    record = Backfill(
        backfill_id=backfill_id,
        status=BackfillStatus.REQUESTED,
        job_name="daily_job",
        partition_keys=("2024-01-01", "2024-01-02"),
        tags={"team": "data"},
        code_location={"python_file": "/repo/defs.py"},
    )
    return replace(record, **changes)  # type: ignore[arg-type]


# -- status (pure) ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "statuses", "expected", "result"),
    [
        (BackfillStatus.REQUESTED, [S.SUCCESS, S.STARTED], 2, BackfillStatus.REQUESTED),
        (BackfillStatus.REQUESTED, [S.SUCCESS], 2, BackfillStatus.REQUESTED),  # one not created
        (BackfillStatus.REQUESTED, [S.SUCCESS, S.SUCCESS], 2, BackfillStatus.COMPLETED),
        (BackfillStatus.REQUESTED, [S.SUCCESS, S.FAILURE], 2, BackfillStatus.FAILED),
        (BackfillStatus.REQUESTED, [S.SUCCESS, S.CANCELED], 2, BackfillStatus.FAILED),
        (BackfillStatus.CANCELING, [S.CANCELING], 2, BackfillStatus.CANCELING),
        (BackfillStatus.CANCELING, [S.CANCELED, S.SUCCESS], 2, BackfillStatus.CANCELED),
        (BackfillStatus.COMPLETED, [S.FAILURE], 2, BackfillStatus.COMPLETED),  # final stays
    ],
)
def test_status_is_a_function_of_the_runs(
    current: BackfillStatus, statuses: list[dg.RunStatus], expected: int, result: BackfillStatus
) -> None:
    assert backfill_status(current, statuses, expected) is result


def test_progress_counts_runs_per_status() -> None:
    assert progress([S.SUCCESS, S.SUCCESS, S.STARTED], 5) == {
        "STARTED": 1,
        "SUCCESS": 2,
        "NOT_CREATED": 2,
    }


# -- storage -------------------------------------------------------------------------------------------


def test_backfills_are_stored_listed_and_updated(instance: dg.Instance) -> None:
    first = backfill("aaaaaaaa", create_timestamp=1.0)
    second = backfill("bbbbbbbb", create_timestamp=2.0, from_range=True)
    instance.add_backfill(first)
    instance.add_backfill(second)
    with pytest.raises(KeyError):
        instance.add_backfill(first)
    assert instance.get_backfill("aaaaaaaa") == first
    assert instance.get_backfill("missing") is None
    assert [b.backfill_id for b in instance.get_backfills()] == ["bbbbbbbb", "aaaaaaaa"]
    done = replace(first, status=BackfillStatus.COMPLETED, run_ids={"2024-01-01": "r1"})
    instance.update_backfill(done)
    assert instance.get_backfill("aaaaaaaa") == done
    assert instance.get_backfills(status=BackfillStatus.COMPLETED) == [done]
    assert instance.get_backfills(status=BackfillStatus.REQUESTED) == [second]
    with pytest.raises(KeyError):
        instance.update_backfill(backfill("zzzzzzzz"))


def _runs_for(instance: dg.Instance, record: Backfill) -> Backfill:
    run_ids = {}
    for key in record.partition_keys:
        run = instance.create_run(
            job_name=record.job_name, partition=key, tags={BACKFILL_TAG: record.backfill_id}
        )
        run_ids[key] = run.run_id
    record = replace(record, run_ids=run_ids)
    instance.add_backfill(record)
    return record


def test_statuses_follow_the_runs(instance: dg.Instance) -> None:
    record = _runs_for(instance, backfill())
    first, second = record.run_ids.values()
    assert update_backfill_statuses(instance) == []
    for run_id in (first, second):
        instance.update_run_status(run_id, S.STARTED)
    instance.update_run_status(first, S.SUCCESS)
    assert refresh_backfill(instance, record).status is BackfillStatus.REQUESTED
    instance.update_run_status(second, S.FAILURE)
    [changed] = update_backfill_statuses(instance)
    assert changed.status is BackfillStatus.FAILED
    assert instance.get_backfill(record.backfill_id).status is BackfillStatus.FAILED  # type: ignore[union-attr]


def test_cancel_stops_runs_that_have_not_started(instance: dg.Instance) -> None:
    record = _runs_for(instance, backfill())
    canceled = cancel_backfill(instance, record.backfill_id)
    assert canceled.status is BackfillStatus.CANCELED
    assert {instance.get_run_by_id(r).status for r in record.run_ids.values()} == {S.CANCELED}  # type: ignore[union-attr]
