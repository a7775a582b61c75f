"""`kubedag job launch|execute`, `kubedag runs cancel` and `kubedag runs reexecute`: the commands
scripts use to run jobs, with real run workers started by the local process launcher."""

from __future__ import annotations

import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import kubedag as dg
from tests.cli.conftest import Completed

Cli = Callable[..., Completed]
DEADLINE_S = 60.0

CODE = """
import os
import kubedag as dg

MARKER = {marker!r}

@dg.op
def extract() -> int:
    return 20

@dg.op
def transform(value: int) -> int:
    if not os.path.exists(MARKER):
        raise RuntimeError("the marker file is missing")
    return value + 1

@dg.op
def load(value: int) -> None:
    print(f"loaded {{value}}")

@dg.job
def etl():
    load(transform(extract()))

@dg.op(config_schema={{"rows": int}})
def sized(context) -> None:
    context.log.info(f"rows={{context.op_config['rows']}}")

@dg.job
def configured():
    sized()

defs = dg.Definitions(jobs=[etl, configured])
"""


@pytest.fixture
def code(tmp_path: Path) -> tuple[Path, Path]:
    """A code location with an op job whose middle step fails until a marker file exists."""
    marker = tmp_path / "marker"
    path = tmp_path / "pipelines.py"
    path.write_text(textwrap.dedent(CODE.format(marker=str(marker))))
    return path, marker


def _wait_for_status(run_id: str, *statuses: dg.RunStatus) -> dg.Run:
    deadline = time.monotonic() + DEADLINE_S
    while True:
        with dg.Instance.get() as instance:
            run = instance.get_run_by_id(run_id)
        if run is not None and run.status in statuses:
            return run
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run_id} is {run.status if run else None}, not {statuses}")
        time.sleep(0.05)  # polling the run worker process with a deadline


def _steps_that_ran(run_id: str) -> set[str]:
    with dg.Instance.get() as instance:
        return {
            e.step_key
            for e in instance.all_logs(run_id)
            if e.event is not None and e.event.event_type is dg.EventType.STEP_START
        }


def test_job_launch_prints_the_run_id_last_and_a_worker_runs_it(
    cli: Cli, code: tuple[Path, Path], instance_home: Path
) -> None:
    path, marker = code
    marker.touch()
    result = cli("job", "launch", "-f", str(path), "--job", "etl", "--tag", "team=data")
    assert result.code == 0, result.stderr
    run_id = result.stdout.strip().splitlines()[-1]
    run = _wait_for_status(run_id, dg.RunStatus.SUCCESS, dg.RunStatus.FAILURE)
    assert run.status is dg.RunStatus.SUCCESS
    assert run.tags["team"] == "data"
    assert run.code_location == {"python_file": str(path)}
    assert _steps_that_ran(run_id) == {"extract", "transform", "load"}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--job", "nope"], "No job named 'nope'"),
        (["--job", "configured"], "rows"),
    ],
)
def test_job_launch_refuses_what_cannot_run_before_any_run_exists(
    cli: Cli, code: tuple[Path, Path], instance_home: Path, args: list[str], expected: str
) -> None:
    path, _ = code
    result = cli("job", "launch", "-f", str(path), *args)
    assert result.code == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    with dg.Instance.get() as instance:
        assert instance.get_runs() == []


def test_job_launch_of_a_missing_file_is_a_usage_error(cli: Cli, instance_home: Path) -> None:
    result = cli("job", "launch", "-f", "/nowhere/pipelines.py", "--job", "etl")
    assert result.code == 2
    assert "/nowhere/pipelines.py" in result.stderr
    assert "Traceback" not in result.stderr


def test_job_execute_runs_in_the_foreground_with_run_config(
    cli: Cli, code: tuple[Path, Path], instance_home: Path, tmp_path: Path
) -> None:
    path, _ = code
    config = tmp_path / "run.yaml"
    config.write_text("ops:\n  sized:\n    config:\n      rows: 7\n")
    result = cli("job", "execute", "-f", str(path), "--job", "configured", "--config", str(config))
    assert result.code == 0, result.stderr
    assert "sized" in result.stdout  # the summary lists the step
    with dg.Instance.get() as instance:
        (run,) = instance.get_runs()
        assert run.status is dg.RunStatus.SUCCESS
        assert any(e.user_message == "rows=7" for e in instance.all_logs(run.run_id))


def test_a_failed_run_is_reexecuted_from_failure_with_only_the_failed_steps(
    cli: Cli, code: tuple[Path, Path], instance_home: Path
) -> None:
    path, marker = code
    failed = cli("job", "execute", "-f", str(path), "--job", "etl")
    assert failed.code == 1
    with dg.Instance.get() as instance:
        (parent,) = instance.get_runs()
    assert parent.status is dg.RunStatus.FAILURE
    marker.touch()  # what made `transform` fail is fixed

    result = cli("runs", "reexecute", parent.run_id, "--from-failure")
    assert result.code == 0, result.stderr
    child_id = result.stdout.strip().splitlines()[-1]
    child = _wait_for_status(child_id, dg.RunStatus.SUCCESS, dg.RunStatus.FAILURE)
    assert child.status is dg.RunStatus.SUCCESS
    assert child.parent_run_id == parent.run_id
    assert child.root_run_id == parent.run_id
    assert _steps_that_ran(child_id) == {"transform", "load"}


def test_reexecuting_a_run_that_did_not_fail_from_failure_is_refused(
    cli: Cli, code: tuple[Path, Path], instance_home: Path
) -> None:
    path, marker = code
    marker.touch()
    assert cli("job", "execute", "-f", str(path), "--job", "etl").code == 0
    with dg.Instance.get() as instance:
        (run,) = instance.get_runs()
    result = cli("runs", "reexecute", run.run_id, "--from-failure")
    assert result.code == 2
    assert "Traceback" not in result.stderr


def test_runs_cancel_cancels_a_queued_run_and_refuses_a_finished_one(
    cli: Cli, code: tuple[Path, Path], instance_home: Path
) -> None:
    path, marker = code
    marker.touch()
    instance_home.mkdir(parents=True, exist_ok=True)
    (instance_home / "kubedag.yaml").write_text(
        "run_coordinator:\n  queued:\n    max_concurrent_runs: 1\n"
    )
    launched = cli("job", "launch", "-f", str(path), "--job", "etl")
    assert launched.code == 0, launched.stderr
    run_id = launched.stdout.strip().splitlines()[-1]
    with dg.Instance.get() as instance:
        run = instance.get_run_by_id(run_id)
        assert run is not None and run.status is dg.RunStatus.QUEUED  # no daemon is running

    canceled = cli("runs", "cancel", run_id)
    assert canceled.code == 0, canceled.stderr
    assert _wait_for_status(run_id, dg.RunStatus.CANCELED).status is dg.RunStatus.CANCELED

    again = cli("runs", "cancel", run_id)
    assert again.code == 2
    assert "already finished" in again.stderr


def test_job_launch_checks_the_executor_config_before_any_run_exists(
    cli: Cli, code: tuple[Path, Path], instance_home: Path, tmp_path: Path
) -> None:
    path, _ = code
    config = tmp_path / "run.yaml"
    config.write_text("execution:\n  config:\n    multiprocess:\n      max_concurrent: many\n")
    result = cli("job", "launch", "-f", str(path), "--job", "etl", "--config", str(config))
    assert result.code == 2
    assert "execution.config.multiprocess.max_concurrent" in result.stderr
    with dg.Instance.get() as instance:
        assert instance.get_runs() == []
