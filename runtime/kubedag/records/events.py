"""Events: the structured record of everything that happens in a run.

Every event has a type, the job and step it belongs to and a message; the payload depends on the
type (a materialization, a check evaluation, a failure with its error). Events are written to the
event log as they happen, wrapped in an `EventLogEntry` with the run id, time and level.

Every class here is a frozen dataclass with `slots=True`: one read of the latest materialization
of 10,000 assets builds 30,000 of these objects, and without a `__dict__` each there are half as
many objects to allocate and for the garbage collector to walk. The event log rebuilds them
without `__init__` (see `kubedag.storage.rebuild`), which needs the slots.
"""

from __future__ import annotations

import logging
import time
import traceback
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from kubedag.definitions.asset_key import AssetKey
from kubedag.definitions.results import AssetCheckEvaluation, AssetMaterialization


class EventType(Enum):
    """The kinds of events a run writes."""

    RUN_ENQUEUED = "RUN_ENQUEUED"
    RUN_DEQUEUED = "RUN_DEQUEUED"
    RUN_STARTING = "RUN_STARTING"
    RUN_START = "RUN_START"
    RUN_SUCCESS = "RUN_SUCCESS"
    RUN_FAILURE = "RUN_FAILURE"
    RUN_CANCELING = "RUN_CANCELING"
    RUN_CANCELED = "RUN_CANCELED"
    STEP_START = "STEP_START"
    STEP_SUCCESS = "STEP_SUCCESS"
    STEP_FAILURE = "STEP_FAILURE"
    STEP_SKIPPED = "STEP_SKIPPED"
    STEP_UP_FOR_RETRY = "STEP_UP_FOR_RETRY"
    STEP_RESTARTED = "STEP_RESTARTED"
    STEP_OUTPUT = "STEP_OUTPUT"
    LOADED_INPUT = "LOADED_INPUT"
    HANDLED_OUTPUT = "HANDLED_OUTPUT"
    ASSET_MATERIALIZATION = "ASSET_MATERIALIZATION"
    ASSET_MATERIALIZATION_PLANNED = "ASSET_MATERIALIZATION_PLANNED"
    ASSET_OBSERVATION = "ASSET_OBSERVATION"
    ASSET_CHECK_EVALUATION = "ASSET_CHECK_EVALUATION"
    RESOURCE_INIT_FAILURE = "RESOURCE_INIT_FAILURE"
    ENGINE_EVENT = "ENGINE_EVENT"
    LOGS = "LOGS"
    STEP_EXPECTATION_RESULT = "STEP_EXPECTATION_RESULT"
    HOOK_COMPLETED = "HOOK_COMPLETED"
    HOOK_ERRORED = "HOOK_ERRORED"
    HOOK_SKIPPED = "HOOK_SKIPPED"
    STEP_INPUT = "STEP_INPUT"


STEP_TERMINAL_EVENTS = frozenset(
    {EventType.STEP_SUCCESS, EventType.STEP_FAILURE, EventType.STEP_SKIPPED}
)
# Events logged at ERROR (`Event.log_level`): STEP_FAILURE, RUN_FAILURE, HOOK_ERRORED.


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """A serializable exception: class, message, the user's stack, and its cause chain."""

    message: str
    stack: tuple[str, ...]
    cls_name: str | None
    cause: ErrorInfo | None = None
    context: ErrorInfo | None = None

    @staticmethod
    def from_exception(exc: BaseException, *, skip_frames_from: tuple[str, ...] = ()) -> ErrorInfo:
        frames = traceback.extract_tb(exc.__traceback__)
        if skip_frames_from:
            user_frames = [f for f in frames if not f.filename.startswith(skip_frames_from)]
            frames = traceback.StackSummary.from_list(user_frames or list(frames))
        message = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        cause = exc.__cause__
        return ErrorInfo(
            message=message,
            stack=tuple(frames.format()),
            cls_name=type(exc).__name__,
            cause=ErrorInfo.from_exception(cause, skip_frames_from=skip_frames_from)
            if cause is not None
            else None,
        )

    def to_string(self) -> str:
        text = "".join(self.stack) + self.message
        if self.cause is not None:
            text += "\n\nThe above exception was caused by:\n\n" + self.cause.to_string()
        return text


@dataclass(frozen=True, slots=True)
class StepFailureData:
    error: ErrorInfo | None
    user_failure_data: dict[str, Any] | None = None
    error_source: str = "USER_CODE_ERROR"


@dataclass(frozen=True, slots=True)
class StepRetryData:
    attempt: int
    seconds_to_wait: float
    error: ErrorInfo | None


