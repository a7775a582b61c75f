"""`kubedag backfill`: one run per partition (or one over a range) launched by the default
coordinator and the local process launcher on a file code location; list, show, cancel."""

from __future__ import annotations

import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import kubedag as dg
from kubedag.backfills.status import BACKFILL_TAG

Cli = Callable[..., Any]
DEADLINE_S = 60.0

CODE = """
import kubedag as dg

daily = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-02-01")


@dg.asset(partitions_def=daily)
def events(context: dg.AssetExecutionContext) -> None:
    window = context.partition_time_window
    context.add_output_metadata(
        {{"keys": len(context.partition_keys), "days": (window.end - window.start).days}}
    )


@dg.asset(partitions_def=daily, deps=[events])
def summary(context: dg.AssetExecutionContext) -> None:
    pass


defs = dg.Definitions(
    assets=[events, summary],
    jobs=[dg.define_asset_job("daily_job", selection=[events, summary], partitions_def=daily)],
)
"""


@pytest.fixture
def code(tmp_path: Path) -> Path:
    path = tmp_path / "defs.py"
    path.write_text(textwrap.dedent(CODE.format()))
    return path


def _wait_until_finished(backfill_id: str) -> dg.Backfill:
    """Poll the instance (with a deadline) while the run workers, other processes, work."""
    from kubedag.backfills.submission import refresh_backfill

    deadline = time.monotonic() + DEADLINE_S
    while True:
        with dg.Instance.get() as instance:
            record = refresh_backfill(instance, instance.get_backfill(backfill_id))
        if record.status.is_finished:
            return record
        if time.monotonic() > deadline:
            raise AssertionError(f"backfill {backfill_id} is still {record.status.value}")
        time.sleep(0.1)  # the run workers are separate processes


def test_a_backfill_runs_each_partition_and_completes(
    cli: Cli, code: Path, instance_home: Path
) -> None:
    created = cli(
        "backfill", "-f", str(code), "--assets", "events",
        "--partitions", "2024-01-02...2024-01-04", "--tag", "team=data",
    )  # fmt: skip
    assert created.code == 0, created.stderr
    backfill_id = created.stdout.strip().splitlines()[-1]
    assert "3 partitions (2024-01-02 to 2024-01-04), 3 runs submitted" in created.stderr

    record = _wait_until_finished(backfill_id)
    assert record.status is dg.BackfillStatus.COMPLETED
    assert list(record.run_ids) == ["2024-01-02", "2024-01-03", "2024-01-04"]
    with dg.Instance.get() as instance:
        runs = [instance.get_run_by_id(run_id) for run_id in record.run_ids.values()]
        assert {run.status for run in runs} == {dg.RunStatus.SUCCESS}  # type: ignore[union-attr]
        assert [run.partition for run in runs] == list(record.run_ids)  # type: ignore[union-attr]
        assert {run.tags[BACKFILL_TAG] for run in runs} == {backfill_id}  # type: ignore[union-attr]
        assert {run.tags["team"] for run in runs} == {"data"}  # type: ignore[union-attr]
        assert instance.get_materialized_partitions(dg.AssetKey("events")) == set(record.run_ids)

    shown = cli("backfill", "show", backfill_id)
    assert shown.code == 0, shown.stderr
    assert "COMPLETED" in shown.stdout
    assert "3 success" in shown.stdout
    listed = cli("backfill", "list")
    assert backfill_id in listed.stdout and "COMPLETED" in listed.stdout


def test_a_range_backfill_creates_one_run_over_the_range(
    cli: Cli, code: Path, instance_home: Path
) -> None:
    created = cli(
        "backfill", "-f", str(code), "--job", "daily_job",
        "--partitions", "2024-01-10..2024-01-14", "--from-range",
    )  # fmt: skip
    assert created.code == 0, created.stderr
    record = _wait_until_finished(created.stdout.strip().splitlines()[-1])
    assert record.status is dg.BackfillStatus.COMPLETED
    [(label, run_id)] = record.run_ids.items()
    assert label == "2024-01-10...2024-01-14"
    with dg.Instance.get() as instance:
        run = instance.get_run_by_id(run_id)
        assert run is not None and run.partition is None
        assert run.tags["kubedag/asset_partition_range_start"] == "2024-01-10"
        assert run.tags["kubedag/asset_partition_range_end"] == "2024-01-14"
        assert instance.get_materialized_partitions(dg.AssetKey("summary")) == {
            f"2024-01-{day}" for day in range(10, 15)
        }
        [record_event] = [
            r
            for r in instance.get_event_records(
                dg.EventRecordsFilter(dg.EventType.ASSET_MATERIALIZATION, dg.AssetKey("events"))
            )
            if r.partition_key == "2024-01-10"
        ]
        metadata = record_event.event_log_entry.event.event_specific_data.metadata  # type: ignore[union-attr]
        assert metadata["keys"].value == 5
        assert metadata["days"].value == 5


def test_an_unknown_partition_is_refused_before_anything_exists(
    cli: Cli, code: Path, instance_home: Path
) -> None:
    result = cli(
        "backfill", "-f", str(code), "--job", "daily_job", "--partition", "2024-01-02", "2023-12-31"
    )
    assert result.code == 2
    assert "'2023-12-31' is not a partition" in result.stderr
    result = cli(
        "backfill", "-f", str(code), "--job", "daily_job", "--partitions", "2024-01-30...2024-02-05"
    )
    assert result.code == 2
    assert "'2024-02-05' is not a partition" in result.stderr
    with dg.Instance.get() as instance:
        assert instance.get_backfills() == []
        assert instance.get_runs() == []


def test_cancel_cancels_queued_runs(cli: Cli, code: Path, instance_home: Path) -> None:
    instance_home.mkdir(parents=True, exist_ok=True)
    (instance_home / "kubedag.yaml").write_text("run_coordinator:\n  queued: {}\n")
    created = cli(
        "backfill", "-f", str(code), "--job", "daily_job", "--partition", "2024-01-05", "2024-01-06"
    )
    assert created.code == 0, created.stderr
    backfill_id = created.stdout.strip().splitlines()[-1]
    with dg.Instance.get() as instance:
        record = instance.get_backfill(backfill_id)
        assert record is not None and record.status is dg.BackfillStatus.REQUESTED
        statuses = {instance.get_run_by_id(r).status for r in record.run_ids.values()}  # type: ignore[union-attr]
        assert statuses == {dg.RunStatus.QUEUED}  # no daemon is running
    canceled = cli("backfill", "cancel", backfill_id)
    assert canceled.code == 0, canceled.stderr
    assert "CANCELED" in canceled.stdout
    with dg.Instance.get() as instance:
        record = instance.get_backfill(backfill_id)
        assert record is not None and record.status is dg.BackfillStatus.CANCELED
        statuses = {instance.get_run_by_id(r).status for r in record.run_ids.values()}  # type: ignore[union-attr]
        assert statuses == {dg.RunStatus.CANCELED}
    missing = cli("backfill", "show", "nosuchid")
    assert missing.code == 2
    assert "No backfill 'nosuchid'" in missing.stderr
