"""Real processes for the run-lifecycle and automation faults: a `KUBEDAG_HOME` whose
`kubedag.yaml` the test writes, `kubedag daemon` as a subprocess the test can SIGKILL and start
again, files that user code writes one line per call to (so a test counts what user code really
did, not only what the event log says), and `HeldRunCoordinator`, which holds a daemon still at
one exact point of a schedule tick.

The daemons (and the run workers they start) import this module to build the coordinator, so
it imports nothing from pytest at run time.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

import kubedag as dg
from kubedag.runs.coordinators import QueuedRunCoordinator, SubmitRunContext

if TYPE_CHECKING:
    import pytest

REPO = Path(__file__).resolve().parents[2]
HOLD_LIMIT_S = 120.0


class HeldRunCoordinator(QueuedRunCoordinator):
    """The queued run coordinator, except that the run of partition `hold_partition` is held
    before it is queued — the tick has created it, not yet submitted it — until the file
    `release` exists. While it holds, the file `holding` names the run: the daemon is then
    exactly between creating a tick's run and finishing the tick."""

    def __init__(self, hold_partition: str, holding: str, release: str, **queued: Any) -> None:
        super().__init__(**queued)
        self.hold_partition = hold_partition
        self.holding = Path(holding)
        self.release = Path(release)

    def submit_run(self, context: SubmitRunContext) -> dg.Run:
        if context.run.partition == self.hold_partition and not self.release.exists():
            self.holding.write_text(context.run.run_id)
            deadline = time.monotonic() + HOLD_LIMIT_S
            while not self.release.exists() and time.monotonic() < deadline:
                time.sleep(0.02)
        return super().submit_run(context)


@dataclass
class Home:
    """A `KUBEDAG_HOME` with its instance document, and the daemons started on it."""

    path: Path
    document: dict[str, Any]
    daemons: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _instances: list[dg.Instance] = field(default_factory=list)

    def instance(self) -> dg.Instance:
        """The instance as another process (a CLI, a second daemon) opens it."""
        opened = dg.Instance.from_config(self.document, home=str(self.path))
        self._instances.append(opened)
        return opened

    def write_code(self, name: str, code: str) -> Path:
        """A code location file, and a workspace naming it (so the daemon runs its
        schedules and sensors)."""
        path = self.path / "code" / f"{name}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(code))
        workspace = {"load_from": [{"python_file": f"code/{name}.py"}]}
        (self.path / "workspace.yaml").write_text(yaml.safe_dump(workspace))
        return path

    def start_daemon(self, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """`kubedag daemon` on this home; its output goes to daemon-N.log. The repository is on
        its `PYTHONPATH` (and its run workers'), for plugins defined by the tests."""
        log = self.path / f"daemon-{len(self.daemons)}.log"
        path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
        with log.open("ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "kubedag", "daemon"],
                env={
                    **os.environ,
                    "KUBEDAG_HOME": str(self.path),
                    "PYTHONPATH": path,
                    **(env or {}),
                },
                cwd=REPO,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.daemons.append(process)
        return process

    def daemon_log(self, index: int) -> str:
        return (self.path / f"daemon-{index}.log").read_text()

    def close(self) -> None:
        """Stop the daemons, then kill whatever process of this home's runs is left (a test
        that failed may leave a step waiting for its gate)."""
        for process in self.daemons:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(10)
        if self._instances:
            for run in self._instances[0].get_runs():
                for pid in processes_naming(run.run_id):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
        for opened in self._instances:
            opened.dispose()


@contextlib.contextmanager
def kubedag_home(tmp_path: Path, document: dict[str, Any]) -> Iterator[Home]:
    path = tmp_path / "home"
    path.mkdir()
    (path / "kubedag.yaml").write_text(yaml.safe_dump(document))
    home = Home(path, document)
    try:
        yield home
    finally:
        home.close()


def storage_document(backend: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    """The instance document's storage for `backend` (SQLite: the home's default)."""
    if backend == "sqlite":
        return {}
    return {"storage": {"postgres": {"postgres_url": request.getfixturevalue("postgres_url")}}}


def sigkill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL a daemon and reap it (it has no chance to clean anything up)."""
    process.send_signal(signal.SIGKILL)
    assert process.wait(10) == -signal.SIGKILL


def lines(path: Path) -> list[str]:
    """The lines a counter file holds (none if it was never written)."""
    return path.read_text().splitlines() if path.exists() else []


def processes_naming(text: str) -> list[int]:
    """Pids of the live processes whose command line contains `text` (Linux: /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text in command and state != "Z":
            found.append(int(entry.name))
    return found
