"""A run's tags are the same merge whichever way it is created: the job's run tags, then the
tags asked for (launch, RunRequest over its schedule's or sensor's, backfill), then the
partition's. The Kubernetes `Run` object's path is tested in tests/operator."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

import kubedag as dg
from kubedag.automation.instigators import set_running, tick_schedule, tick_sensor
from kubedag.automation.workspace import CodeLocation
from kubedag.backfills.status import BACKFILL_TAG
from kubedag.backfills.submission import create_backfill
from kubedag.cli.main import main
from kubedag.code_location.code_pointer import CodePointer
from kubedag.definitions.run_tags import (
    PARTITION_RANGE_END_TAG,
    PARTITION_RANGE_START_TAG,
    PARTITION_TAG,
    job_run_tags,
    tags_for_run,
)
from kubedag.runs import lifecycle
from kubedag.runs.submission import create_run_for_job
from kubedag.runs.worker import run_worker
from kubedag.storage.records import InstigatorType

# Runs submitted to this instance wait in the queue: nothing launches without a daemon.
HELD = {"run_coordinator": {"queued": {"max_concurrent_runs": 0}}}
DAYS = dg.DailyPartitionsDefinition(start_date="2024-01-01")


# -- the merge (pure) --------------------------------------------------------------------------
def test_requested_tags_override_the_jobs_and_the_partition_overrides_both() -> None:
    merged = tags_for_run(
        {"db": "warehouse", "team": "a", PARTITION_TAG: "x"},
        {"team": "b", PARTITION_TAG: "y"},
        partition_key="2024-01-02",
    )
    assert merged == {"db": "warehouse", "team": "b", PARTITION_TAG: "2024-01-02"}


def test_a_jobs_tags_tag_its_runs_unless_it_sets_run_tags() -> None:
    assert job_run_tags({"db": "warehouse"}, None) == {"db": "warehouse"}
    assert job_run_tags({"db": "warehouse"}, {"team": "a"}) == {"team": "a"}
    assert job_run_tags({"db": "warehouse"}, {}) == {}  # empty run_tags: untagged runs


# -- in process --------------------------------------------------------------------------------
@dg.op
def nap() -> int:
    return 1


@dg.job(tags={"db": "warehouse", "team": "a"})
def napper() -> None:
    nap()


@dg.job(tags={"db": "warehouse"}, run_tags={"db": "lake"})
def split_tags() -> None:
    nap()


@dg.asset(partitions_def=DAYS)
def daily() -> int:
    return 1


def test_execute_in_process_tags_the_run_with_the_jobs_tags_under_the_callers() -> None:
    result = napper.execute_in_process(tags={"team": "b"})
    assert result.dagster_run.tags == {"db": "warehouse", "team": "b"}
    assert split_tags.execute_in_process().dagster_run.tags == {"db": "lake"}
    assert split_tags.tags == {"db": "warehouse"}  # a job's own tags stay what it declared


def test_materialize_and_asset_jobs_tag_runs_with_the_partition_last(tmp_path: Path) -> None:
    with dg.Instance.from_config({}, home=str(tmp_path)) as instance:
        result = dg.materialize(
            [daily],
            instance=instance,
            partition_key="2024-01-03",
            tags={"team": "b", PARTITION_TAG: "spoofed"},
        )
        assert result.dagster_run.tags == {"team": "b", PARTITION_TAG: "2024-01-03"}
        job = dg.Definitions(
            assets=[daily],
            jobs=[dg.define_asset_job("daily_job", [daily], tags={"db": "warehouse"})],
        ).get_job_def("daily_job")
        run = job.execute_in_process(instance=instance, partition_key="2024-01-04").dagster_run
        assert run.tags == {"db": "warehouse", PARTITION_TAG: "2024-01-04"}
        assert instance.get_run_by_id(run.run_id).tags == run.tags  # type: ignore[union-attr]


# -- launched: CLI, schedules, sensors, backfills ----------------------------------------------
CODE = """
import kubedag as dg

IN_PROCESS = {"execution": {"config": {"in_process": {}}}}
DAYS = dg.DailyPartitionsDefinition(start_date="2024-01-01")


@dg.op
def nap() -> int:
    return 1


@dg.job(tags={"db": "warehouse", "team": "job", "owner": "job"}, config=IN_PROCESS)
def napper():
    nap()


@dg.asset(partitions_def=DAYS)
def daily() -> int:
    return 1


daily_job = dg.define_asset_job(
    "daily_job", [daily], partitions_def=DAYS, tags={"db": "lake", "team": "job"}, config=IN_PROCESS
)


@dg.schedule(job=napper, cron_schedule="0 * * * *", tags={"team": "schedule", "owner": "schedule"})
def hourly(context):
    return dg.RunRequest(tags={"owner": "request"})


@dg.schedule(job=napper, cron_schedule="0 * * * *", tags={"team": "schedule", "owner": "schedule"})
def hourly_config(context):
    return {}


@dg.sensor(job=napper, minimum_interval_seconds=1, tags={"team": "sensor", "owner": "sensor"})
def watcher(context):
    return dg.RunRequest(run_key="once", tags={"owner": "request"})


