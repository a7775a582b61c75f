"""`S3ComputeLogManager` against a real S3-API server (nanio, started by `tests/fixtures/s3.py`)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kubedag.compute_logs import ComputeLogStorageError, LogChunk, S3ComputeLogManager
from kubedag.compute_logs.capture import DRAIN_TIMEOUT_SECONDS
from tests.fixtures.s3 import S3Server
from tests.runtime.compute_logs.output_routes import assert_routed, emit_on_every_route, fd_identity
from tests.runtime.compute_logs.polling import wait_until

MakeManager = Callable[..., S3ComputeLogManager]


@pytest.fixture
def make_manager(s3_server: S3Server, s3_bucket: str) -> Iterator[MakeManager]:
    """Managers on the test's bucket, built the way instance config builds them; disposed after."""
    made: list[S3ComputeLogManager] = []

    def make(**config: Any) -> S3ComputeLogManager:
        config = {"bucket": s3_bucket, "endpoint_url": s3_server.endpoint_url, **config}
        manager = S3ComputeLogManager(**config)
        made.append(manager)
        return manager

    yield make
    for manager in made:
        manager.dispose()


@pytest.fixture
def server_client(s3_server: S3Server) -> Iterator[Any]:
    s3 = s3_server.client()
    yield s3
    s3.close()


def object_keys(s3: Any, bucket: str) -> list[str]:
    listing = s3.list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def upload_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name == "kubedag-compute-log-upload"]


def test_each_stream_is_uploaded_to_its_own_object(
    make_manager: MakeManager, server_client: Any, s3_bucket: str
) -> None:
    manager = make_manager()
    with manager.capture("run-1", "my_asset"):
        emit_on_every_route("s3")

    stdout = manager.read("run-1", "my_asset").data.decode()
    stderr = manager.read("run-1", "my_asset", "stderr").data.decode()
    assert_routed("s3", stdout, stderr)
    assert object_keys(server_client, s3_bucket) == [
        "kubedag/compute-logs/run-1/my_asset.err",
        "kubedag/compute-logs/run-1/my_asset.out",
    ]


def test_output_is_teed_to_the_original_descriptors(
    make_manager: MakeManager, capfd: pytest.CaptureFixture[str]
) -> None:
    with make_manager().capture("run-1", "my_asset"):
        emit_on_every_route("teed")

    assert_routed("teed", *capfd.readouterr())


def test_partial_output_is_uploaded_while_the_step_runs(make_manager: MakeManager) -> None:
    manager = make_manager(upload_interval=0.2)
    with manager.capture("run-1", "slow_step"):
        print("first half")
        sys.stdout.flush()
        wait_until(
            lambda: manager.read("run-1", "slow_step").data == b"first half\n",
            what="the first half to be uploaded during the step",
        )
        print("second half")

    assert manager.read("run-1", "slow_step").data == b"first half\nsecond half\n"


def test_without_an_upload_interval_logs_are_uploaded_only_at_the_end(
    make_manager: MakeManager,
) -> None:
    manager = make_manager(upload_interval=None)
    with manager.capture("run-1", "step"):
        print("only at the end")
        assert upload_threads() == []
        assert manager.read("run-1", "step") == LogChunk(b"", 0)

    assert manager.read("run-1", "step").data == b"only at the end\n"


def test_the_output_of_a_failing_step_is_uploaded_and_descriptors_restored(
    make_manager: MakeManager,
) -> None:
    manager = make_manager()
    before = (fd_identity(1), fd_identity(2), sys.stdout, sys.stderr)

    with pytest.raises(RuntimeError, match="step failed"), manager.capture("run-1", "failing"):
        print("traceback follows", file=sys.stderr)
        raise RuntimeError("step failed")

    assert (fd_identity(1), fd_identity(2), sys.stdout, sys.stderr) == before
    assert manager.read("run-1", "failing", "stderr").data == b"traceback follows\n"


