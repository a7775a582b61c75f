"""The code server: one code location, loaded once, answering over HTTP with JSON.

In a cluster the operator cannot import user code (its image is not the user's), so each
`CodeLocation` runs as a Deployment of the user's image serving `kubedag code-server`; the
operator and the daemon ask it what the code defines and what a schedule tick or a sensor
evaluation requests, and act on the answers themselves (create runs, store ticks and cursors).
The server only evaluates: it creates no run and saves no cursor.

    GET  /healthz                          200 once the code is loaded (503 loading or failed)
    GET  /readyz                           200 while it takes requests (503 loading, failed,
                                           or stopping)
    GET  /v1/snapshot                      the definition snapshot (`kubedag.code_server.snapshot`)
    POST /v1/schedules/{name}/evaluate     {"scheduled_execution_time": ISO} -> run requests
    GET  /v1/schedules/{name}/ticks        ?after=ISO&count=N -> the next tick times
    POST /v1/sensors/{name}/evaluate       {"cursor", "last_tick_completion_time",
                                            "last_run_key"} -> run requests, cursor, …
    POST /v1/jobs/{name}/check-run-config  {"run_config", "partition_key", "asset_selection"}
                                           -> {"valid": true, "run_tags"} or
                                              {"valid": false, "error"}

Every answer is JSON, errors too: `{"error": {"kind", "message", …}}` with 400 (`field` names
what is wrong), 404 (`known` lists the names there are), 405, 500 (a user-code error carries the
user's traceback in `user_traceback`) or 503. Evaluation reuses the runtime's
(`ScheduleDefinition.evaluate_tick`, `SensorDefinition.evaluate_tick`), so a remote evaluation
answers exactly what a local one does.

The answers are computed by `CodeServer.handle`, a function of (method, path, query, body) with
no HTTP in it; `CodeHTTPServer` is the thin standard-library adapter around it. The code is
loaded after the port is open, so a location whose import fails still answers: /healthz says
why (the operator shows it in the CodeLocation's status) instead of the pod only crash-looping.

Sensors that read the instance (asset sensors, or a function using `context.instance`) get one,
opened on first use and kept: from `KUBEDAG_INSTANCE_REF` when set, else the local instance
(`Instance.get()`: `$KUBEDAG_HOME/kubedag.yaml`).
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, cast
from urllib.parse import parse_qs, unquote, urlsplit

from kubedag.automation.schedules import build_schedule_context, next_ticks
from kubedag.automation.sensors import build_sensor_context
from kubedag.code_server.snapshot import build_snapshot, snapshot_to_dict
from kubedag.code_server.wire import (
    BadRequest,
    error_info_to_json,
    parse_check_run_config_request,
    parse_schedule_request,
    parse_sensor_request,
    parse_time,
    schedule_result_to_json,
    sensor_evaluation_to_json,
    time_to_json,
)
from kubedag.records.events import ErrorInfo

if TYPE_CHECKING:
    from kubedag.definitions.definitions import Definitions
    from kubedag.instance.instance import Instance

_KUBEDAG_DIR = str(Path(__file__).resolve().parent.parent) + os.sep
MAX_BODY_BYTES = 1 << 20
MAX_TICKS = 1000
DEFAULT_TICKS = 5


@dataclass(frozen=True)
class Response:
    status: int
    body: dict[str, Any]


def error_response(status: int, kind: str, message: str, **extra: Any) -> Response:
    return Response(status, {"error": {"kind": kind, "message": message, **extra}})


def user_code_error_response(exc: BaseException) -> Response:
    """500 for an evaluation that failed: the error, and the traceback of the user's code (its
    cause, with kubedag's own frames left out)."""
    info = ErrorInfo.from_exception(exc, skip_frames_from=(_KUBEDAG_DIR,))
    user = info.cause or info
    return Response(
        500,
        {
            "error": {"kind": "user_code_error", **error_info_to_json(info)},
            "user_traceback": "Traceback (most recent call last):\n" + user.to_string(),
        },
    )


class LazyInstance:
    """The instance, opened the first time something uses it (most sensors never do, and the
    server should not need a database to serve a snapshot), then kept. Stands in for an
    `Instance` in evaluation contexts."""

    def __init__(self, open_instance: Callable[[], Instance]) -> None:
        self._open = open_instance
        self._instance: Instance | None = None
        self._lock = threading.Lock()

    def get(self) -> Instance:
        with self._lock:
            if self._instance is None:
                self._instance = self._open()
            return self._instance

    def __getattr__(self, name: str) -> Any:
        return getattr(self.get(), name)

    def dispose(self) -> None:
        with self._lock:
            if self._instance is not None:
                self._instance.dispose()
                self._instance = None


