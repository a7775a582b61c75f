"""A client for `kubedag code-server`, for the operator and the daemon.

It returns what a local evaluation returns: `snapshot()` a `CodeLocationSnapshot`,
`evaluate_schedule` a `ScheduleEvaluationResult`, `evaluate_sensor` a `SensorEvaluation` (with
`RunRequest`s and dynamic partitions requests), `next_ticks` datetimes; so code that drives a
local code location can drive a remote one. It creates no run and saves no cursor: the caller
does, as with a local evaluation.

Failures are `CodeServerError`s naming the URL: the server cannot be reached or timed out, or
answered with an error (`status` and the JSON `body` are kept). A schedule or sensor whose code
raised is a `CodeServerUserCodeError`, whose `error` is the user's error with the server-side
traceback (an `ErrorInfo`, ready to record on a tick).

Standard library only (`urllib`), so the operator's image needs nothing more.
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from kubedag.automation.schedules import ScheduleEvaluationResult
from kubedag.automation.sensors import SensorEvaluation
from kubedag.code_server.snapshot import CodeLocationSnapshot, snapshot_from_dict
from kubedag.code_server.wire import (
    error_info_from_json,
    parse_time,
    schedule_result_from_json,
    sensor_evaluation_from_json,
    time_to_json,
)
from kubedag.errors import KubedagError
from kubedag.records.events import ErrorInfo

DEFAULT_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class RunCheck:
    """A code server's answer on a run: why it would be refused (None: accepted) and the job's
    run tags."""

    problem: str | None
    run_tags: dict[str, str] = field(default_factory=dict)


class CodeServerError(KubedagError):
    """A request to a code server failed. `url` is what was asked; `status` and `body` are the
    server's answer when there was one (None when it could not be reached)."""

    def __init__(
        self,
        message: str,
        url: str,
        status: int | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.url = url
        self.status = status
        self.body = dict(body) if body is not None else None


class CodeServerUserCodeError(CodeServerError):
    """The schedule's or sensor's code raised on the server; `error` holds what it raised and
    the user's traceback (`error.to_string()`)."""

    def __init__(
        self, message: str, url: str, status: int, body: Mapping[str, Any], error: ErrorInfo
    ) -> None:
        super().__init__(message, url, status, body)
        self.error = error


class CodeServerClient:
    """Talks to one code server: `CodeServerClient("http://my-location:4000")`."""

    def __init__(self, base_url: str, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    # -- endpoints ----------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """/healthz's answer (`status`: loaded, loading or failed, and a load error); raises
        only when the server cannot be reached."""
        return self._request("GET", "/healthz", accept=(200, 503))

    def is_ready(self) -> bool:
        """Whether /readyz answers 200; False when it answers otherwise or not at all."""
        try:
            self._request("GET", "/readyz")
        except CodeServerError:
            return False
        return True

    def snapshot(self) -> CodeLocationSnapshot:
        return snapshot_from_dict(self._request("GET", "/v1/snapshot"))

    def evaluate_schedule(
        self, name: str, scheduled_execution_time: datetime
    ) -> ScheduleEvaluationResult:
        """What schedule `name` requests at its tick `scheduled_execution_time` (aware)."""
        body = {"scheduled_execution_time": _aware(scheduled_execution_time)}
        data = self._request("POST", f"/v1/schedules/{quote(name, safe='')}/evaluate", body)
        return schedule_result_from_json(data)

    def evaluate_sensor(
        self,
        name: str,
        cursor: str | None = None,
        last_tick_completion_time: float | None = None,
        last_run_key: str | None = None,
    ) -> SensorEvaluation:
        """What sensor `name` requests now, from the state the caller stored for it."""
        body = {
            "cursor": cursor,
            "last_tick_completion_time": last_tick_completion_time,
            "last_run_key": last_run_key,
        }
        data = self._request("POST", f"/v1/sensors/{quote(name, safe='')}/evaluate", body)
        return sensor_evaluation_from_json(data)

    def check_run_config(
        self,
        job_name: str,
        run_config: Mapping[str, Any] | None = None,
        partition_key: str | None = None,
        asset_selection: list[str] | None = None,
    ) -> str | None:
        """Why a run of `job_name` with this run config would be refused (the message names
        the field), or None when it would be accepted."""
        return self.check_run(job_name, run_config, partition_key, asset_selection).problem

    def check_run(
        self,
        job_name: str,
        run_config: Mapping[str, Any] | None = None,
        partition_key: str | None = None,
        asset_selection: list[str] | None = None,
    ) -> RunCheck:
        """Whether a run of `job_name` would be accepted, and the job's run tags (the tags
        every run of it starts from) when it would."""
        body = {
            "run_config": dict(run_config) if run_config is not None else None,
            "partition_key": partition_key,
            "asset_selection": asset_selection,
        }
        path = f"/v1/jobs/{quote(job_name, safe='')}/check-run-config"
        data = self._request("POST", path, body)
        if data.get("valid"):
            tags = data.get("run_tags")
            run_tags = {str(k): str(v) for k, v in tags.items()} if isinstance(tags, dict) else {}
            return RunCheck(None, run_tags)
        error = data.get("error") if isinstance(data.get("error"), dict) else {}
        return RunCheck(str((error or {}).get("message") or "the run config was refused"), {})

    def next_ticks(self, name: str, after: datetime, count: int = 5) -> list[datetime]:
        """The next `count` ticks of schedule `name` after `after`, in its time zone."""
        query = urlencode({"after": _aware(after), "count": str(count)})
        data = self._request("GET", f"/v1/schedules/{quote(name, safe='')}/ticks?{query}")
        return [parse_time(text, "ticks") for text in data["ticks"]]

    # -- HTTP ---------------------------------------------------------------------------------
    def _request(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        accept: tuple[int, ...] = (200,),
    ) -> dict[str, Any]:
        url = self.base_url + path
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                status, payload = answer.status, answer.read()
        except urllib.error.HTTPError as exc:
            status, payload = exc.code, exc.read()
        except (urllib.error.URLError, OSError) as exc:
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            if isinstance(reason, socket.timeout | TimeoutError):
                reason = f"no answer within {self.timeout:g} s"
            raise CodeServerError(
                f"Cannot reach the code server at {url}: {reason}. Check that it is running "
                "(kubedag code-server) and that the address is right.",
                url,
            ) from None
        try:
            decoded = json.loads(payload) if payload else {}
        except ValueError:
            raise CodeServerError(
                f"The code server at {url} answered {status} with a body that is not JSON: "
                f"{payload[:200]!r}. Is this address a kubedag code server?",
                url,
                status,
            ) from None
        if not isinstance(decoded, dict):
            raise CodeServerError(
                f"The code server at {url} answered {status} with {decoded!r}, not an object.",
                url,
                status,
            )
        if status in accept:
            return decoded
        raise _error_for(url, status, decoded)


def _error_for(url: str, status: int, body: dict[str, Any]) -> CodeServerError:
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    assert isinstance(error, dict)
    message = str(error.get("message") or f"HTTP {status}")
    if error.get("kind") == "user_code_error":
        return CodeServerUserCodeError(
            f"{message} (from the code server at {url})",
            url,
            status,
            body,
            error_info_from_json(error),
        )
    return CodeServerError(
        f"The code server at {url} answered {status}: {message}", url, status, body
    )


def _aware(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise KubedagError(
            f"{moment.isoformat()} has no time zone; give an aware datetime (tzinfo=UTC), so "
            "the code server cannot read it in another zone."
        )
    return time_to_json(moment)