@pytest.mark.parametrize("skip_empty_files", [True, False])
def test_skip_empty_files(
    make_manager: MakeManager, server_client: Any, s3_bucket: str, skip_empty_files: bool
) -> None:
    manager = make_manager(skip_empty_files=skip_empty_files, prefix="logs")
    with manager.capture("run-1", "quiet_on_stderr"):
        print("only stdout")
    with manager.capture("run-1", "silent"):
        pass

    if skip_empty_files:
        assert object_keys(server_client, s3_bucket) == ["logs/run-1/quiet_on_stderr.out"]
        assert manager.list_steps("run-1") == ["quiet_on_stderr"]
    else:
        assert object_keys(server_client, s3_bucket) == [
            "logs/run-1/quiet_on_stderr.err",
            "logs/run-1/quiet_on_stderr.out",
            "logs/run-1/silent.err",
            "logs/run-1/silent.out",
        ]
        assert manager.list_steps("run-1") == ["quiet_on_stderr", "silent"]
    assert manager.read("run-1", "silent", "stderr") == LogChunk(b"", 0)


def test_reads_use_ranges(make_manager: MakeManager) -> None:
    manager = make_manager()
    with manager.capture("run-1", "step"):
        print("0123456789")

    assert manager.read("run-1", "step", offset=3, max_bytes=4) == LogChunk(b"3456", 7)
    assert manager.read("run-1", "step", offset=8) == LogChunk(b"89\n", 11)
    pages, offset = [], 0
    while chunk := manager.read("run-1", "step", offset=offset, max_bytes=4):
        if not chunk.data:
            break
        pages.append(chunk.data)
        offset = chunk.next_offset
    assert pages == [b"0123", b"4567", b"89\n"]
    # At or past the end, and for a step without logs: empty, not an error.
    assert manager.read("run-1", "step", offset=11) == LogChunk(b"", 11)
    assert manager.read("run-1", "step", offset=50, max_bytes=10) == LogChunk(b"", 50)
    assert manager.read("run-1", "missing_step", offset=4) == LogChunk(b"", 4)
    assert manager.read("run-1", "step", max_bytes=0) == LogChunk(b"", 0)


def test_a_retry_appends_to_the_earlier_attempt(make_manager: MakeManager) -> None:
    manager = make_manager()
    with manager.capture("run-1", "flaky"):
        print("attempt 1")
    # A retry may run in another pod, with another manager.
    with make_manager().capture("run-1", "flaky"):
        print("attempt 2")

    assert manager.read("run-1", "flaky").data == b"attempt 1\nattempt 2\n"


def test_list_steps_and_delete_logs(
    make_manager: MakeManager, server_client: Any, s3_bucket: str
) -> None:
    manager = make_manager(prefix="/team/logs/")
    for step_key in ("b_step", "a_step"):
        with manager.capture("run-1", step_key):
            print(step_key)
    with manager.capture("run-10", "other_run"):
        print("kept")

    assert manager.list_steps("run-1") == ["a_step", "b_step"]
    assert manager.list_steps("never-ran") == []

    manager.delete_logs("run-1")
    manager.delete_logs("never-ran")

    assert manager.list_steps("run-1") == []
    assert object_keys(server_client, s3_bucket) == [
        "team/logs/run-10/other_run.err",
        "team/logs/run-10/other_run.out",
    ]


def test_local_files_are_removed_after_upload(make_manager: MakeManager, tmp_path: Path) -> None:
    local_dir = tmp_path / "capture"
    manager = make_manager(local_dir=str(local_dir))
    with manager.capture("run-1", "step"):
        print("uploaded")
        assert len(list(local_dir.iterdir())) == 1

    assert list(local_dir.iterdir()) == []


