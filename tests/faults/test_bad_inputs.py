"""Bad inputs outside Kubernetes: a malformed `kubedag.yaml`, a run config that names an op that
is not there or gives a value of the wrong type, a cron expression or time zone that does not
exist, and a run config too large to store.

Each test feeds the mistake the way a user makes it — the `kubedag` command (as a subprocess
once per row, through `main()` for its variants) or the Python API where that is the entry
point — and asserts the exact message (the file, the key path or field, the value and the fix),
the documented exit code (2, `EXIT_USAGE`) and that nothing else changed: every file of the
instance home is byte for byte what it was, and the instance holds the same runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

import kubedag as dg
from kubedag.cli.exit_codes import EXIT_OK, EXIT_USAGE
from kubedag.config.run_config import MAX_RUN_CONFIG_BYTES, json_size
from kubedag.errors import InstanceConfigError
from tests.cli.conftest import Completed, cli, instance_home, isolated_imports
from tests.runtime.runs.conftest import wait_for

__all__ = ["cli", "instance_home", "isolated_imports"]  # fixtures used by this module

Cli = Callable[..., Completed]
DEADLINE_S = 60.0
ROOT = Path(__file__).resolve().parents[2]

CODE = """
import hashlib

import kubedag as dg


class CountConfig(dg.Config):
    n: int = 1


class LoadConfig(dg.Config):
    rows: list[str] = []


@dg.op
def count(config: CountConfig) -> int:
    return config.n


@dg.op
def add_one(x: int) -> int:
    return x + 1


@dg.job
def counting():
    add_one(count())


@dg.op
def load(context, config: LoadConfig) -> None:
    digest = hashlib.sha256("\\n".join(config.rows).encode()).hexdigest()
    context.log.info(f"rows={len(config.rows)} sha256={digest}")


@dg.job
def loading():
    load()


defs = dg.Definitions(jobs=[counting, loading])
"""

SCHEDULE_CODE = """
import kubedag as dg


@dg.op
def count() -> int:
    return 1


@dg.job
def counting():
    count()


