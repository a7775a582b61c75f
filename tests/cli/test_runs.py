"""`kubedag runs list` and `kubedag runs show`, over runs stored in a real local instance."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import kubedag as dg
from kubedag.cli import runs
from kubedag.instance.instance import Instance
from kubedag.records.events import Event, EventLogEntry, EventType
from kubedag.records.run import RunStatus
from tests.cli.conftest import Completed

Cli = Callable[..., Completed]
THIS_FILE = str(Path(__file__).resolve())


class Scale(dg.Config):
    factor: int = 1


@dg.asset
def numbers(config: Scale) -> list[int]:
    return [n * config.factor for n in (1, 2, 3)]


@dg.asset_check(asset=numbers, blocking=True)
def not_empty(numbers: list[int]) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=bool(numbers), metadata={"count": len(numbers)})


@dg.asset
def total(context: dg.AssetExecutionContext, numbers: list[int]) -> int:
    context.add_output_metadata({"sum": sum(numbers)})
    return sum(numbers)


def parse_line(text: str) -> int:
    return int(text)


@dg.asset
def broken(numbers: list[int]) -> int:
    try:
        return parse_line("seven")
    except ValueError as exc:
        raise RuntimeError("numbers could not be totalled") from exc


regions = dg.StaticPartitionsDefinition(["us", "eu"])


@dg.asset(partitions_def=regions)
def regional(context: dg.AssetExecutionContext) -> str:
    return context.partition_key


def materialize(assets: list[Any], **kwargs: Any) -> str:
    """Run `assets` on the local instance; the run id."""
    with Instance.get() as instance:
        result = dg.materialize(assets, instance=instance, raise_on_error=False, **kwargs)
        return result.run_id


@pytest.fixture
def three_runs(instance_home: Path) -> dict[str, str]:
    """A success with config and tags, a failure, and a partitioned success, in that order."""
    return {
        "success": materialize(
            [numbers, not_empty, total],
            run_config={"ops": {"numbers": {"config": {"factor": 10}}}},
            tags={"team": "data", "env": "dev"},
        ),
        "failure": materialize([numbers, broken], tags={"team": "ops"}),
        "partitioned": materialize([regional], partition_key="eu", tags={"team": "data"}),
    }


# -- runs list ---------------------------------------------------------------------------------
def test_runs_list_is_a_table_newest_first(cli: Cli, three_runs: dict[str, str]) -> None:
    done = cli("runs", "list")
    assert done.code == 0, done.stderr
    header, *rows = done.stdout.splitlines()
    assert header.split() == ["RUN", "ID", "JOB", "STATUS", "STARTED", "DURATION", "PARTITION"]
    # Full ids (they can be pasted), newest first.
    assert [row.split()[0] for row in rows] == [
        three_runs["partitioned"],
        three_runs["failure"],
        three_runs["success"],
    ]
    assert [row.split()[2] for row in rows] == ["SUCCESS", "FAILURE", "SUCCESS"]
    assert rows[0].rstrip().endswith("  eu") and rows[1].rstrip().endswith("  -")
    # STARTED is a local date and time; DURATION a number and a unit.
    _id, _job, _status, day, clock, amount, unit, _partition = rows[1].split()
    assert len(day) == 10 and len(clock) == 8 and float(amount) >= 0 and unit in ("ms", "s")


def test_runs_list_json_has_stable_keys(cli: Cli, three_runs: dict[str, str]) -> None:
    done = cli("runs", "list", "--json")
    assert done.code == 0, done.stderr
    listed = json.loads(done.stdout)
    assert [item["run_id"] for item in listed] == list(reversed(three_runs.values()))
    for item in listed:
        assert list(item) == list(runs.RUN_KEYS)
        assert all(
            isinstance(item[key], float)
            for key in ("create_timestamp", "update_timestamp", "start_time", "end_time")
        )
    partitioned, failure, success = listed
    assert success["status"] == "SUCCESS" and failure["status"] == "FAILURE"
    assert success["tags"] == {"env": "dev", "team": "data"}
    assert partitioned["partition"] == "eu" and success["partition"] is None
    assert success["job_name"] == "__ASSET_JOB"
    assert success["parent_run_id"] is None and success["root_run_id"] is None


def test_runs_list_filters(cli: Cli, three_runs: dict[str, str]) -> None:
    def listed(*args: str) -> list[str]:
        done = cli("runs", "list", "--json", *args)
        assert done.code == 0, done.stderr
        return [item["run_id"] for item in json.loads(done.stdout)]

    assert listed("--status", "failure") == [three_runs["failure"]]
    assert listed("--status", "SUCCESS", "FAILURE") == list(reversed(three_runs.values()))
    assert listed("--tag", "team=data") == [three_runs["partitioned"], three_runs["success"]]
    assert listed("--tag", "team=data", "--tag", "env=dev") == [three_runs["success"]]
    assert listed("--tag", "team=data", "team=ops", "--status", "FAILURE") == [
        three_runs["failure"]
    ]
    assert listed("--job", "__ASSET_JOB", "--limit", "2") == [
        three_runs["partitioned"],
        three_runs["failure"],
    ]
    assert listed("--job", "nightly") == []
    assert cli("runs", "list", "--job", "nightly").stdout == "No runs found.\n"


def test_a_wrong_filter_is_a_usage_error_naming_what_is_valid(
    cli: Cli, instance_home: Path
) -> None:
    status = cli("runs", "list", "--status", "done")
    assert status.code == 2
    assert "'done' is not a run status" in status.stderr
    assert all(s.value in status.stderr for s in RunStatus)
    tag = cli("runs", "list", "--tag", "team")
    assert tag.code == 2 and "'team' is not KEY=VALUE" in tag.stderr
    limit = cli("runs", "list", "--limit", "0")
    assert limit.code == 2 and "positive number" in limit.stderr


# -- runs show ---------------------------------------------------------------------------------
def test_runs_show_a_successful_run(cli: Cli, three_runs: dict[str, str]) -> None:
    run_id = three_runs["success"]
    done = cli("runs", "show", run_id)
    assert done.code == 0, done.stderr
    out = done.stdout
    assert out.startswith(f"Run {run_id}\n  Job:        __ASSET_JOB\n  Status:     SUCCESS\n")
    assert "  Tags:       env=dev, team=data\n" in out
    assert "  Run config:\n    ops:\n      numbers:\n        config:\n          factor: 10\n" in out
    steps = out.split("\nSteps\n")[1].split("\n\n")[0].splitlines()
    assert [line.split()[:2] for line in steps] == [
        ["numbers", "SUCCESS"],
        ["numbers_not_empty", "SUCCESS"],
        ["total", "SUCCESS"],
    ]
    assert "\n  total\n      sum: 60\n" in out  # materializations with their metadata
    assert "PASSED  numbers:not_empty  (blocking)\n      count: 3\n" in out
    assert "Errors" not in out
    assert out.endswith(f"Step logs: kubedag logs {run_id}\n")


def test_runs_show_a_failed_run_with_the_users_traceback(
    cli: Cli, three_runs: dict[str, str]
) -> None:
    done = cli("runs", "show", three_runs["failure"])
    assert done.code == 0, done.stderr
    out = done.stdout
    assert "  Status:     FAILURE\n" in out
    assert "\n  broken   FAILURE" in out
    errors = out.split("\nErrors\n")[1]
    assert errors.startswith("  step broken:\n")
    # The user's frames and the whole cause chain: RuntimeError, caused by the ValueError.
    assert f'File "{THIS_FILE}", line' in errors and "in broken" in errors
    assert "RuntimeError: numbers could not be totalled" in errors
    assert "in parse_line" in errors
    assert "ValueError: invalid literal for int() with base 10: 'seven'" in errors


def test_runs_show_json(cli: Cli, three_runs: dict[str, str]) -> None:
    done = cli("runs", "show", three_runs["failure"], "--json")
    assert done.code == 0, done.stderr
    shown = json.loads(done.stdout)
    assert list(shown) == ["run", "steps", "materializations", "checks", "error"]
    assert list(shown["run"]) == [*runs.RUN_KEYS, "run_config"]
    assert [(s["step_key"], s["status"]) for s in shown["steps"]] == [
        ("numbers", "SUCCESS"),
        ("broken", "FAILURE"),
    ]
    assert "RuntimeError: numbers could not be totalled" in shown["steps"][1]["error"]
    assert shown["materializations"][0]["asset_key"] == "numbers"
    ok = json.loads(cli("runs", "show", three_runs["success"], "--json").stdout)
    assert ok["checks"][0] == {
        "asset_key": "numbers",
        "check_name": "not_empty",
        "passed": True,
        "severity": "ERROR",
        "blocking": True,
        "description": None,
        "metadata": {"count": 3},
    }
    assert ok["run"]["run_config"] == {"ops": {"numbers": {"config": {"factor": 10}}}}


def test_runs_show_events_lists_every_event(cli: Cli, three_runs: dict[str, str]) -> None:
    out = cli("runs", "show", three_runs["success"], "--events").stdout
    events = out.split("\nEvents\n")[1]
    lines = events.split("\n\n")[0].splitlines()
    assert 'Started execution of run for "__ASSET_JOB".' in lines[0]
    assert any('Started execution of step "total".' in line for line in lines)
    assert 'Finished execution of run for "__ASSET_JOB".' in lines[-1]


def test_a_run_is_found_by_a_unique_prefix(cli: Cli, instance_home: Path) -> None:
    with Instance.get() as instance:
        for run_id in (
            "abcdef01-0000-4000-8000-000000000001",
            "abcdef02-0000-4000-8000-000000000002",
        ):
            instance.create_run(job_name="nightly", run_id=run_id, status=RunStatus.SUCCESS)
    found = cli("runs", "show", "abcdef02")
    assert found.code == 0, found.stderr
    assert found.stdout.startswith("Run abcdef02-0000-4000-8000-000000000002\n")
    assert "(no step started)" in found.stdout
    ambiguous = cli("runs", "show", "abcdef")
    assert ambiguous.code == 2
    assert "'abcdef' is the start of 2 run ids" in ambiguous.stderr
    assert "abcdef01-0000-4000-8000-000000000001 (nightly, SUCCESS" in ambiguous.stderr
    assert "abcdef02-0000-4000-8000-000000000002 (nightly, SUCCESS" in ambiguous.stderr
    short = cli("runs", "show", "abcde")
    assert short.code == 2 and "a prefix needs at least 6 characters" in short.stderr


def test_an_unknown_run_is_a_usage_error(cli: Cli, instance_home: Path) -> None:
    done = cli("runs", "show", "0f6a3c1e-dead-4000-8000-000000000000")
    assert done.code == 2
    assert done.stderr == (
        "kubedag: error: no run with id '0f6a3c1e-dead-4000-8000-000000000000'; "
        "`kubedag runs list` shows recent runs.\n"
    )
    assert done.stdout == ""


def test_steps_of_a_run_that_is_going_or_was_cut_short(instance_home: Path) -> None:
    def entry(at: float, event_type: EventType, step: str) -> EventLogEntry:
        event = Event(event_type, "nightly", event_type.value, step)
        return EventLogEntry(run_id, at, event.log_level, event.message, "nightly", step, event)

    with Instance.get() as instance:
        run_id = instance.create_run(job_name="nightly", status=RunStatus.STARTED).run_id
        instance.store_event_entries(
            [
                entry(1.0, EventType.STEP_START, "extract"),
                entry(2.0, EventType.STEP_SUCCESS, "extract"),
                entry(2.0, EventType.STEP_START, "load"),
                entry(3.0, EventType.STEP_UP_FOR_RETRY, "load"),
                entry(3.0, EventType.STEP_START, "report"),
            ]
        )
        record = runs.find_run_record(instance, run_id)
        going = runs.format_run_details(record, instance.all_logs(run_id))
        instance.update_run_status(run_id, RunStatus.CANCELED)
        record = runs.find_run_record(instance, run_id)
        cut = runs.format_run_details(record, instance.all_logs(run_id))
    assert "  load     UP_FOR_RETRY" in going and "  report   RUNNING" in going
    assert "  load     NOT_FINISHED" in cut and "  report   NOT_FINISHED" in cut
    assert "  extract  SUCCESS" in cut
