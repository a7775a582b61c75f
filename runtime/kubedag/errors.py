"""One exception hierarchy for everything kubedag raises on purpose.

Errors are part of the API: each message names the field or definition at fault, the value that
was given and what would fix it. User code failures are never swallowed or re-worded: they are
wrapped in `StepExecutionError` with the original exception kept as `__cause__` and as
`user_exception`, so the traceback a user sees is their own.
"""

from __future__ import annotations

from typing import Any


class KubedagError(Exception):
    """Base class of every error kubedag raises deliberately."""


class InvalidDefinitionError(KubedagError):
    """A definition (asset, op, job, check, Definitions) cannot be used as written."""


class DuplicateAssetKeyError(InvalidDefinitionError):
    """Two definitions claim to produce the same asset key."""


class UnknownDependencyError(InvalidDefinitionError):
    """An asset or check depends on an asset key that nothing defines."""


class DependencyCycleError(InvalidDefinitionError):
    """The dependencies between assets (or ops) form a cycle."""


class MissingResourceError(InvalidDefinitionError):
    """An asset, op or check needs a resource key that no resource is bound to."""


class InvalidConfigError(KubedagError):
    """Run config, resource config or op config does not match its schema.

    `errors` holds every problem found (each with its dotted `path` and `message`), not only
    the first; `config_value` is the config that was checked, when there is one."""

    def __init__(
        self, message: str, errors: list[Any] | None = None, config_value: Any = None
    ) -> None:
        super().__init__(message)
        self.errors = list(errors or [])
        self.config_value = config_value


class InvalidInvocationError(KubedagError):
    """A definition was called directly with arguments that do not fit its signature."""


class InvalidSelectionError(KubedagError):
    """An asset selection or op selection names something that does not exist."""


class EnvVarNotSetError(InvalidConfigError):
    """A config value refers to an environment variable that is not set when the run starts."""


class StepExecutionError(KubedagError):
    """User code raised while a step executed. The user's exception is `__cause__`."""

    def __init__(self, message: str, *, step_key: str, user_exception: BaseException) -> None:
        super().__init__(message)
        self.step_key = step_key
        self.user_exception = user_exception


class ResourceInitError(KubedagError):
    """A resource raised while it was being set up or torn down."""

    def __init__(self, message: str, *, resource_key: str, user_exception: BaseException) -> None:
        super().__init__(message)
        self.resource_key = resource_key
        self.user_exception = user_exception


class AssetCheckFailedError(KubedagError):
    """A blocking asset check did not pass, so downstream assets were not materialized."""


class RunFailedError(KubedagError):
    """A run ended in failure for a reason that is not a single user-code exception."""


class CodeLocationLoadError(KubedagError):
    """A code location (a Python file or module) could not be loaded into a `Definitions`.

    When importing the user's code raised, that exception is `__cause__`.
    """


class InstanceConfigError(KubedagError):
    """The instance configuration (`kubedag.yaml` or an `Instance` spec) is wrong: the message
    names the file, the key and what is expected there."""


class StorageUnavailableError(KubedagError):
    """The instance's database could not be reached (after retrying): the message says which
    database, where, and what to check, never the password."""


class SchemaVersionError(KubedagError):
    """The database schema is older than this kubedag (run `kubedag instance migrate`) or newer
    (upgrade kubedag)."""


class RunStatusTransitionError(KubedagError):
    """A run's status change is not in the transitions table (`kubedag.records.transitions`): the
    message names both statuses and what the run may move to instead."""

    def __init__(self, message: str, *, current: object = None, requested: object = None) -> None:
        super().__init__(message)
        self.current = current
        self.requested = requested


class RunNotFoundError(KubedagError):
    """No run with the given id exists in the instance's run storage."""


class RunLaunchError(KubedagError):
    """A run could not be handed to a run worker: the launcher failed to start it, or the
    instance cannot be handed to another process (an ephemeral instance)."""


class Failure(Exception):
    """Raise from user code to fail a step with a description and metadata, on purpose.

    With `allow_retries=False` the step's retry policy is not applied.
    """

    def __init__(
        self,
        description: str | None = None,
        metadata: dict[str, object] | None = None,
        allow_retries: bool = True,
    ) -> None:
        super().__init__(description)
        self.description = description
        self.metadata = dict(metadata or {})
        self.allow_retries = allow_retries


class RetryRequested(Exception):
    """Raise from user code to ask for the step to be retried, whatever its retry policy."""

    def __init__(self, max_retries: int = 1, seconds_to_wait: float = 0.0) -> None:
        super().__init__(f"Step requested a retry (max_retries={max_retries}).")
        self.max_retries = max_retries
        self.seconds_to_wait = seconds_to_wait


class UnknownResourceError(KubedagError, AttributeError):
    """User code asked `context.resources` for a key that its step did not declare or bind.

    An `AttributeError` too, so `hasattr(context.resources, key)` and `getattr(…, default)`
    keep working."""

    def __init__(self, resource_name: str, available: tuple[str, ...] = ()) -> None:
        known = ", ".join(available) or "none"
        super().__init__(
            f"Unknown resource `{resource_name}` (available here: {known}). Specify "
            f"`{resource_name}` as a required resource of the asset or op that accessed it "
            f"(required_resource_keys={{'{resource_name}'}} or a resource parameter), and bind "
            f"it in Definitions(resources={{'{resource_name}': …}})."
        )
        self.resource_name = resource_name


# The reference's spellings of the resource errors (the same classes).
DagsterUnknownResourceError = UnknownResourceError
DagsterResourceFunctionError = ResourceInitError


class InvalidPropertyError(KubedagError):
    """A context property that is not available where it was read (a hook context built for a
    test has no step key, for example)."""


class DagsterTypeCheckDidNotPass(KubedagError):
    """A value an op received or produced failed its Dagster type's check: `description` says
    why, `metadata` is what the check recorded, `dagster_type` the type it failed."""

    def __init__(
        self, description: str | None = None, metadata: object = None, dagster_type: object = None
    ) -> None:
        super().__init__(description)
        self.description = description
        self.metadata = dict(metadata or {})  # type: ignore[call-overload]
        self.dagster_type = dagster_type


class DagsterTypeCheckError(StepExecutionError):
    """A type check function raised instead of returning; the exception is `__cause__`."""


class InvalidConfigDefinitionError(InvalidDefinitionError):
    """A config schema cannot be used as written (`Field(object)`, `{"n": 3}`): the message names
    the path inside the schema and what may go there."""


class ConfigMappingFunctionError(KubedagError):
    """A config mapping function (`ConfigMapping`, `@config_mapping`, `configured`) raised. The
    user's exception is `__cause__` and `user_exception`."""

    def __init__(self, message: str, *, user_exception: BaseException) -> None:
        super().__init__(message)
        self.user_exception = user_exception


# The reference's spellings of the config errors (`except dg.DagsterInvalidConfigError` catches
# every InvalidConfigError kubedag raises).
DagsterInvalidConfigError = InvalidConfigError
DagsterInvalidConfigDefinitionError = InvalidConfigDefinitionError
DagsterConfigMappingFunctionError = ConfigMappingFunctionError