def _open_default_instance() -> Instance:
    from kubedag.instance.instance import Instance

    return Instance.get()


@dataclass
class CodeServer:
    """One code location and the answers about it. `load` imports the code (once); until it
    has, every endpoint but the health checks answers 503."""

    location_name: str
    loader: Callable[[], Definitions]
    open_instance: Callable[[], Instance] = _open_default_instance
    state: str = "loading"  # loading, loaded, failed
    draining: bool = False
    _defs: Definitions | None = field(default=None, repr=False)
    _snapshot: dict[str, Any] | None = field(default=None, repr=False)
    _load_error: ErrorInfo | None = field(default=None, repr=False)
    _instance: LazyInstance | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._instance = LazyInstance(self.open_instance)

    @staticmethod
    def from_definitions(location_name: str, defs: Definitions, **options: Any) -> CodeServer:
        """A server over definitions already loaded (tests, embedding)."""
        server = CodeServer(location_name, lambda: defs, **options)
        server.load()
        return server

    def load(self) -> None:
        """Import the code and build the snapshot; a failure is kept and served."""
        try:
            defs = self.loader()
            snapshot = snapshot_to_dict(build_snapshot(defs, self.location_name))
        except Exception as exc:
            self._load_error = ErrorInfo.from_exception(exc, skip_frames_from=(_KUBEDAG_DIR,))
            self.state = "failed"
            return
        self._defs, self._snapshot, self.state = defs, snapshot, "loaded"

    @property
    def load_error(self) -> ErrorInfo | None:
        return self._load_error

    def close(self) -> None:
        if self._instance is not None:
            self._instance.dispose()

    # -- routing -------------------------------------------------------------------------------
    def handle(
        self, method: str, path: str, query: str = "", body: bytes | None = None
    ) -> Response:
        """The answer to one request. Never raises: a bug is a 500 with its traceback."""
        try:
            return self._route(method, path.rstrip("/") or "/", parse_qs(query), body)
        except BadRequest as exc:
            return error_response(400, "bad_request", str(exc), field=exc.field)
        except Exception as exc:
            return Response(
                500,
                {
                    "error": {"kind": "internal_error", **error_info_to_json(_info(exc))},
                    "traceback": "".join(traceback.format_exception(exc)),
                },
            )

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], body: bytes | None
    ) -> Response:
        if path == "/healthz":
            return self._allow(method, "GET") or self._health(ready=False)
        if path == "/readyz":
            return self._allow(method, "GET") or self._health(ready=True)
        for pattern, allowed, endpoint in self._endpoints():
            match = pattern.fullmatch(path)
            if match is None:
                continue
            refused = self._allow(method, allowed) or self._not_loaded()
            if refused is not None:
                return refused
            return endpoint(*[unquote(group) for group in match.groups()], query, body)
        return error_response(
            404,
            "not_found",
            f"No endpoint {method} {path}. Endpoints: GET /healthz, GET /readyz, "
            "GET /v1/snapshot, POST /v1/schedules/NAME/evaluate, GET /v1/schedules/NAME/ticks, "
            "POST /v1/sensors/NAME/evaluate.",
        )

    def _endpoints(self) -> list[tuple[re.Pattern[str], str, Callable[..., Response]]]:
        return [
            (re.compile(r"/v1/snapshot"), "GET", self._get_snapshot),
            (re.compile(r"/v1/schedules/([^/]+)/evaluate"), "POST", self._evaluate_schedule),
            (re.compile(r"/v1/schedules/([^/]+)/ticks"), "GET", self._schedule_ticks),
            (re.compile(r"/v1/sensors/([^/]+)/evaluate"), "POST", self._evaluate_sensor),
            (re.compile(r"/v1/jobs/([^/]+)/check-run-config"), "POST", self._check_run_config),
        ]

    @staticmethod
    def _allow(method: str, allowed: str) -> Response | None:
        if method == allowed:
            return None
        return error_response(
            405, "method_not_allowed", f"{method} is not allowed here; use {allowed}."
        )

    def _not_loaded(self) -> Response | None:
        if self.state == "loaded":
            return None
        if self.state == "loading":
            return error_response(503, "loading", "The code location is still loading.")
        assert self._load_error is not None
        return Response(
            503, {"error": {"kind": "load_error", **error_info_to_json(self._load_error)}}
        )

    def _health(self, ready: bool) -> Response:
        body: dict[str, Any] = {"status": self.state, "code_location": self.location_name}
        if self.state == "failed" and self._load_error is not None:
            body["error"] = {"kind": "load_error", **error_info_to_json(self._load_error)}
        if ready and self.draining:
            body["status"] = "stopping"
            return Response(503, body)
        return Response(200 if self.state == "loaded" else 503, body)

    # -- endpoints -----------------------------------------------------------------------------
    @property
    def definitions(self) -> Definitions:
        assert self._defs is not None, "the code location is not loaded"
        return self._defs

    def _get_snapshot(self, _query: dict[str, list[str]], _body: bytes | None) -> Response:
        assert self._snapshot is not None
        return Response(200, self._snapshot)

    def _unknown(self, kind: str, name: str, known: list[str]) -> Response:
        return error_response(
            404,
            "not_found",
            f"No {kind} named '{name}' in code location '{self.location_name}'. "
            f"{kind.capitalize()}s: {', '.join(known) or 'none'}.",
            known=known,
        )

    def _evaluate_schedule(
        self, name: str, _query: dict[str, list[str]], body: bytes | None
    ) -> Response:
        schedules = {schedule.name: schedule for schedule in self.definitions.schedules}
        if name not in schedules:
            return self._unknown("schedule", name, sorted(schedules))
        moment = parse_schedule_request(_json_body(body))
        context = build_schedule_context(
            instance=self._instance_stand_in(), scheduled_execution_time=moment
        )
        try:
            result = schedules[name].evaluate_tick(context)
        except Exception as exc:
            return user_code_error_response(exc)
        return Response(
            200,
            {
                "schedule_name": name,
                "scheduled_execution_time": time_to_json(moment),
                **schedule_result_to_json(result),
            },
        )

    def _schedule_ticks(
        self, name: str, query: dict[str, list[str]], _body: bytes | None
    ) -> Response:
        schedules = {schedule.name: schedule for schedule in self.definitions.schedules}
        if name not in schedules:
            return self._unknown("schedule", name, sorted(schedules))
        schedule = schedules[name]
        after = parse_time(query["after"][-1], "after") if "after" in query else datetime.now(UTC)
        count = _count(query.get("count", [str(DEFAULT_TICKS)])[-1])
        return Response(
            200,
            {
                "schedule_name": name,
                "timezone": schedule.timezone,
                "after": time_to_json(after),
                "ticks": [time_to_json(tick) for tick in next_ticks(schedule, after, count)],
            },
        )

    def _evaluate_sensor(
        self, name: str, _query: dict[str, list[str]], body: bytes | None
    ) -> Response:
        sensors = {sensor.name: sensor for sensor in self.definitions.sensors}
        if name not in sensors:
            return self._unknown("sensor", name, sorted(sensors))
        request = parse_sensor_request(_json_body(body, empty_ok=True))
        context = build_sensor_context(
            instance=self._instance_stand_in(),
            cursor=request.cursor,
            sensor_name=name,
            last_tick_completion_time=request.last_tick_completion_time,
            last_run_key=request.last_run_key,
            definitions=self.definitions,
        )
        try:
            evaluation = sensors[name].evaluate_tick(context)
        except Exception as exc:
            return user_code_error_response(exc)
        return Response(200, {"sensor_name": name, **sensor_evaluation_to_json(evaluation)})

    def _check_run_config(
        self, name: str, _query: dict[str, list[str]], body: bytes | None
    ) -> Response:
        """Whether a run of job `name` with this run config (and partition, and asset
        selection) would be accepted: the operator asks before it records a run, so a mistake
        is a condition on the Run, not a pod that starts and fails."""
        from kubedag.definitions.asset_key import AssetKey
        from kubedag.definitions.selection import AssetSelection
        from kubedag.errors import KubedagError
        from kubedag.execution.preparation import check_run_request

        request = parse_check_run_config_request(_json_body(body, empty_ok=True))
        try:
            job = self.definitions.get_job_def(name)
        except KubedagError:
            return self._unknown("job", name, sorted(job.name for job in self.definitions.jobs))
        try:
            if request.asset_selection is not None:
                keys = [AssetKey.from_user_string(path) for path in request.asset_selection]
                job = job.with_asset_selection(AssetSelection.keys(*keys))
            check_run_request(
                job,
                run_config=request.run_config,
                partition_key=request.partition_key,
                instance=self._instance_stand_in(),
            )
        except KubedagError as exc:
            error = {"kind": type(exc).__name__, "message": str(exc)}
            return Response(200, {"job_name": name, "valid": False, "error": error})
        # The job's run tags come with the answer: the operator records them on the run (under
        # the Job and Run objects' tags), so the queue's tag limits see them before launch.
        run_tags = {str(key): str(value) for key, value in job.run_tags.items()}
        return Response(200, {"job_name": name, "valid": True, "run_tags": run_tags})

    def _instance_stand_in(self) -> Instance:
        return cast("Instance", self._instance)


