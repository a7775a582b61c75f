"""`Job`: a job (or an asset selection) of a code location, with its defaults for every run.

A `Job` is what `Run`s and `Schedule`s name. It picks a job the code defines (`jobName`) or a
set of assets to materialize (`assetSelection`, run as the implicit asset job), and holds the
default run config, tags and pod overrides of its runs. Its kind is `Job` in the `kubedag.io`
group: `kubectl get jobs` shows the built-in batch Jobs; use `kubectl get kdjob` or
`jobs.kubedag.io`.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, Self

from pydantic import ConfigDict, Field, model_validator

from kubedag_operator.resources.common import (
    AGE_COLUMN,
    Conditions,
    CustomResource,
    FreeForm,
    LocalObjectReference,
    PodOverrides,
    PrinterColumn,
    SpecModel,
    StatusModel,
    cel,
    ready_column,
    validations,
)

EXACTLY_ONE_TARGET = cel(
    "has(self.jobName) != has(self.assetSelection)",
    "set exactly one of jobName (a job the code location defines) or assetSelection "
    "(asset keys to materialize)",
)


class JobSpec(SpecModel):
    """Which job of which code location, and the defaults of its runs. Set exactly one of
    `jobName` and `assetSelection`."""

    model_config = ConfigDict(json_schema_extra=validations(EXACTLY_ONE_TARGET))

    code_location_ref: LocalObjectReference
    """The `CodeLocation` whose code defines the job, in this namespace."""
    job_name: Annotated[str, Field(min_length=1)] | None = None
    """The name of a job the code location defines (see its `status.jobs`)."""
    asset_selection: (
        Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)] | None
    ) = None
    """Asset keys to materialize, as `a/b` paths, run as the implicit asset job."""
    run_config: FreeForm | None = None
    """The default run config of every run (`ops`, `resources`, `execution`); a Run's or
    Schedule's `runConfig` is merged over it."""
    tags: dict[str, str] | None = None
    """Tags of every run of this job."""
    pod: PodOverrides | None = None
    """Changes to the run pods: resources, nodeSelector, tolerations, affinity,
    serviceAccountName, env, volumes and volumeMounts."""

    @model_validator(mode="after")
    def _exactly_one_target(self) -> Self:
        if (self.job_name is None) == (self.asset_selection is None):
            raise ValueError(EXACTLY_ONE_TARGET["message"])
        return self


class JobStatus(StatusModel):
    """Whether the job can be run."""

    observed_generation: int | None = None
    """The `metadata.generation` this status describes."""
    conditions: Conditions | None = None
    """`Ready`: the code location is ready and defines the job or assets (reasons:
    CodeLocationNotFound, JobNotFound, InvalidSpec…)."""


class JobResource(CustomResource):
    """A job (or asset selection) of a code location, with default run config, tags and pod
    overrides for its runs."""

    kind_name: ClassVar[str] = "Job"
    plural: ClassVar[str] = "jobs"
    short_names: ClassVar[tuple[str, ...]] = ("kdjob",)
    printer_columns: ClassVar[tuple[PrinterColumn, ...]] = (
        PrinterColumn(
            name="CodeLocation",
            type="string",
            json_path=".spec.codeLocationRef.name",
            description="The code location that defines the job.",
        ),
        PrinterColumn(
            name="Job",
            type="string",
            json_path=".spec.jobName",
            description="The job's name in the code (empty for an asset selection).",
        ),
        ready_column("Whether the job can be run."),
        AGE_COLUMN,
    )

    kind: Literal["Job"] = "Job"
    spec: JobSpec
    """Which job, and the defaults of its runs."""
    status: JobStatus = Field(default_factory=JobStatus)
    """Whether the job can be run."""
