"""`FdCapture`: descriptor-level tee of stdout and stderr, the piece every manager is built on."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubedag.compute_logs import FdCapture
from tests.runtime.compute_logs.output_routes import assert_routed, emit_on_every_route, fd_identity


class LogFiles:
    """Two append-only log files, as a manager would open them."""

    def __init__(self, directory: Path) -> None:
        self.out_path = directory / "step.out"
        self.err_path = directory / "step.err"
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        self.out = os.open(self.out_path, flags)
        self.err = os.open(self.err_path, flags)

    def texts(self) -> tuple[str, str]:
        return self.out_path.read_text(), self.err_path.read_text()

    def close(self) -> None:
        os.close(self.out)
        os.close(self.err)


@pytest.fixture
def logs(tmp_path: Path) -> Iterator[LogFiles]:
    files = LogFiles(tmp_path)
    yield files
    files.close()


def test_captures_python_and_child_process_output_to_the_right_stream(logs: LogFiles) -> None:
    with FdCapture(logs.out, logs.err):
        emit_on_every_route("step")

    assert_routed("step", *logs.texts())


def test_output_still_reaches_the_original_descriptors(
    logs: LogFiles, capfd: pytest.CaptureFixture[str]
) -> None:
    with FdCapture(logs.out, logs.err):
        emit_on_every_route("teed")

    original_out, original_err = capfd.readouterr()
    assert_routed("teed", original_out, original_err)
    assert_routed("teed", *logs.texts())


def test_descriptors_and_python_streams_are_restored_when_the_body_raises(
    logs: LogFiles,
) -> None:
    before = (fd_identity(1), fd_identity(2), sys.stdout, sys.stderr)

    with pytest.raises(RuntimeError, match="step failed"), FdCapture(logs.out, logs.err):
        print("before the failure")
        raise RuntimeError("step failed")

    assert (fd_identity(1), fd_identity(2), sys.stdout, sys.stderr) == before
    assert logs.texts()[0] == "before the failure\n"


def test_print_is_captured_even_when_sys_stdout_is_not_descriptor_1(
    logs: LogFiles, capsys: pytest.CaptureFixture[str]
) -> None:
    python_level_stdout = sys.stdout
    with FdCapture(logs.out, logs.err):
        print("through capsys")

    assert sys.stdout is python_level_stdout
    assert logs.texts()[0] == "through capsys\n"


def test_nested_capture_tees_into_the_outer_one(tmp_path: Path) -> None:
    (tmp_path / "outer").mkdir()
    (tmp_path / "inner").mkdir()
    outer, inner = LogFiles(tmp_path / "outer"), LogFiles(tmp_path / "inner")
    try:
        with FdCapture(outer.out, outer.err):
            print("outer only")
            with FdCapture(inner.out, inner.err):
                emit_on_every_route("inner")
            print("outer again")
    finally:
        outer.close()
        inner.close()

    assert_routed("inner", *inner.texts())
    assert "outer" not in inner.texts()[0]
    outer_out, outer_err = outer.texts()
    assert_routed("inner", outer_out, outer_err)
    assert outer_out.startswith("outer only\n")
    assert outer_out.endswith("outer again\n")


def test_a_process_that_outlives_the_step_does_not_block_it(
    logs: LogFiles, caplog: pytest.LogCaptureFixture
) -> None:
    drain_timeout = 0.5
    capture = FdCapture(logs.out, logs.err, drain_timeout=drain_timeout)
    with capture:
        # Inherits the capture's pipes as stdout and stderr, and keeps them open for 30 s.
        lingering = subprocess.Popen(["sleep", "30"])
        print("step done")
        leaving = time.monotonic()
    try:
        waited = time.monotonic() - leaving
        assert lingering.poll() is None
    finally:
        lingering.kill()
        lingering.wait()

    assert capture.abandoned
    assert drain_timeout <= waited < drain_timeout + 1.5
    assert logs.texts()[0] == "step done\n"
    assert "still held its stdout/stderr" in caplog.text


def test_a_child_that_exits_in_time_is_waited_for(logs: LogFiles) -> None:
    capture = FdCapture(logs.out, logs.err)
    with capture:
        # The shell returns at once; its background child writes after a moment and then exits.
        subprocess.run(["sh", "-c", "(sleep 0.2; echo late) &"], check=True)

    assert not capture.abandoned
    assert logs.texts()[0] == "late\n"


def test_large_output_is_not_truncated(logs: LogFiles) -> None:
    line = "x" * 1023 + "\n"
    with FdCapture(logs.out, logs.err):
        subprocess.run(["sh", "-c", f"yes {'x' * 1023} | head -n 4096"], check=True)

    assert logs.texts()[0] == line * 4096


def test_an_empty_capture_is_cheap(logs: LogFiles) -> None:
    for _ in range(20):  # warm up
        with FdCapture(logs.out, logs.err):
            pass
    count = 200
    started = time.perf_counter()
    for _ in range(count):
        with FdCapture(logs.out, logs.err):
            pass
    per_capture = (time.perf_counter() - started) / count

    # Typically ~0.3 ms (one reader thread started and joined); the bound leaves room for slow CI.
    assert per_capture < 0.005


def test_no_warning_for_an_ordinary_capture(
    logs: LogFiles, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.WARNING, logger="kubedag.compute_logs"),
        FdCapture(logs.out, logs.err),
    ):
        print("fine")

    assert caplog.records == []