def _info(exc: BaseException) -> ErrorInfo:
    return ErrorInfo.from_exception(exc)


def _json_body(body: bytes | None, empty_ok: bool = False) -> Any:
    if not body or not body.strip():
        if empty_ok:
            return None
        raise BadRequest("body", "expected a JSON object; the request has no body.")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("body", f"not valid JSON: {exc}.") from None


def _count(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        count = 0
    if not 1 <= count <= MAX_TICKS:
        raise BadRequest("count", f"expected a whole number from 1 to {MAX_TICKS}, got {text!r}.")
    return count


# -- HTTP --------------------------------------------------------------------------------------
class CodeHTTPServer(ThreadingHTTPServer):
    """`ThreadingHTTPServer` answering with a `CodeServer`; logs one line per request."""

    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], code_server: CodeServer, log: TextIO | None = None
    ) -> None:
        self.code_server = code_server
        self.log = log
        super().__init__(address, _RequestHandler)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        shown = host if isinstance(host, str) else host.decode()
        if shown in ("0.0.0.0", "::"):
            shown = "127.0.0.1"
        return f"http://{shown}:{port}"

    def log_line(self, text: str) -> None:
        stream = self.log if self.log is not None else sys.stderr
        try:
            stream.write(text + "\n")
            stream.flush()
        except (OSError, ValueError):
            pass  # a closed stream must not break serving


