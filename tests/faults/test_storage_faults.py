"""Storage faults: the database, the object store and the disk under `$KUBEDAG_HOME` failing
while runs write to them.

Each test drives real components: a PostgreSQL cluster of its own (so restarting it disturbs
no other test), a nanio S3-API server of its own, run workers and `kubedag` commands as real
processes, and a real file system that the kernel turns read-only.
"""

from __future__ import annotations

import collections
import contextlib
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

import kubedag as dg
from tests.faults._storage import (
    LostCommitReplies,
    failing_disk,
    own_s3_server,
    postgres_cluster,
)
from tests.runtime.runs.conftest import IN_PROCESS, finished, status, step_started, wait_for

DEADLINE_S = 60.0
E = dg.EventType

# -- a 50-step run --------------------------------------------------------------------------

STEPS = 50
LINES_PER_STEP = 3
GATED_STEP = 25  # the step that waits for the test to take the database away
GATED = f"s{GATED_STEP:02d}"

CHAIN = """
import time
from pathlib import Path

import kubedag as dg

STEPS = {steps}
LINES = {lines}
GATED = {gated}
GATE = Path({gate!r})


def make(index):
    name = f"s{{index:02d}}"

    @dg.asset(name=name, deps=[f"s{{index - 1:02d}}"] if index > 1 else [])
    def step(context: dg.AssetExecutionContext) -> int:
        for line in range(LINES):
            context.log.info(f"{{name}} line {{line}}")
        print(f"{{name}} printed")
        if index == GATED:
            deadline = time.monotonic() + 60
            while not GATE.exists():
                if time.monotonic() > deadline:
                    raise TimeoutError(f"nobody opened the gate {{GATE}}")
                time.sleep(0.02)
            for line in range(LINES):
                context.log.info(f"{{name}} after the gate {{line}}")
        return index

    return step


defs = dg.Definitions(
    assets=[make(index) for index in range(1, STEPS + 1)],
    jobs=[dg.define_asset_job("chain", selection=dg.AssetSelection.all())],
)
"""

STEP_EVENTS = (
    E.STEP_START,
    E.STEP_OUTPUT,
    E.HANDLED_OUTPUT,
    E.ASSET_MATERIALIZATION,
    E.STEP_SUCCESS,
)


def write_chain(folder: Path, gate: Path) -> Path:
    """The code location of the 50-step job `chain`; its step s25 waits for `gate` to exist."""
    code = folder / "chain.py"
    folder.mkdir(parents=True, exist_ok=True)
    text = CHAIN.format(steps=STEPS, lines=LINES_PER_STEP, gated=GATED_STEP, gate=str(gate))
    code.write_text(textwrap.dedent(text))
    return code


def launch_chain(instance: dg.Instance, code: Path) -> dg.Run:
    run = instance.create_run(
        job_name="chain", run_config=IN_PROCESS, code_location={"python_file": str(code)}
    )
    instance.submit_run(run.run_id)
    return run


def worker_log(instance: dg.Instance, run_id: str, last: int | None = None) -> str:
    """What the run's worker printed (its `last` lines only, for a failure message)."""
    path = Path(instance.home, "run_workers", f"{run_id}.log")
    text = path.read_text(errors="replace") if path.exists() else "(no worker log)"
    return text if last is None else "\n".join(text.splitlines()[-last:])


def check_chain_log(entries: list[dg.EventLogEntry]) -> tuple[int, int]:
    """Assert that every event of every step and every log line is there exactly once; return
    how many events and log lines were checked."""
    events = collections.Counter(
        (e.step_key, e.event.event_type) for e in entries if e.event is not None
    )
    expected = collections.Counter(
        {(f"s{i:02d}", kind): 1 for i in range(1, STEPS + 1) for kind in STEP_EVENTS}
    )
    expected.update({(None, kind): 1 for kind in (E.RUN_STARTING, E.RUN_START, E.RUN_SUCCESS)})
    assert events == expected
    logged = collections.Counter(e.user_message for e in entries if e.event is None)
    lines = collections.Counter(
        f"s{index:02d} line {line}"
        for index in range(1, STEPS + 1)
        for line in range(LINES_PER_STEP)
    )
    lines.update(f"{GATED} after the gate {line}" for line in range(LINES_PER_STEP))
    assert logged == lines
    return sum(events.values()), sum(logged.values())