nightly = dg.ScheduleDefinition(
    name="nightly", job=counting, cron_schedule={cron!r}, execution_timezone={timezone!r}
)
defs = dg.Definitions(jobs=[counting], schedules=[nightly])
"""


# -- helpers -----------------------------------------------------------------------------------
def snapshot(home: Path) -> dict[str, str]:
    """Every file under `home` and the SHA-256 of its bytes: what "nothing changed" compares."""
    if not home.exists():
        return {}
    return {
        str(path.relative_to(home)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(home.rglob("*"))
        if path.is_file()
    }


def run_kubedag(home: Path, cwd: Path, *args: str) -> Completed:
    """`kubedag ARGS` as a user runs it: a new process, the instance in `home`."""
    env = {k: v for k, v in os.environ.items() if k != "KUBEDAG_INSTANCE_REF"}
    env["KUBEDAG_HOME"] = str(home)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-m", "kubedag", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=DEADLINE_S,
        check=False,
    )
    return Completed(done.returncode, done.stdout, done.stderr)


def one_error(done: Completed) -> str:
    """The single error message of a refused command, after checking how it was refused."""
    assert done.code == EXIT_USAGE, (done.code, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("kubedag: error: "), done.stderr
    assert done.stderr.count("kubedag: error: ") == 1, done.stderr
    return done.stderr.removeprefix("kubedag: error: ").strip()


@pytest.fixture
def code(tmp_path: Path) -> Path:
    path = tmp_path / "pipelines.py"
    path.write_text(CODE)
    return path


@pytest.fixture
def seeded_home(instance_home: Path) -> tuple[Path, str]:
    """A local SQLite instance that already holds one run, so "unchanged" means something."""
    with dg.Instance.get() as instance:
        run = instance.create_run(job_name="counting", run_config={"ops": {"count": {}}})
    return instance_home, run.run_id


def run_ids() -> list[str]:
    with dg.Instance.get() as instance:
        return [run.run_id for run in instance.get_runs()]


# -- 1. kubedag.yaml ---------------------------------------------------------------------------
INSTANCE_MISTAKES = [
    pytest.param(
        {"run_coordinator": {"queued": {"max_concurrent_runs": "two"}}},
        "run_coordinator.queued.max_concurrent_runs: expected an integer; got 'two'.",
        id="wrong-type",
    ),
    pytest.param(
        {"run_cordinator": {"queued": {"max_concurrent_runs": 2}}},
        "run_cordinator: unknown key; expected one of: storage, run_storage, event_log_storage, "
        "schedule_storage, compute_logs, local_artifact_storage, run_coordinator, run_launcher, "
        "run_monitoring, python_logs. Did you mean 'run_coordinator'?",
        id="top-level-key",
    ),
    pytest.param(
        {"run_coordinator": {"queud": {"max_concurrent_runs": 2}}},
        "run_coordinator: expected {default: {...}} or {queued: {...}}, or the plugin form "
        "{module: ..., class: ..., config: {...}}; got {queud: ...}. Did you mean 'queued'?",
        id="form-name",
    ),
    pytest.param(
        {"run_coordinator": {"queued": {"max_concurent_runs": 2}}},
        "run_coordinator.queued.max_concurent_runs: unknown key; expected one of: "
        "dequeue_interval_seconds, max_concurrent_runs, tag_concurrency_limits. "
        "Did you mean 'max_concurrent_runs'?",
        id="nested-key",
    ),
    pytest.param(
        {"run_coordinator": {"queued": {"tag_concurrency_limits": [{"key": "db", "limt": 1}]}}},
        "run_coordinator.queued.tag_concurrency_limits[0].limt: unknown key; expected one of: "
        "key, limit, value. Did you mean 'limit'?",
        id="key-in-a-list",
    ),
    pytest.param(
        {"run_monitoring": {"start_timout_seconds": 30}},
        "run_monitoring.start_timout_seconds: unknown key; expected one of: "
        "cancel_timeout_seconds, enabled, heartbeat_interval_seconds, heartbeat_timeout_seconds, "
        "max_resume_run_attempts, poll_interval_seconds, start_timeout_seconds. "
        "Did you mean 'start_timeout_seconds'?",
        id="settings-key",
    ),
    pytest.param(
        {"run_launcher": {"modul": "my_company.launchers", "class": "BatchRunLauncher"}},
        "run_launcher.modul: unknown key in the plugin form; expected module, class and config. "
        "Did you mean 'module'?",
        id="plugin-key",
    ),
    pytest.param(
        {
            "storage": {
                "postgres": {
                    "postgres_db": {
                        "username": "kubedag",
                        "password": 918273645,
                        "hostname": "db",
                        "db_name": "kubedag",
                    }
                }
            }
        },
        "storage.postgres.postgres_db.password: expected a string; got an integer (value not "
        "shown; quote it to make it a string).",
        id="secret-of-the-wrong-type",
    ),
]


@pytest.mark.parametrize(("document", "expected"), INSTANCE_MISTAKES)
def test_bad_input_malformed_instance_config(
    document: dict[str, object],
    expected: str,
    seeded_home: tuple[Path, str],
    code: Path,
    cli: Cli,
) -> None:
    """malformed `kubedag.yaml`: a value of the wrong type, or a misspelled key at any depth

    Every command refuses with exit code 2 and one message naming the file, the key path and what
    is expected, with "Did you mean …?" for a misspelled key or form (a password of the wrong
    type is never printed); no run is recorded and no file of the instance changes."""
    home, seeded_run = seeded_home
    config_file = home / "kubedag.yaml"
    config_file.write_text(yaml.safe_dump(document))
    before = snapshot(home)

    launched = cli("job", "launch", "-f", str(code), "--job", "counting")
    assert one_error(launched) == f"{config_file}: {expected}"
    listed = cli("runs", "list")
    assert one_error(listed) == f"{config_file}: {expected}"
    with pytest.raises(InstanceConfigError) as raised:  # the Python API's entry point
        dg.Instance.get()
    assert str(raised.value) == f"{config_file}: {expected}"
    assert "918273645" not in launched.stderr + listed.stderr + str(raised.value)

    assert snapshot(home) == before
    config_file.unlink()
    assert run_ids() == [seeded_run]


def test_bad_input_instance_config_typo_from_the_command_line(
    seeded_home: tuple[Path, str], code: Path
) -> None:
    """`kubedag.yaml` with a misspelled top-level key (`run_cordinator:`), run as a command

    `kubedag job launch` exits 2 with the file, the key and "Did you mean 'run_coordinator'?" on
    stderr and no traceback; no run id is printed and the instance's database is unchanged."""
    home, seeded_run = seeded_home
    config_file = home / "kubedag.yaml"
    config_file.write_text("run_cordinator:\n  queued: {max_concurrent_runs: 2}\n")
    before = snapshot(home)

    done = run_kubedag(home, code.parent, "job", "launch", "-f", str(code), "--job", "counting")

    message = one_error(done)
    assert message.startswith(f"{config_file}: run_cordinator: unknown key; expected one of: ")
    assert message.endswith(" Did you mean 'run_coordinator'?")
    assert done.stdout == ""  # no run id printed
    assert snapshot(home) == before
    config_file.unlink()
    assert run_ids() == [seeded_run]


