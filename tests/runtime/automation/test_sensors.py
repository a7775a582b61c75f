"""Sensors: what an evaluation returns, run keys that start one run ever, cursors that survive a
restart, asset sensors, dynamic partitions, failures and crashes. Driven one iteration at a
time with an explicit `now`."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path

import pytest

import kubedag as dg
from kubedag.automation import instigators
from kubedag.automation.instigators import run_sensors, set_running
from kubedag.automation.sensors import sensor_is_due
from kubedag.storage.records import InstigatorType, TickStatus
from tests.runtime.automation.conftest import Opener, location, utc

T0 = utc(2024, 1, 1, 12)


def at(seconds: float) -> datetime.datetime:
    return T0 + datetime.timedelta(seconds=seconds)


@dg.asset
def customer_data() -> None: ...


my_job = dg.define_asset_job("my_job", selection=[customer_data])


def start(instance: dg.Instance, name: str) -> None:
    set_running(instance, "loc", name, InstigatorType.SENSOR, True, now=T0.timestamp())


# -- evaluation ---------------------------------------------------------------------------------
def test_the_reference_sensor_requests_a_run_by_run_key() -> None:
    def new_data_available() -> bool:
        return True

    @dg.sensor(job=my_job)
    def my_sensor(context: dg.SensorEvaluationContext) -> dg.RunRequest | None:
        # Check for new files, API events, etc.
        if new_data_available():
            return dg.RunRequest(run_key="unique_key")
        return None

    result = my_sensor.evaluate_tick(dg.build_sensor_context())
    [request] = result.run_requests
    assert request.run_key == "unique_key"
    assert request.tags == {"kubedag/sensor_name": "my_sensor"}
    assert my_sensor.minimum_interval_seconds == 30
    assert my_sensor(dg.build_sensor_context()) == dg.RunRequest(run_key="unique_key")


def test_cursor_moves_through_the_context_or_the_result_but_not_both() -> None:
    @dg.sensor(job=my_job)
    def by_context(context: dg.SensorEvaluationContext) -> dg.SkipReason:
        context.update_cursor(str(int(context.cursor or "0") + 1))
        return dg.SkipReason("counted")

    @dg.sensor(job=my_job)
    def by_result(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        return dg.SensorResult(run_requests=[dg.RunRequest(run_key="r")], cursor="7")

    @dg.sensor(job=my_job)
    def both(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        context.update_cursor("5")
        return dg.SensorResult(cursor="6")

    counted = by_context.evaluate_tick(dg.build_sensor_context(cursor="41"))
    assert (counted.cursor, counted.skip_message, counted.run_requests) == ("42", "counted", [])
    assert by_result.evaluate_tick(dg.build_sensor_context()).cursor == "7"
    with pytest.raises(dg.KubedagError, match="set the cursor one way only"):
        both.evaluate_tick(dg.build_sensor_context())


def test_a_sensor_without_a_result_skips_and_a_broken_one_names_itself() -> None:
    @dg.sensor(job=my_job)
    def quiet() -> None:
        return None

    @dg.sensor(job=my_job)
    def broken(context: dg.SensorEvaluationContext) -> None:
        raise ConnectionError("bucket unreachable")

    assert quiet.evaluate_tick(dg.build_sensor_context()).skip_message == (
        "Sensor function returned an empty result"
    )
    with pytest.raises(dg.KubedagError, match="sensor 'broken': its function raised"):
        broken.evaluate_tick(dg.build_sensor_context())


def test_sensor_definitions_are_checked() -> None:
    with pytest.raises(dg.InvalidDefinitionError, match="minimum_interval_seconds"):
        dg.sensor(job=my_job, minimum_interval_seconds=-1)(lambda: None)
    with pytest.raises(dg.InvalidDefinitionError, match="give job=… or jobs="):
        dg.sensor(job=my_job, jobs=[my_job])(lambda: None)


def test_a_sensor_is_due_once_its_interval_has_passed() -> None:
    assert sensor_is_due(None, 30, 100.0)
    assert not sensor_is_due(100.0, 30, 129.9)
    assert sensor_is_due(100.0, 30, 130.0)


# -- in the daemon ------------------------------------------------------------------------------
def test_a_run_key_starts_one_run_ever(instance: dg.Instance) -> None:
    calls: list[str | None] = []

    @dg.sensor(job=my_job, minimum_interval_seconds=30)
    def my_sensor(context: dg.SensorEvaluationContext) -> dg.RunRequest:
        calls.append(context.last_run_key)
        return dg.RunRequest(run_key="unique_key")

    loc = location(dg.Definitions(assets=[customer_data], sensors=[my_sensor]))
    start(instance, "my_sensor")

    [first] = run_sensors(instance, [loc], now=at(0))
    assert run_sensors(instance, [loc], now=at(10)) == []  # within its interval
    [second] = run_sensors(instance, [loc], now=at(30))
    [third] = run_sensors(instance, [loc], now=at(60))

    assert first.status is TickStatus.SUCCESS and len(first.run_ids) == 1
    assert second.status is TickStatus.SKIPPED and second.run_ids == ()
    assert "already requested" in (second.skip_reason or "")
    assert third.status is TickStatus.SKIPPED
    assert calls == [None, "unique_key", "unique_key"]
    [run] = instance.get_runs()
    assert run.run_id == first.run_ids[0] and run.tags["kubedag/sensor_name"] == "my_sensor"


def test_requests_without_a_run_key_start_a_run_each_time(sqlite_instance: dg.Instance) -> None:
    @dg.sensor(job=my_job, minimum_interval_seconds=0)
    def always(context: dg.SensorEvaluationContext) -> list[dg.RunRequest]:
        return [dg.RunRequest(), dg.RunRequest()]

    loc = location(dg.Definitions(assets=[customer_data], sensors=[always]))
    start(sqlite_instance, "always")
    run_sensors(sqlite_instance, [loc], now=at(0))
    run_sensors(sqlite_instance, [loc], now=at(1))
    assert sqlite_instance.get_runs_count() == 4


FILE_SENSOR = '''
import os
import kubedag as dg

@dg.asset
def ingest() -> None: ...

ingest_job = dg.define_asset_job("ingest_job", selection=[ingest])

@dg.sensor(job=ingest_job, minimum_interval_seconds=0)
def new_files(context: dg.SensorEvaluationContext):
    """One run per new file, in name order; the cursor is the last file seen."""
    names = sorted(n for n in os.listdir({folder!r}) if n > (context.cursor or ""))
    if not names:
        return dg.SkipReason("no new files")
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=n, tags={{"file": n}}) for n in names],
        cursor=names[-1],
    )

defs = dg.Definitions(assets=[ingest], sensors=[new_files])
'''


def test_the_cursor_survives_a_daemon_restart(open_any: Opener, tmp_path: Path) -> None:
    from kubedag.automation.workspace import CodeLocation
    from kubedag.code_location.code_pointer import CodePointer

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    code = tmp_path / "code" / "files.py"
    code.parent.mkdir()
    code.write_text(FILE_SENSOR.format(folder=str(inbox)))

    def fresh_daemon() -> tuple[dg.Instance, CodeLocation]:
        return open_any(), CodeLocation("files", CodePointer(python_file=str(code)))

    instance, loc = fresh_daemon()
    set_running(instance, "files", "new_files", InstigatorType.SENSOR, True)
    for name in ("a.csv", "b.csv"):
        (inbox / name).write_text("x")
    [tick] = run_sensors(instance, [loc], now=at(0))
    assert (tick.status, tick.cursor, len(tick.run_ids)) == (TickStatus.SUCCESS, "b.csv", 2)

    instance, loc = fresh_daemon()  # restart: new process state, same database
    assert run_sensors(instance, [loc], now=at(1))[0].skip_reason == "no new files"
    (inbox / "c.csv").write_text("x")
    [tick] = run_sensors(instance, [loc], now=at(2))

    assert tick.cursor == "c.csv" and len(tick.run_ids) == 1
    files = sorted(run.tags["file"] for run in instance.get_runs())
    assert files == ["a.csv", "b.csv", "c.csv"]
    state = instance.get_instigator_state("files:new_files")
    assert state is not None and state.cursor == "c.csv"
    assert state.data["last_run_key"] == "c.csv"
    assert all(run.code_location == {"python_file": str(code)} for run in instance.get_runs())


def test_an_asset_sensor_fires_once_per_new_materialization(instance: dg.Instance) -> None:
    @dg.asset
    def orders() -> int:
        return 1

    seen: list[int] = []

    @dg.asset_sensor(asset_key=dg.AssetKey("orders"), job=my_job, minimum_interval_seconds=0)
    def orders_sensor(
        context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry
    ) -> dg.RunRequest:
        seen.append(len(seen))
        return dg.RunRequest(run_key=asset_event.run_id)

    loc = location(dg.Definitions(assets=[customer_data, orders], sensors=[orders_sensor]))
    start(instance, "orders_sensor")

    [tick] = run_sensors(instance, [loc], now=at(0))
    assert "has not been materialized yet" in (tick.skip_reason or "")
    first = dg.materialize([orders], instance=instance)
    [tick] = run_sensors(instance, [loc], now=at(1))
    assert tick.status is TickStatus.SUCCESS and tick.run_keys == (first.run_id,)
    record = instance.get_event_records(
        dg.EventRecordsFilter(event_type=dg.EventType.ASSET_MATERIALIZATION), limit=1
    )[0]
    assert tick.cursor == str(record.storage_id)
    [tick] = run_sensors(instance, [loc], now=at(2))
    assert tick.status is TickStatus.SKIPPED and "No new materialization" in (
        tick.skip_reason or ""
    )
    second = dg.materialize([orders], instance=instance)
    [tick] = run_sensors(instance, [loc], now=at(3))
    assert tick.run_keys == (second.run_id,)
    assert len(seen) == 2
    assert len(instance.get_runs(dg.RunsFilter(job_name="my_job"))) == 2


def test_dynamic_partitions_are_added_before_their_runs_are_requested(
    instance: dg.Instance,
) -> None:
    region_partitions = dg.DynamicPartitionsDefinition(name="regions")

    @dg.asset(partitions_def=region_partitions)
    def regional_sales_data(context: dg.AssetExecutionContext) -> None:
        region = context.partition_key
        context.add_output_metadata({"region": region})

    regional_sales_job = dg.define_asset_job("regional_sales_job", selection=[regional_sales_data])

    @dg.sensor(job=regional_sales_job)
    def all_regions_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        all_regions = ["us", "eu", "jp", "ca", "uk", "au"]
        return dg.SensorResult(
            run_requests=[dg.RunRequest(partition_key=region) for region in all_regions],
            dynamic_partitions_requests=[region_partitions.build_add_request(all_regions)],
        )

    loc = location(dg.Definitions(assets=[regional_sales_data], sensors=[all_regions_sensor]))
    start(instance, "all_regions_sensor")
    [tick] = run_sensors(instance, [loc], now=at(0))

    assert tick.status is TickStatus.SUCCESS and len(tick.run_ids) == 6
    assert instance.get_dynamic_partitions("regions") == ["us", "eu", "jp", "ca", "uk", "au"]
    assert sorted(str(r.partition) for r in instance.get_runs()) == sorted(
        ["us", "eu", "jp", "ca", "uk", "au"]
    )


def test_a_sensor_with_several_jobs_needs_job_name(sqlite_instance: dg.Instance) -> None:
    other_job = dg.define_asset_job("other_job", selection=[customer_data])

    @dg.sensor(jobs=[my_job, other_job], minimum_interval_seconds=0)
    def picky(context: dg.SensorEvaluationContext) -> list[dg.RunRequest]:
        return [dg.RunRequest(run_key="x", job_name="other_job")]

    @dg.sensor(jobs=[my_job, other_job], minimum_interval_seconds=0)
    def vague(context: dg.SensorEvaluationContext) -> dg.RunRequest:
        return dg.RunRequest(run_key="y")

    loc = location(dg.Definitions(assets=[customer_data], sensors=[picky, vague]))
    start(sqlite_instance, "picky")
    start(sqlite_instance, "vague")
    ticks = {t.selector_id: t for t in run_sensors(sqlite_instance, [loc], now=at(0))}

    assert ticks["loc:picky"].status is TickStatus.SUCCESS
    assert [r.job_name for r in sqlite_instance.get_runs()] == ["other_job"]
    assert ticks["loc:vague"].status is TickStatus.FAILURE
    assert "say which one each RunRequest runs with job_name" in (
        ticks["loc:vague"].error.message  # type: ignore[union-attr]
    )


def test_a_request_that_cannot_become_a_run_does_not_stop_the_others(
    sqlite_instance: dg.Instance,
) -> None:
    @dg.sensor(job=my_job, minimum_interval_seconds=0)
    def mixed(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(run_key="bad", run_config={"ops": {"missing_op": {}}}),
                dg.RunRequest(run_key="good"),
            ],
            cursor="after",
        )

    loc = location(dg.Definitions(assets=[customer_data], sensors=[mixed]))
    start(sqlite_instance, "mixed")
    [tick] = run_sensors(sqlite_instance, [loc], now=at(0))

    assert tick.status is TickStatus.FAILURE and len(tick.run_ids) == 1
    assert tick.run_keys == ("good",) and tick.cursor == "after"
    assert (tick.error.message or "").startswith("1 of 2 run requests failed")  # type: ignore[union-attr]
    assert "ops.missing_op" in tick.error.message  # type: ignore[union-attr]


def test_a_failing_sensor_keeps_its_cursor_and_tries_again_after_its_interval(
    sqlite_instance: dg.Instance,
) -> None:
    attempts: list[str | None] = []

    @dg.sensor(job=my_job, minimum_interval_seconds=30)
    def flaky(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        attempts.append(context.cursor)
        if len(attempts) == 2:
            raise TimeoutError("API timed out")
        return dg.SensorResult(skip_reason="nothing new", cursor=str(len(attempts)))

    loc = location(dg.Definitions(assets=[customer_data], sensors=[flaky]))
    start(sqlite_instance, "flaky")
    statuses = [
        [t.status for t in run_sensors(sqlite_instance, [loc], now=at(s))] for s in (0, 30, 45, 60)
    ]

    assert statuses == [[TickStatus.SKIPPED], [TickStatus.FAILURE], [], [TickStatus.SKIPPED]]
    assert attempts == [None, "1", "1"]
    failed = sqlite_instance.get_ticks("loc:flaky", statuses=[TickStatus.FAILURE])[0]
    assert "API timed out" in failed.error.to_string()  # type: ignore[union-attr]


def test_a_stopped_sensor_is_not_evaluated(sqlite_instance: dg.Instance) -> None:
    @dg.sensor(job=my_job, default_status=dg.DefaultSensorStatus.RUNNING)
    def on_by_default() -> dg.RunRequest:
        return dg.RunRequest(run_key="k")

    loc = location(dg.Definitions(assets=[customer_data], sensors=[on_by_default]))
    set_running(sqlite_instance, "loc", "on_by_default", InstigatorType.SENSOR, False)
    assert run_sensors(sqlite_instance, [loc], now=at(0)) == []
    sqlite_instance.delete_instigator_state("loc:on_by_default")
    assert len(run_sensors(sqlite_instance, [loc], now=at(1))) == 1


def test_a_crash_after_creating_runs_makes_no_duplicate_on_restart(
    open_any: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    @dg.sensor(job=my_job, minimum_interval_seconds=0)
    def two_runs(context: dg.SensorEvaluationContext) -> Iterator[dg.RunRequest]:
        yield dg.RunRequest(tags={"n": "1"})  # no run key: named by the tick
        yield dg.RunRequest(run_key="keyed")

    defs = dg.Definitions(assets=[customer_data], sensors=[two_runs])
    instance = open_any()
    start(instance, "two_runs")
    original = instigators._finish_tick

    def crash(*args: object, **kwargs: object) -> object:
        raise SystemExit("the daemon was killed")

    monkeypatch.setattr(instigators, "_finish_tick", crash)
    with pytest.raises(SystemExit):
        run_sensors(instance, [location(defs)], now=at(0))
    created = {run.run_id for run in instance.get_runs()}
    assert len(created) == 2

    monkeypatch.setattr(instigators, "_finish_tick", original)
    restarted = open_any()
    [tick] = run_sensors(restarted, [location(defs)], now=at(5))

    assert tick.status is TickStatus.SUCCESS and set(tick.run_ids) == created
    assert {run.run_id for run in restarted.get_runs()} == created
    assert len(restarted.get_ticks("loc:two_runs")) == 1
