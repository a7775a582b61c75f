"""`Schedule`: run a `Job` on a cron schedule.

Ticks are the instants of the cron expressions in `timeZone`, computed by kubedag's automation
logic (with its daylight saving rules). For each tick the operator creates a `Run` named from
the schedule and the tick time, so a restart never creates a tick's run twice. Like a CronJob:
`suspend` stops new ticks, `concurrencyPolicy` says what happens when the previous run is still
going, `startingDeadlineSeconds` skips ticks missed by longer than that, and the history limits
say how many finished Runs are kept.
"""

from __future__ import annotations

import datetime
from enum import StrEnum
from typing import Annotated, ClassVar, Literal, Self

from pydantic import ConfigDict, Field, model_validator

from kubedag_operator.resources.common import (
    AGE_COLUMN,
    Conditions,
    CustomResource,
    FreeForm,
    LocalObjectReference,
    PrinterColumn,
    SpecModel,
    StatusModel,
    cel,
    validations,
)

# Five fields, or a macro. Checked fully (ranges, names) by the operator with kubedag's cron.
CRON_PATTERN = r"^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|\S+( +\S+){4})$"

KEY_NEEDS_KEY = cel(
    "!has(self.mode) || self.mode != 'Key' || has(self.key)",
    "partitionSelection.mode Key needs partitionSelection.key (the partition to run)",
)


class ConcurrencyPolicy(StrEnum):
    """What a tick does while an earlier run of this schedule is unfinished."""

    ALLOW = "Allow"
    FORBID = "Forbid"
    REPLACE = "Replace"


class PartitionSelectionMode(StrEnum):
    """How each tick picks the partition its run materializes."""

    LATEST_COMPLETE = "LatestComplete"
    KEY = "Key"


class PartitionSelection(SpecModel):
    """Which partition each tick's run materializes, for a partitioned job."""

    model_config = ConfigDict(json_schema_extra=validations(KEY_NEEDS_KEY))

    mode: PartitionSelectionMode = PartitionSelectionMode.LATEST_COMPLETE
    """`LatestComplete`: the time window that has just ended at the tick (a daily job ticking
    at 00:00 runs yesterday); `Key`: always the partition `key`."""
    key: Annotated[str, Field(min_length=1)] | None = None
    """The partition key, with mode `Key`."""
    max_catchup_ticks: Annotated[int, Field(ge=0)] = 5
    """With `LatestComplete`: after downtime, how many missed ticks are run, each with its own
    partition (newest first)."""

    @model_validator(mode="after")
    def _key_needs_key(self) -> Self:
        if self.mode is PartitionSelectionMode.KEY and self.key is None:
            raise ValueError(KEY_NEEDS_KEY["message"])
        return self


class ScheduleSpec(SpecModel):
    """When to run which job, and what to do with late and overlapping runs."""

    cron: Annotated[
        list[Annotated[str, Field(pattern=CRON_PATTERN)]], Field(min_length=1, max_length=20)
    ]
    """Cron expressions (five fields or `@daily`, `@hourly`…); the schedule ticks at every
    instant of any of them. A list even for one: `["0 6 * * *"]`."""
    time_zone: Annotated[str, Field(min_length=1)] = "UTC"
    """The IANA time zone the expressions are read in, such as `Europe/Paris`."""
    job_ref: LocalObjectReference
    """The `Job` (kubedag.io) each tick runs, in this namespace."""
    run_config: FreeForm | None = None
    """Run config of each tick's run, merged over the Job's."""
    partition_selection: PartitionSelection | None = None
    """Which partition each tick runs, for a partitioned job."""
    tags: dict[str, str] | None = None
    """Tags added to each tick's run."""
    suspend: bool = False
    """Stop ticking; ticks missed while suspended are never run. Runs already created go on."""
    concurrency_policy: ConcurrencyPolicy = ConcurrencyPolicy.ALLOW
    """While an earlier run is unfinished: `Allow` runs the tick too, `Forbid` skips it,
    `Replace` cancels the earlier run and runs the tick."""
    starting_deadline_seconds: Annotated[int, Field(ge=0)] | None = None
    """A tick not run within this many seconds of its time (operator down, Forbid) is skipped.
    Unset: no deadline (after downtime, only the latest missed tick runs)."""
    successful_runs_history_limit: Annotated[int, Field(ge=0)] = 3
    """How many succeeded Runs of this schedule are kept; older ones are deleted (their run
    records stay in storage)."""
    failed_runs_history_limit: Annotated[int, Field(ge=0)] = 1
    """How many failed or canceled Runs of this schedule are kept."""


class RunReference(StatusModel):
    """A Run created by the schedule."""

    name: str
    """The Run's name, in this namespace."""
    run_id: str | None = None
    """The run's id in storage."""


class ScheduleStatus(StatusModel):
    """The schedule's ticks as the operator last saw them."""

    last_schedule_time: datetime.datetime | None = None
    """The time of the last tick that created a Run."""
    next_schedule_time: datetime.datetime | None = None
    """The time of the next tick (unset while suspended)."""
    active: list[RunReference] | None = None
    """The schedule's unfinished Runs."""
    observed_generation: int | None = None
    """The `metadata.generation` this status describes."""
    conditions: Conditions | None = None
    """`Ready`: the schedule is valid and its Job exists (reasons: InvalidCron,
    UnknownTimeZone, JobNotFound, Suspended…)."""


class ScheduleResource(CustomResource):
    """Runs a Job on a cron schedule, like a CronJob whose runs are kubedag Runs."""

    kind_name: ClassVar[str] = "Schedule"
    plural: ClassVar[str] = "schedules"
    short_names: ClassVar[tuple[str, ...]] = ("kdsched",)
    printer_columns: ClassVar[tuple[PrinterColumn, ...]] = (
        PrinterColumn(
            name="Cron", type="string", json_path=".spec.cron", description="Cron expressions."
        ),
        PrinterColumn(
            name="Suspend",
            type="boolean",
            json_path=".spec.suspend",
            description="Whether ticking is stopped.",
        ),
        PrinterColumn(
            name="Last",
            type="date",
            json_path=".status.lastScheduleTime",
            description="The last tick that created a Run.",
        ),
        PrinterColumn(
            name="Next",
            type="string",
            json_path=".status.nextScheduleTime",
            description="The next tick.",
        ),
        AGE_COLUMN,
    )

    kind: Literal["Schedule"] = "Schedule"
    spec: ScheduleSpec
    """When to run which job."""
    status: ScheduleStatus = Field(default_factory=ScheduleStatus)
    """The schedule's ticks as the operator last saw them."""
