"""Schema versions: created once, checked by number, migrated on request, newer ones refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

import kubedag as dg
from kubedag.errors import SchemaVersionError
from kubedag.storage.sql import migration, schema
from kubedag.storage.sql.database import Database, normalize_url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'kubedag.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def document(database_url: str, tmp_path: Path) -> dict[str, object]:
    if database_url.startswith("sqlite"):
        return {"storage": {"sqlite": {"base_dir": str(tmp_path)}}}
    return {"storage": {"postgres": {"postgres_url": database_url}}}


def _revision(url: str) -> str | None:
    engine = create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            return migration.current_revision(conn)
    finally:
        engine.dispose()


def _upgrade_to(url: str, revision: str) -> None:
    database = Database(url)
    try:
        database.skip_schema_check()
        migration.upgrade(database, revision)
    finally:
        database.dispose()


def test_the_revision_list_matches_the_migration_scripts() -> None:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migration.MIGRATIONS_DIR))
    scripts = ScriptDirectory.from_config(config)
    in_order = [s.revision for s in reversed(list(scripts.walk_revisions()))]
    assert tuple(in_order) == migration.REVISIONS
    assert scripts.get_current_head() == migration.HEAD


def test_a_new_database_is_created_at_the_head_revision(
    document: dict[str, object], database_url: str, tmp_path: Path
) -> None:
    with dg.Instance.from_config(document, home=str(tmp_path)) as instance:
        instance.create_run(job_name="job")
        assert instance.info()["schema_revisions"] == {
            instance.databases[0].description: migration.HEAD
        }
    assert _revision(database_url) == migration.HEAD


def test_migrating_from_scratch_gives_the_declared_schema(database_url: str) -> None:
    _upgrade_to(database_url, "head")
    engine = create_engine(normalize_url(database_url))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"version_table": migration.VERSION_TABLE}
            )
            differences = compare_metadata(context, schema.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_an_old_schema_is_refused_then_migrated_on_request(
    document: dict[str, object], database_url: str, tmp_path: Path
) -> None:
    _upgrade_to(database_url, migration.REVISIONS[0])
    engine = create_engine(normalize_url(database_url))
    with engine.begin() as conn:  # a run written by the older kubedag
        conn.execute(
            text(
                "INSERT INTO runs (run_id, job_name, status, run_body, create_timestamp, "
                "update_timestamp) VALUES ('old-run', 'job', 'SUCCESS', :body, 1.0, 1.0)"
            ),
            {"body": '{"job_name":"job","run_id":"old-run","status":"SUCCESS"}'},
        )
    engine.dispose()
    with pytest.raises(SchemaVersionError) as refused:
        dg.Instance.from_config(document, home=str(tmp_path))
    assert f"revision {migration.REVISIONS[0]}" in str(refused.value)
    assert "kubedag instance migrate" in str(refused.value)

    with dg.Instance.from_config(document, home=str(tmp_path), check_schema=False) as instance:
        results = instance.migrate()
        assert [(r.from_revision, r.to_revision, r.changed) for r in results] == [
            (migration.REVISIONS[0], migration.HEAD, True)
        ]
        assert instance.get_run_by_id("old-run") is not None
        instance.add_instigator_state(
            dg.InstigatorState(
                "loc:s", "s", dg.InstigatorType.SCHEDULE, dg.InstigatorStatus.RUNNING
            )
        )
        again = instance.migrate()
        assert [r.changed for r in again] == [False]
    assert _revision(database_url) == migration.HEAD


def test_a_newer_schema_is_refused(
    document: dict[str, object], database_url: str, tmp_path: Path
) -> None:
    dg.Instance.from_config(document, home=str(tmp_path)).dispose()
    engine = create_engine(normalize_url(database_url))
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE {migration.VERSION_TABLE} SET version_num = '0099_future'"))
    engine.dispose()
    with pytest.raises(SchemaVersionError, match=r"0099_future.*newer kubedag.*Upgrade kubedag"):
        dg.Instance.from_config(document, home=str(tmp_path))
    with (
        dg.Instance.from_config(document, home=str(tmp_path), check_schema=False) as instance,
        pytest.raises(SchemaVersionError, match="newer kubedag"),
    ):
        instance.migrate()