# -- 2. run config: unknown op, wrong type -------------------------------------------------------
RUN_CONFIG_MISTAKES = [
    pytest.param(
        {"ops": {"not_an_op": {"config": {"n": 3}}}},
        "ops.not_an_op: job 'counting' has no op or graph named 'not_an_op' here. "
        "Known: add_one, count.",
        id="unknown-op",
    ),
    pytest.param(
        {"ops": {"cont": {"config": {"n": 3}}}},
        "ops.cont: job 'counting' has no op or graph named 'cont' here. Did you mean 'count'? "
        "Known: add_one, count.",
        id="misspelled-op",
    ),
    pytest.param(
        {"ops": {"count": {"config": {"n": "three"}}}},
        "Invalid config:\n  ops.count.config.n: Input should be a valid integer, unable to parse "
        "string as an integer; got str 'three' (CountConfig.n is int)",
        id="wrong-type",
    ),
    pytest.param(
        {"ops": {"count": {"conifg": {"n": 3}}}},
        "ops.count.conifg: unknown key; expected config, inputs or ops. Did you mean 'config'?",
        id="misspelled-entry",
    ),
    pytest.param(
        {"op": {"count": {"config": {"n": 3}}}},
        "run_config.op: not a run config section; expected one of ops, resources, loggers, "
        "execution. Did you mean 'ops'?",
        id="misspelled-section",
    ),
]


@pytest.mark.parametrize(("run_config", "expected"), RUN_CONFIG_MISTAKES)
def test_bad_input_run_config_unknown_op_or_wrong_type(
    run_config: dict[str, object],
    expected: str,
    seeded_home: tuple[Path, str],
    code: Path,
    cli: Cli,
    tmp_path: Path,
) -> None:
    """run config naming an op the job does not have, or giving a field a value of the wrong type

    `kubedag job launch --config` and `kubedag job execute --config` exit 2 with the dotted path,
    the valid ops (and the closest one) or the value given and the declared type; no run is
    recorded and no file of the instance changes. The Python API raises the same message."""
    home, seeded_run = seeded_home
    config_file = tmp_path / "run.yaml"
    config_file.write_text(yaml.safe_dump(run_config))
    before = snapshot(home)

    for action in ("launch", "execute"):
        done = cli(
            "job", action, "-f", str(code), "--job", "counting", "--config", str(config_file)
        )
        assert one_error(done) == expected
        assert done.stdout == ""
    job = _load(code).get_job_def("counting")
    with dg.Instance.get() as instance, pytest.raises(dg.InvalidConfigError) as raised:
        job.execute_in_process(run_config=run_config, instance=instance)
    assert str(raised.value) == expected

    assert snapshot(home) == before
    assert run_ids() == [seeded_run]


def _load(code: Path) -> dg.Definitions:
    from kubedag.code_location.load import load_definitions

    return load_definitions(python_file=str(code))


