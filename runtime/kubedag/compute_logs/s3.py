"""Compute logs in S3-API object storage (AWS S3, MinIO, Ceph, nanio...).

Objects are `<prefix>/<run_id>/<step_key>.out` and `.err`. A step pod's file system disappears
with the pod, so the output has to leave it while the step runs, not only at the end:

- capture tees into a local file (under `local_dir`, or a temporary directory);
- while the step runs, a background thread uploads each file again every `upload_interval`
  seconds if it grew, so a UI reading the object sees partial output (`None`: only at the end);
- when the step ends, a final upload, then the local files are removed.

Each upload sends the whole file with one `PutObject` (objects cannot be appended to); that is
simple and fine for logs of up to a few hundred megabytes. Before capturing, the object a previous
attempt of the same step left is downloaded into the local file, so a retry appends to it like
it does for local logs. That download is also where a missing bucket or missing credentials are
reported, before the step's code runs. Failed uploads during or after the step are logged, not
raised: the step's outcome does not depend on where its logs go, and the local file is kept.

A storage that is briefly unreachable (a restart, a failover, a 503 or throttling answer) does
not lose lines: the final upload of a step, and the download before it, are retried with
back-off (from 0.1 s, doubling, at most `retry_max_delay_seconds` apart) for `retry_seconds`;
the step's end waits for its logs meanwhile. Only then is the failure reported as above. A
refusal that waiting does not cure (no such bucket, wrong credentials) is not retried. Partial
uploads while the step runs are not retried either: the next one sends the whole file again.

Credentials come from boto3's default chain (environment, shared files, web identity, instance
role); they never pass through kubedag's configuration and never appear in its messages. boto3
is imported on first use, so `import kubedag.compute_logs` stays cheap.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from kubedag.compute_logs.capture import FdCapture, write_all
from kubedag.compute_logs.manager import (
    IO_TYPES,
    LOG_SUFFIXES,
    ComputeLogManager,
    ComputeLogStorageError,
    IoType,
    LogChunk,
    check_log_name,
    check_read_window,
    step_key_from_log_name,
)

logger = logging.getLogger("kubedag.compute_logs")
T = TypeVar("T")

DEFAULT_RETRY_SECONDS = 30.0
DEFAULT_RETRY_MAX_DELAY_SECONDS = 2.0
_FIRST_RETRY_DELAY_SECONDS = 0.1
# Answers that mean "try again later": the server is overloaded, restarting or throttling us.
_TRANSIENT_CODES = frozenset(
    {
        "InternalError",
        "ServiceUnavailable",
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestTimeout",
        "RequestTimeTooSkewed",
        "500",
        "502",
        "503",
        "504",
    }
)

_DELETE_BATCH = 1000  # DeleteObjects takes at most 1000 keys
_MISSING_OBJECT_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
_REFUSED_CODES = frozenset(
    {
        "AccessDenied",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidToken",
        "ExpiredToken",
        "403",
    }
)


@dataclass
class _LocalLog:
    """One stream of a capture: the local file the tee writes and the object it is uploaded to."""

    io_type: IoType
    key: str
    path: str
    fd: int = -1
    uploaded_size: int | None = None  # None: no object exists yet


class _PeriodicUploader:
    """Calls `upload` every `interval` seconds on a thread until stopped."""

    def __init__(self, interval: float, upload: Callable[[], None], label: str) -> None:
        self._interval = interval
        self._upload = upload
        self._label = label
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="kubedag-compute-log-upload", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        warned = False
        while not self._stop.wait(self._interval):
            try:
                self._upload()
            except Exception as exc:
                if not warned:  # once per step: the final upload reports again if it persists
                    logger.warning("Uploading the compute log of %s failed: %s", self._label, exc)
                    warned = True


def is_transient(exc: BaseException) -> bool:
    """Whether waiting may cure `exc`: the storage cannot be reached or answers that it is
    unavailable, as opposed to refusing the request (no bucket, wrong credentials)."""
    from botocore.exceptions import (  # type: ignore[import-untyped]
        ClientError,
        HTTPClientError,
    )
    from botocore.exceptions import (
        ConnectionError as BotoConnectionError,
    )

    # Connecting failed (refused, timed out) or the connection broke mid-request.
    if isinstance(exc, BotoConnectionError | HTTPClientError):
        return True
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return code in _TRANSIENT_CODES or (isinstance(status, int) and status >= 500)
    return False


def retry_delays(budget: float, max_delay: float) -> Iterator[float]:
    """The waits between attempts that fit in `budget` seconds: 0.1 s, doubling, capped at
    `max_delay`."""
    delay, waited = _FIRST_RETRY_DELAY_SECONDS, 0.0
    while waited + delay <= budget:
        yield delay
        waited += delay
        delay = min(delay * 2, max_delay)


class S3ComputeLogManager(ComputeLogManager):
    """Keeps compute logs as objects in `bucket` under `prefix`."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "kubedag/compute-logs",
        endpoint_url: str | None = None,
        region: str | None = None,
        upload_interval: float | None = 5.0,
        skip_empty_files: bool = False,
        local_dir: str | None = None,
        retry_seconds: float = DEFAULT_RETRY_SECONDS,
        retry_max_delay_seconds: float = DEFAULT_RETRY_MAX_DELAY_SECONDS,
    ) -> None:
        if not bucket:
            raise ComputeLogStorageError(
                "bucket of the S3 compute log manager is empty; set it to an existing bucket."
            )
        if retry_seconds < 0:
            raise ComputeLogStorageError(
                "retry_seconds of the S3 compute log manager must be a number of seconds >= 0 "
                f"(0: no retries); got {retry_seconds!r}."
            )
        if retry_max_delay_seconds <= 0:
            raise ComputeLogStorageError(
                "retry_max_delay_seconds of the S3 compute log manager must be a number of "
                f"seconds > 0; got {retry_max_delay_seconds!r}."
            )
        if upload_interval is not None and upload_interval <= 0:
            raise ComputeLogStorageError(
                f"upload_interval of the S3 compute log manager must be a number of seconds > 0, "
                f"or null to upload only when a step ends; got {upload_interval!r}."
            )
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint_url = endpoint_url
        self.region = region
        self.upload_interval = upload_interval
        self.skip_empty_files = skip_empty_files
        self.local_dir = local_dir
        self.retry_seconds = float(retry_seconds)
        self.retry_max_delay_seconds = float(retry_max_delay_seconds)
        self._client_lock = threading.Lock()
        self._s3: Any = None

    # -- naming -------------------------------------------------------------------------------
    def run_prefix(self, run_id: str) -> str:
        run_id = check_log_name("run_id", run_id)
        return f"{self.prefix}/{run_id}/" if self.prefix else f"{run_id}/"

    def object_key(self, run_id: str, step_key: str, io_type: IoType) -> str:
        step_key = check_log_name("step_key", step_key)
        return f"{self.run_prefix(run_id)}{step_key}{LOG_SUFFIXES[io_type]}"

    # -- the client ---------------------------------------------------------------------------
    def _client(self) -> Any:
        with self._client_lock:
            if self._s3 is None:
                self._s3 = self._new_client()
            return self._s3

    def _new_client(self) -> Any:
        try:
            import boto3  # type: ignore[import-untyped]
            from botocore.config import Config  # type: ignore[import-untyped]
        except ImportError as exc:
            raise ComputeLogStorageError(
                "The S3 compute log manager needs boto3; install kubedag[s3]."
            ) from exc
        config = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=10)
        if self.endpoint_url is not None:
            path_style = Config(signature_version="s3v4", s3={"addressing_style": "path"})
            config = config.merge(path_style)
        try:
            session = boto3.session.Session()
            return session.client(
                "s3", endpoint_url=self.endpoint_url, region_name=self.region, config=config
            )
        except Exception as exc:
            raise self._storage_error(exc, "create an S3 client") from exc

    def after_fork(self) -> None:
        # The parent's client (its connection pool) and lock stay the parent's: this process
        # makes its own on first use. The lock may have been held by a parent thread at the fork.
        self._client_lock = threading.Lock()
        self._s3 = None

    def dispose(self) -> None:
        with self._client_lock:
            s3, self._s3 = self._s3, None
        if s3 is not None:
            s3.close()

    def _where(self) -> str:
        endpoint = self.endpoint_url or "AWS S3"
        region = f", region {self.region!r}" if self.region else ""
        return f"bucket {self.bucket!r} at {endpoint}{region}"

    def _storage_error(self, exc: Exception, action: str) -> ComputeLogStorageError:
        """A message that names the bucket, the endpoint and the fix, and never a secret."""
        from botocore.exceptions import (  # type: ignore[import-untyped]
            ClientError,
            EndpointConnectionError,
            NoCredentialsError,
            PartialCredentialsError,
        )

        where = self._where()
        if isinstance(exc, NoCredentialsError | PartialCredentialsError):
            detail = (
                "no complete AWS credentials were found. Set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, or a web identity / instance role) in "
                "the environment of this process; kubedag never takes them from its config"
            )
        elif isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            if code == "NoSuchBucket":
                detail = (
                    "the bucket does not exist. Create it, or set `bucket` of the S3 compute "
                    "log manager to an existing one"
                )
            elif code in _REFUSED_CODES:
                detail = (
                    f"the storage refused the credentials from the environment ({code}). Check "
                    "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or the role) and that they may "
                    "read and write this bucket"
                )
            else:
                detail = f"{code}: {error.get('Message', '')}".strip()
        elif isinstance(exc, EndpointConnectionError):
            detail = "the endpoint cannot be reached. Check `endpoint_url` and the network"
        else:
            detail = str(exc)
        return ComputeLogStorageError(f"Cannot {action} in {where}: {detail}.")

    # -- capturing ----------------------------------------------------------------------------
    @contextmanager
    def capture(self, run_id: str, step_key: str) -> Iterator[None]:
        label = f"step {step_key!r} of run {run_id!r}"
        keys = {io_type: self.object_key(run_id, step_key, io_type) for io_type in IO_TYPES}
        s3 = self._client()
        try:
            if self.local_dir is not None:
                os.makedirs(self.local_dir, exist_ok=True)
            workdir = tempfile.mkdtemp(prefix="kubedag-compute-logs-", dir=self.local_dir)
        except OSError as exc:
            raise ComputeLogStorageError(
                f"Cannot create a local file to capture {label} into under "
                f"{self.local_dir or tempfile.gettempdir()!r}: {exc.strerror}. Set `local_dir` "
                "of the S3 compute log manager to a writable directory."
            ) from exc
        logs = [
            _LocalLog(io_type, keys[io_type], os.path.join(workdir, f"{io_type}.log"))
            for io_type in IO_TYPES
        ]
        keep_workdir = False
        try:
            for log in logs:
                log.fd = os.open(log.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
                self._download_previous(s3, log)
            uploader = None
            if self.upload_interval is not None:
                uploader = _PeriodicUploader(
                    self.upload_interval, lambda: self._upload_grown(s3, logs), label
                )
                uploader.start()
            try:
                with FdCapture(logs[0].fd, logs[1].fd, label=label):
                    yield
            finally:
                if uploader is not None:
                    uploader.stop()
                keep_workdir = not self._upload_final(s3, logs, label)
        finally:
            for log in logs:
                if log.fd >= 0:
                    os.close(log.fd)
            if not keep_workdir:
                shutil.rmtree(workdir, ignore_errors=True)

    def _download_previous(self, s3: Any, log: _LocalLog) -> None:
        """Start from what an earlier attempt of the step left, so a retry appends to it."""
        from botocore.exceptions import ClientError  # type: ignore[import-untyped]

        try:
            data = self._retrying(
                lambda: self._get_object(s3, log.key), f"reading earlier logs at {log.key!r}"
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING_OBJECT_CODES:
                return
            raise self._storage_error(exc, f"check for earlier logs at {log.key!r}") from exc
        except Exception as exc:
            raise self._storage_error(exc, f"check for earlier logs at {log.key!r}") from exc
        write_all(log.fd, data)
        log.uploaded_size = len(data)

    def _upload_grown(self, s3: Any, logs: list[_LocalLog]) -> None:
        for log in logs:
            size = os.fstat(log.fd).st_size
            if size > (log.uploaded_size or 0):
                self._upload(s3, log)

    def _upload_final(self, s3: Any, logs: list[_LocalLog], label: str) -> bool:
        """Upload what is new; False (and a warning naming the kept file) when that failed."""
        all_uploaded = True
        for log in logs:
            size = os.fstat(log.fd).st_size
            if size == log.uploaded_size or (size == 0 and self.skip_empty_files):
                continue
            try:
                self._retrying(functools.partial(self._upload, s3, log), f"uploading {log.key!r}")
            except Exception as exc:
                all_uploaded = False
                logger.warning(
                    "Could not upload the %s of %s to %s (%s); it is kept in %s.",
                    log.io_type,
                    label,
                    log.key,
                    exc,
                    log.path,
                )
        return all_uploaded

    def _retrying(self, action: Callable[[], T], what: str) -> T:
        """`action()`, again after each transient failure while `retry_seconds` allow."""
        delays = retry_delays(self.retry_seconds, self.retry_max_delay_seconds)
        attempt = 0
        while True:
            attempt += 1
            try:
                return action()
            except Exception as exc:
                cause = exc.__cause__ if isinstance(exc, ComputeLogStorageError) else exc
                delay = next(delays, None) if cause is not None and is_transient(cause) else None
                if cause is None or delay is None:
                    raise
                logger.warning(
                    "%s in %s failed (%s); retrying in %.2fs (attempt %d).",
                    what[0].upper() + what[1:],
                    self._where(),
                    _first_line(cause),
                    delay,
                    attempt,
                )
            time.sleep(delay)  # back-off before the next attempt: waiting is the point

    def _upload(self, s3: Any, log: _LocalLog) -> None:
        # Read up to the current end: the tee may append while this runs, which the next upload
        # picks up.
        with open(log.path, "rb") as log_file:
            data = log_file.read()
        try:
            s3.put_object(Bucket=self.bucket, Key=log.key, Body=data, ContentType="text/plain")
        except Exception as exc:
            raise self._storage_error(exc, f"upload {log.key!r}") from exc
        log.uploaded_size = len(data)

    # -- reading ------------------------------------------------------------------------------
    def read(
        self,
        run_id: str,
        step_key: str,
        io_type: IoType = "stdout",
        offset: int = 0,
        max_bytes: int | None = None,
    ) -> LogChunk:
        check_read_window(offset, max_bytes)
        key = self.object_key(run_id, step_key, io_type)
        if max_bytes == 0:
            return LogChunk(data=b"", next_offset=offset)
        data = self._get(key, offset, max_bytes)
        return LogChunk(data=data, next_offset=offset + len(data))

    def _get(self, key: str, offset: int, max_bytes: int | None) -> bytes:
        """The bytes of `key` in the window; empty for a missing object or a window past its end."""
        from botocore.exceptions import ClientError  # type: ignore[import-untyped]

        s3 = self._client()
        ranged = offset > 0 or max_bytes is not None
        end = "" if max_bytes is None else str(offset + max_bytes - 1)
        try:
            try:
                if not ranged:
                    return self._get_object(s3, key)
                return self._get_object(s3, key, f"bytes={offset}-{end}")
            except ClientError as exc:
                error = exc.response.get("Error", {})
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
                code = error.get("Code")
                if code in _MISSING_OBJECT_CODES:
                    return b""
                if not ranged:
                    raise
                if code == "InvalidRange" or status == 416:
                    return b""
                if code != "InvalidArgument":
                    raise
            # Some S3-API servers refuse a range that runs past the end of the object instead
            # of shortening it (as HTTP says to): ask for the size and stay within it.
            try:
                size = int(s3.head_object(Bucket=self.bucket, Key=key)["ContentLength"])
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in _MISSING_OBJECT_CODES:
                    return b""
                raise
            if offset >= size:
                return b""
            last = size if max_bytes is None else min(size, offset + max_bytes)
            return self._get_object(s3, key, f"bytes={offset}-{last - 1}")
        except Exception as exc:
            raise self._storage_error(exc, f"read {key!r}") from exc

    def _get_object(self, s3: Any, key: str, byte_range: str | None = None) -> bytes:
        request = {"Bucket": self.bucket, "Key": key}
        if byte_range is not None:
            request["Range"] = byte_range
        response = s3.get_object(**request)
        with contextlib.closing(response["Body"]) as body:
            data: bytes = body.read()
        return data

    def list_steps(self, run_id: str) -> list[str]:
        prefix = self.run_prefix(run_id)
        step_keys: set[str] = set()
        for key in self._keys_under(prefix):
            name = key[len(prefix) :]
            step_key = step_key_from_log_name(name)
            if step_key is not None and "/" not in name:
                step_keys.add(step_key)
        return sorted(step_keys)

    def delete_logs(self, run_id: str) -> None:
        keys = self._keys_under(self.run_prefix(run_id))
        s3 = self._client()
        for start in range(0, len(keys), _DELETE_BATCH):
            batch = [{"Key": key} for key in keys[start : start + _DELETE_BATCH]]
            try:
                response = s3.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
                )
            except Exception as exc:
                raise self._storage_error(exc, f"delete the logs of run {run_id!r}") from exc
            errors = response.get("Errors") or []
            if errors:
                first = errors[0]
                raise ComputeLogStorageError(
                    f"Cannot delete {len(errors)} log object(s) of run {run_id!r} in "
                    f"{self._where()}: {first.get('Key')!r}: {first.get('Code')} "
                    f"{first.get('Message', '')}".rstrip()
                    + "."
                )

    def _keys_under(self, prefix: str) -> list[str]:
        s3 = self._client()
        keys: list[str] = []
        try:
            for page in s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            ):
                keys.extend(str(item["Key"]) for item in page.get("Contents", []))
        except Exception as exc:
            raise self._storage_error(exc, f"list {prefix!r}") from exc
        return keys


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
