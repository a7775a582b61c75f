"""The JSON forms of evaluations: what goes over HTTP reads back as the runtime's own values,
and what a client sends is checked field by field."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

import kubedag as dg
from kubedag.automation.schedules import ScheduleEvaluationResult
from kubedag.automation.sensors import SensorEvaluation
from kubedag.code_server.wire import (
    BadRequest,
    SensorRequest,
    error_info_from_json,
    error_info_to_json,
    parse_schedule_request,
    parse_sensor_request,
    parse_time,
    run_config_to_json,
    schedule_result_from_json,
    schedule_result_to_json,
    sensor_evaluation_from_json,
    sensor_evaluation_to_json,
)
from kubedag.records.events import ErrorInfo


def through_json(value: dict) -> dict:  # type: ignore[type-arg]
    return json.loads(json.dumps(value))  # type: ignore[no-any-return]


def test_schedule_results_and_sensor_evaluations_read_back_unchanged() -> None:
    request = dg.RunRequest(
        run_key="2024-01-01",
        run_config={"ops": {"customers": {"config": {"limit": 3}}}},
        tags={"kubedag/schedule_name": "nightly"},
        job_name="customers_job",
        asset_selection=[dg.AssetKey(["sales", "orders"])],
        partition_key="2024-01-01",
    )
    result = ScheduleEvaluationResult([request], None)
    assert schedule_result_from_json(through_json(schedule_result_to_json(result))) == result
    assert schedule_result_to_json(result)["run_requests"][0]["asset_selection"] == ["sales/orders"]

    files = dg.DynamicPartitionsDefinition(name="files")
    evaluation = SensorEvaluation(
        [dg.RunRequest(run_key="a")],
        None,
        "cursor-7",
        [files.build_add_request(["a", "b"]), files.build_delete_request(["old"])],
    )
    sent = sensor_evaluation_to_json(evaluation)
    assert sent["dynamic_partitions_requests"] == [
        {"type": "add", "partitions_def_name": "files", "partition_keys": ["a", "b"]},
        {"type": "delete", "partitions_def_name": "files", "partition_keys": ["old"]},
    ]
    assert sensor_evaluation_from_json(through_json(sent)) == evaluation
    skipped = SensorEvaluation([], "nothing new", "3")
    assert sensor_evaluation_from_json(through_json(sensor_evaluation_to_json(skipped))) == skipped


def test_run_config_objects_become_plain_json_and_the_rest_is_refused() -> None:
    class Limits(dg.Config):
        limit: int = 3

    assert run_config_to_json(None) is None
    assert run_config_to_json(dg.RunConfig(ops={"customers": Limits()})) == {
        "ops": {"customers": {"config": {"limit": 3}}}
    }
    with pytest.raises(dg.KubedagError, match=r"run_config\.ops\.x: .*cannot be sent as JSON"):
        run_config_to_json({"ops": {"x": object()}})


def test_errors_keep_their_message_stack_and_cause() -> None:
    try:
        try:
            raise ValueError("inner")
        except ValueError as inner:
            raise RuntimeError("outer") from inner
    except RuntimeError as exc:
        info = ErrorInfo.from_exception(exc)
    back = error_info_from_json(through_json(error_info_to_json(info)))
    assert back == info
    assert "ValueError: inner" in back.to_string()


def test_times_need_an_offset_and_a_query_string_plus_is_forgiven() -> None:
    assert parse_time("2024-05-01T06:00:00+02:00", "t") == datetime(
        2024, 5, 1, 6, tzinfo=timezone(timedelta(hours=2))
    )
    assert parse_time("2024-05-01T00:00:00Z", "t") == datetime(2024, 5, 1, tzinfo=UTC)
    assert parse_time("2024-05-01T00:00:00 00:00", "t") == datetime(2024, 5, 1, tzinfo=UTC)
    with pytest.raises(BadRequest, match="has no UTC offset") as naive:
        parse_time("2024-05-01T00:00:00", "scheduled_execution_time")
    assert naive.value.field == "scheduled_execution_time"
    with pytest.raises(BadRequest, match="not an ISO-8601 time"):
        parse_time("yesterday", "t")
    with pytest.raises(BadRequest, match="expected an ISO-8601 time"):
        parse_time(1714521600, "t")


def test_request_bodies_are_checked_field_by_field() -> None:
    assert parse_sensor_request(None) == SensorRequest()
    assert parse_sensor_request(
        {"cursor": "5", "last_tick_completion_time": 1700000000, "last_run_key": "k"}
    ) == SensorRequest("5", 1700000000.0, "k")
    for body, field in [
        ({"cursor": 5}, "cursor"),
        ({"last_tick_completion_time": "soon"}, "last_tick_completion_time"),
        ({"last_run_key": ["k"]}, "last_run_key"),
        ({"curser": "5"}, "curser"),
        (["5"], "body"),
    ]:
        with pytest.raises(BadRequest) as refused:
            parse_sensor_request(body)
        assert refused.value.field == field
    assert parse_schedule_request({"scheduled_execution_time": "2024-05-01T00:00:00Z"}) == (
        datetime(2024, 5, 1, tzinfo=UTC)
    )
    for body, field in [
        ({}, "scheduled_execution_time"),
        ({"when": "2024-05-01T00:00:00Z"}, "when"),
        ("2024-05-01", "body"),
    ]:
        with pytest.raises(BadRequest) as refused:
            parse_schedule_request(body)
        assert refused.value.field == field
