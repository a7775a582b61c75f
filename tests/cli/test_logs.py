"""`kubedag logs`: the stdout and stderr each step wrote, as the compute log manager kept them;
and `materialize` keeping its own progress lines out of them."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import kubedag as dg
from kubedag.cli.logs import LogOutput, follow_logs, merge_steps
from kubedag.cli.main import main
from kubedag.instance.instance import Instance
from tests.cli.conftest import Completed

Cli = Callable[..., Completed]


@dg.asset
def talker() -> int:
    print("said on stdout", flush=True)
    print("said on stderr", file=sys.stderr, flush=True)
    subprocess.run(["echo", "from child"], check=True)
    return 1


@dg.asset
def listener(talker: int) -> int:
    print("heard", talker, flush=True)
    return talker


@dg.asset
def mute(listener: int) -> int:
    return listener


@pytest.fixture
def run_id(instance_home: Path) -> str:
    with Instance.get() as instance:
        return dg.materialize([talker, listener, mute], instance=instance).run_id


def test_logs_of_every_step_in_the_order_they_started(cli: Cli, run_id: str) -> None:
    done = cli("logs", run_id)
    assert done.code == 0, done.stderr
    assert done.stdout == (
        "== step talker (stdout) ==\n"
        "said on stdout\n"
        "from child\n"
        "== step listener (stdout) ==\n"
        "heard 1\n"
        "== step mute (stdout) ==\n"
    )
    errors = cli("logs", run_id[:8], "--stderr")
    assert errors.code == 0, errors.stderr
    assert errors.stdout.startswith("== step talker (stderr) ==\nsaid on stderr\n")
    assert "said on stdout" not in errors.stdout


def test_logs_of_one_step_are_its_bytes_alone(cli: Cli, run_id: str) -> None:
    done = cli("logs", run_id, "--step", "talker")
    assert done.code == 0, done.stderr
    assert done.stdout == "said on stdout\nfrom child\n"
    assert cli("logs", run_id, "--step", "talker", "--stderr").stdout == "said on stderr\n"


def test_an_unknown_step_names_the_runs_steps(cli: Cli, run_id: str) -> None:
    done = cli("logs", run_id, "--step", "talkr")
    assert done.code == 2
    assert done.stderr == (
        f"kubedag: error: run {run_id} has no step 'talkr'; its steps: talker, listener, mute.\n"
    )
    assert done.stdout == ""


def test_follow_on_a_finished_run_prints_everything_and_ends(cli: Cli, run_id: str) -> None:
    done = cli("logs", run_id, "--follow")
    assert done.code == 0, done.stderr
    # Headers come with output; `mute` printed nothing.
    assert done.stdout == (
        "== step talker (stdout) ==\n"
        "said on stdout\n"
        "from child\n"
        "== step listener (stdout) ==\n"
        "heard 1\n"
    )
    one = cli("logs", run_id, "--follow", "--step", "listener")
    assert (one.code, one.stdout) == (0, "heard 1\n")


def test_logs_of_an_unknown_run(cli: Cli, instance_home: Path) -> None:
    done = cli("logs", "0f6a3c1e-0000-4000-8000-000000000000")
    assert done.code == 2 and "no run with id" in done.stderr


CHILD_RUN = """
import sys
import time
from pathlib import Path

import kubedag as dg
from kubedag.instance.instance import Instance

GATE = Path(sys.argv[1])


@dg.asset
def first() -> int:
    print("first step says hello", flush=True)
    deadline = time.monotonic() + 30
    while not GATE.exists():  # until the test has seen the line above
        if time.monotonic() > deadline:
            raise TimeoutError("the test never opened the gate")
        time.sleep(0.01)
    return 1


@dg.asset
def second(first: int) -> int:
    print("second step says hello", flush=True)
    return 2


with Instance.get() as instance:
    dg.materialize([first, second], instance=instance)
