"""The instance configuration: defaults, short forms, plugins, env references, and errors that
name the file, the key and the fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import kubedag as dg
from kubedag.errors import InstanceConfigError, StorageUnavailableError
from kubedag.instance.config import parse_instance_config
from kubedag.storage.memory import InMemoryEventLogStorage, InMemoryRunStorage
from kubedag.storage.sql import SqlEventLogStorage, SqlRunStorage, SqlScheduleStorage


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "kubedag_home"
    monkeypatch.setenv("KUBEDAG_HOME", str(path))
    monkeypatch.delenv("KUBEDAG_INSTANCE_REF", raising=False)
    return path


def test_with_no_file_the_instance_is_sqlite_in_kubedag_home(home: Path) -> None:
    with dg.Instance.get() as instance:
        assert not instance.is_ephemeral
        assert isinstance(instance.run_storage, SqlRunStorage)
        assert isinstance(instance.event_log_storage, SqlEventLogStorage)
        assert isinstance(instance.schedule_storage, SqlScheduleStorage)
        assert isinstance(instance.compute_log_manager, dg.LocalComputeLogManager)
        run = instance.create_run(job_name="job")
    assert (home / "kubedag.db").exists()
    with dg.Instance.get() as reopened:
        assert reopened.get_run_by_id(run.run_id) == run
        assert "SQLite" in reopened.info()["storage"]


def test_kubedag_yaml_configures_the_parts(home: Path) -> None:
    home.mkdir()
    (home / "kubedag.yaml").write_text(
        "run_storage:\n"
        "  module: kubedag.storage.memory\n"
        "  class: InMemoryRunStorage\n"
        "event_log_storage:\n"
        "  in_memory: {}\n"
        "schedule_storage:\n"
        "  sqlite: {base_dir: " + str(home / "schedules") + "}\n"
        "compute_logs:\n"
        "  noop: {}\n"
        "local_artifact_storage:\n"
        "  base_dir: " + str(home / "artifacts") + "\n"
    )
    with dg.Instance.get() as instance:
        assert isinstance(instance.run_storage, InMemoryRunStorage)
        assert isinstance(instance.event_log_storage, InMemoryEventLogStorage)
        assert isinstance(instance.schedule_storage, SqlScheduleStorage)
        assert isinstance(instance.compute_log_manager, dg.NoOpComputeLogManager)
        assert instance.storage_directory() == str(home / "artifacts" / "storage")
    assert (home / "schedules" / "kubedag.db").exists()


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"strage": {}}, "strage: unknown key; expected one of: storage, run_storage"),
        (
            {"storage": {"sqlite": {}}, "run_storage": {"sqlite": {}}},
            "run_storage: set either storage",
        ),
        ({"storage": {"mysql": {}}}, "storage: expected {sqlite: {...}} or {postgres: {...}}"),
        ({"storage": {"sqlite": {"base": "x"}}}, "storage.sqlite.base: unknown key"),
        ({"storage": {"postgres": {}}}, "storage.postgres: set exactly one of postgres_url"),
        (
            {"storage": {"postgres": {"postgres_db": {"username": "u", "hostname": "h"}}}},
            "storage.postgres.postgres_db.db_name: is required",
        ),
        (
            {
                "storage": {
                    "postgres": {
                        "postgres_db": {
                            "username": "u",
                            "hostname": "h",
                            "db_name": "d",
                            "port": "x",
                        }
                    }
                }
            },
            "storage.postgres.postgres_db.port: expected an integer; got 'x'",
        ),
        ({"compute_logs": {"s3": {"prefix": "p"}}}, "compute_logs.s3.bucket: is required"),
        (
            {"compute_logs": {"s3": {"bucket": "b", "skip_empty_files": "yes"}}},
            "compute_logs.s3.skip_empty_files: expected true or false",
        ),
        ({"run_launcher": {"module": "m"}}, "run_launcher.class: is required in the plugin form"),
        ({"local_artifact_storage": {}}, "local_artifact_storage: expected"),
        ([1, 2], "expected a mapping of instance parts"),
    ],
)
def test_configuration_mistakes_name_the_file_and_key(document: object, message: str) -> None:
    with pytest.raises(InstanceConfigError) as raised:
        parse_instance_config(document, "/etc/kubedag.yaml")
    assert str(raised.value).startswith("/etc/kubedag.yaml")
    assert message in str(raised.value)


def test_yaml_syntax_errors_say_where(home: Path) -> None:
    home.mkdir()
    (home / "kubedag.yaml").write_text("storage:\n  sqlite: {base_dir: [unclosed\n")
    with pytest.raises(InstanceConfigError, match=r"kubedag.yaml: not valid YAML \(line \d+"):
        dg.Instance.get()


def test_plugin_errors_are_specific(home: Path) -> None:
    cases = [
        ({"module": "no.such.module", "class": "X"}, "run_storage.module: cannot import"),
        ({"module": "kubedag.storage.memory", "class": "Nope"}, "has no class 'Nope'"),
        (
            {"module": "kubedag.storage.memory", "class": "InMemoryEventLogStorage"},
            "is not a RunStorage",
        ),
        (
            {"module": "kubedag.storage.memory", "class": "InMemoryRunStorage", "config": {"x": 1}},
            "run_storage.config: InMemoryRunStorage rejected its config",
        ),
    ]
    for plugin, message in cases:
        with pytest.raises(InstanceConfigError, match=message):
            dg.Instance.from_config({"run_storage": plugin}, home=str(home))


def test_env_references_are_resolved_and_travel_by_name(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = {
        "storage": {"sqlite": {"base_dir": {"env": "KUBEDAG_TEST_DB_DIR"}}},
        "compute_logs": {"local": {"base_dir": {"env": "KUBEDAG_TEST_LOG_DIR"}}},
    }
    with pytest.raises(InstanceConfigError, match="KUBEDAG_TEST_DB_DIR is not set"):
        dg.Instance.from_config(document, home=str(home))
    monkeypatch.setenv("KUBEDAG_TEST_DB_DIR", str(home / "db"))
    monkeypatch.setenv("KUBEDAG_TEST_LOG_DIR", str(home / "logs"))
    with dg.Instance.from_config(document, home=str(home)) as instance:
        run = instance.create_run(job_name="job")
        ref = instance.get_ref().to_json()
    assert (home / "db" / "kubedag.db").exists()
    assert str(home / "db") not in ref and "KUBEDAG_TEST_DB_DIR" in ref
    monkeypatch.setenv("KUBEDAG_INSTANCE_REF", ref)
    monkeypatch.setenv("KUBEDAG_HOME", str(home / "elsewhere"))
    with dg.Instance.get() as from_ref:
        assert from_ref.get_run_by_id(run.run_id) == run


def test_an_ephemeral_instance_cannot_be_handed_over() -> None:
    with (
        dg.Instance.ephemeral() as instance,
        pytest.raises(InstanceConfigError, match="ephemeral instance lives in one process"),
    ):
        instance.get_ref()


def test_a_bad_instance_ref_is_a_clear_error() -> None:
    with pytest.raises(InstanceConfigError, match="Not a serialized instance reference"):
        dg.InstanceRef.from_json(json.dumps({"nope": 1}))


def test_an_unreachable_database_says_where_without_the_password(home: Path) -> None:
    document = {
        "storage": {
            "postgres": {
                "postgres_db": {
                    "username": "kubedag",
                    "password": "s3cret-value",
                    "hostname": "127.0.0.1",
                    "db_name": "runs",
                    "port": 1,
                },
                "retry_seconds": 0,
            }
        }
    }
    with pytest.raises(StorageUnavailableError) as raised:
        dg.Instance.from_config(document, home=str(home))
    message = str(raised.value)
    assert "PostgreSQL database 'runs' at 127.0.0.1:1 (user 'kubedag')" in message
    assert "s3cret" not in message
    assert "Traceback" not in message and "\n" not in message
    assert raised.value.__cause__ is None
