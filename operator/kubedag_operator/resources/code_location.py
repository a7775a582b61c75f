"""`CodeLocation`: a container image plus the Python module or file that holds `Definitions`.

The operator runs it as a Deployment and Service serving `kubedag code-server` (definition
snapshots, schedule and sensor evaluation), and run pods of its jobs use the same image. Its
status lists what the code defines, so `kubectl describe` shows which jobs a `Job` may name.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, Self

from pydantic import ConfigDict, Field, model_validator

from kubedag_operator.resources.common import (
    AGE_COLUMN,
    Conditions,
    CustomResource,
    EnvFromSource,
    EnvVar,
    ImagePullPolicy,
    LocalObjectReference,
    PrinterColumn,
    ResourceRequirements,
    SpecModel,
    StatusModel,
    cel,
    ready_column,
    validations,
)

EXACTLY_ONE_SOURCE = cel(
    "has(self.module) != has(self.pythonFile)",
    "set exactly one of module (a Python module, `my_pipelines.definitions`) or pythonFile "
    "(a file in the image, `/app/definitions.py`)",
)


class CodeLocationSpec(SpecModel):
    """Where the code is: an image, and the module or file in it that defines `Definitions`.
    Set exactly one of `module` and `pythonFile`."""

    model_config = ConfigDict(json_schema_extra=validations(EXACTLY_ONE_SOURCE))

    image: Annotated[str, Field(min_length=1)]
    """The container image holding the code and kubedag, such as
    `registry.example.com/pipelines:1.4.2`."""
    image_pull_policy: ImagePullPolicy | None = None
    """Always, IfNotPresent or Never (Kubernetes' default when unset)."""
    module: Annotated[str, Field(min_length=1)] | None = None
    """The Python module that defines `Definitions`, such as `my_pipelines.definitions`."""
    python_file: Annotated[str, Field(min_length=1)] | None = None
    """The Python file in the image that defines `Definitions`, such as
    `/app/definitions.py`."""
    attribute: str | None = None
    """The name of the `Definitions` object, when the module holds several."""
    working_dir: str | None = None
    """The working directory of the code server and run containers (and where a module is
    imported from)."""
    env: list[EnvVar] | None = None
    """Environment variables of the code server and of every run pod of this location."""
    env_from: list[EnvFromSource] | None = None
    """Secrets and ConfigMaps whose keys become environment variables."""
    resources: ResourceRequirements | None = None
    """CPU and memory of the code server's container."""
    replicas: Annotated[int, Field(ge=0)] = 1
    """How many code server pods serve this location (0: none; runs still launch)."""
    service_account_name: str | None = None
    """The ServiceAccount of the code server and run pods."""
    image_pull_secrets: list[LocalObjectReference] | None = None
    """Secrets used to pull the image from a private registry, as `[{name: SECRET}]`."""

    @model_validator(mode="after")
    def _exactly_one_source(self) -> Self:
        if (self.module is None) == (self.python_file is None):
            raise ValueError(EXACTLY_ONE_SOURCE["message"])
        return self


class CodeLocationStatus(StatusModel):
    """What the code server found in the code."""

    jobs: list[str] | None = None
    """The jobs the code defines; a `Job` names one of them."""
    assets: list[str] | None = None
    """The asset keys the code defines, as `a/b` paths."""
    schedules: list[str] | None = None
    """The schedules the code defines."""
    sensors: list[str] | None = None
    """The sensors the code defines."""
    content_hash: str | None = None
    """A hash of what the code defines (jobs, assets, schedules, sensors and their
    settings): it changes exactly when the definitions do."""
    image_digest: str | None = None
    """The digest of the image the code server runs (`sha256:…`); runs are launched with the
    image pinned to it, so they execute the code the server loaded."""
    load_error: str | None = None
    """When the code failed to import (`Ready=False`, reason UserCodeError): the exception and
    the traceback of the user's code, innermost frame last (at most 8 KiB, the end kept)."""
    observed_generation: int | None = None
    """The `metadata.generation` this status describes."""
    conditions: Conditions | None = None
    """`Ready`: the code server loaded the code and answers (reasons: Loaded, ImagePullBackOff,
    UserCodeError, InvalidSpec…)."""


class CodeLocationResource(CustomResource):
    """A container image and the module or file in it that defines kubedag `Definitions`."""

    kind_name: ClassVar[str] = "CodeLocation"
    plural: ClassVar[str] = "codelocations"
    short_names: ClassVar[tuple[str, ...]] = ("kdcl",)
    printer_columns: ClassVar[tuple[PrinterColumn, ...]] = (
        PrinterColumn(
            name="Image", type="string", json_path=".spec.image", description="The code's image."
        ),
        ready_column("Whether the code server loaded the code."),
        AGE_COLUMN,
    )

    kind: Literal["CodeLocation"] = "CodeLocation"
    spec: CodeLocationSpec
    """Where the code is."""
    status: CodeLocationStatus = Field(default_factory=CodeLocationStatus)
    """What the code server found."""