"""


def test_follow_tails_a_running_run_and_picks_up_new_steps(
    instance_home: Path, tmp_path: Path
) -> None:
    script = tmp_path / "child_run.py"
    script.write_text(textwrap.dedent(CHILD_RUN))
    gate = tmp_path / "gate"
    child = subprocess.Popen(
        [sys.executable, str(script), str(gate)],
        env={**os.environ, "KUBEDAG_HOME": str(instance_home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    out = io.BytesIO()

    def wait(seconds: float) -> None:
        # Called by follow_logs whenever a pass found nothing new: let the run go on once the
        # first step's line has been printed.
        assert time.monotonic() < deadline, f"follow did not end; printed {out.getvalue()!r}"
        if b"first step says hello" in out.getvalue():
            gate.touch()
        time.sleep(seconds)

    try:
        with Instance.get() as instance:
            while not (runs := instance.get_runs()):
                wait(0.01)
            follow_logs(
                instance,
                runs[0].run_id,
                None,
                LogOutput(out, "stdout", headers=True),
                poll_interval=0.01,
                sleep=wait,
            )
            assert instance.get_run_by_id(runs[0].run_id).is_success  # type: ignore[union-attr]
    finally:
        _, errors = child.communicate(timeout=30)
    assert child.returncode == 0, errors.decode()
    assert out.getvalue() == (
        b"== step first (stdout) ==\n"
        b"first step says hello\n"
        b"== step second (stdout) ==\n"
        b"second step says hello\n"
    )


def test_headers_start_on_a_new_line() -> None:
    out = io.BytesIO()
    output = LogOutput(out, "stderr", headers=True)
    output.write("a", b"no newline at the end")
    output.write("b", b"")
    output.write("b", b"next\n")
    output.write("b", b"more\n")
    assert out.getvalue() == (
        b"== step a (stderr) ==\nno newline at the end\n== step b (stderr) ==\nnext\nmore\n"
    )
    assert merge_steps(["b", "a"], ["c", "a", "0"]) == ["b", "a", "0", "c"]


def test_materialize_progress_stays_out_of_the_step_logs(
    instance_home: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "chatty.py"
    source.write_text(
        textwrap.dedent(
            """
            import sys

            import kubedag as dg

            @dg.asset
            def chatty() -> int:
                print("the step's own words")
                print("the step's own warning", file=sys.stderr)
                return 1

            defs = dg.Definitions(assets=[chatty])
            """
        )
    )
    assert main(["materialize", "-f", str(source)]) == 0
    terminal = capfd.readouterr()
    # On the terminal: the announcement, the progress line and the step's own output.
    assert "[1/1] chatty succeeded" in terminal.err
    assert "Materializing 1 asset" in terminal.err
    assert "the step's own words" in terminal.out
    with Instance.get() as instance:
        (run,) = instance.get_runs()
        logs = instance.compute_log_manager
        stdout = logs.read(run.run_id, "chatty", "stdout").data.decode()
        stderr = logs.read(run.run_id, "chatty", "stderr").data.decode()
    assert stdout == "the step's own words\n"
    assert "the step's own warning" in stderr
    assert "[1/1]" not in stderr and "Materializing" not in stderr


def test_logs_are_read_back_from_object_storage(
    cli: Cli, instance_home: Path, s3_server: object, s3_bucket: str
) -> None:
    instance_home.mkdir(parents=True)
    (instance_home / "kubedag.yaml").write_text(
        "compute_logs:\n"
        "  s3:\n"
        f"    bucket: {s3_bucket}\n"
        f"    endpoint_url: {s3_server.endpoint_url}\n"  # type: ignore[attr-defined]
        "    prefix: team/logs\n"
    )
    with Instance.get() as instance:
        run_id = dg.materialize([talker, listener, mute], instance=instance).run_id
    local_logs = instance_home / "compute_logs"
    assert not local_logs.exists()  # nothing went to local files
    done = cli("logs", run_id, "--step", "talker")
    assert done.code == 0, done.stderr
    assert done.stdout == "said on stdout\nfrom child\n"
    keys = [
        item["Key"]
        for item in s3_server.client().list_objects_v2(Bucket=s3_bucket)["Contents"]  # type: ignore[attr-defined]
    ]
    assert f"team/logs/{run_id}/talker.out" in keys