def test_bad_input_run_config_mistake_leaves_a_new_home_empty(
    instance_home: Path, code: Path, tmp_path: Path
) -> None:
    """run config with an unknown op, on a machine where the instance does not exist yet

    `kubedag job launch` (a new process) exits 2 naming `ops.not_an_op` and the valid ops before
    it opens the instance: no database file is created, no run recorded."""
    config_file = tmp_path / "run.yaml"
    config_file.write_text("ops:\n  not_an_op:\n    config: {n: 3}\n")

    done = run_kubedag(
        instance_home, tmp_path, "job", "launch", "-f", str(code), "--job", "counting",
        "--config", str(config_file),
    )  # fmt: skip

    assert one_error(done) == (
        "ops.not_an_op: job 'counting' has no op or graph named 'not_an_op' here. "
        "Known: add_one, count."
    )
    assert not instance_home.exists(), sorted(snapshot(instance_home))


# -- 3 and 4. schedules: cron expression, time zone ----------------------------------------------
SCHEDULE_MISTAKES = [
    pytest.param(
        "61 * * * *",
        "UTC",
        "schedule 'nightly': cron_schedule '61 * * * *' is not a valid cron expression: its "
        "minute field '61' is out of range; minute values are 0-59. Write each field as *, a "
        "value, a list (0,30), a range (1-5) or a step (*/15); for example '0 6 * * 1-5' (06:00 "
        "on weekdays) or '@daily'.",
        id="cron-minute-61",
    ),
    pytest.param(
        "0 6 * * 1-8",
        "UTC",
        "schedule 'nightly': cron_schedule '0 6 * * 1-8' is not a valid cron expression: its "
        "day-of-week field '1-8' has 8, out of range; day-of-week values are 0-7 or SUN-SAT (0 "
        "and 7 are Sunday). Write each field as *, a value, a list (0,30), a range (1-5) or a "
        "step (*/15); for example '0 6 * * 1-5' (06:00 on weekdays) or '@daily'.",
        id="cron-weekday-range",
    ),
    pytest.param(
        "*/0 * * * *",
        "UTC",
        "schedule 'nightly': cron_schedule '*/0 * * * *' is not a valid cron expression: its "
        "minute field '*/0' has the step '/0'; a step is a whole number of 1 or more; minute "
        "values are 0-59. Write each field as *, a value, a list (0,30), a range (1-5) or a step "
        "(*/15); for example '0 6 * * 1-5' (06:00 on weekdays) or '@daily'.",
        id="cron-step-0",
    ),
]
TIMEZONE_MISTAKES = [
    pytest.param(
        "Mars/Olympus",
        "schedule 'nightly': execution_timezone 'Mars/Olympus' is not an IANA time zone name. "
        "Use a name of the IANA time zone database, such as 'UTC', 'America/New_York' or "
        "'Europe/Berlin'.",
        id="no-such-zone",
    ),
    pytest.param(
        "Europe/Londn",
        "schedule 'nightly': execution_timezone 'Europe/Londn' is not an IANA time zone name. "
        "Did you mean 'Europe/London'? Use a name of the IANA time zone database, such as "
        "'UTC', 'America/New_York' or 'Europe/Berlin'.",
        id="misspelled-zone",
    ),
    pytest.param(
        "america/new_york",
        "schedule 'nightly': execution_timezone 'america/new_york' is not an IANA time zone "
        "name. Did you mean 'America/New_York'? Use a name of the IANA time zone database, such "
        "as 'UTC', 'America/New_York' or 'Europe/Berlin'.",
        id="wrong-case",
    ),
]


def _schedule_file(tmp_path: Path, cron: str, timezone: str) -> Path:
    path = tmp_path / "schedules.py"
    path.write_text(SCHEDULE_CODE.format(cron=cron, timezone=timezone))
    return path


def _load_error(path: Path, message: str) -> str:
    """What `kubedag list` says when the file raises `message` on its line 15 (the schedule)."""
    return (
        f"Cannot load definitions from file '{path}': importing it raised "
        f"kubedag.errors.InvalidDefinitionError: {message} (at {path}:15)."
    )


def _assert_schedule_refused(
    cron: str, timezone: str, expected: str, home: Path, tmp_path: Path, cli: Cli
) -> Path:
    path = _schedule_file(tmp_path, cron, timezone)
    before = snapshot(home)

    # Raised when the schedule is defined, as in the reference: before any Definitions.
    @dg.op
    def count() -> int:
        return 1

    @dg.job
    def counting() -> None:
        count()

    with pytest.raises(dg.InvalidDefinitionError) as raised:
        dg.ScheduleDefinition(
            name="nightly", job=counting, cron_schedule=cron, execution_timezone=timezone
        )
    assert str(raised.value) == expected
    for command in (("list",), ("schedule", "list")):
        assert one_error(cli(*command, "-f", str(path))) == _load_error(path, expected)
    assert snapshot(home) == before
    return path


