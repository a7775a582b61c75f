"""`Instance`: the instance configuration of a namespace, as a custom resource.

Its `spec` is the instance configuration document of `docs/instance.md` (`kubedag.yaml`), with
the same snake_case keys, built-in short forms and plugin form, so one document works on a
laptop and in a cluster. One difference: a cluster never holds a secret inline. Where the
document takes a password or a URL with a password, the spec takes a reference to a Kubernetes
Secret (`{secretKeyRef: {name, key}}`), and S3 credentials come from Secrets too.
`InstanceSpec.to_instance_document()` turns the spec into the runtime's document, each secret
replaced by an `{env: VAR}` reference, plus the environment variables (from the Secrets) that
every kubedag pod must carry.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kubedag_operator.resources.common import (
    AGE_COLUMN,
    Conditions,
    CustomResource,
    EnvFromSource,
    EnvVar,
    EnvVarSource,
    FreeForm,
    ImagePullPolicy,
    PrinterColumn,
    ResourceRequirements,
    SecretValue,
    StatusModel,
    Toleration,
    cel,
    ready_column,
    validations,
)

Seconds = Annotated[float, Field(ge=0)]


class DocumentModel(BaseModel):
    """A part of the instance document: snake_case keys, as in `kubedag.yaml`."""

    model_config = ConfigDict(
        extra="forbid",
        use_attribute_docstrings=True,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        frozen=True,
    )


def _exactly_one(*fields: str) -> str:
    return "[" + ", ".join(f"has(self.{f})" for f in fields) + "].exists_one(x, x)"


# --- storage ---------------------------------------------------------------------------------


class SqliteStorage(DocumentModel):
    """A SQLite database file (for a single pod with a persistent volume; use PostgreSQL for
    anything shared)."""

    base_dir: str | None = None
    """The folder of `kubedag.db`."""
    retry_seconds: Seconds | None = None
    """How long a busy or unreachable database is retried before failing."""


class PostgresDb(DocumentModel):
    """A PostgreSQL database, in parts."""

    username: Annotated[str, Field(min_length=1)]
    """The user kubedag connects as."""
    password: SecretValue | None = None
    """The user's password, from a Secret: `{secretKeyRef: {name, key}}`."""
    hostname: Annotated[str, Field(min_length=1)]
    """The server's host name, such as `postgres.data.svc`."""
    db_name: Annotated[str, Field(min_length=1)]
    """The database's name."""
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    """The server's port (default 5432)."""
    params: dict[str, str] | None = None
    """Connection parameters, such as `{sslmode: require}`."""


POSTGRES_URL_OR_DB = cel(
    "has(self.postgres_url) != has(self.postgres_db)",
    "set exactly one of postgres_url (a Secret holding the URL) or postgres_db (in parts)",
)


class PostgresStorage(DocumentModel):
    """A PostgreSQL database: `postgres_url` or `postgres_db`, plus pool settings."""

    model_config = ConfigDict(json_schema_extra=validations(POSTGRES_URL_OR_DB))

    postgres_url: SecretValue | None = None
    """A Secret holding a `postgresql://user:password@host:5432/db` URL."""
    postgres_db: PostgresDb | None = None
    """The database in parts, its password from a Secret."""
    pool_size: Annotated[int, Field(ge=0)] | None = None
    """Connections kept open (default 5)."""
    max_overflow: Annotated[int, Field(ge=0)] | None = None
    """Extra connections under load (default 10)."""
    pool_recycle: int | None = None
    """Seconds before a connection is replaced."""
    pool_timeout: Seconds | None = None
    """Seconds to wait for a free connection."""
    pool_pre_ping: bool | None = None
    """Check a connection before each use."""
    retry_seconds: Seconds | None = None
    """How long an unreachable database is retried before failing (default 30)."""

    @model_validator(mode="after")
    def _url_or_db(self) -> Self:
        if (self.postgres_url is None) == (self.postgres_db is None):
            raise ValueError(POSTGRES_URL_OR_DB["message"])
        return self


class EmptyForm(DocumentModel):
    """A form without settings: write `{}`."""


