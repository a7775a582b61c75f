"""`kubedag code-server` as a real process: it loads the file, serves, and stops cleanly on
SIGTERM (exit 0), as a pod's container must."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from kubedag.code_server.client import CodeServerClient
from tests.runtime.code_server import sample_location

DEADLINE_SECONDS = 20


def read_lines(stream: object, into: queue.Queue[str]) -> None:
    for line in iter(stream.readline, ""):  # type: ignore[attr-defined]
        into.put(line)


def wait_for_line(lines: queue.Queue[str], pattern: str, seen: list[str]) -> re.Match[str]:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        seen.append(line)
        match = re.search(pattern, line)
        if match:
            return match
    raise AssertionError(f"no line matching {pattern!r} in time; stderr so far: {seen}")


def test_serves_a_file_until_sigterm_then_exits_0(tmp_path: Path) -> None:
    env = {**os.environ, "KUBEDAG_HOME": str(tmp_path / "home")}
    env.pop("KUBEDAG_INSTANCE_REF", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kubedag",
            "code-server",
            "-f",
            sample_location.__file__,
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--location-name",
            "orders",
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=str(Path(__file__).resolve().parents[3]),
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=read_lines, args=(process.stderr, lines), daemon=True).start()
    seen: list[str] = []
    try:
        url = wait_for_line(lines, r"listening on (http://\S+)", seen).group(1)
        client = CodeServerClient(url, timeout=10)
        deadline = time.monotonic() + DEADLINE_SECONDS
        while client.health()["status"] == "loading":
            assert time.monotonic() < deadline, "the code location did not load in time"
            time.sleep(0.05)  # polling with a deadline, not synchronizing by sleeping
        assert client.health()["status"] == "loaded"
        snapshot = client.snapshot()
        assert snapshot.code_location == "orders"
        assert "nightly_customers" in snapshot.schedule_names
        wait_for_line(lines, r'"GET /v1/snapshot" 200', seen)

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_sigterm_while_the_code_is_still_loading_exits_0(tmp_path: Path) -> None:
    slow = tmp_path / "slow_defs.py"
    slow.write_text(
        "import pathlib, time\n"
        "import kubedag as dg\n"
        "while not pathlib.Path(__file__).with_suffix('.go').exists():  # a slow import\n"
        "    time.sleep(0.01)\n"
        "defs = dg.Definitions()\n"
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kubedag",
            "code-server",
            "-f",
            str(slow),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "KUBEDAG_HOME": str(tmp_path / "home")},
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=read_lines, args=(process.stderr, lines), daemon=True).start()
    try:
        url = wait_for_line(lines, r"listening on (http://\S+)", []).group(1)
        assert CodeServerClient(url, timeout=10).health()["status"] == "loading"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
