"""The instance configuration document: parsed and checked before anything is built.

One document describes an instance everywhere: `$KUBEDAG_HOME/kubedag.yaml` on a laptop, the
`spec` of the `Instance` custom resource in a cluster. Each part takes a built-in short form or
the plugin form of the reference's `ConfigurableClass`:

    storage:                      # or run_storage / event_log_storage / schedule_storage
      postgres:
        postgres_db: {username: kubedag, password: {env: PG_PASSWORD}, hostname: db,
                      db_name: kubedag, port: 5432}
    compute_logs:
      s3: {bucket: logs, endpoint_url: "http://minio:9000"}
    run_coordinator:
      queued: {max_concurrent_runs: 2, tag_concurrency_limits: [{key: db, value: warehouse, limit: 1}]}
    run_launcher:
      module: my_company.launchers
      class: BatchRunLauncher
      config: {queue: nightly}
    run_monitoring: {start_timeout_seconds: 60, max_resume_run_attempts: 1}

`run_monitoring` is settings, not a part: it has no forms, only keys.

Any value may be `{env: VAR}`; it is read from the environment when the instance is built, and
the document keeps the reference, so an instance handed to another process (a run pod) carries
the variable's name, never the secret.

Parsing is pure: `parse_instance_config(document, source)` returns an `InstanceConfig` or raises
`InstanceConfigError` naming the source (the file), the key path and what is expected; a
misspelled key or form, at any depth, also gets the closest valid name ("Did you mean
'run_coordinator'?").
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubedag.config.suggestions import did_you_mean
from kubedag.errors import InstanceConfigError

STORAGE_PARTS = ("run_storage", "event_log_storage", "schedule_storage")
TOP_LEVEL_KEYS = (
    "storage",
    *STORAGE_PARTS,
    "compute_logs",
    "local_artifact_storage",
    "run_coordinator",
    "run_launcher",
    "run_monitoring",
    "python_logs",
)
SETTINGS = ("run_monitoring", "python_logs")  # keys only, no forms
PARTS = tuple(key for key in TOP_LEVEL_KEYS if key not in SETTINGS)
_PLUGIN_KEYS = ("module", "class", "config")


@dataclass(frozen=True)
class FieldSpec:
    """One key of a built-in form: the types it accepts and whether it must be there."""

    types: tuple[type, ...]
    required: bool = False


_STR = (str,)
_INT = (int,)
_NUMBER = (int, float)
_BOOL = (bool,)
_MAP = (dict,)
_LIST = (list,)

_POOL_FIELDS = {
    "pool_size": FieldSpec(_INT),  # connections kept open
    "max_overflow": FieldSpec(_INT),  # extra connections under load
    "pool_recycle": FieldSpec(_INT),  # seconds before a connection is replaced
    "pool_timeout": FieldSpec(_NUMBER),  # seconds to wait for a free connection
    "pool_pre_ping": FieldSpec(_BOOL),  # check a connection before each use
    "retry_seconds": FieldSpec(_NUMBER),  # how long to retry an unreachable database
}

# Built-in short forms: part -> form name -> fields. The forms' meaning is in `components`.
BUILT_IN_FORMS: dict[str, dict[str, dict[str, FieldSpec]]] = {
    "storage": {
        "sqlite": {"base_dir": FieldSpec(_STR), "retry_seconds": _POOL_FIELDS["retry_seconds"]},
        "postgres": {
            "postgres_url": FieldSpec(_STR),  # postgresql://user:pass@host:5432/db
            "postgres_db": FieldSpec(_MAP),
            **_POOL_FIELDS,
        },
        "in_memory": {},
    },
    "compute_logs": {
        "local": {"base_dir": FieldSpec(_STR)},
        "s3": {
            "bucket": FieldSpec(_STR, required=True),
            "prefix": FieldSpec(_STR),
            "endpoint_url": FieldSpec(_STR),
            "region": FieldSpec(_STR),
            "upload_interval": FieldSpec(_NUMBER),
            "skip_empty_files": FieldSpec(_BOOL),
            "local_dir": FieldSpec(_STR),
            "retry_seconds": FieldSpec(_NUMBER),  # how long an unreachable store is retried
            "retry_max_delay_seconds": FieldSpec(_NUMBER),  # longest wait between attempts
        },
        "noop": {},
    },
    "local_artifact_storage": {},
    "run_coordinator": {
        "default": {},
        "queued": {
            "max_concurrent_runs": FieldSpec(_INT),  # -1: no limit; 0: launch nothing
            "tag_concurrency_limits": FieldSpec(_LIST),  # [{key, value?, limit}]
            "dequeue_interval_seconds": FieldSpec(_NUMBER),
        },
    },
    "run_launcher": {
        "local_process": {"grace_period_seconds": FieldSpec(_NUMBER)},
        # the pod of each run; meaning and finer checks: kubedag.runs.launchers.kubernetes
        "kubernetes": {
            "image": FieldSpec(_STR),
            "namespace": FieldSpec(_STR),
            "image_pull_policy": FieldSpec(_STR),
            "service_account_name": FieldSpec(_STR),
            "env": FieldSpec(_LIST),  # Kubernetes EnvVar entries (secrets: valueFrom)
            "env_from": FieldSpec(_LIST),
            "resources": FieldSpec(_MAP),
            "node_selector": FieldSpec(_MAP),
            "tolerations": FieldSpec(_LIST),
            "labels": FieldSpec(_MAP),
            "annotations": FieldSpec(_MAP),
            "home": FieldSpec(_STR),
            "working_dir": FieldSpec(_STR),
            "run_as_user": FieldSpec(_INT),
            "read_only_root_filesystem": FieldSpec(_BOOL),
            "grace_period_seconds": FieldSpec(_INT),
            "pending_timeout_seconds": FieldSpec(_NUMBER),
            "kubeconfig_file": FieldSpec(_STR),
            "context": FieldSpec(_STR),
            "in_cluster": FieldSpec(_BOOL),
        },
    },
}

RUN_MONITORING_FIELDS = {
    "enabled": FieldSpec(_BOOL),
    "start_timeout_seconds": FieldSpec(_NUMBER),
    "cancel_timeout_seconds": FieldSpec(_NUMBER),
    "max_resume_run_attempts": FieldSpec(_INT),
    "poll_interval_seconds": FieldSpec(_NUMBER),
    "heartbeat_interval_seconds": FieldSpec(_NUMBER),
    "heartbeat_timeout_seconds": FieldSpec(_NUMBER),
}
_TAG_LIMIT_FIELDS = {
    "key": FieldSpec(_STR, required=True),
    "value": FieldSpec((str, dict)),
    "limit": FieldSpec(_INT, required=True),
}
for _part in STORAGE_PARTS:
    BUILT_IN_FORMS[_part] = BUILT_IN_FORMS["storage"]

_POSTGRES_DB_FIELDS = {
    "username": FieldSpec(_STR, required=True),
    "password": FieldSpec(_STR),
    "hostname": FieldSpec(_STR, required=True),
    "db_name": FieldSpec(_STR, required=True),
    "port": FieldSpec(_INT),
    "params": FieldSpec(_MAP),
}


@dataclass(frozen=True)
class PartConfig:
    """One configured part: a built-in form (`form`) or a plugin (`module` + `class_name`).
    `config` still holds `{env: VAR}` references; `resolved()` reads them."""

    part: str
    config: dict[str, Any]
    form: str | None = None
    module: str | None = None
    class_name: str | None = None

    @property
    def is_plugin(self) -> bool:
        return self.module is not None

    def key_path(self) -> str:
        return f"{self.part}.{self.form}" if self.form else f"{self.part}.config"


@dataclass(frozen=True)
class InstanceConfig:
    """A checked instance document. `source` names where it came from, for messages."""

    source: str
    document: dict[str, Any]
    parts: dict[str, PartConfig] = field(default_factory=dict)
    run_monitoring: dict[str, Any] = field(default_factory=dict)
    python_logs: dict[str, Any] = field(default_factory=dict)

    def part(self, name: str) -> PartConfig | None:
        return self.parts.get(name)


def _error(source: str, path: str, message: str) -> InstanceConfigError:
    return InstanceConfigError(f"{source}: {path}: {message}")


def _type_names(types: tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}
    names[dict] = "a mapping"
    names[list] = "a list"
    return " or ".join(dict.fromkeys(names.get(t, t.__name__) for t in types))


def _is_env_ref(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"env"} and isinstance(value["env"], str)


def _check_fields(
    source: str, path: str, value: Any, fields: Mapping[str, FieldSpec]
) -> dict[str, Any]:
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise _error(source, path, f"expected a mapping of {sorted(fields)}; got {value!r}.")
    for key, item in value.items():
        spec = fields.get(key)
        if spec is None:
            known = ", ".join(sorted(fields)) or "no keys"
            raise _error(
                source,
                f"{path}.{key}",
                f"unknown key; expected one of: {known}.{did_you_mean(key, fields)}",
            )
        if _is_env_ref(item):
            continue
        accepted = spec.types
        is_plain_bool = isinstance(item, bool) and bool not in accepted  # True is an int too
        if not is_plain_bool and (
            isinstance(item, accepted) or (accepted == _INT and _is_int_text(item))
        ):
            continue
        raise _error(
            source, f"{path}.{key}", f"expected {_type_names(accepted)}; got {_shown(key, item)}."
        )
    for key, spec in fields.items():
        if spec.required and key not in value:
            raise _error(source, f"{path}.{key}", "is required.")
    return dict(value)


_SECRET_WORDS = ("password", "secret", "token", "credential")


def _shown(key: Any, value: Any) -> str:
    """How a wrong value appears in a message: as written, unless its key may hold a secret
    (YAML reads `password: 123456` as an integer, and the message must not print it)."""
    if any(word in str(key).lower() for word in _SECRET_WORDS):
        return f"{_type_names((type(value),))} (value not shown; quote it to make it a string)"
    return repr(value)


def _is_int_text(value: Any) -> bool:
    return isinstance(value, str) and value.isdigit()


def _parse_part(source: str, part: str, value: Any) -> PartConfig:
    forms = BUILT_IN_FORMS[part]
    if not isinstance(value, dict) or not value:
        raise _error(source, part, _expected_forms(part, value))
    if "module" in value or "class" in value:
        unknown = sorted(set(value) - set(_PLUGIN_KEYS), key=str)
        if unknown:
            raise _error(
                source,
                f"{part}.{unknown[0]}",
                "unknown key in the plugin form; expected module, class and config."
                + did_you_mean(unknown[0], _PLUGIN_KEYS),
            )
        for key in ("module", "class"):
            if not isinstance(value.get(key), str) or not value[key]:
                raise _error(
                    source,
                    f"{part}.{key}",
                    "is required in the plugin form (the Python module and class to load).",
                )
        config = value.get("config") or {}
        if not isinstance(config, dict):
            raise _error(source, f"{part}.config", f"expected a mapping; got {config!r}.")
        return PartConfig(part, dict(config), module=value["module"], class_name=value["class"])
    if part == "local_artifact_storage":
        config = _check_fields(source, part, value, {"base_dir": FieldSpec(_STR, required=True)})
        return PartConfig(part, config, form="local")
    if len(value) != 1 or next(iter(value)) not in forms:
        hints = (did_you_mean(key, [*forms, *_PLUGIN_KEYS]) for key in value)
        hint = next((text for text in hints if text), "")
        raise _error(source, part, _expected_forms(part, value) + hint)
    form, body = next(iter(value.items()))
    config = _check_fields(source, f"{part}.{form}", body, forms[form])
    if form == "postgres":
        _check_postgres(source, f"{part}.postgres", config)
    if part == "run_coordinator" and form == "queued":
        _check_queue(source, f"{part}.queued", config)
    if part == "run_launcher" and form in ("local_process", "kubernetes"):
        _check_not_negative(source, f"{part}.{form}", config, ("grace_period_seconds",))
    return PartConfig(part, config, form=form)


def _check_not_negative(
    source: str, path: str, config: Mapping[str, Any], keys: tuple[str, ...]
) -> None:
    for key in keys:
        value = config.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
            raise _error(source, f"{path}.{key}", f"must be 0 or more; got {value!r}.")


def _check_queue(source: str, path: str, config: dict[str, Any]) -> None:
    """The queued run coordinator's limits, down to each tag limit."""
    maximum = config.get("max_concurrent_runs")
    if isinstance(maximum, str) and _is_int_text(maximum):
        maximum = config["max_concurrent_runs"] = int(maximum)
    if isinstance(maximum, int) and maximum < -1:
        raise _error(
            source,
            f"{path}.max_concurrent_runs",
            f"{maximum} is not allowed; use -1 for no limit, 0 to launch nothing, or a "
            "positive number.",
        )
    _check_not_negative(source, path, config, ("dequeue_interval_seconds",))
    for index, entry in enumerate(config.get("tag_concurrency_limits") or []):
        where = f"{path}.tag_concurrency_limits[{index}]"
        if not isinstance(entry, dict):
            raise _error(source, where, f"expected a mapping {{key, value, limit}}; got {entry!r}.")
        checked = _check_fields(source, where, entry, _TAG_LIMIT_FIELDS)
        limit = checked["limit"]
        if not _is_env_ref(limit) and int(limit) < 0:
            raise _error(source, f"{where}.limit", f"must be 0 or more; got {limit!r}.")
        value = checked.get("value")
        per_value_form = (
            isinstance(value, dict)
            and set(value) == {"applyLimitPerUniqueValue"}
            and isinstance(value["applyLimitPerUniqueValue"], bool)
        )
        if isinstance(value, dict) and not _is_env_ref(value) and not per_value_form:
            raise _error(
                source,
                f"{where}.value",
                "expected a string (the tag value the limit applies to) or "
                f"{{applyLimitPerUniqueValue: true}}; got {value!r}.",
            )


