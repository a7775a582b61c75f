"""One exception hierarchy for everything kubedag raises on purpose.

Errors are part of the API: each message names the field or definition at fault, the value that
was given and what would fix it. User code failures are never swallowed or re-worded: inside a
run they are recorded as `StepExecutionError` with the original exception kept as `__cause__`
and as `user_exception`, and `execute_in_process`/`materialize` re-raise the user's own
exception, so the traceback a user sees is their own.

The reference's names are the same classes or bases of these (`kubedag.names.errors`):
`DagsterError` is `KubedagError`, `DagsterInvalidDefinitionError` is `InvalidDefinitionError`,
and so on, so `except dg.DagsterInvalidDefinitionError:` catches what kubedag raises.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Any


class KubedagError(Exception):
    """Base class of every error kubedag raises deliberately (the reference's `DagsterError`)."""

    @property
    def is_user_code_error(self) -> bool:
        """True when the error wraps an exception raised by user code."""
        return False


class InvalidDefinitionError(KubedagError):
    """A definition (asset, op, job, check, Definitions) cannot be used as written."""


class DuplicateAssetKeyError(InvalidDefinitionError):
    """Two definitions claim to produce the same asset key."""


class UnknownDependencyError(InvalidDefinitionError):
    """An asset or check depends on an asset key that nothing defines."""


class DependencyCycleError(InvalidDefinitionError, ValueError):
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


class InvocationKeyError(InvalidInvocationError, KeyError):
    """An op or asset called directly names an input it does not have, or needs a resource that
    neither the call nor its context gives (the reference raises a `KeyError` in both cases)."""

    def __str__(self) -> str:  # a KeyError would show its message quoted
        return str(self.args[0]) if self.args else ""


class InvalidSelectionError(KubedagError):
    """An asset selection or op selection names something that does not exist (the reference's
    `DagsterInvalidSubsetError`)."""


class UnknownAssetSelectionError(InvalidSelectionError, InvalidDefinitionError):
    """A selection names an asset that is not defined: the reference resolves an asset job's
    selection as part of its definition, so this is an invalid definition as well."""


class StepNotFoundError(InvalidSelectionError):
    """Step keys asked for (a re-execution's step selection, a plan's subset) are not steps of
    the job (the reference's `DagsterExecutionStepNotFoundError`)."""

    def __init__(self, message: str, *, step_keys: Sequence[str]) -> None:
        super().__init__(message)
        self.step_keys = list(step_keys)


class InvariantViolationError(KubedagError):
    """Something was asked of kubedag that can only be refused at run time: a node or output a
    result does not have, the partition key of a run that is not partitioned, an op that returns
    a value its outputs cannot take (the reference's `DagsterInvariantViolationError`)."""


class ConfigFileError(InvalidConfigError, InvariantViolationError):
    """Run config that cannot be read: a file or pattern that matches nothing, YAML that does
    not parse or is not a mapping. The reference raises `DagsterInvariantViolationError` there;
    kubedag's callers catch `InvalidConfigError`; this is both."""


class DefinitionNotFoundError(InvalidDefinitionError, InvariantViolationError):
    """A `Definitions` has no job, schedule, sensor or asset by the name asked for."""


class CalledOutsideCompositionError(InvalidDefinitionError, InvariantViolationError):
    """A graph was called outside a `@graph` or `@job` body, where calling it means nothing."""


class NotFoundInResultError(InvariantViolationError, KeyError):
    """A run's result has no such node, output or asset."""

    def __str__(self) -> str:  # a KeyError would show its message quoted
        return str(self.args[0]) if self.args else ""


class OutputNotProducedError(InvariantViolationError, ValueError):
    """A run's result was asked for an output its step did not produce (it failed, was skipped,
    or returned nothing)."""


class NotPartitionedError(InvariantViolationError, AttributeError):
    """A partition key, range or time window was asked of a run that is not partitioned."""


class StepOutputNotFoundError(KubedagError):
    """A step ended without an output it must produce, so the steps that read it cannot run (the
    reference's `DagsterStepOutputNotFoundError`)."""

    def __init__(self, message: str, *, step_key: str, output_name: str) -> None:
        super().__init__(message)
        self.step_key = step_key
        self.output_name = output_name


class UserCodeExecutionError(KubedagError):
    """Wraps an exception raised by user code (the reference's `DagsterUserCodeExecutionError`):
    `user_exception` is the user's exception (also `__cause__`), `original_exc_info` the
    `sys.exc_info()` of where it was caught, when that was kept."""

    def __init__(
        self,
        message: str,
        *args: Any,
        user_exception: BaseException,
        original_exc_info: tuple[type[BaseException], BaseException, TracebackType | None]
        | None = None,
    ) -> None:
        super().__init__(message, *args)
        self.user_exception = user_exception
        self.original_exc_info = original_exc_info or (
            type(user_exception),
            user_exception,
            user_exception.__traceback__,
        )

    @property
    def is_user_code_error(self) -> bool:
        return True


class SubprocessError(KubedagError):
    """A process kubedag started for a step ended with an error of its own, not a step's result
    (the reference's `DagsterSubprocessError`); `subprocess_error_infos` describes each."""

    def __init__(self, message: str, *, subprocess_error_infos: Sequence[object] = ()) -> None:
        super().__init__(message)
        self.subprocess_error_infos = list(subprocess_error_infos)


class ExecutionInterruptedError(BaseException):
    """Execution was interrupted (SIGINT, or a run worker told to stop) — the reference's
    `DagsterExecutionInterruptedError`. Like `KeyboardInterrupt` it is not an `Exception`, so
    user code's `except Exception:` does not swallow it."""


class EnvVarNotSetError(InvalidConfigError):
    """A config value refers to an environment variable that is not set when the run starts."""


class StepExecutionError(UserCodeExecutionError):
    """User code raised while a step executed (the reference's
    `DagsterExecutionStepExecutionError`). The user's exception is `__cause__`."""

    def __init__(
        self,
        message: str,
        *args: Any,
        step_key: str,
        user_exception: BaseException,
        op_name: str | None = None,
        op_def_name: str | None = None,
        original_exc_info: tuple[type[BaseException], BaseException, TracebackType | None]
        | None = None,
    ) -> None:
        super().__init__(
            message, *args, user_exception=user_exception, original_exc_info=original_exc_info
        )
        self.step_key = step_key
        self.op_name = op_name or step_key
        self.op_def_name = op_def_name or self.op_name


class ResourceInitError(UserCodeExecutionError):
    """A resource raised while it was being set up or torn down."""

    def __init__(self, message: str, *, resource_key: str, user_exception: BaseException) -> None:
        super().__init__(message, user_exception=user_exception)
        self.resource_key = resource_key


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


class ConfigMappingFunctionError(UserCodeExecutionError):
    """A config mapping function (`ConfigMapping`, `@config_mapping`, `configured`) raised. The
    user's exception is `__cause__` and `user_exception`."""

    def __init__(self, message: str, *, user_exception: BaseException) -> None:
        super().__init__(message, user_exception=user_exception)


# The reference's spellings of the config errors (`except dg.DagsterInvalidConfigError` catches
# every InvalidConfigError kubedag raises).
DagsterInvalidConfigError = InvalidConfigError
DagsterInvalidConfigDefinitionError = InvalidConfigDefinitionError
DagsterConfigMappingFunctionError = ConfigMappingFunctionError


# The reference's names for the classes above (`kubedag.names.errors` offers them as `dg.X`).
DagsterError = KubedagError
DagsterInvalidDefinitionError = InvalidDefinitionError
DagsterInvalidInvocationError = InvalidInvocationError
DagsterInvalidSubsetError = InvalidSelectionError
DagsterInvariantViolationError = InvariantViolationError
DagsterExecutionStepNotFoundError = StepNotFoundError
DagsterStepOutputNotFoundError = StepOutputNotFoundError
DagsterUserCodeExecutionError = UserCodeExecutionError
DagsterExecutionStepExecutionError = StepExecutionError
DagsterSubprocessError = SubprocessError
DagsterExecutionInterruptedError = ExecutionInterruptedError
