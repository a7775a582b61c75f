"""Launching real runs: instances on SQLite or PostgreSQL, a code location written by the test,
and polling helpers (never a bare sleep: every wait has a deadline and says what it waited for).
"""

from __future__ import annotations

import contextlib
import os
import signal
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import kubedag as dg
from kubedag.runs.tags import WORKER_PID_TAG

# Steps of these jobs run in the worker process itself (not the multiprocess executor), so a
# test can tell the worker from its steps.
IN_PROCESS = {"execution": {"config": {"in_process": {}}}}

# The sample code location of launched-run tests (runtime and operator): `quick` (one step,
# printing `SALES_REGION`), `pair` (two steps), `failing` (a step that raises), `gated` (a step
# that waits for a file named in its run config, then one after it; its runs are tagged
# db=warehouse by the job).
JOBS = '''
import os
import time
from pathlib import Path

import kubedag as dg


class Gate(dg.Config):
    path: str


@dg.asset
def one() -> int:
    print("hello from one in", os.environ.get("SALES_REGION", "-"))
    return 1


@dg.asset
def two(one: int) -> int:
    return one + 1


@dg.asset
def boom() -> int:
    raise RuntimeError("boom on purpose")


@dg.asset
def first(config: Gate) -> int:
    """Waits until the test creates the gate file (at most a minute)."""
    deadline = time.monotonic() + 60
    while not Path(config.path).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"nobody opened the gate {config.path}")
        time.sleep(0.02)
    return 1


@dg.asset
def second(first: int) -> int:
    return first + 1


defs = dg.Definitions(
    assets=[one, two, boom, first, second],
    jobs=[
        dg.define_asset_job("quick", selection=["one"]),
        dg.define_asset_job("pair", selection=["one", "two"]),
        dg.define_asset_job("failing", selection=["boom"]),
        dg.define_asset_job("gated", selection=["first", "second"], tags={"db": "warehouse"}),
    ],
)
'''


def backend_document(backend: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    if backend == "sqlite":
        return {}
    return {"storage": {"postgres": {"postgres_url": request.getfixturevalue("postgres_url")}}}


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def job_file(tmp_path: Path) -> Path:
    path = tmp_path / "code" / "jobs.py"
    path.parent.mkdir(parents=True)
    path.write_text(textwrap.dedent(JOBS))
    return path


InstanceFactory = Callable[..., dg.Instance]


def _instance_factory(base: dict[str, Any], home: Path) -> Iterator[InstanceFactory]:
    opened: list[dg.Instance] = []

    def make(**parts: Any) -> dg.Instance:
        instance = dg.Instance.from_config({**base, **parts}, home=str(home))
        opened.append(instance)
        return instance

    yield make
    for instance in opened:
        instance.dispose()


@pytest.fixture
def make_instance(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[InstanceFactory]:
    """`make_instance(run_coordinator=..., run_monitoring=...)`: an instance of this test's
    database (SQLite, then PostgreSQL) with those parts; every call opens the same database,
    as another process would."""
    yield from _instance_factory(backend_document(backend, request), tmp_path / "home")


@pytest.fixture
def make_sqlite_instance(tmp_path: Path) -> Iterator[InstanceFactory]:
    """The same on SQLite only, for tests where the database makes no difference."""
    yield from _instance_factory({}, tmp_path / "home")


@pytest.fixture
def instance_document(backend: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    return backend_document(backend, request)


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll `predicate` until it returns something true; fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def create_run(
    instance: dg.Instance,
    job_file: Path,
    job_name: str = "quick",
    gate: Path | None = None,
    tags: dict[str, str] | None = None,
) -> dg.Run:
    run_config: dict[str, Any] = dict(IN_PROCESS)
    if gate is not None:
        run_config["ops"] = {"first": {"config": {"path": str(gate)}}}
    return instance.create_run(
        job_name=job_name,
        run_config=run_config,
        tags=tags,
        code_location={"python_file": str(job_file)},
    )


def status(instance: dg.Instance, run_id: str) -> dg.RunStatus:
    run = instance.get_run_by_id(run_id)
    assert run is not None
    return run.status


def finished(instance: dg.Instance, run_id: str) -> dg.Run | None:
    run = instance.get_run_by_id(run_id)
    return run if run is not None and run.is_finished else None


def event_types(instance: dg.Instance, run_id: str) -> list[str]:
    return [
        entry.event.event_type.value
        for entry in instance.all_logs(run_id)
        if entry.event is not None
    ]


def messages(instance: dg.Instance, run_id: str, event_type: dg.EventType) -> list[str]:
    return [entry.user_message for entry in instance.all_logs(run_id, of_type=event_type)]


def step_started(instance: dg.Instance, run_id: str, step: str) -> bool:
    return any(
        entry.step_key == step
        for entry in instance.all_logs(run_id, of_type=dg.EventType.STEP_START)
    )


def worker_pid(instance: dg.Instance, run_id: str) -> int:
    run = wait_for(
        lambda: (r := instance.get_run_by_id(run_id)) and WORKER_PID_TAG in r.tags and r,
        30,
        f"run {run_id} to record its worker pid",
    )
    return int(run.tags[WORKER_PID_TAG])


def kill_hard(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