def test_a_failed_final_upload_is_logged_and_the_local_file_kept(
    make_manager: MakeManager,
    server_client: Any,
    s3_bucket: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    local_dir = tmp_path / "capture"
    manager = make_manager(local_dir=str(local_dir), upload_interval=None)
    with (
        caplog.at_level(logging.WARNING, logger="kubedag.compute_logs"),
        manager.capture("run-1", "step"),
    ):
        print("must not be lost")
        server_client.delete_bucket(Bucket=s3_bucket)

    assert "Could not upload the stdout of step 'step'" in caplog.text
    assert "does not exist" in caplog.text
    kept = list(local_dir.glob("*/stdout.log"))
    assert [p.read_text() for p in kept] == ["must not be lost\n"]


def test_a_missing_bucket_is_a_clear_error(s3_server: S3Server, s3_bucket: str) -> None:
    manager = S3ComputeLogManager(bucket="no-such-bucket", endpoint_url=s3_server.endpoint_url)
    ran = False
    try:
        with pytest.raises(ComputeLogStorageError) as raised, manager.capture("run-1", "step"):
            ran = True
        with pytest.raises(ComputeLogStorageError, match="does not exist"):
            manager.read("run-1", "step")
        with pytest.raises(ComputeLogStorageError, match="does not exist"):
            manager.list_steps("run-1")
    finally:
        manager.dispose()

    assert not ran, "the step must not run when its logs have nowhere to go"
    message = str(raised.value)
    assert "'no-such-bucket'" in message
    assert s3_server.endpoint_url in message
    assert "does not exist" in message
    assert s3_server.secret_key not in message


def test_missing_credentials_are_a_clear_error(
    s3_server: S3Server, s3_bucket: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    manager = S3ComputeLogManager(bucket=s3_bucket, endpoint_url=s3_server.endpoint_url)
    try:
        with pytest.raises(ComputeLogStorageError) as raised, manager.capture("run-1", "step"):
            pass
    finally:
        manager.dispose()

    message = str(raised.value)
    assert repr(s3_bucket) in message
    assert s3_server.endpoint_url in message
    assert "AWS_ACCESS_KEY_ID" in message


def test_rejected_credentials_are_a_clear_error_without_the_secret(
    s3_server: S3Server, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong_secret = "not-the-right-secret-0123456789"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", wrong_secret)
    manager = S3ComputeLogManager(bucket=s3_bucket, endpoint_url=s3_server.endpoint_url)
    try:
        with pytest.raises(ComputeLogStorageError) as raised:
            manager.read("run-1", "step")
    finally:
        manager.dispose()

    message = str(raised.value)
    assert "refused the credentials" in message
    assert wrong_secret not in message
    assert s3_server.secret_key not in message


def test_a_process_that_outlives_the_step_does_not_block_it(make_manager: MakeManager) -> None:
    manager = make_manager()
    with manager.capture("run-1", "starts_a_daemon"):
        lingering = subprocess.Popen(["sleep", "30"])  # inherits the capture's pipes
        print("step done")
        leaving = time.monotonic()
    try:
        waited = time.monotonic() - leaving
        assert lingering.poll() is None
    finally:
        lingering.kill()
        lingering.wait()

    assert waited < DRAIN_TIMEOUT_SECONDS + 2.0
    assert manager.read("run-1", "starts_a_daemon").data == b"step done\n"


def test_invalid_upload_interval_is_refused() -> None:
    with pytest.raises(ComputeLogStorageError, match="upload_interval"):
        S3ComputeLogManager(bucket="logs", upload_interval=0)


def test_importing_compute_logs_does_not_import_boto3() -> None:
    code = (
        "import sys, kubedag.compute_logs; "
        "loaded = [m for m in ('boto3', 'botocore') if m in sys.modules]; "
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ})


def test_a_forked_process_uploads_with_a_client_of_its_own(
    make_manager: MakeManager, server_client: Any, s3_bucket: str
) -> None:
    manager = make_manager()
    with manager.capture("run-parent", "step"):
        print("from the parent")
    parent_client = manager._client()
    manager._client_lock.acquire()  # a parent thread holds the lock at the moment of the fork
    try:
        pid = os.fork()
        if pid == 0:  # the child: what the multiprocess executor does first after forking
            code = 1
            try:
                manager.after_fork()
                with manager.capture("run-child", "step"):
                    print("from the child")
                code = 0 if manager._client() is not parent_client else 3
            finally:
                os._exit(code)
    finally:
        manager._client_lock.release()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    keys = object_keys(server_client, s3_bucket)
    for run_id in ("run-parent", "run-child"):
        assert manager.object_key(run_id, "step", "stdout") in keys
