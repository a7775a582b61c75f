"""The JSON forms of what crosses between the code server and its clients.

Evaluations travel as the runtime's own values: a schedule tick is a `ScheduleEvaluationResult`,
a sensor evaluation a `SensorEvaluation`, each holding `RunRequest`s (and for sensors
`AddDynamicPartitionsRequest` / `DeleteDynamicPartitionsRequest`). Each has a `*_to_json` and a
`*_from_json` here, so what the client returns is what a local evaluation returns, and the
daemon or the operator can use a remote code location as it uses a local one.

Asset keys are written as users write them (`a/b`); times as ISO-8601 with an offset.

Parsing what a client sent (`parse_time`, `parse_sensor_request`) raises `BadRequest` naming
the field, which the server answers with 400.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kubedag.automation.schedules import ScheduleEvaluationResult
from kubedag.automation.sensors import SensorEvaluation
from kubedag.definitions.asset_key import AssetKey
from kubedag.definitions.run_request import (
    AddDynamicPartitionsRequest,
    DeleteDynamicPartitionsRequest,
    DynamicPartitionsRequest,
    RunRequest,
)
from kubedag.errors import KubedagError
from kubedag.records.events import ErrorInfo


class BadRequest(KubedagError):
    """What a client sent cannot be used; `field` names the part that is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


# -- run requests ------------------------------------------------------------------------------
def run_request_to_json(request: RunRequest) -> dict[str, Any]:
    return {
        "run_key": request.run_key,
        "run_config": run_config_to_json(request.run_config),
        "tags": dict(request.tags),
        "partition_key": request.partition_key,
        "job_name": request.job_name,
        "asset_selection": (
            [key.to_user_string() for key in request.asset_selection]
            if request.asset_selection is not None
            else None
        ),
    }


def run_request_from_json(data: Mapping[str, Any]) -> RunRequest:
    selection = data.get("asset_selection")
    return RunRequest(
        run_key=data.get("run_key"),
        run_config=data.get("run_config"),
        tags=dict(data.get("tags") or {}),
        job_name=data.get("job_name"),
        asset_selection=(
            [AssetKey.from_user_string(key) for key in selection] if selection is not None else None
        ),
        partition_key=data.get("partition_key"),
    )


def run_config_to_json(run_config: Any) -> Any:
    """Run config as plain JSON: a `dg.RunConfig` becomes its dict, `Config` objects their
    fields. None stays None (a schedule's own run config then applies)."""
    from kubedag.config.run_config import RunConfig

    if run_config is None:
        return None
    if isinstance(run_config, RunConfig):
        run_config = run_config.to_config_dict()
    return _plain(run_config, "run_config")


def _plain(value: Any, where: str) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, Mapping):
        return {str(key): _plain(item, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item, f"{where}[{index}]") for index, item in enumerate(value)]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise KubedagError(
        f"RunRequest.{where}: {value!r} ({type(value).__name__}) cannot be sent as JSON; use "
        "strings, numbers, booleans, lists, dicts or dg.Config objects in run config."
    )


# -- dynamic partitions ------------------------------------------------------------------------
def dynamic_partitions_request_to_json(request: DynamicPartitionsRequest) -> dict[str, Any]:
    return {
        "type": "add" if isinstance(request, AddDynamicPartitionsRequest) else "delete",
        "partitions_def_name": request.partitions_def_name,
        "partition_keys": list(request.partition_keys),
    }


def dynamic_partitions_request_from_json(data: Mapping[str, Any]) -> DynamicPartitionsRequest:
    kind = AddDynamicPartitionsRequest if data["type"] == "add" else DeleteDynamicPartitionsRequest
    return kind(data["partitions_def_name"], list(data["partition_keys"]))


# -- evaluations -------------------------------------------------------------------------------
def schedule_result_to_json(result: ScheduleEvaluationResult) -> dict[str, Any]:
    return {
        "run_requests": [run_request_to_json(request) for request in result.run_requests],
        "skip_message": result.skip_message,
    }


def schedule_result_from_json(data: Mapping[str, Any]) -> ScheduleEvaluationResult:
    return ScheduleEvaluationResult(
        [run_request_from_json(item) for item in data.get("run_requests", [])],
        data.get("skip_message"),
    )


def sensor_evaluation_to_json(evaluation: SensorEvaluation) -> dict[str, Any]:
    return {
        "run_requests": [run_request_to_json(request) for request in evaluation.run_requests],
        "skip_message": evaluation.skip_message,
        "cursor": evaluation.cursor,
        "dynamic_partitions_requests": [
            dynamic_partitions_request_to_json(item)
            for item in evaluation.dynamic_partitions_requests
        ],
    }


def sensor_evaluation_from_json(data: Mapping[str, Any]) -> SensorEvaluation:
    return SensorEvaluation(
        run_requests=[run_request_from_json(item) for item in data.get("run_requests", [])],
        skip_message=data.get("skip_message"),
        cursor=data.get("cursor"),
        dynamic_partitions_requests=[
            dynamic_partitions_request_from_json(item)
            for item in data.get("dynamic_partitions_requests", [])
        ],
    )


