"""`kubedag daemon` with a workspace: the scheduler, sensor and automation loops in a real daemon
process, launching real runs. No waiting for the clock: the schedule's stored state says it was
started two minutes ago, so a `* * * * *` tick is already due when the daemon starts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

import kubedag as dg
from kubedag.automation.instigators import set_running
from kubedag.automation.workspace import load_workspace, parse_workspace
from kubedag.daemon.daemon import (
    AUTOMATION_LOOP,
    BACKFILL_LOOP,
    MONITOR_LOOP,
    SCHEDULER_LOOP,
    SENSOR_LOOP,
    default_loops,
)
from kubedag.errors import CodeLocationLoadError
from kubedag.storage.records import InstigatorType, TickStatus
from tests.runtime.runs.conftest import wait_for

CODE = """
import kubedag as dg

IN_PROCESS = {"execution": {"config": {"in_process": {}}}}


@dg.asset
def minutely_report() -> int:
    return 1


@dg.asset
def greeting() -> str:
    return "hello"


report_job = dg.define_asset_job("report_job", selection=[minutely_report], config=IN_PROCESS)
greeting_job = dg.define_asset_job("greeting_job", selection=[greeting], config=IN_PROCESS)


@dg.sensor(job=greeting_job, minimum_interval_seconds=1, default_status=dg.DefaultSensorStatus.RUNNING)
def say_hello(context: dg.SensorEvaluationContext):
    return dg.RunRequest(run_key="hello-once")


defs = dg.Definitions(
    assets=[minutely_report, greeting],
    schedules=[dg.ScheduleDefinition(name="every_minute", job=report_job, cron_schedule="* * * * *")],
    sensors=[say_hello],
)
"""


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    (home / "code").mkdir(parents=True)
    (home / "code" / "reports.py").write_text(textwrap.dedent(CODE))
    (home / "kubedag.yaml").write_text(yaml.safe_dump({"run_monitoring": {"enabled": False}}))
    (home / "workspace.yaml").write_text(
        yaml.safe_dump({"load_from": [{"python_file": "code/reports.py"}]})
    )
    return home


def test_the_workspace_adds_the_automation_loops(home: Path) -> None:
    with dg.Instance.from_config({}, home=str(home)) as instance:
        assert [loop.name for loop in default_loops(instance)] == [
            MONITOR_LOOP,
            BACKFILL_LOOP,
            SCHEDULER_LOOP,
            SENSOR_LOOP,
            AUTOMATION_LOOP,
        ]
    [location] = load_workspace(str(home))
    assert location.name == "reports"
    assert location.code_location == {"python_file": str(home / "code" / "reports.py")}


def test_workspace_mistakes_name_the_entry(tmp_path: Path) -> None:
    with pytest.raises(CodeLocationLoadError, match=r"load_from\[0\]: expected \{python_file"):
        parse_workspace({"load_from": [{"python_files": "x.py"}]}, str(tmp_path), "ws.yaml")
    with pytest.raises(CodeLocationLoadError, match="two code locations are named 'defs'"):
        parse_workspace(
            {"load_from": [{"python_file": "a/defs.py"}, {"python_file": "b/defs.py"}]},
            str(tmp_path),
            "ws.yaml",
        )
    [module] = parse_workspace(
        {"load_from": [{"python_module": {"module_name": "pkg.defs", "location_name": "prod"}}]},
        str(tmp_path),
        "ws.yaml",
    )
    assert module.name == "prod"
    assert module.code_location == {"module_name": "pkg.defs", "working_directory": str(tmp_path)}


def test_a_real_daemon_ticks_a_schedule_and_a_sensor_and_their_runs_succeed(
    home: Path, tmp_path: Path
) -> None:
    log = tmp_path / "daemon.log"
    with dg.Instance.from_config(
        {"run_monitoring": {"enabled": False}}, home=str(home)
    ) as instance:
        two_minutes_ago = time.time() - 120
        set_running(
            instance, "reports", "every_minute", InstigatorType.SCHEDULE, True, now=two_minutes_ago
        )
        with log.open("ab") as out:
            daemon = subprocess.Popen(
                [sys.executable, "-m", "kubedag", "daemon"],
                env={**os.environ, "KUBEDAG_HOME": str(home)},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:

            def finished_runs() -> list[dg.Run]:
                runs = instance.get_runs()
                by_job = {run.job_name for run in runs if run.is_finished}
                return runs if {"report_job", "greeting_job"} <= by_job else []

            runs = wait_for(finished_runs, 90, "the schedule's and the sensor's runs to finish")
            loops = {SCHEDULER_LOOP, SENSOR_LOOP, AUTOMATION_LOOP, BACKFILL_LOOP}
            beats = wait_for(
                lambda: (b := instance.get_daemon_heartbeats()) and set(b) == loops and b,
                30,
                "heartbeats of the scheduler, sensor, automation and backfill loops",
            )
        finally:
            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(30) == 0

        assert set(beats) == loops
        assert all(beat.errors == () for beat in beats.values())
        ticks = instance.get_ticks("reports:every_minute", statuses=[TickStatus.SUCCESS])
        schedule_runs = [r for r in runs if r.job_name == "report_job"]
        # One run per evaluated tick (a minute may have turned while the test ran), none twice.
        assert len(schedule_runs) == len(ticks) >= 1
        assert sorted(r.run_id for r in schedule_runs) == sorted(t.run_ids[0] for t in ticks)
        assert ticks[-1].timestamp >= two_minutes_ago
        assert [r.job_name for r in runs].count("greeting_job") == 1
        for run in runs:
            final = wait_for(
                lambda run=run: (r := instance.get_run_by_id(run.run_id)) and r.is_finished and r,
                60,
                f"run {run.run_id} to finish",
            )
            assert final.status is dg.RunStatus.SUCCESS
            assert final.code_location == {"python_file": str(home / "code" / "reports.py")}
    text = log.read_text()
    assert "Traceback" not in text and "stopped" in text
