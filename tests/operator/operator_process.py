"""The operator as a separate process (`python -m kubedag_operator`), as a replica runs in a
pod: its own kopf, its own peering identity, and something a test can SIGKILL.

    replica = OperatorProcess.start(api, namespace, tmp_path, "--priority", "200")
    replica.metrics()["kubedag_operator_active"]     # scraped from its /metrics page
    replica.kill()                                    # no goodbye: its peering record stays

Each process serves kopf's liveness endpoint and the metrics page on free ports of 127.0.0.1 /
0.0.0.0; `start` returns once the liveness endpoint answers (kopf has started). Its output
goes to a log file (`log()`), shown when something times out.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures.kubernetes import KubernetesHarness

_METRICS_URL = re.compile(r"Serving metrics at http://[^:]+:(\d+)/metrics")
_SAMPLE = re.compile(
    r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_]\w*="(?:[^"\\]|\\.)*",?)*\})? (\S+)$'
)


def free_port() -> int:
    """A port nobody listens on right now (for kopf's liveness endpoint, which needs one)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text → {`name` or `name{labels}`: value}; fails on a line that is neither
    a sample nor a `# HELP` / `# TYPE` comment."""
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith(("# HELP ", "# TYPE ")) or not line:
            continue
        match = _SAMPLE.match(line)
        assert match, f"not a Prometheus sample line: {line!r}"
        samples[match.group(1) + (match.group(2) or "")] = float(match.group(3))
    return samples


def http_get(url: str, timeout: float = 5.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@dataclass
class OperatorProcess:
    process: subprocess.Popen[bytes]
    log_path: Path
    liveness_url: str
    metrics_url: str = ""

    @classmethod
    def start(
        cls,
        api: KubernetesHarness,
        namespace: str,
        work_dir: Path,
        *args: str,
        timeout: float = 60.0,
    ) -> OperatorProcess:
        """`python -m kubedag_operator -n NAMESPACE --kubeconfig … ARGS` with a liveness
        endpoint and a metrics page; returns once both answer."""
        work_dir.mkdir(parents=True, exist_ok=True)
        log_path = work_dir / f"operator-{time.monotonic_ns()}.log"
        liveness = f"http://127.0.0.1:{free_port()}/healthz"
        env = {**os.environ, "KUBECONFIG": str(api.kubeconfig)}
        env.pop("POD_ID", None)
        command = [
            sys.executable,
            "-m",
            "kubedag_operator",
            "-n",
            namespace,
            "--kubeconfig",
            str(api.kubeconfig),
            "--liveness",
            liveness,
            "--metrics-port",
            "0",
            *args,
        ]
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
            )
        replica = cls(process, log_path, liveness)
        try:
            replica.metrics_url = replica._wait_until_serving(timeout)
        except BaseException:
            replica.kill()
            raise
        return replica

    def _wait_until_serving(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"the operator exited with {self.process.returncode}:\n{self.log()}")
            found = _METRICS_URL.search(self.log())
            if found:
                with contextlib.suppress(OSError):
                    if http_get(self.liveness_url, timeout=1)[0] == 200:
                        return f"http://127.0.0.1:{found.group(1)}/metrics"
            if time.monotonic() > deadline:
                pytest.fail(f"the operator did not serve within {timeout}s:\n{self.log()}")
            time.sleep(0.05)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def metrics(self) -> dict[str, float]:
        status, text = http_get(self.metrics_url)
        assert status == 200, f"/metrics answered {status}: {text}"
        return parse_metrics(text)

    def active(self) -> bool:
        return self.metrics()["kubedag_operator_active"] == 1

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM, as Kubernetes stops a pod: kopf removes its peering record on the way out."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        """SIGKILL: the replica dies without a word; its peering record stays until expired."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
