"""Build an instance's parts from its checked configuration.

This is the only place that turns short forms into objects, so what `sqlite`, `postgres`,
`local`, `s3`, `queued` and `local_process` mean is written once. SQLAlchemy, psycopg and boto3 are imported here lazily:
an ephemeral instance (`materialize()` in a test) never pays for them.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kubedag.errors import InstanceConfigError
from kubedag.instance.config import STORAGE_PARTS, InstanceConfig, PartConfig, resolve_env_values
from kubedag.storage.base import EventLogStorage, RunStorage, ScheduleStorage

if TYPE_CHECKING:
    from kubedag.compute_logs.manager import ComputeLogManager
    from kubedag.runs.coordinators import RunCoordinator
    from kubedag.runs.launchers.base import RunLauncher
    from kubedag.runs.monitoring_settings import RunMonitoringSettings
    from kubedag.storage.sql.database import Database

DATABASE_FILENAME = "kubedag.db"


@dataclass
class Storages:
    run_storage: RunStorage
    event_log_storage: EventLogStorage
    schedule_storage: ScheduleStorage
    databases: list[Database]

    def describe(self) -> str:
        if self.databases:
            return ", ".join(dict.fromkeys(db.description for db in self.databases))
        return type(self.run_storage).__name__


def load_plugin(part: PartConfig, source: str, expected: type | None = None) -> Any:
    """Import `module`, take `class` and build it from `config` (the reference's
    ConfigurableClass): `cls.from_config_value(config)` when it has one, else `cls(**config)`."""
    assert part.module is not None and part.class_name is not None
    config = resolve_env_values(part.config, f"{part.part}.config", source)
    try:
        module = importlib.import_module(part.module)
    except ImportError as exc:
        raise InstanceConfigError(
            f"{source}: {part.part}.module: cannot import {part.module!r} ({exc}). Install the "
            "package that provides it in this environment, or fix the module name."
        ) from None
    cls = getattr(module, part.class_name, None)
    if not isinstance(cls, type):
        raise InstanceConfigError(
            f"{source}: {part.part}.class: {part.module} has no class {part.class_name!r}."
        )
    if expected is not None and not issubclass(cls, expected):
        raise InstanceConfigError(
            f"{source}: {part.part}.class: {part.module}.{part.class_name} is not a "
            f"{expected.__name__}; subclass kubedag's {expected.__name__}."
        )
    factory = getattr(cls, "from_config_value", None)
    try:
        return factory(config) if callable(factory) else cls(**config)
    except TypeError as exc:
        raise InstanceConfigError(
            f"{source}: {part.part}.config: {part.class_name} rejected its config: {exc}."
        ) from None


def _database(part: PartConfig, home: str, source: str) -> Database:
    from kubedag.storage.sql.database import (
        Database,
        PoolSettings,
        postgres_url_from_parts,
        sqlite_url,
    )

    config = resolve_env_values(part.config, part.key_path(), source)
    retry = float(config.get("retry_seconds", 30.0))
    if part.form == "sqlite":
        base_dir = config.get("base_dir") or home
        return Database(sqlite_url(base_dir, DATABASE_FILENAME), retry_seconds=retry)
    if "postgres_url" in config:
        url = config["postgres_url"]
    else:
        db = config["postgres_db"]
        url = postgres_url_from_parts(
            username=db["username"],
            password=db.get("password"),
            hostname=db["hostname"],
            db_name=db["db_name"],
            port=int(db.get("port", 5432)),
            params=db.get("params"),
        )
    defaults = PoolSettings()
    pool = PoolSettings(
        size=int(config.get("pool_size", defaults.size)),
        max_overflow=int(config.get("max_overflow", defaults.max_overflow)),
        recycle_seconds=int(config.get("pool_recycle", defaults.recycle_seconds)),
        timeout_seconds=float(config.get("pool_timeout", defaults.timeout_seconds)),
        pre_ping=bool(config.get("pool_pre_ping", defaults.pre_ping)),
    )
    return Database(url, pool=pool, retry_seconds=retry)


def _memory_storages() -> tuple[RunStorage, EventLogStorage, ScheduleStorage]:
    from kubedag.storage.memory import (
        InMemoryEventLogStorage,
        InMemoryRunStorage,
        InMemoryScheduleStorage,
    )

    return InMemoryRunStorage(), InMemoryEventLogStorage(), InMemoryScheduleStorage()


def _from_form(
    part: PartConfig, home: str, source: str, cache: dict[str, Database]
) -> tuple[RunStorage, EventLogStorage, ScheduleStorage, Database | None]:
    if part.form == "in_memory":
        return (*_memory_storages(), None)
    from kubedag.storage.sql import SqlEventLogStorage, SqlRunStorage, SqlScheduleStorage

    database = _database(part, home, source)
    # Parts that name the same database share one engine (one connection pool).
    database = cache.setdefault(str(database.url), database)
    return (
        SqlRunStorage(database),
        SqlEventLogStorage(database),
        SqlScheduleStorage(database),
        database,
    )


def build_storages(config: InstanceConfig, home: str) -> Storages:
    """The three storages; with nothing configured, SQLite in `home`."""
    source = config.source
    cache: dict[str, Database] = {}
    shared = config.part("storage") or PartConfig("storage", {}, form="sqlite")
    if shared.is_plugin:
        raise InstanceConfigError(
            f"{source}: storage: the plugin form is for one storage at a time; use run_storage, "
            "event_log_storage and schedule_storage with module/class each."
        )
    chosen: list[Any] = []
    databases: list[Database] = []
    for index, name in enumerate(STORAGE_PARTS):
        part = config.part(name)
        expected = (RunStorage, EventLogStorage, ScheduleStorage)[index]
        if part is None:
            built = _from_form(shared, home, source, cache)
            chosen.append(built[index])
            if built[3] is not None:
                databases.append(built[3])
        elif part.is_plugin:
            chosen.append(load_plugin(part, source, expected))
        else:
            built = _from_form(PartConfig(name, part.config, form=part.form), home, source, cache)
            chosen.append(built[index])
            if built[3] is not None:
                databases.append(built[3])
    return Storages(chosen[0], chosen[1], chosen[2], list(dict.fromkeys(databases)))


def build_compute_log_manager(config: InstanceConfig, home: str) -> ComputeLogManager:
    from kubedag.compute_logs.manager import ComputeLogManager

    part = config.part("compute_logs") or PartConfig("compute_logs", {}, form="local")
    if part.is_plugin:
        manager: ComputeLogManager = load_plugin(part, config.source, ComputeLogManager)
        return manager
    settings = resolve_env_values(part.config, part.key_path(), config.source)
    if part.form == "noop":
        from kubedag.compute_logs.noop import NoOpComputeLogManager

        return NoOpComputeLogManager()
    if part.form == "s3":
        from kubedag.compute_logs.s3 import S3ComputeLogManager

        for seconds in ("upload_interval", "retry_seconds", "retry_max_delay_seconds"):
            if settings.get(seconds) is not None:
                settings[seconds] = float(settings[seconds])
        return S3ComputeLogManager(**settings)
    from kubedag.compute_logs.local import LocalComputeLogManager

    return LocalComputeLogManager(
        base_dir=settings.get("base_dir") or os.path.join(home, "compute_logs")
    )


def local_artifact_directory(config: InstanceConfig, home: str) -> str:
    part = config.part("local_artifact_storage")
    if part is None:
        return home
    settings = resolve_env_values(part.config, part.key_path(), config.source)
    return os.path.abspath(os.path.expanduser(str(settings.get("base_dir") or home)))


# -- run coordinator, run launcher, run monitoring ------------------------------------------------
def _number(source: str, path: str, value: Any, kind: type[int] | type[float]) -> Any:
    """A resolved value as a number; `{env: VAR}` values arrive as text."""
    try:
        return kind(value)
    except (TypeError, ValueError):
        expected = "an integer" if kind is int else "a number"
        raise InstanceConfigError(
            f"{source}: {path}: expected {expected}; got {value!r}."
        ) from None


def build_run_coordinator(config: InstanceConfig) -> RunCoordinator:
    """`run_coordinator`: `default` (launch at once, also with nothing configured), `queued`,
    or a plugin subclassing `kubedag.runs.coordinators.RunCoordinator`."""
    from kubedag.runs.coordinators import (
        DefaultRunCoordinator,
        QueuedRunCoordinator,
        RunCoordinator,
    )

    part = config.part("run_coordinator")
    if part is None or part.form == "default":
        return DefaultRunCoordinator()
    if part.is_plugin:
        coordinator: RunCoordinator = load_plugin(part, config.source, RunCoordinator)
        return coordinator
    settings = resolve_env_values(part.config, part.key_path(), config.source)
    path = part.key_path()
    limits = [
        {
            **entry,
            "limit": _number(
                config.source, f"{path}.tag_concurrency_limits[{i}].limit", entry["limit"], int
            ),
        }
        for i, entry in enumerate(settings.get("tag_concurrency_limits") or [])
    ]
    maximum = _number(
        config.source, f"{path}.max_concurrent_runs", settings.get("max_concurrent_runs", 10), int
    )
    interval = _number(
        config.source,
        f"{path}.dequeue_interval_seconds",
        settings.get("dequeue_interval_seconds", 5),
        float,
    )
    try:
        return QueuedRunCoordinator(maximum, limits, interval)
    except ValueError as exc:
        raise InstanceConfigError(f"{config.source}: {path}.{exc}") from None


def build_run_launcher(config: InstanceConfig) -> RunLauncher:
    """`run_launcher`: `local_process` (also with nothing configured), `kubernetes`, or a plugin
    subclassing `kubedag.runs.launchers.RunLauncher`."""
    from kubedag.runs.launchers.base import RunLauncher
    from kubedag.runs.launchers.local_process import LocalProcessRunLauncher

    part = config.part("run_launcher")
    if part is not None and part.is_plugin:
        launcher: RunLauncher = load_plugin(part, config.source, RunLauncher)
        return launcher
    settings = (
        resolve_env_values(part.config, part.key_path(), config.source) if part is not None else {}
    )
    path = part.key_path() if part is not None else "run_launcher"
    if part is not None and part.form == "kubernetes":
        from kubedag.runs.launchers.kubernetes import K8sRunLauncher

        try:
            return K8sRunLauncher(**settings)
        except ValueError as exc:
            raise InstanceConfigError(f"{config.source}: {path}.{exc}") from None
    grace = settings.get("grace_period_seconds", 10.0)
    return LocalProcessRunLauncher(
        grace_period_seconds=_number(config.source, f"{path}.grace_period_seconds", grace, float)
    )


def build_run_monitoring(config: InstanceConfig) -> RunMonitoringSettings:
    from kubedag.runs.monitoring_settings import RunMonitoringSettings

    values = resolve_env_values(config.run_monitoring, "run_monitoring", config.source)
    for key, value in values.items():
        if key == "enabled":
            if isinstance(value, str):  # from the environment
                if value.lower() not in ("true", "false"):
                    raise InstanceConfigError(
                        f"{config.source}: run_monitoring.enabled: expected true or false; "
                        f"got {value!r}."
                    )
                values[key] = value.lower() == "true"
            continue
        kind = int if key == "max_resume_run_attempts" else float
        values[key] = _number(config.source, f"run_monitoring.{key}", value, kind)
    return RunMonitoringSettings.from_config(values)
