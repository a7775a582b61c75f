"""The run summary and the definitions listing: pure functions over events and definitions."""

from __future__ import annotations

from typing import Any

import pytest

import kubedag as dg
from kubedag.cli import summary
from kubedag.cli.listing import format_definitions
from kubedag.definitions.results import AssetCheckEvaluation, AssetMaterialization
from kubedag.records.events import (
    ErrorInfo,
    Event,
    EventLogEntry,
    EventType,
    RunFailureData,
    StepFailureData,
)

RUN_ID = "0f6a3c1e-0000-4000-8000-000000000001"


def entry(
    at: float, event_type: EventType, step: str | None = None, data: Any = None, message: str = ""
) -> EventLogEntry:
    event = Event(event_type, "orders_job", message or event_type.value, step, data)
    return EventLogEntry(RUN_ID, at, event.log_level, event.message, "orders_job", step, event)


BOOM = ErrorInfo(
    message="Error occurred while executing asset 'orders': ValueError: bad row 7",
    stack=(),
    cls_name="StepExecutionError",
    cause=ErrorInfo(
        message="ValueError: bad row 7",
        stack=('  File "/src/defs.py", line 12, in orders\n    raise ValueError("bad row 7")\n',),
        cls_name="ValueError",
    ),
)


def failed_run() -> list[EventLogEntry]:
    return [
        entry(100.0, EventType.RUN_START),
        entry(100.0, EventType.STEP_START, "raw"),
        entry(100.5, EventType.STEP_SUCCESS, "raw"),
        entry(100.5, EventType.STEP_START, "orders"),
        entry(101.0, EventType.STEP_RESTARTED, "orders"),
        entry(102.0, EventType.STEP_FAILURE, "orders", StepFailureData(BOOM)),
        entry(
            102.0,
            EventType.STEP_SKIPPED,
            "report",
            message='Skipped step "report": upstream step "orders" failed.',
        ),
        entry(102.5, EventType.RUN_FAILURE, data=RunFailureData(None, ("orders",))),
    ]


def test_step_reports_take_status_attempts_and_duration_from_the_log() -> None:
    reports = summary.step_reports(failed_run())
    assert [(r.key, r.status, r.seconds, r.attempts) for r in reports] == [
        ("raw", "succeeded", 0.5, 1),
        ("orders", "failed", 1.5, 2),
        ("report", "skipped", None, 0),
    ]
    assert [(r.state, r.start_time, r.end_time) for r in reports] == [
        ("SUCCESS", 100.0, 100.5),
        ("FAILURE", 100.5, 102.0),
        ("SKIPPED", None, 102.0),
    ]
    assert reports[1].error is BOOM
    assert reports[2].skip_reason == 'upstream step "orders" failed'


def test_a_step_with_no_end_did_not_finish() -> None:
    (report,) = summary.step_reports([entry(1.0, EventType.STEP_START, "slow")])
    assert report.status == "did not finish" and report.seconds is None
    assert report.state == "RUNNING" and report.start_time == 1.0
    waiting = summary.step_reports(
        [
            entry(1.0, EventType.STEP_START, "flaky"),
            entry(2.0, EventType.STEP_UP_FOR_RETRY, "flaky"),
        ]
    )
    assert waiting[0].state == "UP_FOR_RETRY"


def test_run_outcome() -> None:
    outcome = summary.run_outcome(failed_run(), RUN_ID)
    assert (outcome.status, outcome.seconds, outcome.job_name) == ("FAILURE", 2.5, "orders_job")
    ok = [entry(5.0, EventType.RUN_START), entry(5.25, EventType.RUN_SUCCESS)]
    assert summary.run_outcome(ok, RUN_ID).status == "SUCCESS"
    assert summary.run_outcome(ok[:1], RUN_ID).status == "NOT FINISHED"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "-"), (0.0123, "12.3 ms"), (2.5, "2.50 s"), (125.0, "2 min 5 s")],
)
def test_format_duration(seconds: float | None, text: str) -> None:
    assert summary.format_duration(seconds) == text


def test_metadata_values_fit_on_one_line() -> None:
    assert summary.format_metadata_value(1564.2) == "1564.2"
    assert summary.format_metadata_value(0.1 + 0.2) == "0.3"
    assert summary.format_metadata_value("two\nlines") == "two lines"
    long = summary.format_metadata_value("x" * 500)
    assert len(long) == summary.MAX_METADATA_CHARS and long.endswith("...")


def test_format_error_shows_the_cause_with_the_users_frames() -> None:
    lines = summary.format_error(BOOM, "  ")
    text = "\n".join(lines)
    assert lines[0] == "  Error occurred while executing asset 'orders': ValueError: bad row 7"
    assert "  caused by:" in lines
    assert 'File "/src/defs.py", line 12, in orders' in text
    assert lines[-1] == "  ValueError: bad row 7"


