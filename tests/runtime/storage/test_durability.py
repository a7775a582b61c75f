"""What persistent storage promises: values and history outlive the process, events are
batched but never lost for a finished step, many processes share one SQLite file, and a
database outage is retried."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import event as sa_event

import kubedag as dg
from kubedag.records.events import EventType

DEADLINE_S = 30.0


def _wait_for(condition: object, what: str, timeout: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)  # polling another thread/process with a deadline


def _reopen(instance_config: dict[str, object]) -> dg.Instance:
    return dg.Instance.from_config(
        instance_config["document"],  # type: ignore[arg-type]
        home=str(instance_config["home"]),
    )


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    """Durability is about persistent storage: SQLite and PostgreSQL only."""
    return str(request.param)


def test_a_downstream_asset_alone_loads_its_upstream_from_storage(
    instance_config: dict[str, object],
) -> None:
    @dg.asset
    def upstream() -> list[int]:
        return [1, 2, 3]

    @dg.asset
    def downstream(upstream: list[int]) -> int:
        return sum(upstream)

    with _reopen(instance_config) as first:
        first_run = dg.materialize([upstream], instance=first).run_id
    with _reopen(instance_config) as second:
        result = dg.materialize([upstream, downstream], instance=second, selection=[downstream])
        assert result.output_for_node("downstream") == 6
        assert second.get_run_by_id(first_run) is not None
        assert [r.run_id for r in second.get_runs()] == [result.run_id, first_run]

    @dg.job
    def op_job() -> None:
        _double()

    with _reopen(instance_config) as third:
        run = op_job.execute_in_process(instance=third)
        assert os.path.exists(os.path.join(third.storage_directory(), run.run_id))


@dg.op
def _double() -> int:
    return 2


def test_events_are_written_in_a_few_transactions(instance: dg.Instance) -> None:
    commits: list[int] = []
    sa_event.listen(instance.databases[0].engine, "commit", lambda _conn: commits.append(1))

    @dg.asset
    def chatty(context: dg.AssetExecutionContext) -> None:
        for i in range(5000):
            context.log.info(f"line {i}")

    result = dg.materialize([chatty], instance=instance)
    lines = [e for e in instance.all_logs(result.run_id) if e.event is None]
    assert [e.user_message for e in lines] == [f"line {i}" for i in range(5000)]
    # create + 2 status changes + run start/end + step start/end + 5 batches of 1,000 lines
    assert len(commits) <= 14, len(commits)


def test_log_lines_of_a_running_step_become_visible_while_it_runs(
    instance: dg.Instance, instance_config: dict[str, object]
) -> None:
    release = threading.Event()

    @dg.asset
    def waiting(context: dg.AssetExecutionContext) -> None:
        context.log.info("started waiting")
        assert release.wait(DEADLINE_S)

    runner = threading.Thread(
        target=dg.materialize, args=([waiting],), kwargs={"instance": instance}
    )
    runner.start()
    try:
        with _reopen(instance_config) as reader:

            def seen() -> bool:
                runs = reader.get_runs()
                return bool(runs) and any(
                    e.user_message == "started waiting" for e in reader.all_logs(runs[0].run_id)
                )

            _wait_for(seen, "the log line to be flushed by the background writer")
    finally:
        release.set()
        runner.join()


def test_following_a_run_sees_every_event_once(
    instance: dg.Instance, instance_config: dict[str, object]
) -> None:
    @dg.asset
    def a(context: dg.AssetExecutionContext) -> int:
        context.log.info("in a")
        return 1

    @dg.asset
    def b(a: int) -> int:
        return a + 1

    run_ids: list[str] = []
    runner = threading.Thread(
        target=lambda: run_ids.append(dg.materialize([a, b], instance=instance).run_id)
    )
    with _reopen(instance_config) as watcher:
        runner.start()
        _wait_for(lambda: bool(watcher.get_runs()), "the run to be created")
        run_id = watcher.get_runs()[0].run_id
        followed = list(watcher.watch_run_events(run_id, poll_interval=0.02, timeout=DEADLINE_S))
        runner.join()
        stored = watcher.get_records_for_run(run_id)
    assert [r.storage_id for r in followed] == [r.storage_id for r in stored]
    assert followed[-1].event_log_entry.event.event_type is EventType.RUN_SUCCESS  # type: ignore[union-attr]


SCRIPT_HEADER = """
import os, sys, time
import kubedag as dg
"""


def _run_script(path: Path, body: str, env: dict[str, str]) -> subprocess.Popen[str]:
    path.write_text(SCRIPT_HEADER + textwrap.dedent(body))
    return subprocess.Popen(
        [sys.executable, str(path)],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_processes_share_one_sqlite_instance(tmp_path: Path) -> None:
    home = tmp_path / "home"
    body = """
    tag = sys.argv[1] if len(sys.argv) > 1 else os.environ["WRITER"]
    def make(i, deps):
        def compute(context):
            for n in range(50):
                context.log.info(f"{tag} {i} {n}")
            return i
        return dg.asset(name=f"{tag}_{i}", deps=deps)(compute)

    assets = []
    for i in range(15):
        assets.append(make(i, assets[-1:]))
    with dg.Instance.get() as instance:
        for _ in range(3):
            assert dg.materialize(assets, instance=instance).success
    print("done")
    """
    processes = [
        _run_script(tmp_path / f"writer_{tag}.py", body, {"KUBEDAG_HOME": str(home), "WRITER": tag})
        for tag in ("left", "right")
    ]
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        assert out.strip() == "done"
    with dg.Instance.from_config({}, home=str(home)) as instance:
        runs = instance.get_runs()
        assert len(runs) == 6 and all(r.is_success for r in runs)
        for run in runs:
            records = instance.get_records_for_run(run.run_id)
            ids = [r.storage_id for r in records]
            assert ids == sorted(set(ids))
            assert sum(r.event_log_entry.event is None for r in records) == 15 * 50
        latest = instance.get_latest_materialization_events(
            [f"{side}_{i}" for side in ("left", "right") for i in range(15)]
        )
        assert all(entry is not None for entry in latest.values())


def test_a_killed_run_keeps_every_event_reported_before_the_kill(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    from tests.runtime.storage.conftest import instance_document

    document = instance_document(backend, request)
    home = tmp_path / "home"
    marker = tmp_path / "hanging"
    body = f"""
    import json
    @dg.asset
    def first(context):
        context.log.info("first is done")
        return 1

    @dg.asset
    def second(context, first):
        context.log.info("second started")
        open({str(marker)!r}, "w").close()
        time.sleep(120)  # user code that hangs until the process is killed

    with dg.Instance.from_config(json.loads({__import__("json").dumps(document)!r}), home={str(home)!r}) as instance:
        dg.materialize([first, second], instance=instance)
    """
    process = _run_script(tmp_path / "victim.py", body, {})
    try:
        _wait_for(marker.exists, "the second step to start")
        # A step's start is stored by the background writer while the step runs: the step
        # does not wait for it, and it must not need the step to end to become visible.
        with dg.Instance.from_config(document, home=str(home)) as reader:

            def second_started() -> bool:
                runs = reader.get_runs()
                return bool(runs) and any(
                    e.step_key == "second" and e.event.event_type is EventType.STEP_START
                    for e in reader.all_logs(runs[0].run_id)
                    if e.event is not None
                )

            _wait_for(second_started, "the second step's start to be stored")
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
    with dg.Instance.from_config(document, home=str(home)) as instance:
        (run,) = instance.get_runs()
        assert run.status is dg.RunStatus.STARTED  # nobody was left to finish it
        types = [(e.step_key, e.event.event_type) for e in instance.all_logs(run.run_id) if e.event]
        assert (None, EventType.RUN_START) in types
        for event_type in (
            EventType.STEP_START,
            EventType.ASSET_MATERIALIZATION,
            EventType.STEP_SUCCESS,
        ):
            assert ("first", event_type) in types
        assert ("second", EventType.STEP_START) in types
        messages = [e.user_message for e in instance.all_logs(run.run_id)]
        assert "first is done" in messages
        assert instance.get_latest_materialization_event("first") is not None
