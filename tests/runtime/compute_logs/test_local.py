"""`LocalComputeLogManager`: logs as files under a base directory, readable while a step runs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from kubedag.compute_logs import (
    ComputeLogStorageError,
    IoType,
    LocalComputeLogManager,
    LogChunk,
    NoOpComputeLogManager,
)
from tests.runtime.compute_logs.output_routes import assert_routed, emit_on_every_route, fd_identity
from tests.runtime.compute_logs.polling import wait_until


@pytest.fixture
def manager(tmp_path: Path) -> LocalComputeLogManager:
    return LocalComputeLogManager(base_dir=str(tmp_path / "compute-logs"))


def text(manager: LocalComputeLogManager, step_key: str, io_type: IoType = "stdout") -> str:
    return manager.read("run-1", step_key, io_type).data.decode()


def test_each_stream_goes_to_its_own_file(manager: LocalComputeLogManager, tmp_path: Path) -> None:
    with manager.capture("run-1", "my_asset"):
        emit_on_every_route("local")

    assert_routed("local", text(manager, "my_asset"), text(manager, "my_asset", "stderr"))
    run_dir = tmp_path / "compute-logs" / "run-1"
    assert sorted(p.name for p in run_dir.iterdir()) == ["my_asset.err", "my_asset.out"]


def test_output_is_teed_to_the_original_descriptors(
    manager: LocalComputeLogManager, capfd: pytest.CaptureFixture[str]
) -> None:
    with manager.capture("run-1", "my_asset"):
        emit_on_every_route("teed")

    assert_routed("teed", *capfd.readouterr())


def test_partial_output_is_readable_while_the_step_runs(manager: LocalComputeLogManager) -> None:
    with manager.capture("run-1", "slow_step"):
        print("first half")
        sys.stdout.flush()
        # The tee thread writes asynchronously; it lands in the final file without an upload.
        wait_until(lambda: text(manager, "slow_step") == "first half\n")
        print("second half")

    assert text(manager, "slow_step") == "first half\nsecond half\n"


def test_descriptors_are_restored_when_the_step_raises(manager: LocalComputeLogManager) -> None:
    before = (fd_identity(1), fd_identity(2))
    with pytest.raises(ValueError, match="boom"), manager.capture("run-1", "failing"):
        print("about to fail", file=sys.stderr)
        raise ValueError("boom")

    assert (fd_identity(1), fd_identity(2)) == before
    assert text(manager, "failing", "stderr") == "about to fail\n"


def test_reads_page_through_by_offset(manager: LocalComputeLogManager) -> None:
    with manager.capture("run-1", "step"):
        print("0123456789")

    assert manager.read("run-1", "step", offset=3, max_bytes=4) == LogChunk(b"3456", 7)
    pages, offset = [], 0
    while chunk := manager.read("run-1", "step", offset=offset, max_bytes=4).data:
        pages.append(chunk)
        offset += len(chunk)
    assert pages == [b"0123", b"4567", b"89\n"]
    assert manager.read("run-1", "step", offset=100) == LogChunk(b"", 100)
    assert manager.read("run-1", "missing_step") == LogChunk(b"", 0)
    assert manager.read("run-1", "step", max_bytes=0) == LogChunk(b"", 0)


def test_a_retry_appends_to_the_earlier_attempt(manager: LocalComputeLogManager) -> None:
    for attempt in (1, 2):
        with manager.capture("run-1", "flaky"):
            print(f"attempt {attempt}")

    assert text(manager, "flaky") == "attempt 1\nattempt 2\n"


def test_list_steps_and_delete_logs(manager: LocalComputeLogManager) -> None:
    for step_key in ("b_step", "a_step"):
        with manager.capture("run-1", step_key):
            print(step_key)
    with manager.capture("run-1", "silent"):
        pass
    with manager.capture("run-2", "other"):
        print("kept")

    # a step that wrote nothing left no file: it reads as empty, and is not listed
    assert manager.list_steps("run-1") == ["a_step", "b_step"]
    assert not manager.log_path("run-1", "silent", "stdout").exists()
    assert manager.read("run-1", "silent", "stderr").data == b""
    assert manager.list_steps("never-ran") == []

    manager.delete_logs("run-1")
    manager.delete_logs("never-ran")

    assert manager.list_steps("run-1") == []
    assert manager.read("run-1", "a_step").data == b""
    assert manager.read("run-2", "other").data == b"kept\n"


@pytest.mark.parametrize("bad", ["", ".", "..", "a/b", "a\\b"])
def test_names_that_would_escape_the_run_directory_are_refused(
    manager: LocalComputeLogManager, bad: str
) -> None:
    with pytest.raises(ValueError, match="cannot name compute logs"):
        manager.read("run-1", bad)
    with pytest.raises(ValueError, match="cannot name compute logs"):
        manager.list_steps(bad)


def test_an_unwritable_base_dir_is_a_clear_error(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    manager = LocalComputeLogManager(base_dir=str(not_a_dir))

    with pytest.raises(ComputeLogStorageError, match="base_dir"), manager.capture("r", "s"):
        pass


def test_noop_manager_keeps_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    manager = NoOpComputeLogManager()
    with manager.capture("run-1", "step"):
        print("goes where it always went")

    assert "goes where it always went" in capfd.readouterr().out
    assert manager.read("run-1", "step", offset=5) == LogChunk(b"", 5)
    assert manager.list_steps("run-1") == []
    manager.delete_logs("run-1")
    manager.dispose()