@pytest.mark.parametrize(("cron", "timezone", "expected"), SCHEDULE_MISTAKES)
def test_bad_input_cron_out_of_range(
    cron: str,
    timezone: str,
    expected: str,
    seeded_home: tuple[Path, str],
    tmp_path: Path,
    cli: Cli,
) -> None:
    """cron expression with a value out of range (`61 * * * *`) on a ScheduleDefinition

    Refused when the schedule is defined, as in the reference: `ScheduleDefinition` raises, and
    `kubedag list` and `kubedag schedule list` exit 2 naming the file and line, the schedule, the
    `cron_schedule` field, the bad value and what is valid (minute 0-59); nothing is stored."""
    home, seeded_run = seeded_home
    _assert_schedule_refused(cron, timezone, expected, home, tmp_path, cli)
    assert run_ids() == [seeded_run]


@pytest.mark.parametrize(("timezone", "expected"), TIMEZONE_MISTAKES)
def test_bad_input_unknown_time_zone(
    timezone: str,
    expected: str,
    seeded_home: tuple[Path, str],
    tmp_path: Path,
    cli: Cli,
) -> None:
    """unknown time zone (`execution_timezone="Mars/Olympus"`, `"Europe/Londn"`)

    Refused when the schedule is defined; the message names the schedule, `execution_timezone`
    and the value, suggests the closest IANA name when one is close ("Did you mean
    'Europe/London'?") and gives examples; `kubedag list` exits 2 and nothing is stored."""
    home, seeded_run = seeded_home
    _assert_schedule_refused("0 6 * * *", timezone, expected, home, tmp_path, cli)
    assert run_ids() == [seeded_run]


def test_bad_input_schedule_mistake_from_the_command_line(
    seeded_home: tuple[Path, str], tmp_path: Path
) -> None:
    """cron `61 * * * *` in a code location, listed from the command line

    `kubedag list` (a new process) exits 2 with one line naming the file, the line, the schedule,
    the field and the valid range, and no traceback; the instance is untouched."""
    home, seeded_run = seeded_home
    path = _schedule_file(tmp_path, "61 * * * *", "UTC")
    before = snapshot(home)

    done = run_kubedag(home, tmp_path, "list", "-f", str(path))

    message = one_error(done)
    assert message.startswith(f"Cannot load definitions from file '{path}': ")
    assert (
        "schedule 'nightly': cron_schedule '61 * * * *' is not a valid cron expression" in message
    )
    assert "its minute field '61' is out of range; minute values are 0-59." in message
    assert message.endswith(f"(at {path}:15).")
    assert snapshot(home) == before
    assert run_ids() == [seeded_run]