class _RequestHandler(BaseHTTPRequestHandler):
    server: CodeHTTPServer
    server_version = "kubedag-code-server"

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def do_PUT(self) -> None:
        self._answer("PUT")

    def do_DELETE(self) -> None:
        self._answer("DELETE")

    def do_PATCH(self) -> None:
        self._answer("PATCH")

    def _answer(self, method: str) -> None:
        started = time.monotonic()
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            response = error_response(
                413, "too_large", f"The body is {length} bytes; the limit is {MAX_BODY_BYTES}."
            )
        else:
            body = self.rfile.read(length) if length > 0 else None
            response = self.server.code_server.handle(method, url.path, url.query, body)
        self._send(response)
        elapsed = (time.monotonic() - started) * 1000
        note = ""
        if response.status >= 500 and "error" in response.body:
            note = " " + str(response.body["error"].get("message", "")).splitlines()[0][:200]
        self.server.log_line(
            f'{self.client_address[0]} "{method} {url.path}" {response.status} '
            f"{elapsed:.1f}ms{note}"
        )

    def _send(self, response: Response) -> None:
        payload = json.dumps(response.body).encode()
        self.send_response(response.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Requests too broken to route (a bad request line, an unknown method) get JSON too."""
        self.close_connection = True
        kind = "bad_request" if code < 500 else "not_supported"
        self._send(error_response(code, kind, message or explain or "Bad request."))
        self.server.log_line(f'{self.client_address[0]} "{self.requestline[:80]}" {code}')

    def log_message(self, format: str, *args: Any) -> None:
        pass  # `_answer` logs one line per request


@contextmanager
def serving(
    code_server: CodeServer, host: str = "127.0.0.1", port: int = 0, log: TextIO | None = None
) -> Iterator[CodeHTTPServer]:
    """Serve `code_server` from a background thread until the block ends (port 0: any free
    port; `server.base_url` says which)."""
    httpd = CodeHTTPServer((host, port), code_server, log)
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
    )
    thread.start()
    try:
        yield httpd
    finally:
        code_server.draining = True
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