def test_fault_postgres_restarted_during_a_run(tmp_path: Path) -> None:
    """PostgreSQL restarted while a 50-step run writes events

    The run worker retries every write until the server is back; the run ends SUCCESS and its
    event log holds each step's events and each log line exactly once."""
    gate = tmp_path / "gate"
    code = write_chain(tmp_path / "code", gate)
    with postgres_cluster() as server:
        document = {"storage": {"postgres": {"postgres_url": server.create_database("chain")}}}
        with dg.Instance.from_config(document, home=str(tmp_path / "home")) as instance:
            run = launch_chain(instance, code)
            wait_for(
                lambda: finished(instance, run.run_id) or step_started(instance, run.run_id, GATED),
                DEADLINE_S,
                "the gated step to start",
            )
            assert not finished(instance, run.run_id), worker_log(instance, run.run_id, 40)
            server.stop("fast")
            try:
                gate.touch()  # the step goes on and writes while the server is down
                wait_for(
                    lambda: "(attempt 3)" in worker_log(instance, run.run_id),
                    DEADLINE_S,
                    "the run worker to retry a write three times",
                )
            finally:
                server.start()
            done = wait_for(lambda: finished(instance, run.run_id), DEADLINE_S, "the run to end")
            assert done.status is dg.RunStatus.SUCCESS, worker_log(instance, run.run_id, 40)
            checked = check_chain_log(instance.all_logs(run.run_id))
    print(f"\nPostgreSQL restart: {checked[0]} events, {checked[1]} log lines checked")


def test_fault_postgres_reply_lost_after_an_event_commit(postgres_url: str, tmp_path: Path) -> None:
    """PostgreSQL connection lost after an event batch commits, before its reply arrives

    The writer cannot know the batch was stored and sends it again; the retry recognises it, so
    the run ends SUCCESS with each event and log line in its event log exactly once."""
    gate = tmp_path / "gate"
    gate.touch()
    code = write_chain(tmp_path / "code", gate)
    url = make_url(postgres_url)
    if not url.host:
        pytest.skip(f"the proxy that loses replies speaks TCP; this server is not: {url.query}")
    proxy = LostCommitReplies((url.host or "127.0.0.1", url.port or 5432), lambda n: n % 7 == 3)
    try:
        through_proxy = url.set(port=proxy.port).update_query_dict(
            {"sslmode": "disable", "gssencmode": "disable"}
        )
        document = {
            "storage": {"postgres": {"postgres_url": through_proxy.render_as_string(False)}}
        }
        with dg.Instance.from_config(document, home=str(tmp_path / "home")) as instance:
            run = launch_chain(instance, code)
            done = wait_for(lambda: finished(instance, run.run_id), DEADLINE_S, "the run to end")
            assert done.status is dg.RunStatus.SUCCESS, worker_log(instance, run.run_id, 40)
            checked = check_chain_log(instance.all_logs(run.run_id))
    finally:
        proxy.close()
    assert proxy.cut >= 10, f"only {proxy.cut} of {proxy.inserts} commit replies were cut"
    print(
        f"\nlost commit replies: {proxy.cut} of {proxy.inserts} event inserts; "
        f"{checked[0]} events, {checked[1]} log lines checked"
    )


# -- compute logs in S3 -----------------------------------------------------------------------

PRINTERS = 3
PRINTED_LINES = 1000  # per step on stdout, half of them before the gate
ERROR_LINES = 100  # per step on stderr
OUTAGE_S = 10.0

PRINTER_CODE = """
import sys
import time
from pathlib import Path

import kubedag as dg

GATE = Path({gate!r})
PRINTED = Path({printed!r})


def make(index):
    name = f"p{{index}}"

    @dg.asset(name=name, deps=[f"p{{index - 1}}"] if index > 1 else [])
    def step() -> None:
        for line in range({lines} // 2):
            print(f"{{name}} out {{line}}", flush=True)
        if index == 2:
            deadline = time.monotonic() + 60
            while not GATE.exists():
                if time.monotonic() > deadline:
                    raise TimeoutError(f"nobody opened the gate {{GATE}}")
                time.sleep(0.02)
        for line in range({lines} // 2, {lines}):
            print(f"{{name}} out {{line}}", flush=True)
        for line in range({errors}):
            print(f"{{name}} err {{line}}", file=sys.stderr, flush=True)
        if index == 2:
            PRINTED.touch()  # all printed: the step ends, its logs are uploaded next

    return step


defs = dg.Definitions(
    assets=[make(index) for index in range(1, {steps} + 1)],
    jobs=[dg.define_asset_job("printers", selection=dg.AssetSelection.all())],
)
"""