@dataclass(frozen=True, slots=True)
class TypeCheckData:
    """The result of a Dagster type check of an input or output (STEP_INPUT, STEP_OUTPUT)."""

    success: bool
    label: str
    description: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OutputData:
    output_name: str
    asset_key: AssetKey | None = None
    type_check_data: TypeCheckData | None = None  # only for a typed output
    mapping_key: str | None = None  # which value of a dynamic output


@dataclass(frozen=True, slots=True)
class StepInputData:
    """A typed input passed its type check (STEP_INPUT)."""

    input_name: str
    type_check_data: TypeCheckData | None = None


@dataclass(frozen=True, slots=True)
class InputData:
    input_name: str
    asset_key: AssetKey | None = None
    manager_key: str | None = None


@dataclass(frozen=True, slots=True)
class RunFailureData:
    error: ErrorInfo | None
    failed_steps: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened in a run."""

    event_type: EventType
    job_name: str
    message: str
    step_key: str | None = None
    event_specific_data: Any = None
    partition: str | None = None

    @property
    def event_type_value(self) -> str:
        return self.event_type.value

    @property
    def is_step_success(self) -> bool:
        return self.event_type is EventType.STEP_SUCCESS

    @property
    def is_step_failure(self) -> bool:
        return self.event_type is EventType.STEP_FAILURE

    @property
    def is_step_skipped(self) -> bool:
        return self.event_type is EventType.STEP_SKIPPED

    @property
    def is_failure(self) -> bool:
        return self.event_type in (EventType.STEP_FAILURE, EventType.RUN_FAILURE)

    @property
    def is_successful_output(self) -> bool:
        return self.event_type is EventType.STEP_OUTPUT

    @property
    def step_failure_data(self) -> StepFailureData:
        if not isinstance(self.event_specific_data, StepFailureData):
            raise AttributeError(f"{self.event_type.value} events carry no step_failure_data")
        return self.event_specific_data

    @property
    def step_output_data(self) -> OutputData:
        """A STEP_OUTPUT's data: the output's name and, for a typed one, its type check."""
        data = self.event_specific_data
        if self.event_type is not EventType.STEP_OUTPUT or not isinstance(data, OutputData):
            raise AttributeError(f"{self.event_type.value} events carry no step_output_data")
        return data

    @property
    def step_input_data(self) -> StepInputData:
        """A STEP_INPUT's data: the input's name and its type check."""
        if not isinstance(self.event_specific_data, StepInputData):
            raise AttributeError(f"{self.event_type.value} events carry no step_input_data")
        return self.event_specific_data

    @property
    def materialization(self) -> AssetMaterialization:
        if not isinstance(self.event_specific_data, AssetMaterialization):
            raise AttributeError(f"{self.event_type.value} events carry no materialization")
        return self.event_specific_data

    @property
    def asset_check_evaluation(self) -> AssetCheckEvaluation:
        if not isinstance(self.event_specific_data, AssetCheckEvaluation):
            raise AttributeError(f"{self.event_type.value} events carry no check evaluation")
        return self.event_specific_data

    @property
    def asset_observation(self) -> Any:
        """The `AssetObservation` of an ASSET_OBSERVATION event."""
        if self.event_type is not EventType.ASSET_OBSERVATION:
            raise AttributeError(f"{self.event_type.value} events carry no observation")
        return self.event_specific_data

    @property
    def asset_key(self) -> AssetKey | None:
        data = self.event_specific_data
        return getattr(data, "asset_key", None)

    @property
    def log_level(self) -> int:
        # Identity tests: `in` a set of members would call Enum's Python-level __hash__, and
        # this runs for every event a step stores.
        kind = self.event_type
        if (
            kind is EventType.STEP_FAILURE
            or kind is EventType.RUN_FAILURE
            or kind is EventType.HOOK_ERRORED
        ):
            return logging.ERROR
        return logging.DEBUG


@dataclass(frozen=True, slots=True)
class EventLogEntry:
    """What the event log stores: an event (or a plain log message) with run, time and level."""

    run_id: str
    timestamp: float
    level: int
    user_message: str
    job_name: str | None = None
    step_key: str | None = None
    event: Event | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_event(self) -> bool:
        return self.event is not None

    @property
    def message(self) -> str:
        return self.user_message

    @staticmethod
    def for_event(run_id: str, event: Event) -> EventLogEntry:
        return EventLogEntry(
            run_id,
            time.time(),
            event.log_level,
            event.message,
            event.job_name,
            event.step_key,
            event,
        )


@dataclass(frozen=True, slots=True)
class HookErroredData:
    """A hook that raised: its name and the error (the run goes on)."""

    hook_name: str
    error: ErrorInfo | None
