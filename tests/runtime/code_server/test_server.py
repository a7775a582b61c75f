"""The code server over real HTTP (127.0.0.1, any free port): health, the snapshot, schedule
and sensor evaluation, and errors that are always JSON."""

from __future__ import annotations

import io
import json
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

import kubedag as dg
from kubedag.code_server.server import CodeHTTPServer, CodeServer, serving
from tests.runtime.code_server.sample_location import customers, defs


def call(
    server: CodeHTTPServer, method: str, path: str, body: Any = None, raw: bytes | None = None
) -> tuple[int, dict[str, Any]]:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(server.base_url + path, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.headers["Content-Type"] == "application/json"
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        assert exc.headers["Content-Type"] == "application/json"
        return exc.code, json.loads(exc.read())


def test_health_and_snapshot(http_server: CodeHTTPServer) -> None:
    assert call(http_server, "GET", "/healthz") == (
        200,
        {"status": "loaded", "code_location": "sample"},
    )
    assert call(http_server, "GET", "/readyz")[0] == 200
    status, snapshot = call(http_server, "GET", "/v1/snapshot")
    assert status == 200
    assert snapshot["code_location"] == "sample"
    assert [s["name"] for s in snapshot["sensors"]] == [
        "broken_sensor",
        "customers_updated",
        "new_regions",
    ]
    assert call(http_server, "GET", "/v1/snapshot/")[1]["content_hash"] == snapshot["content_hash"]


def test_a_schedule_tick_is_evaluated_with_its_time(http_server: CodeHTTPServer) -> None:
    path = "/v1/schedules/customers_twice_daily/evaluate"
    status, body = call(
        http_server, "POST", path, {"scheduled_execution_time": "2024-01-08T18:00:00-05:00"}
    )
    assert status == 200
    assert body == {
        "schedule_name": "customers_twice_daily",
        "scheduled_execution_time": "2024-01-08T18:00:00-05:00",
        "run_requests": [
            {
                "run_key": "2024-01-08T18:00:00-05:00",
                "run_config": None,
                "tags": {"kubedag/schedule_name": "customers_twice_daily", "slot": "18"},
                "partition_key": None,
                "job_name": None,
                "asset_selection": None,
            }
        ],
        "skip_message": None,
    }
    sunday = {"scheduled_execution_time": "2024-01-07T06:00:00-05:00"}
    assert call(http_server, "POST", path, sunday)[1]["skip_message"] == "No refresh on Sundays."
    # A plain schedule requests its run config; a partitioned one the partition just ended.
    nightly = call(
        http_server,
        "POST",
        "/v1/schedules/nightly_customers/evaluate",
        {"scheduled_execution_time": "2024-01-08T02:00:00Z"},
    )[1]
    assert nightly["run_requests"][0]["run_config"] == {"ops": {"customers": {"config": {}}}}
    daily = call(
        http_server,
        "POST",
        "/v1/schedules/daily_orders_job_schedule/evaluate",
        {"scheduled_execution_time": "2024-01-08T00:00:00Z"},
    )[1]
    [request] = daily["run_requests"]
    assert (request["run_key"], request["partition_key"]) == ("2024-01-07", "2024-01-07")


def test_next_ticks_in_the_schedules_time_zone(http_server: CodeHTTPServer) -> None:
    status, body = call(
        http_server,
        "GET",
        "/v1/schedules/customers_twice_daily/ticks?after=2024-03-10T00:00:00%2B00:00&count=3",
    )
    assert status == 200
    assert body["timezone"] == "America/New_York"
    assert body["ticks"] == [
        "2024-03-10T06:00:00-04:00",
        "2024-03-10T18:00:00-04:00",
        "2024-03-11T06:00:00-04:00",
    ]
    assert len(call(http_server, "GET", "/v1/schedules/nightly_customers/ticks")[1]["ticks"]) == 5


def test_a_sensor_continues_from_the_cursor_it_is_given(http_server: CodeHTTPServer) -> None:
    path = "/v1/sensors/new_regions/evaluate"
    status, first = call(http_server, "POST", path, raw=b"")
    assert status == 200
    assert [r["run_key"] for r in first["run_requests"]] == ["region-us", "region-eu"]
    assert first["run_requests"][0]["tags"] == {
        "kubedag/sensor_name": "new_regions",
        "region": "us",
    }
    assert first["cursor"] == "2"
    assert first["dynamic_partitions_requests"] == [
        {"type": "add", "partitions_def_name": "regions", "partition_keys": ["us", "eu"]}
    ]
    second = call(http_server, "POST", path, {"cursor": first["cursor"], "last_run_key": "x"})[1]
    assert [r["run_key"] for r in second["run_requests"]] == ["region-apac"]
    done = call(http_server, "POST", path, {"cursor": second["cursor"]})[1]
    assert (done["run_requests"], done["skip_message"], done["cursor"]) == (
        [],
        "No new regions.",
        "3",
    )


def test_an_asset_sensor_reads_the_instance_the_server_opens(
    http_server: CodeHTTPServer, instance: dg.Instance
) -> None:
    path = "/v1/sensors/customers_updated/evaluate"
    before = call(http_server, "POST", path, {})[1]
    assert before["skip_message"] == "customers has not been materialized yet."

    result = dg.materialize([customers], instance=instance)
    after = call(http_server, "POST", path, {})[1]
    [request] = after["run_requests"]
    assert request["run_key"] == result.run_id
    assert after["cursor"] is not None
    again = call(http_server, "POST", path, {"cursor": after["cursor"]})[1]
    assert again["run_requests"] == []
    assert "No new materialization" in again["skip_message"]


def test_unknown_names_bad_fields_and_user_code_errors_are_json(
    http_server: CodeHTTPServer,
) -> None:
    status, body = call(http_server, "POST", "/v1/schedules/weekly/evaluate", {})
    assert status == 404
    assert body["error"]["known"] == [
        "customers_twice_daily",
        "daily_orders_job_schedule",
        "nightly_customers",
    ]
    assert "No schedule named 'weekly'" in body["error"]["message"]
    assert call(http_server, "POST", "/v1/sensors/nope/evaluate")[1]["error"]["known"] == [
        "broken_sensor",
        "customers_updated",
        "new_regions",
    ]

    status, body = call(
        http_server,
        "POST",
        "/v1/schedules/nightly_customers/evaluate",
        {"scheduled_execution_time": "2024-01-08T02:00:00"},
    )
    assert (status, body["error"]["kind"], body["error"]["field"]) == (
        400,
        "bad_request",
        "scheduled_execution_time",
    )
    assert "no UTC offset" in body["error"]["message"]
    bad_json = call(http_server, "POST", "/v1/sensors/new_regions/evaluate", raw=b"{nope")
    assert (bad_json[0], bad_json[1]["error"]["field"]) == (400, "body")
    bad_count = call(http_server, "GET", "/v1/schedules/nightly_customers/ticks?count=0")
    assert (bad_count[0], bad_count[1]["error"]["field"]) == (400, "count")

    status, body = call(http_server, "POST", "/v1/sensors/broken_sensor/evaluate", {})
    assert status == 500
    assert body["error"]["kind"] == "user_code_error"
    assert "ZeroDivisionError" in body["error"]["message"]
    trace = body["user_traceback"]
    assert trace.startswith("Traceback (most recent call last):")
    assert "sample_location.py" in trace and "in explode" in trace
    assert "/kubedag/automation/" not in trace  # the user's frames only

    assert call(http_server, "GET", "/v1/sensors/new_regions/evaluate")[0] == 405
    assert call(http_server, "GET", "/nothing/here")[1]["error"]["kind"] == "not_found"


def test_a_malformed_request_gets_json_not_html(http_server: CodeHTTPServer) -> None:
    host, port = http_server.server_address[:2]
    with socket.create_connection((str(host), port), timeout=10) as connection:
        connection.sendall(b"BREW /v1/snapshot HTTP/1.0\r\n\r\n")
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert b" 501 " in head.split(b"\r\n")[0]
    assert b"application/json" in head
    assert "BREW" in json.loads(payload)["error"]["message"]


def test_each_request_is_logged_on_one_line(
    http_server: CodeHTTPServer, request_log: io.StringIO
) -> None:
    call(http_server, "GET", "/healthz")
    call(http_server, "POST", "/v1/sensors/broken_sensor/evaluate", {})
    # The line is written once the answer is sent: wait for it, with a deadline.
    deadline = time.monotonic() + 10
    while len(lines := request_log.getvalue().splitlines()) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(lines) == 2
    assert lines[0].startswith('127.0.0.1 "GET /healthz" 200 ')
    assert lines[1].startswith('127.0.0.1 "POST /v1/sensors/broken_sensor/evaluate" 500 ')
    assert "ZeroDivisionError" in lines[1]


def test_a_location_that_fails_to_load_says_why_and_serves_nothing_else(home: Path) -> None:
    def load() -> dg.Definitions:
        raise dg.KubedagError("Cannot load definitions from file 'defs.py': boom")

    code_server = CodeServer("broken", load)
    with serving(code_server, log=io.StringIO()) as httpd:
        assert call(httpd, "GET", "/healthz") == (
            503,
            {"status": "loading", "code_location": "broken"},
        )
        assert call(httpd, "GET", "/v1/snapshot")[1]["error"]["kind"] == "loading"
        code_server.load()
        status, health = call(httpd, "GET", "/healthz")
        assert (status, health["status"]) == (503, "failed")
        assert "boom" in health["error"]["message"]
        status, body = call(httpd, "GET", "/v1/snapshot")
        assert (status, body["error"]["kind"]) == (503, "load_error")
        assert call(httpd, "GET", "/readyz")[0] == 503


def test_readyz_turns_503_while_stopping(code_server: CodeServer) -> None:
    assert code_server.handle("GET", "/readyz").status == 200
    code_server.draining = True
    stopping = code_server.handle("GET", "/readyz")
    assert (stopping.status, stopping.body["status"]) == (503, "stopping")
    assert code_server.handle("GET", "/healthz").status == 200


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_other_methods_are_refused(http_server: CodeHTTPServer, method: str) -> None:
    assert call(http_server, method, "/v1/snapshot")[0] == 405


def test_the_instance_comes_from_kubedag_instance_ref_when_set(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = dg.Instance.from_config({}, home=str(tmp_path / "elsewhere"))
    try:
        result = dg.materialize([customers], instance=elsewhere)
        monkeypatch.setenv("KUBEDAG_INSTANCE_REF", elsewhere.get_ref().to_json())
        code_server = CodeServer.from_definitions("sample", defs)
        answer = code_server.handle("POST", "/v1/sensors/customers_updated/evaluate")
        code_server.close()
    finally:
        elsewhere.dispose()
    assert answer.status == 200
    assert answer.body["run_requests"][0]["run_key"] == result.run_id