def _parse_run_monitoring(source: str, value: Any) -> dict[str, Any]:
    config = _check_fields(source, "run_monitoring", value, RUN_MONITORING_FIELDS)
    _check_not_negative(source, "run_monitoring", config, tuple(RUN_MONITORING_FIELDS))
    interval = config.get("poll_interval_seconds")
    if isinstance(interval, int | float) and not isinstance(interval, bool) and interval <= 0:
        raise _error(
            source, "run_monitoring.poll_interval_seconds", f"must be above 0; got {interval!r}."
        )
    return config


PYTHON_LOGS_FIELDS = {
    "managed_python_loggers": FieldSpec(_LIST),  # logger names whose records runs capture
    "python_log_level": FieldSpec(_STR),  # the level set on them (and the default console's)
}
_LEVEL_NAMES = ("DEBUG", "INFO", "WARNING", "WARN", "ERROR", "CRITICAL", "FATAL")


def _parse_python_logs(source: str, value: Any) -> dict[str, Any]:
    """`python_logs: {managed_python_loggers: [my_lib], python_log_level: INFO}`."""
    config = _check_fields(source, "python_logs", value, PYTHON_LOGS_FIELDS)
    for index, name in enumerate(config.get("managed_python_loggers", [])):
        if not isinstance(name, str) or not name:
            raise _error(
                source,
                f"python_logs.managed_python_loggers[{index}]",
                f"expected a logger name; got {name!r}.",
            )
    level = config.get("python_log_level")
    if isinstance(level, str) and level.upper() not in _LEVEL_NAMES:
        raise _error(
            source,
            "python_logs.python_log_level",
            f"'{level}' is not a level; use one of DEBUG, INFO, WARNING, ERROR, CRITICAL.",
        )
    return config


