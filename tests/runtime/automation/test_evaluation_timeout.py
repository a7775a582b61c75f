"""The daemon's time limit on sensor evaluations (`kubedag.automation.evaluation_timeout`),
driven one sensor iteration at a time in this process (the fault test in
tests/faults/test_automation_faults.py runs it in a real daemon)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

import kubedag as dg
from kubedag.automation.evaluation_timeout import (
    DEFAULT_TIMEOUT_SECONDS,
    TIMEOUT_ENV,
    EvaluationTimeoutError,
    TimedEvaluations,
    timeout_from_env,
)
from kubedag.automation.instigators import run_sensors, set_running
from kubedag.errors import KubedagError
from kubedag.storage.records import InstigatorType, TickStatus
from tests.runtime.automation.conftest import location

START = datetime(2024, 1, 1, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


def test_the_limit_comes_from_the_environment() -> None:
    assert timeout_from_env({}) == DEFAULT_TIMEOUT_SECONDS == 60
    assert timeout_from_env({TIMEOUT_ENV: "2.5"}) == 2.5
    assert timeout_from_env({TIMEOUT_ENV: "0"}) is None  # no limit
    for bad in ("soon", "-1", "inf"):
        with pytest.raises(KubedagError, match=f"{TIMEOUT_ENV}='{bad}': expected a number"):
            timeout_from_env({TIMEOUT_ENV: bad})


def test_results_and_errors_come_back_from_the_evaluation_thread() -> None:
    evaluations = TimedEvaluations(5.0)
    assert evaluations.call("k", "sensor 's'", lambda: 42) == 42
    with pytest.raises(ZeroDivisionError):
        evaluations.call("k", "sensor 's'", lambda: 1 / 0)
    assert TimedEvaluations(None).call("k", "sensor 's'", lambda: "direct") == "direct"


def test_a_sensor_that_hangs_fails_its_ticks_and_holds_one_thread(
    sqlite_instance: dg.Instance,
) -> None:
    """While the evaluation that timed out goes on, the sensor's ticks fail saying so (no
    second thread is started); once it returns, the next evaluation runs, and what the
    abandoned one returned was never used."""
    release = threading.Event()
    calls: list[str | None] = []

    @dg.asset
    def landed() -> int:
        return 1

    job = dg.define_asset_job("landed_job", selection=[landed])

    @dg.sensor(job=job, minimum_interval_seconds=1)
    def stuck(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        calls.append(context.cursor)
        if len(calls) == 1:
            release.wait(30)
            return dg.SensorResult([dg.RunRequest(run_key="late")], cursor="late")
        return dg.SensorResult([dg.RunRequest(run_key="fresh")], cursor="fresh")

    loc = location(dg.Definitions(assets=[landed], sensors=[stuck]))
    set_running(sqlite_instance, "loc", "stuck", InstigatorType.SENSOR, True, now=at(0).timestamp())
    evaluations = TimedEvaluations(0.2)

    def evaluating() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == "kubedag-evaluate-loc:stuck"]

    [timed_out] = run_sensors(sqlite_instance, [loc], now=at(1), evaluations=evaluations)
    [still] = run_sensors(sqlite_instance, [loc], now=at(2), evaluations=evaluations)
    [abandoned] = evaluating()  # one thread, not one per tick
    release.set()
    abandoned.join(10)
    [done] = run_sensors(sqlite_instance, [loc], now=at(3), evaluations=evaluations)

    assert timed_out.status is TickStatus.FAILURE and timed_out.error is not None
    assert "the evaluation timed out after 0.2s" in timed_out.error.message
    assert still.status is TickStatus.FAILURE and still.error is not None
    assert "has still not returned" in still.error.message
    assert EvaluationTimeoutError.__name__ in still.error.message
    assert done.status is TickStatus.SUCCESS and done.run_keys == ("fresh",)
    assert calls == [None, None]  # never evaluated while the first was running; cursor kept
    [run] = sqlite_instance.get_runs()
    assert run.tags.get("kubedag/sensor_name") == "stuck"
    state = sqlite_instance.get_instigator_state("loc:stuck")
    assert state is not None and state.cursor == "fresh"