def test_format_error_keeps_only_the_last_frames() -> None:
    frames = tuple(f'  File "/src/f.py", line {n}, in f{n}\n' for n in range(20))
    lines = summary.format_error(ErrorInfo("RecursionError: deep", frames, "RecursionError"))
    text = "\n".join(lines)
    assert f"... {20 - summary.MAX_ERROR_FRAMES} earlier frames" in text
    assert "line 19" in text and "line 11, " not in text


def test_the_summary_of_a_failed_run() -> None:
    text = summary.format_run_summary(failed_run(), run_id=RUN_ID, data_location="/data")
    assert text.startswith("Run FAILURE in 2.50 s (job orders_job, 3 steps)\n")
    assert "  raw     succeeded   500.0 ms\n" in text
    assert "  orders  failed        1.50 s  (2 attempts)\n" in text
    assert '  report  skipped            -  (upstream step "orders" failed)\n' in text
    assert "\nErrors\n  step orders:\n" in text
    assert text.endswith(
        f"Run id:  {RUN_ID}\n"
        "Data:    /data\n"
        f"Details: kubedag runs show {RUN_ID}\n"
        f"Logs:    kubedag logs {RUN_ID}\n"
    )


def test_materializations_and_checks_are_listed_with_metadata() -> None:
    entries = [
        entry(
            1.0,
            EventType.ASSET_MATERIALIZATION,
            "orders",
            AssetMaterialization(dg.AssetKey(["sales", "orders"]), {"rows": 17}, "2024-05-01"),
        ),
        entry(
            2.0,
            EventType.ASSET_CHECK_EVALUATION,
            "orders_check",
            AssetCheckEvaluation(
                dg.AssetKey(["sales", "orders"]), "no_nulls", False, {"nulls": 3}, blocking=True
            ),
        ),
    ]
    text = summary.format_run_summary(entries, run_id=RUN_ID, data_location="d")
    assert "  sales/orders [partition 2024-05-01]\n      rows: 17\n" in text
    assert "  FAILED  sales/orders:no_nulls  (blocking)  severity ERROR\n      nulls: 3\n" in text
    assert "Errors" not in text


def test_the_summary_of_a_real_run() -> None:
    @dg.asset
    def numbers() -> list[int]:
        return [1, 2, 3]

    @dg.asset_check(asset=numbers)
    def not_empty(numbers: list[int]) -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=bool(numbers))

    @dg.asset
    def total(numbers: list[int]) -> int:
        return sum(numbers)

    with dg.Instance.ephemeral() as instance:
        result = dg.materialize([numbers, not_empty, total], instance=instance)
        entries = instance.all_logs(result.run_id)
    reports = summary.step_reports(entries)
    assert {r.key: r.status for r in reports} == {
        "numbers": "succeeded",
        "numbers_not_empty": "succeeded",
        "total": "succeeded",
    }
    assert all(r.seconds is not None and r.seconds >= 0 for r in reports)
    assert [m.asset_key.to_user_string() for m in summary.materializations(entries)] == [
        "numbers",
        "total",
    ]
    assert [c.check_name for c in summary.check_evaluations(entries)] == ["not_empty"]
    assert summary.run_outcome(entries, result.run_id).status == "SUCCESS"
    lines = summary.format_log_lines(entries)
    assert len(lines) == len(entries)
    assert all(result.run_id[:8] in line for line in lines)


def test_log_lines_carry_the_error_of_failures() -> None:
    lines = summary.format_log_lines(failed_run())
    failure = next(line for line in lines if "STEP_FAILURE" in line)
    assert " - ERROR - orders_job - 0f6a3c1e - orders - STEP_FAILURE" in failure
    assert failure.endswith("ValueError: bad row 7")


def test_listing_shows_every_kind_of_definition() -> None:
    @dg.asset(group_name="sales", owners=["team:data"])
    def orders() -> list[int]:
        return [1]

    @dg.asset_check(asset=orders, description="at least one order")
    def has_rows(orders: list[int]) -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=bool(orders))

    @dg.op
    def ping() -> None: ...

    @dg.job
    def maintenance() -> None:
        ping()

    @dg.sensor(job=maintenance, minimum_interval_seconds=60)
    def on_new_files(context: Any) -> None: ...

    defs = dg.Definitions(
        assets=[dg.AssetSpec("crm_export"), orders],
        asset_checks=[has_rows],
        jobs=[maintenance],
        sensors=[on_new_files],
    )
    text = format_definitions(defs)
    assert "Assets (2)" in text
    assert "  crm_export  group: default  deps: -  external" in text
    assert "  orders      group: sales    deps: -  owners: team:data" in text
    assert "  orders:has_rows  non-blocking  at least one order" in text
    assert "  maintenance  ops: ping" in text
    assert "Schedules (0)\n  (none)" in text
    assert "  on_new_files  every 60s  jobs: maintenance  default: STOPPED" in text