class PluginForm(DocumentModel):
    """The plugin form: a class kubedag imports and builds with `config`. Its secrets must come
    from environment variables (`{env: VAR}`) filled from Secrets in the pods."""

    module: Annotated[str, Field(min_length=1)] | None = None
    """The Python module of the plugin class (plugin form)."""
    class_name: Annotated[str, Field(min_length=1)] | None = Field(default=None, alias="class")
    """The plugin class's name (plugin form)."""
    config: FreeForm | None = None
    """The plugin's settings (plugin form)."""


PLUGIN_NEEDS_CLASS = cel(
    "has(self.module) == has(self.class)",
    "the plugin form needs both module and class",
)


def _one_form(part: str, forms: tuple[str, ...]) -> dict[str, str]:
    return cel(
        _exactly_one(*forms, "module"),
        f"{part}: set exactly one of {', '.join(forms)}, or the plugin form (module, class, "
        "config)",
    )


def _check_one_form(model: BaseModel, part: str, forms: tuple[str, ...]) -> None:
    given = [f for f in (*forms, "module") if getattr(model, f) is not None]
    if len(given) != 1:
        raise ValueError(_one_form(part, forms)["message"])
    has_module = getattr(model, "module", None) is not None
    has_class = getattr(model, "class_name", None) is not None
    if has_module != has_class:
        raise ValueError(PLUGIN_NEEDS_CLASS["message"])


STORAGE_FORMS = ("sqlite", "postgres", "in_memory")


class StorageConfig(PluginForm):
    """Where runs, events and schedule state are stored: one of `sqlite`, `postgres`,
    `in_memory`, or the plugin form."""

    model_config = ConfigDict(
        json_schema_extra=validations(_one_form("storage", STORAGE_FORMS), PLUGIN_NEEDS_CLASS)
    )

    sqlite: SqliteStorage | None = None
    """A SQLite file."""
    postgres: PostgresStorage | None = None
    """A PostgreSQL database (what a cluster should use)."""
    in_memory: EmptyForm | None = None
    """In memory, gone with the process (tests only)."""

    @model_validator(mode="after")
    def _one(self) -> Self:
        _check_one_form(self, "storage", STORAGE_FORMS)
        return self


# --- compute logs ----------------------------------------------------------------------------


class LocalComputeLogs(DocumentModel):
    """Files on a local or mounted file system."""

    base_dir: str | None = None
    """The folder of the logs (default `$KUBEDAG_HOME/compute_logs`)."""


class S3Credentials(DocumentModel):
    """S3 credentials from Secrets, given to kubedag's pods as `AWS_ACCESS_KEY_ID` and
    `AWS_SECRET_ACCESS_KEY`. Leave out to use the pods' own identity (IRSA, a web identity)."""

    access_key_id: SecretValue
    """The access key id, from a Secret."""
    secret_access_key: SecretValue
    """The secret access key, from a Secret."""


class S3ComputeLogs(DocumentModel):
    """An S3-API object store (AWS S3, MinIO, Ceph…)."""

    bucket: Annotated[str, Field(min_length=1)]
    """The bucket."""
    prefix: str | None = None
    """The key prefix of every object (default `kubedag/compute-logs`)."""
    endpoint_url: str | None = None
    """The store's URL, such as `http://minio.data.svc:9000`; unset for AWS S3."""
    region: str | None = None
    """The bucket's region."""
    upload_interval: Seconds | None = None
    """Seconds between partial uploads while a step runs."""
    skip_empty_files: bool | None = None
    """Upload nothing for an empty stream."""
    local_dir: str | None = None
    """Where logs are written before upload."""
    credentials: S3Credentials | None = None
    """Access keys from Secrets; unset: the standard AWS environment of the pods."""


COMPUTE_LOG_FORMS = ("local", "s3", "noop")


