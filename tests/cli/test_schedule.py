"""`kubedag schedule list|start|stop|preview` and `kubedag sensor list|start|stop|preview`."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

import kubedag as dg
from tests.cli.conftest import Completed

Cli = Callable[..., Completed]

CODE = """
import kubedag as dg

@dg.asset
def orders() -> int:
    return 1

@dg.asset(deps=[orders], automation_condition=dg.AutomationCondition.eager())
def summary() -> None: ...

orders_job = dg.define_asset_job("orders_job", selection=[orders])

nightly = dg.ScheduleDefinition(
    name="nightly",
    job=orders_job,
    cron_schedule="30 2 * * *",
    execution_timezone="America/New_York",
)
hourly = dg.ScheduleDefinition(
    name="hourly",
    job=orders_job,
    cron_schedule="0 * * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)

@dg.sensor(job=orders_job, minimum_interval_seconds=60)
def counter(context: dg.SensorEvaluationContext):
    n = int(context.cursor or "0") + 1
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=f"run-{n}")], cursor=str(n))

defs = dg.Definitions(assets=[orders, summary], schedules=[nightly, hourly], sensors=[counter])
"""


@pytest.fixture
def code(tmp_path: Path) -> Path:
    path = tmp_path / "code" / "shop.py"
    path.parent.mkdir()
    path.write_text(textwrap.dedent(CODE))
    return path


def state(home: Path, selector: str) -> dg.InstigatorState | None:
    with dg.Instance.from_config({}, home=str(home)) as instance:
        return instance.get_instigator_state(selector)


def test_schedule_preview_shows_tick_times_in_the_schedule_zone(
    cli: Cli, code: Path, instance_home: Path
) -> None:
    done = cli(
        "schedule", "preview", "nightly", "-f", str(code), "--count", "3",
        "--after", "2024-03-09T00:00:00-05:00",
    )  # fmt: skip

    assert done.code == 0, done.stderr
    assert done.stdout.splitlines() == [
        "Next 3 ticks of nightly (30 2 * * *, America/New_York):",
        "  2024-03-09T02:30:00-05:00",
        "  2024-03-10T03:00:00-04:00",
        "  2024-03-11T02:30:00-04:00",
    ]


def test_schedule_start_stop_and_list(cli: Cli, code: Path, instance_home: Path) -> None:
    listed = cli("schedule", "list", "-f", str(code))
    assert listed.code == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0] == "Schedules of shop (2)"
    nightly = next(line for line in lines if "nightly" in line)
    assert "30 2 * * * (America/New_York)" in nightly and "STOPPED (default)" in nightly
    assert "RUNNING (default)" in next(line for line in lines if "hourly" in line)

    started = cli("schedule", "start", "nightly", "-f", str(code))
    assert started.code == 0 and "Started schedule shop:nightly." in started.stdout
    saved = state(instance_home, "shop:nightly")
    assert saved is not None and saved.status is dg.InstigatorStatus.RUNNING
    assert "start_timestamp" in saved.data
    assert "RUNNING" in cli("schedule", "list", "-f", str(code)).stdout.splitlines()[1]

    assert cli("schedule", "stop", "hourly", "-f", str(code)).code == 0
    hourly_line = next(
        line
        for line in cli("schedule", "list", "-f", str(code)).stdout.splitlines()
        if "hourly" in line
    )
    assert "STOPPED" in hourly_line and "(default)" not in hourly_line


def test_an_unknown_schedule_is_a_usage_error(cli: Cli, code: Path, instance_home: Path) -> None:
    done = cli("schedule", "start", "weekly", "-f", str(code))
    assert done.code == 2
    assert "No schedule named 'weekly'. Schedules: hourly, nightly." in done.stderr


def test_sensor_preview_evaluates_without_saving(cli: Cli, code: Path, instance_home: Path) -> None:
    first = cli("sensor", "preview", "counter", "-f", str(code))
    assert first.code == 0, first.stderr
    assert "would request RunRequest(run_key=run-1)" in first.stdout
    assert "cursor after: '1'" in first.stdout
    # Nothing was saved: the same evaluation again, and no run exists.
    assert "run_key=run-1" in cli("sensor", "preview", "counter", "-f", str(code)).stdout
    assert (
        "run_key=run-8"
        in cli("sensor", "preview", "counter", "-f", str(code), "--cursor", "7").stdout
    )
    with dg.Instance.from_config({}, home=str(instance_home)) as instance:
        assert instance.get_runs_count() == 0
        assert instance.get_instigator_state("shop:counter") is None


def test_sensor_list_start_stop_include_the_automation_sensor(
    cli: Cli, code: Path, instance_home: Path
) -> None:
    listed = cli("sensor", "list", "-f", str(code))
    assert listed.code == 0, listed.stderr
    assert listed.stdout.splitlines()[0] == "Sensors of shop (2)"
    assert "every 60s" in listed.stdout and "STOPPED (default)" in listed.stdout
    auto = next(
        line for line in listed.stdout.splitlines() if "default_automation_condition_sensor" in line
    )
    assert "RUNNING (default)" in auto

    assert cli("sensor", "start", "counter", "-f", str(code), "--location-name", "prod").code == 0
    assert state(instance_home, "prod:counter") is not None
    stopped = cli("sensor", "stop", "default_automation_condition_sensor", "-f", str(code))
    assert stopped.code == 0, stopped.stderr
    saved = state(instance_home, "shop:default_automation_condition_sensor")
    assert saved is not None and saved.status is dg.InstigatorStatus.STOPPED


def test_the_automation_sensor_preview_says_why(cli: Cli, code: Path, instance_home: Path) -> None:
    done = cli("sensor", "preview", "default_automation_condition_sensor", "-f", str(code))
    assert done.code == 0, done.stderr
    assert "skipped: no asset needs materializing" in done.stdout

    assert cli("materialize", "-f", str(code), "--select", "orders").code == 0
    done = cli("sensor", "preview", "default_automation_condition_sensor", "-f", str(code))
    assert "would request summary: eager: upstream orders updated" in done.stdout
    assert "as a run: RunRequest(assets=summary)" in done.stdout
