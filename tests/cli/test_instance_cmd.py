"""`kubedag instance info` and `kubedag instance migrate` on real databases, and passwords that
never reach the terminal."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import make_url

from kubedag.cli.tables import hide_url_passwords
from kubedag.storage.sql.database import Database, sqlite_url
from kubedag.storage.sql.migration import HEAD, REVISIONS, upgrade
from tests.cli.conftest import Completed

Cli = Callable[..., Completed]
OLDEST = REVISIONS[0]


def write_config(home: Path, text: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "kubedag.yaml").write_text(text)


def test_info_of_the_default_instance(cli: Cli, instance_home: Path) -> None:
    fresh = cli("instance", "info")  # reports, and creates nothing
    assert fresh.code == 0, fresh.stderr
    assert "Schema:        empty (the schema is created on first use)\n" in fresh.stdout
    assert cli("runs", "list").code == 0  # the first command that uses the database
    done = cli("instance", "info")
    assert done.code == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["Home:", str(instance_home)]
    assert f"Config:        {instance_home / 'kubedag.yaml'} (absent: the defaults apply)" in lines
    assert f"Storage:       SQLite database {instance_home / 'kubedag.db'}" in lines
    assert f"Schema:        {HEAD} (current)" in lines
    assert (
        f"Compute logs:  LocalComputeLogManager(base_dir={instance_home / 'compute_logs'})" in lines
    )
    assert f"Artifacts:     {instance_home}" in lines

    info = json.loads(cli("instance", "info", "--json").stdout)
    assert info["home"] == str(instance_home)
    assert info["expected_schema_revision"] == HEAD
    assert info["schema_revisions"] == {f"SQLite database {instance_home / 'kubedag.db'}": HEAD}


def test_migrate_an_up_to_date_instance(cli: Cli, instance_home: Path) -> None:
    assert cli("runs", "list").code == 0  # opening the instance creates the current schema
    done = cli("instance", "migrate")
    assert done.code == 0, done.stderr
    assert done.stdout == f"SQLite database {instance_home / 'kubedag.db'} already at {HEAD}\n"


def test_migrate_a_new_home_creates_the_schema(cli: Cli, instance_home: Path) -> None:
    done = cli("instance", "migrate")
    assert done.code == 0, done.stderr
    assert done.stdout == f"created SQLite database {instance_home / 'kubedag.db'} at {HEAD}\n"


def test_an_old_schema_is_reported_then_migrated(cli: Cli, instance_home: Path) -> None:
    database = Database(sqlite_url(str(instance_home)))
    try:
        upgrade(database, OLDEST)
    finally:
        database.dispose()
    refused = cli("runs", "list")
    assert refused.code == 2 and "kubedag instance migrate" in refused.stderr
    info = cli("instance", "info")
    assert info.code == 0, info.stderr
    assert f"Schema:        {OLDEST}, but this kubedag expects {HEAD}" in info.stdout
    migrated = cli("instance", "migrate")
    assert migrated.code == 0, migrated.stderr
    db = instance_home / "kubedag.db"
    assert migrated.stdout == f"migrated SQLite database {db} from {OLDEST} to {HEAD}\n"
    assert cli("runs", "list").code == 0


def test_an_in_memory_instance_has_nothing_to_migrate(cli: Cli, instance_home: Path) -> None:
    write_config(instance_home, "storage:\n  in_memory: {}\n")
    done = cli("instance", "migrate")
    assert done.code == 0, done.stderr
    assert done.stdout.startswith("Nothing to migrate: this instance has no SQL database")
    assert "Schema:        - (no SQL database)" in cli("instance", "info").stdout


def test_an_unreachable_postgres_is_named_without_its_password(
    cli: Cli, instance_home: Path
) -> None:
    write_config(
        instance_home,
        'storage:\n  postgres:\n    postgres_url: "postgresql://u:s3cret@127.0.0.1:1/db"\n'
        "    retry_seconds: 0\n",
    )
    for command in (
        ("instance", "info"),
        ("instance", "info", "--json"),
        ("instance", "migrate"),
        ("runs", "list"),
        ("assets", "list"),
    ):
        done = cli(*command)
        assert done.code == 2, command
        assert "s3cret" not in done.stdout + done.stderr
        message = done.stderr.strip()
        assert message.startswith("kubedag: error: Cannot use PostgreSQL database 'db'")
        assert "127.0.0.1:1" in message and "(user 'u')" in message


def test_info_of_a_postgres_instance_hides_the_password(
    cli: Cli, instance_home: Path, postgres_url: str
) -> None:
    url = make_url(postgres_url).set(password="s3cret")  # the test server trusts local users
    rendered = url.render_as_string(hide_password=False)
    write_config(instance_home, f'storage:\n  postgres:\n    postgres_url: "{rendered}"\n')
    assert cli("runs", "list").code == 0  # creates the schema
    done = cli("instance", "info")
    assert done.code == 0, done.stderr
    assert "s3cret" not in done.stdout
    assert f"PostgreSQL database '{url.database}' at {url.host}:{url.port}" in done.stdout
    assert f"{HEAD} (current)" in done.stdout
    assert "s3cret" not in cli("instance", "info", "--json").stdout
    migrate = cli("instance", "migrate")
    assert migrate.stdout.endswith(f"already at {HEAD}\n") and "s3cret" not in migrate.stdout


def test_url_passwords_are_masked_anywhere_in_a_text() -> None:
    text = "at postgresql+psycopg://kubedag:pa:ss@db:5432/kubedag and s3://bucket/key"
    assert hide_url_passwords(text) == (
        "at postgresql+psycopg://kubedag:***@db:5432/kubedag and s3://bucket/key"
    )
    assert hide_url_passwords("http://host:8080/path") == "http://host:8080/path"
