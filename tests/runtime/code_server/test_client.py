"""`CodeServerClient` against a real server: it returns what a local evaluation returns."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import pytest

import kubedag as dg
from kubedag.automation.schedules import ScheduleEvaluationResult
from kubedag.automation.sensors import SensorEvaluation
from kubedag.code_server.client import CodeServerClient, CodeServerError, CodeServerUserCodeError
from kubedag.code_server.snapshot import build_snapshot
from tests.runtime.code_server.sample_location import defs


def test_the_snapshot_is_the_local_one(client: CodeServerClient) -> None:
    assert client.snapshot() == build_snapshot(defs, "sample")
    assert client.health()["status"] == "loaded"
    assert client.is_ready()


def test_evaluations_equal_local_evaluations(client: CodeServerClient) -> None:
    tick = datetime(2024, 1, 8, 11, tzinfo=UTC)
    local = defs.get_schedule_def("customers_twice_daily").evaluate_tick(
        dg.build_schedule_context(scheduled_execution_time=tick)
    )
    remote = client.evaluate_schedule("customers_twice_daily", tick)
    assert isinstance(remote, ScheduleEvaluationResult)
    assert remote == local
    assert remote.run_requests[0].run_key == "2024-01-08T11:00:00+00:00"

    evaluation = client.evaluate_sensor("new_regions", cursor="2")
    assert isinstance(evaluation, SensorEvaluation)
    assert evaluation == defs.get_sensor_def("new_regions").evaluate_tick(
        dg.build_sensor_context(cursor="2")
    )
    assert [r.run_key for r in evaluation.run_requests] == ["region-apac"]
    assert evaluation.dynamic_partitions_requests == [
        dg.AddDynamicPartitionsRequest("regions", ["apac"])
    ]


def test_next_ticks(client: CodeServerClient) -> None:
    ticks = client.next_ticks("nightly_customers", datetime(2024, 1, 1, tzinfo=UTC), count=2)
    assert ticks == [datetime(2024, 1, 1, 2, tzinfo=UTC), datetime(2024, 1, 2, 2, tzinfo=UTC)]


def test_errors_name_the_url_and_keep_the_users_traceback(client: CodeServerClient) -> None:
    with pytest.raises(CodeServerUserCodeError) as raised:
        client.evaluate_sensor("broken_sensor")
    assert raised.value.status == 500
    assert raised.value.url.endswith("/v1/sensors/broken_sensor/evaluate")
    assert raised.value.error.cause is not None
    assert "in explode" in raised.value.error.to_string()

    with pytest.raises(
        CodeServerError, match="answered 404: No schedule named 'weekly'"
    ) as missing:
        client.evaluate_schedule("weekly", datetime(2024, 1, 1, tzinfo=UTC))
    assert missing.value.body is not None
    assert "nightly_customers" in missing.value.body["error"]["known"]

    with pytest.raises(dg.KubedagError, match="has no time zone"):
        client.next_ticks("nightly_customers", datetime(2024, 1, 1))


def test_an_unreachable_server_is_a_clear_error() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    client = CodeServerClient(url, timeout=2)
    with pytest.raises(CodeServerError, match=f"Cannot reach the code server at {url}/v1/snapshot"):
        client.snapshot()
    assert not client.is_ready()


def test_a_run_config_is_checked_before_a_run_exists(client: CodeServerClient) -> None:
    assert client.check_run_config("customers_job", {"ops": {"customers": {"config": {}}}}) is None
    wrong = client.check_run_config("customers_job", {"ops": {"no_such_op": {}}})
    assert wrong is not None and "no_such_op" in wrong
    executor = client.check_run_config(
        "customers_job", {"execution": {"config": {"no_such_executor": {}}}}
    )
    assert executor is not None and "no_such_executor" in executor
    assert client.check_run_config("daily_orders_job", partition_key="2024-02-01") is None
    missing = client.check_run_config("daily_orders_job")
    assert missing is not None and "partition_key" in missing
    bad_key = client.check_run_config("daily_orders_job", partition_key="yesterday")
    assert bad_key is not None and "'yesterday'" in bad_key
    # the implicit asset job, narrowed to an asset selection
    assert client.check_run_config("__ASSET_JOB", asset_selection=["customers"]) is None
    with pytest.raises(CodeServerError) as unknown:
        client.check_run_config("no_such_job")
    assert unknown.value.status == 404 and "customers_job" in str(unknown.value)