class ComputeLogsConfig(PluginForm):
    """Where each step's stdout and stderr go: one of `local`, `s3`, `noop`, or the plugin
    form."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            _one_form("compute_logs", COMPUTE_LOG_FORMS), PLUGIN_NEEDS_CLASS
        )
    )

    local: LocalComputeLogs | None = None
    """Local files."""
    s3: S3ComputeLogs | None = None
    """An S3-API object store (what a cluster should use)."""
    noop: EmptyForm | None = None
    """Keep nothing."""

    @model_validator(mode="after")
    def _one(self) -> Self:
        _check_one_form(self, "compute_logs", COMPUTE_LOG_FORMS)
        return self


class LocalArtifactStorage(DocumentModel):
    """Where the default I/O manager stores values."""

    base_dir: Annotated[str, Field(min_length=1)]
    """The folder of `storage/` (values of assets, one file per asset and partition)."""


# --- runs ------------------------------------------------------------------------------------


class TagConcurrencyLimit(DocumentModel):
    """A limit on runs in progress with a tag."""

    key: Annotated[str, Field(min_length=1)]
    """The tag key."""
    value: str | None = None
    """Count only runs whose tag has this value; unset: any value."""
    apply_limit_per_unique_value: bool | None = None
    """Give each distinct value of the tag its own limit (the document's
    `value: {applyLimitPerUniqueValue: true}`)."""
    limit: Annotated[int, Field(ge=0)]
    """How many such runs may be in progress at once."""


class QueuedRunCoordinator(DocumentModel):
    """Queue submitted runs; the operator launches them within the limits."""

    max_concurrent_runs: Annotated[int, Field(ge=-1)] | None = None
    """Runs in progress at once (default 10; -1: no limit; 0: launch nothing)."""
    tag_concurrency_limits: list[TagConcurrencyLimit] | None = None
    """Limits on runs with given tags."""
    dequeue_interval_seconds: Seconds | None = None
    """How often the queue is looked at (default 5)."""


RUN_COORDINATOR_FORMS = ("default", "queued")


class RunCoordinatorConfig(PluginForm):
    """When submitted runs are launched: `default` (at once), `queued`, or the plugin form."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            _one_form("run_coordinator", RUN_COORDINATOR_FORMS), PLUGIN_NEEDS_CLASS
        )
    )

    default: EmptyForm | None = None
    """Launch every submitted run at once."""
    queued: QueuedRunCoordinator | None = None
    """Queue runs and launch them within limits."""

    @model_validator(mode="after")
    def _one(self) -> Self:
        _check_one_form(self, "run_coordinator", RUN_COORDINATOR_FORMS)
        return self


class LocalProcessRunLauncher(DocumentModel):
    """Run workers as local processes (of the operator's pod: for evaluation only)."""

    grace_period_seconds: Seconds | None = None
    """Seconds between SIGTERM and SIGKILL when a run is canceled (default 10)."""


class KubernetesRunLauncher(DocumentModel):
    """A pod per run (`kubedag.runs.launchers.kubernetes`). The operator fills in what it knows
    (the code location's image, the namespace, the Instance's Secrets); set these to change the
    defaults of every run pod."""

    image: str | None = None
    """The image of run pods when a run's code location names none."""
    namespace: str | None = None
    """Where run pods are created (default: the Run's namespace)."""
    image_pull_policy: ImagePullPolicy | None = None
    """Always, IfNotPresent or Never."""
    service_account_name: str | None = None
    """The ServiceAccount of run pods."""
    env: list[EnvVar] | None = None
    """Environment variables of every run pod (secrets: `valueFrom.secretKeyRef`)."""
    env_from: list[EnvFromSource] | None = None
    """Secrets and ConfigMaps whose keys become environment variables of every run pod."""
    resources: ResourceRequirements | None = None
    """CPU and memory of every run pod's container."""
    node_selector: dict[str, str] | None = None
    """Node labels run pods must run on."""
    tolerations: list[Toleration] | None = None
    """Taints run pods tolerate."""
    labels: dict[str, str] | None = None
    """Labels added to run pods."""
    annotations: dict[str, str] | None = None
    """Annotations added to run pods."""
    home: str | None = None
    """`$KUBEDAG_HOME` in run pods (an absolute path; default `/tmp/kubedag`)."""
    working_dir: str | None = None
    """The working directory of run pods."""
    run_as_user: Annotated[int, Field(ge=0)] | None = None
    """The user id run pods run as (default 1000; never root)."""
    read_only_root_filesystem: bool | None = None
    """Run with a read-only root filesystem (default true)."""
    grace_period_seconds: Annotated[int, Field(ge=0)] | None = None
    """Seconds a canceled run's pod gets between SIGTERM and SIGKILL (default 30)."""
    pending_timeout_seconds: Seconds | None = None
    """A run pod Pending longer than this fails the run (default 300)."""
    kubeconfig_file: str | None = None
    """A kubeconfig to reach the cluster from outside it (not for the operator)."""
    context: str | None = None
    """The kubeconfig context to use."""
    in_cluster: bool | None = None
    """Use the pod's ServiceAccount to reach the API (what the operator does)."""


