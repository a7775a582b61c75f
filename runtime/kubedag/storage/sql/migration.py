"""The schema's version: create, check, migrate.

Opening an instance costs one query here: read the version number and compare it with the
revision this kubedag was built for (`HEAD`). The reference re-read its migration scripts on
every start; we only touch alembic when asked to migrate (`kubedag instance migrate`) or when a
test compares the migrated schema with the declared one.

- Empty database: create every table from `schema.metadata` and record `HEAD`.
- Version `HEAD`: nothing to do.
- An older known revision: refuse, naming `kubedag instance migrate`.
- An unknown revision: written by a newer kubedag; refuse, naming the versions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

from sqlalchemy import Column, Connection, MetaData, String, Table, select, text

from kubedag.errors import SchemaVersionError
from kubedag.storage.sql import schema

T = TypeVar("T")


class Database(Protocol):
    """What migrating needs of a `kubedag.storage.sql.database.Database`, which imports this
    module to check its schema before first use (so this one does not import it back)."""

    @property
    def description(self) -> str: ...

    @property
    def retry_seconds(self) -> float: ...

    def with_retries(
        self,
        work: Callable[[Connection], T],
        *,
        write: bool,
        retry_seconds: float | None = None,
    ) -> T: ...

    def forget_schema_check(self) -> None: ...


# Every revision in order; a test checks this against the alembic scripts in `migrations/`.
REVISIONS: tuple[str, ...] = (
    "0001_initial",
    "0002_automation",
    "0003_partial_event_indexes",
    "0004_automation_runs",
    "0005_latest_materialization_body",
)
HEAD = REVISIONS[-1]
VERSION_TABLE = "kubedag_schema_version"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"

_version_metadata = MetaData()
version_table = Table(
    VERSION_TABLE,
    _version_metadata,
    Column("version_num", String(32), primary_key=True),
)


@dataclass(frozen=True)
class MigrationResult:
    database: str
    from_revision: str | None
    to_revision: str

    @property
    def changed(self) -> bool:
        return self.from_revision != self.to_revision


def current_revision(conn: Connection) -> str | None:
    if not _has_table(conn, VERSION_TABLE):
        return None
    return conn.execute(select(version_table.c.version_num)).scalar()


def _has_table(conn: Connection, name: str) -> bool:
    if conn.dialect.name == "sqlite":
        query = text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :name")
        return conn.execute(query, {"name": name}).first() is not None
    return conn.execute(text("SELECT to_regclass(:name)"), {"name": name}).scalar() is not None


def _lock_for_schema_change(conn: Connection) -> None:
    """Two processes opening a new database at once must not both create it."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": 0x6B756265})
    # SQLite: the write transaction began with BEGIN IMMEDIATE, which already serializes us.


def ensure_current_schema(database: Database) -> None:
    def check(conn: Connection) -> None:
        revision = current_revision(conn)
        if revision is None:
            _lock_for_schema_change(conn)
            revision = current_revision(conn)
        if revision is None:
            if _has_table(conn, schema.runs.name):
                raise SchemaVersionError(
                    f"{database.description} has kubedag tables but no schema version. Run "
                    "`kubedag instance migrate` to bring it up to date."
                )
            schema.metadata.create_all(conn)
            _version_metadata.create_all(conn)
            conn.execute(version_table.insert().values(version_num=HEAD))
            return
        check_revision(revision, database.description)

    database.with_retries(check, write=True, retry_seconds=min(database.retry_seconds, 2.0))


def check_revision(revision: str, description: str) -> None:
    if revision == HEAD:
        return
    if revision in REVISIONS:
        raise SchemaVersionError(
            f"The schema of {description} is at revision {revision}; this kubedag needs "
            f"{HEAD}. Run `kubedag instance migrate` (back up the database first in "
            "production)."
        )
    raise SchemaVersionError(
        f"The schema of {description} is at revision {revision}, which this kubedag does not "
        f"know (it knows up to {HEAD}): it was written by a newer kubedag. Upgrade kubedag to "
        "use this database."
    )


def _alembic_config(conn: Connection) -> object:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = conn
    return config


def upgrade(database: Database, revision: str = "head") -> MigrationResult:
    """Bring the schema up to `revision` with the alembic scripts; an empty database gets every
    table. A newer schema than we know is refused."""
    from alembic import command

    def migrate(conn: Connection) -> MigrationResult:
        _lock_for_schema_change(conn)
        before = current_revision(conn)
        if before is not None and before not in REVISIONS:
            check_revision(before, database.description)
        if before is None and _has_table(conn, schema.runs.name):
            # Tables without a version: created by hand or by a crashed first start; the first
            # revision describes them, so record it and migrate from there.
            _version_metadata.create_all(conn)
            conn.execute(version_table.insert().values(version_num=REVISIONS[0]))
            before = REVISIONS[0]
        command.upgrade(_alembic_config(conn), revision)  # type: ignore[arg-type]
        after = current_revision(conn)
        assert after is not None
        return MigrationResult(database.description, before, after)

    result = database.with_retries(migrate, write=True)
    database.forget_schema_check()
    return result