defs = dg.Definitions(
    assets=[daily],
    jobs=[napper, daily_job],
    schedules=[hourly, hourly_config],
    sensors=[watcher],
)
"""


@pytest.fixture
def location(tmp_path: Path) -> CodeLocation:
    path = tmp_path / "code" / "napping.py"
    path.parent.mkdir()
    path.write_text(textwrap.dedent(CODE))
    loaded = CodeLocation("napping", CodePointer(python_file=str(path)))
    loaded.load()
    return loaded


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A local instance home (as `kubedag` commands find it) whose queue holds every run."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "kubedag.yaml").write_text(yaml.safe_dump(HELD))
    monkeypatch.setenv("KUBEDAG_HOME", str(home))
    monkeypatch.delenv("KUBEDAG_INSTANCE_REF", raising=False)
    return home


@pytest.fixture
def instance(home: Path) -> Iterator[dg.Instance]:
    with dg.Instance.get() as opened:
        yield opened


def _user_tags(run: dg.Run) -> dict[str, str]:
    return {k: v for k, v in run.tags.items() if not k.startswith("kubedag/")}


def test_cli_launch_tags_the_run_with_the_jobs_tags_under_the_command_lines(
    location: CodeLocation, instance: dg.Instance
) -> None:
    path = location.code_location["python_file"]
    assert main(["job", "launch", "-f", path, "--job", "napper", "--tag", "team=cli"]) == 0
    [run] = instance.get_runs()
    assert _user_tags(run) == {"db": "warehouse", "team": "cli", "owner": "job"}
    assert run.status is dg.RunStatus.QUEUED


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # A RunRequest the function returns carries its own tags, over the job's.
        ("hourly", {"db": "warehouse", "team": "job", "owner": "request"}),
        # A function returning run config: the schedule's tags, over the job's.
        ("hourly_config", {"db": "warehouse", "team": "schedule", "owner": "schedule"}),
    ],
)
def test_a_schedules_run_has_the_jobs_tags_under_the_requests(
    location: CodeLocation, instance: dg.Instance, name: str, expected: dict[str, str]
) -> None:
    schedule = location.load().get_schedule_def(name)
    now = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    started = (now - timedelta(hours=1)).timestamp()
    set_running(instance, location.name, schedule.name, InstigatorType.SCHEDULE, True, started)
    [tick] = tick_schedule(instance, location, schedule, now)
    [run_id] = tick.run_ids
    run = instance.get_run_by_id(run_id)
    assert run is not None
    assert _user_tags(run) == expected
    assert run.tags["kubedag/schedule_name"] == name


def test_a_sensors_run_has_the_jobs_tags_under_the_requests(
    location: CodeLocation, instance: dg.Instance
) -> None:
    """The sensor's own tags describe the sensor, as in the reference: not its runs."""
    sensor = location.load().get_sensor_def("watcher")
    set_running(instance, location.name, sensor.name, InstigatorType.SENSOR, True, 0.0)
    tick = tick_sensor(instance, location, sensor, datetime.now(UTC))
    assert tick is not None
    [run_id] = tick.run_ids
    run = instance.get_run_by_id(run_id)
    assert run is not None
    assert _user_tags(run) == {"db": "warehouse", "team": "job", "owner": "request"}
    assert run.tags["kubedag/sensor_name"] == "watcher"


def test_a_backfills_runs_have_job_then_backfill_then_partition_tags(
    location: CodeLocation, instance: dg.Instance
) -> None:
    job = location.load().get_job_def("daily_job")
    backfill = create_backfill(
        instance,
        job,
        code_location=location.code_location,
        partition_keys=["2024-01-01", "2024-01-02"],
        tags={"team": "backfill"},
    )
    runs = [instance.get_run_by_id(run_id) for run_id in backfill.run_ids.values()]
    assert sorted(r.tags[PARTITION_TAG] for r in runs if r) == ["2024-01-01", "2024-01-02"]
    for run in runs:
        assert run is not None
        assert run.tags["db"] == "lake" and run.tags["team"] == "backfill"
        assert run.tags[BACKFILL_TAG] == backfill.backfill_id


def test_a_run_created_without_its_jobs_tags_gets_them_from_its_worker(
    location: CodeLocation, tmp_path: Path
) -> None:
    """As a `Run` object does while its CodeLocation's code server is not ready: the record
    has only the object's tags; the worker adds the job's under them."""
    with dg.Instance.from_config({}, home=str(tmp_path / "worker-home")) as instance:
        run = instance.create_run(
            job_name="napper",
            tags={"team": "run-object"},
            code_location=location.code_location,
            run_config={"execution": {"config": {"in_process": {}}}},
        )
        lifecycle.change_status(
            instance,
            run.run_id,
            dg.RunStatus.STARTING,
            (dg.RunStatus.NOT_STARTED,),
            dg.EventType.RUN_STARTING,
            "Started by the test, as a launcher would.",
        )
        assert run_worker(instance, run.run_id, install_signal_handlers=False) == 0
        done = instance.get_run_by_id(run.run_id)
        assert done is not None and done.status is dg.RunStatus.SUCCESS
        assert _user_tags(done) == {"db": "warehouse", "team": "run-object", "owner": "job"}


def test_create_run_for_job_records_a_range_with_its_range_tags(
    location: CodeLocation, instance: dg.Instance
) -> None:
    job = location.load().get_job_def("daily_job")
    run = create_run_for_job(
        instance,
        job,
        code_location=location.code_location,
        partition_key_range=dg.PartitionKeyRange("2024-01-01", "2024-01-03"),
        tags={"team": "range"},
    )
    assert run.tags[PARTITION_RANGE_START_TAG] == "2024-01-01"
    assert run.tags[PARTITION_RANGE_END_TAG] == "2024-01-03"
    assert run.tags["team"] == "range" and run.tags["db"] == "lake"