RUN_LAUNCHER_FORMS = ("kubernetes", "local_process")


class RunLauncherConfig(PluginForm):
    """Where run workers run: `kubernetes` (a pod per run, the default in a cluster),
    `local_process`, or the plugin form."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            _one_form("run_launcher", RUN_LAUNCHER_FORMS), PLUGIN_NEEDS_CLASS
        )
    )

    kubernetes: KubernetesRunLauncher | None = None
    """A pod per run (what a cluster should use)."""
    local_process: LocalProcessRunLauncher | None = None
    """Local processes."""

    @model_validator(mode="after")
    def _one(self) -> Self:
        _check_one_form(self, "run_launcher", RUN_LAUNCHER_FORMS)
        return self


class RunMonitoring(DocumentModel):
    """How unhealthy runs are detected (see docs/run-lifecycle.md)."""

    enabled: bool | None = None
    """Watch runs at all (default true)."""
    start_timeout_seconds: Seconds | None = None
    """A run STARTING longer than this fails (default 180; 0: never)."""
    cancel_timeout_seconds: Seconds | None = None
    """A run CANCELING longer than this is marked CANCELED (default 180; 0: never)."""
    max_resume_run_attempts: Annotated[int, Field(ge=0)] | None = None
    """New workers for a run whose worker died (default 0)."""
    poll_interval_seconds: Annotated[float, Field(gt=0)] | None = None
    """Seconds between checks (default 30)."""
    heartbeat_interval_seconds: Seconds | None = None
    """How often each run worker says it is alive (default 5)."""
    heartbeat_timeout_seconds: Seconds | None = None
    """Silence after which a worker counts as gone (default 60)."""


class PythonLogs(DocumentModel):
    """Python loggers whose records runs capture into the event log (see docs/logging.md)."""

    managed_python_loggers: list[Annotated[str, Field(min_length=1)]] | None = None
    """Logger names (`my_lib`, `urllib3`): their records, and their children's, during a step."""
    python_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] | None = None
    """The level set on those loggers."""


# --- the spec --------------------------------------------------------------------------------

STORAGE_OR_PARTS = cel(
    "!has(self.storage) || !(has(self.run_storage) || has(self.event_log_storage) || "
    "has(self.schedule_storage))",
    "set either storage (all three storages at once) or run_storage, event_log_storage and "
    "schedule_storage, not both",
)