# -- 5. a 10 MB run config -----------------------------------------------------------------------
def _rows_config(total_bytes: int) -> dict[str, object]:
    """`ops.load.config.rows` of about `total_bytes` as JSON (100-character rows)."""
    rows = [f"row-{i:07d}-" + "x" * 88 for i in range(-(-total_bytes // 103))]
    return {"ops": {"load": {"config": {"rows": rows}}}}


def _config_of_exactly(size: int) -> dict[str, object]:
    config = _rows_config(size - 200)
    rows = config["ops"]["load"]["config"]["rows"]  # type: ignore[index]
    rows.append("")
    rows[-1] = "y" * (size - json_size(config))
    assert json_size(config) == size
    return config


def test_bad_input_run_config_of_10_mb(
    seeded_home: tuple[Path, str], code: Path, tmp_path: Path, cli: Cli
) -> None:
    """run config of 10 MB (`kubedag job launch --config big.yaml`)

    Refused up front, in a few seconds, with exit code 2 and a message naming the size, the limit
    (1 MiB of JSON), the part that makes it big (`ops.load.config.rows`) and how to pass large
    data instead (a path or URL in config, a resource, an I/O manager); no run is recorded and
    no file of the instance changes. The Python API refuses it with the same message."""
    home, seeded_run = seeded_home
    big = _rows_config(10 * 1024 * 1024)
    size = json_size(big)
    assert 10 * 1024 * 1024 <= size < 10 * 1024 * 1024 + 103
    config_file = tmp_path / "big.yaml"
    config_file.write_text(json.dumps(big))  # JSON is YAML
    expected = (
        f"run_config: {size / 1e6:.1f} MB ({size:,} bytes as JSON) is over the limit of "
        "1,048,576 bytes (1 MiB); the largest part is ops.load.config.rows "
        f"({size / 1e6:.1f} MB). Run config is stored in every run record, and a Kubernetes Run "
        "object that carries it cannot exceed about 1.5 MB, so pass large data by reference: "
        "write it to a file or object store and put its path or URL in config, read it in a "
        "resource (dg.ConfigurableResource), or produce it as an upstream asset that an I/O "
        "manager loads."
    )
    before = snapshot(home)

    started = time.monotonic()
    done = run_kubedag(
        home, tmp_path, "job", "launch", "-f", str(code), "--job", "loading",
        "--config", str(config_file),
    )  # fmt: skip
    elapsed = time.monotonic() - started

    assert one_error(done) == expected
    assert elapsed < 15.0, f"refusing a 10 MB run config took {elapsed:.1f}s"
    job = _load(code).get_job_def("loading")
    with dg.Instance.get() as instance, pytest.raises(dg.InvalidConfigError) as raised:
        job.execute_in_process(run_config=big, instance=instance)
    assert str(raised.value) == expected
    with pytest.raises(dg.InvalidConfigError) as raised:  # an ephemeral instance: the same
        job.execute_in_process(run_config=big)
    assert str(raised.value) == expected
    assert snapshot(home) == before
    assert run_ids() == [seeded_run]


def test_bad_input_run_config_at_the_size_limit(
    seeded_home: tuple[Path, str], code: Path, tmp_path: Path, cli: Cli
) -> None:
    """run config of exactly 1 MiB, and one byte more

    1,048,576 bytes of JSON are accepted by `kubedag job launch`: the run is stored with its
    config equal to what was given and its worker (which reads the config from storage) sees
    every row; 1,048,577 bytes are refused with the size-limit message and nothing recorded."""
    home, seeded_run = seeded_home
    at_limit = _config_of_exactly(MAX_RUN_CONFIG_BYTES)
    over = _config_of_exactly(MAX_RUN_CONFIG_BYTES + 1)
    rows: list[str] = at_limit["ops"]["load"]["config"]["rows"]  # type: ignore[index]
    digest = hashlib.sha256("\n".join(rows).encode()).hexdigest()

    over_file = tmp_path / "over.yaml"
    over_file.write_text(json.dumps(over))
    before = snapshot(home)
    refused = cli("job", "launch", "-f", str(code), "--job", "loading", "--config", str(over_file))
    assert one_error(refused).startswith(
        "run_config: 1.0 MB (1,048,577 bytes as JSON) is over the limit of 1,048,576 bytes "
        "(1 MiB); the largest part is ops.load.config.rows (1.0 MB)."
    )
    assert snapshot(home) == before
    assert run_ids() == [seeded_run]

    at_file = tmp_path / "at.yaml"
    at_file.write_text(json.dumps(at_limit))
    launched = cli("job", "launch", "-f", str(code), "--job", "loading", "--config", str(at_file))
    assert launched.code == EXIT_OK, launched.stderr
    run_id = launched.stdout.strip().splitlines()[-1]

    def finished() -> dg.Run | None:
        with dg.Instance.get() as instance:
            run = instance.get_run_by_id(run_id)
        return run if run is not None and run.status.is_finished else None

    run = wait_for(finished, DEADLINE_S, f"run {run_id} to finish")
    assert run.status is dg.RunStatus.SUCCESS
    assert run.run_config == at_limit
    with dg.Instance.get() as instance:
        messages = [entry.user_message for entry in instance.all_logs(run_id)]
    assert messages.count(f"rows={len(rows)} sha256={digest}") == 1
    assert sorted(run_ids()) == sorted([seeded_run, run_id])