def test_fault_s3_down_while_compute_logs_upload(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """S3-API server down while compute logs upload, back after 10 s

    Uploads are retried with back-off (`retry_seconds`, default 30); the run ends SUCCESS and
    every line each step printed is in its stored log exactly once."""
    gate, printed = tmp_path / "gate", tmp_path / "printed"
    code = tmp_path / "code" / "printers.py"
    code.parent.mkdir()
    text = PRINTER_CODE.format(
        gate=str(gate),
        printed=str(printed),
        lines=PRINTED_LINES,
        errors=ERROR_LINES,
        steps=PRINTERS,
    )
    code.write_text(textwrap.dedent(text))
    with own_s3_server(tmp_path / "s3") as server:
        bucket = server.as_s3_server().make_bucket()
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", server.access_key)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", server.secret_key)
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        logs = {
            "bucket": bucket,
            "endpoint_url": server.endpoint_url,
            "upload_interval": 0.2,
            "retry_seconds": 25,  # more than the outage
            "retry_max_delay_seconds": 1,
        }
        document = {"compute_logs": {"s3": logs}}
        with dg.Instance.from_config(document, home=str(tmp_path / "home")) as instance:
            run = instance.create_run(
                job_name="printers", run_config=IN_PROCESS, code_location={"python_file": str(code)}
            )
            instance.submit_run(run.run_id)
            manager = instance.compute_log_manager
            wait_for(
                lambda: (
                    finished(instance, run.run_id)
                    or b"p2 out 0\n" in manager.read(run.run_id, "p2").data
                ),
                DEADLINE_S,
                "the first lines of p2 to be uploaded while it runs",
            )
            assert not finished(instance, run.run_id), worker_log(instance, run.run_id, 40)
            server.stop()
            down_since = time.monotonic()
            try:
                gate.touch()  # p2 prints the rest and ends while the server is down
                wait_for(printed.exists, DEADLINE_S, "p2 to print everything")
                # The outage lasts 10 s, as the fault says: a duration, not a synchronization.
                time.sleep(max(0.0, down_since + OUTAGE_S - time.monotonic()))
            finally:
                server.start()
            done = wait_for(lambda: finished(instance, run.run_id), DEADLINE_S, "the run to end")
            assert done.status is dg.RunStatus.SUCCESS, worker_log(instance, run.run_id, 40)
            log = worker_log(instance, run.run_id)
            stored = {
                (step, io_type): manager.read(run.run_id, step, io_type).data.decode()
                for step in (f"p{i}" for i in range(1, PRINTERS + 1))
                for io_type in ("stdout", "stderr")
            }
    expected = {
        (f"p{i}", "stdout"): [f"p{i} out {line}" for line in range(PRINTED_LINES)]
        for i in range(1, PRINTERS + 1)
    }
    expected.update(
        {
            (f"p{i}", "stderr"): [f"p{i} err {line}" for line in range(ERROR_LINES)]
            for i in range(1, PRINTERS + 1)
        }
    )
    assert {key: text.splitlines() for key, text in stored.items()} == expected
    assert f"Uploading 'kubedag/compute-logs/{run.run_id}/p2.out'" in log
    assert "retrying" in log
    lines = sum(len(v) for v in expected.values())
    print(f"\nS3 outage of {OUTAGE_S:.0f} s: {lines} compute log lines checked")


# -- many processes on one SQLite file --------------------------------------------------------

LAUNCHES = 20

QUICK_CODE = """
import kubedag as dg


@dg.asset
def quick(context: dg.AssetExecutionContext) -> int:
    context.log.info("quick ran")
    return 1


defs = dg.Definitions(assets=[quick], jobs=[dg.define_asset_job("quick", selection=[quick])])
"""


def kubedag_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "kubedag", *args]


def test_fault_twenty_parallel_launches_on_sqlite(tmp_path: Path) -> None:
    """20 `kubedag job launch` at once on the default SQLite instance

    Every command exits 0 and prints its run id; the 20 runs are recorded and their 20 workers
    finish them SUCCESS; no write is lost to `database is locked`."""
    home = tmp_path / "home"  # not created yet: the 20 commands also race to create it
    code = tmp_path / "code" / "quick.py"
    code.parent.mkdir()
    code.write_text(textwrap.dedent(QUICK_CODE))
    run_config = tmp_path / "code" / "in_process.yaml"
    run_config.write_text("execution: {config: {in_process: {}}}\n")  # no step subprocesses
    env = {**os.environ, "KUBEDAG_HOME": str(home)}
    env.pop("KUBEDAG_INSTANCE_REF", None)
    command = kubedag_command(
        "job", "launch", "-f", str(code), "--job", "quick", "--config", str(run_config)
    )
    launches = [
        subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(LAUNCHES)
    ]
    outputs = [process.communicate(timeout=DEADLINE_S * 2) for process in launches]
    failures = [
        f"exit {process.returncode}: {err}"
        for process, (_, err) in zip(launches, outputs, strict=True)
        if process.returncode != 0
    ]
    assert failures == []
    run_ids = [out.strip().splitlines()[-1] for out, _ in outputs]
    assert len(set(run_ids)) == LAUNCHES
    with dg.Instance.from_config({}, home=str(home)) as instance:
        assert sorted(run.run_id for run in instance.get_runs()) == sorted(run_ids)
        wait_for(
            lambda: all(finished(instance, run_id) for run_id in run_ids),
            DEADLINE_S * 2,
            "the 20 runs to finish",
        )
        statuses = collections.Counter(status(instance, run_id) for run_id in run_ids)
        ran = {
            run_id: [e.user_message for e in instance.all_logs(run_id)].count("quick ran")
            for run_id in run_ids
        }
        logs = "\n".join(worker_log(instance, run_id) for run_id in run_ids)
    assert statuses == {dg.RunStatus.SUCCESS: LAUNCHES}, logs[-4000:]
    assert ran == {run_id: 1 for run_id in run_ids}
    assert "locked" not in logs and all("locked" not in err for _, err in outputs)