class InstanceSpec(DocumentModel):
    """The instance configuration document (docs/instance.md), secrets as Secret references.
    Every key is optional; with none, the instance is SQLite and local files in the pods."""

    model_config = ConfigDict(json_schema_extra=validations(STORAGE_OR_PARTS))

    storage: StorageConfig | None = None
    """Run, event-log and schedule storage at once."""
    run_storage: StorageConfig | None = None
    """Run storage alone (not with `storage`)."""
    event_log_storage: StorageConfig | None = None
    """Event-log storage alone (not with `storage`)."""
    schedule_storage: StorageConfig | None = None
    """Schedule storage alone (not with `storage`)."""
    compute_logs: ComputeLogsConfig | None = None
    """Where each step's stdout and stderr go."""
    local_artifact_storage: LocalArtifactStorage | None = None
    """Where the default I/O manager stores values."""
    run_coordinator: RunCoordinatorConfig | None = None
    """When submitted runs are launched."""
    run_launcher: RunLauncherConfig | None = None
    """Where run workers run."""
    run_monitoring: RunMonitoring | None = None
    """How unhealthy runs are detected."""
    python_logs: PythonLogs | None = None
    """Python loggers whose records runs capture."""

    @model_validator(mode="after")
    def _storage_or_parts(self) -> Self:
        parts = (self.run_storage, self.event_log_storage, self.schedule_storage)
        if self.storage is not None and any(p is not None for p in parts):
            raise ValueError(STORAGE_OR_PARTS["message"])
        return self

    def to_instance_document(self) -> tuple[dict[str, Any], list[EnvVar]]:
        """The runtime's instance document (for `Instance.from_config`) and the environment
        variables that fill its `{env: VAR}` references from Secrets. Put the variables on every
        kubedag container; the document then holds no secret."""
        env: dict[str, EnvVar] = {}
        document = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        document = _replace_secrets(document, (), env)
        return document, list(env.values())


def _env_name(path: tuple[str, ...]) -> str:
    return "KUBEDAG_SECRET_" + re.sub(r"[^A-Z0-9]+", "_", "_".join(path).upper())


_S3_ENV = {"access_key_id": "AWS_ACCESS_KEY_ID", "secret_access_key": "AWS_SECRET_ACCESS_KEY"}


def _replace_secrets(value: Any, path: tuple[str, ...], env: dict[str, EnvVar]) -> Any:
    if isinstance(value, dict):
        if set(value) == {"secretKeyRef"}:
            name = _env_name(path)
            env[name] = EnvVar(name=name, value_from=EnvVarSource.model_validate(value))
            return {"env": name}
        out = {}
        for key, item in value.items():
            if key == "credentials" and path[-1:] == ("s3",):
                for cred_key, ref in item.items():  # the AWS environment, not the document
                    name = _S3_ENV[cred_key]
                    env[name] = EnvVar(name=name, value_from=EnvVarSource.model_validate(ref))
                continue
            if key == "valueFrom":  # a Kubernetes env entry, already a reference
                out[key] = item
                continue
            if key == "apply_limit_per_unique_value":
                if item:
                    out["value"] = {"applyLimitPerUniqueValue": True}
                continue
            out[key] = _replace_secrets(item, (*path, key), env)
        return out
    if isinstance(value, list):
        return [_replace_secrets(v, (*path, str(i)), env) for i, v in enumerate(value)]
    return value


# --- status and resource ---------------------------------------------------------------------


class InstanceStatus(StatusModel):
    """Whether the instance can be used."""

    schema_version: str | None = None
    """The storage schema revision found in the database (`kubedag instance info`)."""
    observed_generation: int | None = None
    """The `metadata.generation` this status describes."""
    conditions: Conditions | None = None
    """`Ready`: storage is reachable and migrated to this kubedag's schema (reasons:
    Migrated, StorageUnreachable, MigrationFailed, SecretNotFound, InvalidSpec…)."""


class InstanceResource(CustomResource):
    """kubedag's instance configuration for this namespace: storages, compute logs, run
    coordinator and launcher, run monitoring."""

    kind_name: ClassVar[str] = "Instance"
    plural: ClassVar[str] = "instances"
    short_names: ClassVar[tuple[str, ...]] = ("kdinst",)
    printer_columns: ClassVar[tuple[PrinterColumn, ...]] = (
        ready_column("Whether storage is reachable and migrated."),
        PrinterColumn(
            name="Schema",
            type="string",
            json_path=".status.schemaVersion",
            description="The storage schema revision.",
        ),
        AGE_COLUMN,
    )

    kind: Literal["Instance"] = "Instance"
    spec: InstanceSpec = Field(default_factory=InstanceSpec)
    """The instance configuration document, secrets as Secret references."""
    status: InstanceStatus = Field(default_factory=InstanceStatus)
    """Whether the instance can be used."""