def _check_postgres(source: str, path: str, config: dict[str, Any]) -> None:
    has_url, has_db = "postgres_url" in config, "postgres_db" in config
    if has_url == has_db:
        raise _error(
            source,
            path,
            "set exactly one of postgres_url (postgresql://user:password@host:5432/db) or "
            "postgres_db ({username, password, hostname, db_name, port, params}).",
        )
    if has_db and not _is_env_ref(config["postgres_db"]):
        _check_fields(source, f"{path}.postgres_db", config["postgres_db"], _POSTGRES_DB_FIELDS)


def _expected_forms(part: str, value: Any) -> str:
    forms = list(BUILT_IN_FORMS[part])
    shown = " or ".join(f"{{{name}: {{...}}}}" for name in forms)
    prefix = f"expected {shown}, or" if forms else "expected"
    return (
        f"{prefix} the plugin form {{module: ..., class: ..., config: {{...}}}}; "
        f"got {_outline(value)}."
    )


def _outline(value: Any) -> str:
    """A part's value in a message: a mapping by its keys only, since the values under a
    misspelled form (`postgress: {postgres_url: ...}`) may hold passwords."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: ..." for key in value) + "}" if value else "{}"
    if isinstance(value, str) and "://" in value:
        return "a URL string"
    return repr(value)


def parse_instance_config(document: Any, source: str = "instance config") -> InstanceConfig:
    """Check an instance document; every mistake names `source`, the key and the fix."""
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise InstanceConfigError(
            f"{source}: expected a mapping of instance parts ({', '.join(TOP_LEVEL_KEYS)}); "
            f"got {type(document).__name__}."
        )
    for key in document:
        if key not in TOP_LEVEL_KEYS:
            raise _error(
                source,
                str(key),
                f"unknown key; expected one of: {', '.join(TOP_LEVEL_KEYS)}."
                + did_you_mean(key, TOP_LEVEL_KEYS),
            )
    given_parts = [p for p in STORAGE_PARTS if p in document]
    if "storage" in document and given_parts:
        raise _error(
            source,
            given_parts[0],
            "set either storage (all three storages at once) or run_storage, event_log_storage "
            "and schedule_storage, not both.",
        )
    parts = {
        key: _parse_part(source, key, value)
        for key, value in document.items()
        if value is not None and key in PARTS
    }
    monitoring = _parse_run_monitoring(source, document.get("run_monitoring"))
    python_logs = _parse_python_logs(source, document.get("python_logs"))
    return InstanceConfig(source, dict(document), parts, monitoring, python_logs)


def resolve_env_values(value: Any, path: str, source: str) -> Any:
    """Replace every `{env: VAR}` with the variable's value; an unset variable is an error
    naming the key, never a silent empty string."""
    if _is_env_ref(value):
        name = value["env"]
        found = os.environ.get(name)
        if found is None:
            raise _error(
                source,
                path,
                f"the environment variable {name} is not set. Set it in the environment of "
                "this process (in a cluster: from a Secret in the pod template).",
            )
        return found
    if isinstance(value, dict):
        return {k: resolve_env_values(v, f"{path}.{k}", source) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_env_values(v, f"{path}[{i}]", source) for i, v in enumerate(value)]
    return value