# -- the disk under $KUBEDAG_HOME turns read-only ---------------------------------------------

GATED_CODE = """
import time
from pathlib import Path

import kubedag as dg

GATE = Path({gate!r})


@dg.asset
def g1(context: dg.AssetExecutionContext) -> int:
    context.log.info("g1 ran")
    return 1


@dg.asset
def g2(context: dg.AssetExecutionContext, g1: int) -> int:
    context.log.info("g2 waits for the gate")
    deadline = time.monotonic() + 60
    while not GATE.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"nobody opened the gate {{GATE}}")
        time.sleep(0.02)
    context.log.info("g2 passed the gate")
    return g1 + 1


@dg.asset
def g3(g2: int) -> int:
    return g2 + 1


defs = dg.Definitions(
    assets=[g1, g2, g3], jobs=[dg.define_asset_job("gated", selection=[g1, g2, g3])]
)
"""


def test_fault_kubedag_home_disk_turns_read_only_mid_run(tmp_path: Path) -> None:
    """The disk holding `$KUBEDAG_HOME` turns read-only mid-run

    `kubedag job execute` stops with one error line naming the database file and saying its
    file system is read-only, without a traceback; once the disk is back, the database passes
    SQLite's integrity check and holds the run as it was written to disk before the fault."""
    with failing_disk(tmp_path / "fs") as disk:
        home = disk.path / "home"
        gate, out, err = tmp_path / "gate", tmp_path / "stdout", tmp_path / "stderr"
        code = tmp_path / "code" / "gated.py"
        code.parent.mkdir()
        code.write_text(textwrap.dedent(GATED_CODE.format(gate=str(gate))))
        run_config = tmp_path / "code" / "in_process.yaml"
        run_config.write_text("execution: {config: {in_process: {}}}\n")
        env = {**os.environ, "KUBEDAG_HOME": str(home)}
        env.pop("KUBEDAG_INSTANCE_REF", None)
        command = kubedag_command(
            "job", "execute", "-f", str(code), "--job", "gated", "--config", str(run_config)
        )
        with open(out, "wb") as stdout, open(err, "wb") as stderr:
            process = subprocess.Popen(
                command, env=env, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr
            )
        try:
            with dg.Instance.from_config({}, home=str(home)) as instance:
                wait_for(
                    lambda: (
                        process.poll() is not None
                        or any(step_started(instance, r.run_id, "g2") for r in instance.get_runs())
                    ),
                    DEADLINE_S,
                    "step g2 to start",
                )
            assert process.poll() is None, err.read_text()
            # What is committed so far reaches the disk before it fails (SQLite's WAL mode with
            # synchronous=NORMAL leaves the last commits to the OS, as a power loss would).
            os.sync()
            disk.fail()
            with pytest.raises(OSError, match="Read-only file system"):
                (home / "probe").touch()  # the fault is in place
            gate.touch()
            code_returned = process.wait(timeout=DEADLINE_S)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        message = err.read_text()
        disk.repair()
        database = home / "kubedag.db"
        with contextlib.closing(sqlite3.connect(database)) as connection:
            integrity = connection.execute("PRAGMA integrity_check").fetchall()
        with dg.Instance.from_config({}, home=str(home)) as instance:
            (run,) = instance.get_runs()
            stored = [
                (e.step_key, e.event.event_type if e.event else e.user_message)
                for e in instance.all_logs(run.run_id)
            ]
    assert code_returned == 2, message
    error_lines = [line for line in message.splitlines() if line.startswith("kubedag: error:")]
    assert len(error_lines) == 1, message
    assert error_lines[0].startswith(
        f"kubedag: error: Cannot write SQLite database {database}: the file system holding "
        f"{home} is read-only (SQLite: "  # what SQLite says depends on the write it was doing
    ), message
    assert error_lines[0].endswith(
        f"). Make {home} writable again (remount its file system read-write, free space), or "
        "point $KUBEDAG_HOME (or storage.sqlite.base_dir) at a writable folder."
    ), message
    assert "Traceback" not in message
    assert integrity == [("ok",)]
    assert ("g1", E.STEP_SUCCESS) in stored and ("g2", E.STEP_START) in stored