# -- errors ------------------------------------------------------------------------------------
def error_info_to_json(error: ErrorInfo) -> dict[str, Any]:
    return {
        "message": error.message,
        "cls_name": error.cls_name,
        "stack": list(error.stack),
        "cause": error_info_to_json(error.cause) if error.cause is not None else None,
    }


def error_info_from_json(data: Mapping[str, Any]) -> ErrorInfo:
    cause = data.get("cause")
    return ErrorInfo(
        message=str(data.get("message", "")),
        stack=tuple(data.get("stack") or ()),
        cls_name=data.get("cls_name"),
        cause=error_info_from_json(cause) if cause else None,
    )


# -- what clients send -------------------------------------------------------------------------
_SPACE_FOR_PLUS = re.compile(r" (\d\d:?\d\d)$")


def parse_time(value: Any, field: str) -> datetime:
    """An ISO-8601 time with an offset (`2024-05-01T00:00:00+00:00`, or `…Z`). A naive time is
    refused: the server's clock zone must not decide which tick is meant."""
    if not isinstance(value, str):
        raise BadRequest(field, f"expected an ISO-8601 time with an offset, got {value!r}.")
    # In a query string an unescaped `+` arrives as a space: `…T00:00:00 00:00`.
    text = _SPACE_FOR_PLUS.sub(r"+\1", value.strip())
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadRequest(
            field,
            f"{value!r} is not an ISO-8601 time; write for example 2024-05-01T00:00:00+00:00.",
        ) from None
    if moment.tzinfo is None:
        raise BadRequest(
            field, f"{value!r} has no UTC offset; add one, for example {value}+00:00 or {value}Z."
        )
    return moment


def time_to_json(moment: datetime) -> str:
    return moment.isoformat()


@dataclass(frozen=True)
class SensorRequest:
    """What a sensor evaluation starts from: the state the caller stored for it."""

    cursor: str | None = None
    last_tick_completion_time: float | None = None
    last_run_key: str | None = None


def _request_fields(body: Any, known: set[str]) -> Mapping[str, Any]:
    """A request body that may be empty (null) or an object of `known` fields only."""
    if body is None:
        return {}
    if not isinstance(body, Mapping):
        raise BadRequest("body", f"expected a JSON object, got {type(body).__name__}.")
    unknown = sorted(set(body) - known)
    if unknown:
        raise BadRequest(unknown[0], f"unknown field; expected {', '.join(sorted(known))}.")
    return body


def _optional_text(body: Mapping[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise BadRequest(key, f"expected a string or null, got {value!r}.")
    return value


def parse_sensor_request(body: Any) -> SensorRequest:
    body = _request_fields(body, {"cursor", "last_tick_completion_time", "last_run_key"})
    cursor = _optional_text(body, "cursor")
    completed = body.get("last_tick_completion_time")
    if completed is not None and (
        isinstance(completed, bool) or not isinstance(completed, int | float)
    ):
        raise BadRequest(
            "last_tick_completion_time",
            f"expected seconds since the epoch (a number) or null, got {completed!r}.",
        )
    run_key = _optional_text(body, "last_run_key")
    return SensorRequest(cursor, float(completed) if completed is not None else None, run_key)


@dataclass(frozen=True)
class CheckRunConfigRequest:
    """A run to check before it is recorded (`POST /v1/jobs/{name}/check-run-config`)."""

    run_config: dict[str, Any] | None = None
    partition_key: str | None = None
    asset_selection: list[str] | None = None


def parse_check_run_config_request(body: Any) -> CheckRunConfigRequest:
    body = _request_fields(body, {"run_config", "partition_key", "asset_selection"})
    run_config = body.get("run_config")
    if run_config is not None and not isinstance(run_config, Mapping):
        raise BadRequest("run_config", f"expected an object or null, got {run_config!r}.")
    partition_key = _optional_text(body, "partition_key")
    selection = body.get("asset_selection")
    if selection is not None and (
        not isinstance(selection, list) or not all(isinstance(k, str) for k in selection)
    ):
        raise BadRequest(
            "asset_selection",
            f"expected a list of asset key paths (a/b) or null, got {selection!r}.",
        )
    return CheckRunConfigRequest(
        dict(run_config) if run_config is not None else None, partition_key, selection
    )


def parse_schedule_request(body: Any) -> datetime:
    """The `scheduled_execution_time` of a schedule evaluation request."""
    if not isinstance(body, Mapping):
        raise BadRequest(
            "body",
            'expected a JSON object such as {"scheduled_execution_time": '
            '"2024-05-01T00:00:00+00:00"}.',
        )
    unknown = sorted(set(body) - {"scheduled_execution_time"})
    if unknown:
        raise BadRequest(unknown[0], "unknown field; expected scheduled_execution_time.")
    if "scheduled_execution_time" not in body:
        raise BadRequest("scheduled_execution_time", "required: the tick's time, ISO-8601.")
    return parse_time(body["scheduled_execution_time"], "scheduled_execution_time")
