"""Shapes shared by every kubedag custom resource.

The pydantic models in this package are the single source of the CRDs in `crds/`: the generator
(`kubedag_operator.resources.crd`) turns each model's JSON schema into a structural
`openAPIV3Schema`, and each field's docstring becomes its `description`, which is what
`kubectl explain` prints. So every field below has a docstring written for users.

Where a field has a Kubernetes counterpart (env, envFrom, resources, tolerations, conditions) it
uses Kubernetes' own shape and names, so manifests can be copied between a Deployment and a
kubedag resource.

Reading objects: `parse_resource(RunResource, body)` validates a body the operator received and
raises `InvalidResourceError`, whose message names each bad field (`spec.jobRef.name: field
required`) for the operator to put into a status condition.
"""

from __future__ import annotations

import datetime
import re
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Self, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, WithJsonSchema
from pydantic.alias_generators import to_camel

GROUP = "kubedag.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
CATEGORY = "kubedag"

PRESERVE_UNKNOWN = "x-kubernetes-preserve-unknown-fields"


def cel(rule: str, message: str, field_path: str | None = None) -> dict[str, str]:
    """One `x-kubernetes-validations` entry: a CEL rule the API server checks on every write."""
    entry = {"rule": rule, "message": message}
    if field_path:
        entry["fieldPath"] = field_path
    return entry


def validations(*rules: dict[str, str]) -> dict[str, Any]:
    """`json_schema_extra` holding CEL rules for a model or a field."""
    return {"x-kubernetes-validations": list(rules)}


class SpecModel(BaseModel):
    """A part of a spec: camelCase in YAML, snake_case in Python; unknown keys are errors."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="forbid",
        use_attribute_docstrings=True,
        frozen=True,
    )


class StatusModel(BaseModel):
    """A part of a status: written by the operator; keys it does not know are ignored, so an
    older operator can read what a newer one wrote."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="ignore",
        use_attribute_docstrings=True,
    )


# A free-form object: kept as given by the API server (no pruning, no schema).
FreeForm = Annotated[
    dict[str, Any],
    WithJsonSchema({"type": "object", PRESERVE_UNKNOWN: True}),
]

# A Kubernetes resource quantity: `2`, `500m`, `1Gi`.
QUANTITY_PATTERN = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
    r"(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
_QUANTITY = re.compile(QUANTITY_PATTERN)


def _check_quantity(value: int | str) -> int | str:
    if isinstance(value, str) and not _QUANTITY.match(value):
        raise ValueError(f"expected a Kubernetes quantity such as 2, 500m or 1Gi; got {value!r}")
    return value


Quantity = Annotated[
    int | str,
    AfterValidator(_check_quantity),
    WithJsonSchema(
        {
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            "x-kubernetes-int-or-string": True,
            "pattern": QUANTITY_PATTERN,
        }
    ),
]

Name = Annotated[str, Field(min_length=1, max_length=253)]


# --- references ------------------------------------------------------------------------------


class LocalObjectReference(SpecModel):
    """A reference to another object of the same namespace, by name."""

    name: Name
    """The name of the object, in the same namespace."""


class SecretKeySelector(SpecModel):
    """A key of a Secret in the same namespace (Kubernetes' `SecretKeySelector`)."""

    name: Name
    """The name of the Secret."""
    key: Annotated[str, Field(min_length=1)]
    """The key of the Secret's data whose value is used."""
    optional: bool | None = None
    """Whether a missing Secret or key is allowed (then the value is unset)."""


class ConfigMapKeySelector(SpecModel):
    """A key of a ConfigMap in the same namespace (Kubernetes' `ConfigMapKeySelector`)."""

    name: Name
    """The name of the ConfigMap."""
    key: Annotated[str, Field(min_length=1)]
    """The key of the ConfigMap's data whose value is used."""
    optional: bool | None = None
    """Whether a missing ConfigMap or key is allowed (then the value is unset)."""


class SecretValue(SpecModel):
    """A secret value, never written inline: it is read from a Kubernetes Secret and reaches
    kubedag's processes as an environment variable, so it never appears in a pod spec, a
    custom resource or a log."""

    secret_key_ref: SecretKeySelector
    """The Secret and key that hold the value."""


# --- environment -----------------------------------------------------------------------------


class ObjectFieldSelector(SpecModel):
    """A field of the pod itself (Kubernetes' `ObjectFieldSelector`)."""

    field_path: str
    """The path of the field, such as `metadata.name` or `status.podIP`."""
    api_version: str | None = None
    """The schema version the path is written in (default `v1`)."""


class ResourceFieldSelector(SpecModel):
    """A resource limit or request of a container (Kubernetes' `ResourceFieldSelector`)."""

    resource: str
    """The resource to read, such as `limits.memory` or `requests.cpu`."""
    container_name: str | None = None
    """The container whose resources are read (default: this container)."""
    divisor: Quantity | None = None
    """What the value is divided by (default `1`)."""


class EnvVarSource(SpecModel):
    """Where an environment variable's value comes from (Kubernetes' `EnvVarSource`): set
    exactly one."""

    secret_key_ref: SecretKeySelector | None = None
    """A key of a Secret."""
    config_map_key_ref: ConfigMapKeySelector | None = None
    """A key of a ConfigMap."""
    field_ref: ObjectFieldSelector | None = None
    """A field of the pod."""
    resource_field_ref: ResourceFieldSelector | None = None
    """A resource limit or request of a container."""


class EnvVar(SpecModel):
    """An environment variable of kubedag's containers (Kubernetes' `EnvVar`): a literal
    `value`, or `valueFrom` a Secret, ConfigMap or field."""

    name: Annotated[str, Field(min_length=1)]
    """The variable's name."""
    value: str | None = None
    """The variable's value; `$(OTHER)` expands another variable of the container."""
    value_from: EnvVarSource | None = None
    """Where the value comes from, instead of `value`."""


class SecretEnvSource(SpecModel):
    """Every key of a Secret, as environment variables (Kubernetes' `SecretEnvSource`)."""

    name: Name
    """The name of the Secret."""
    optional: bool | None = None
    """Whether a missing Secret is allowed."""


class ConfigMapEnvSource(SpecModel):
    """Every key of a ConfigMap, as environment variables (Kubernetes' `ConfigMapEnvSource`)."""

    name: Name
    """The name of the ConfigMap."""
    optional: bool | None = None
    """Whether a missing ConfigMap is allowed."""


class EnvFromSource(SpecModel):
    """A Secret or ConfigMap whose keys all become environment variables (Kubernetes'
    `EnvFromSource`)."""

    prefix: str | None = None
    """Put in front of every key to make the variable's name."""
    secret_ref: SecretEnvSource | None = None
    """The Secret to read."""
    config_map_ref: ConfigMapEnvSource | None = None
    """The ConfigMap to read."""


# --- pods ------------------------------------------------------------------------------------


class ImagePullPolicy(StrEnum):
    """When the kubelet pulls the image (Kubernetes' `imagePullPolicy`)."""

    ALWAYS = "Always"
    IF_NOT_PRESENT = "IfNotPresent"
    NEVER = "Never"


class ResourceRequirements(SpecModel):
    """CPU, memory and other resources of a container (Kubernetes' `ResourceRequirements`)."""

    limits: dict[str, Quantity] | None = None
    """The most the container may use, such as `{cpu: "2", memory: 4Gi}`."""
    requests: dict[str, Quantity] | None = None
    """What the scheduler reserves for the container, such as `{cpu: 500m, memory: 1Gi}`."""


class TolerationOperator(StrEnum):
    """How a toleration matches a taint's value."""

    EXISTS = "Exists"
    EQUAL = "Equal"


class TaintEffect(StrEnum):
    """Which taint effect a toleration matches."""

    NO_SCHEDULE = "NoSchedule"
    PREFER_NO_SCHEDULE = "PreferNoSchedule"
    NO_EXECUTE = "NoExecute"


class Toleration(SpecModel):
    """Lets pods run on nodes with a matching taint (Kubernetes' `Toleration`)."""

    key: str | None = None
    """The taint key matched; empty with `operator: Exists` matches every taint."""
    operator: TolerationOperator | None = None
    """`Equal` (default) compares `value`; `Exists` matches any value."""
    value: str | None = None
    """The taint value matched with `operator: Equal`."""
    effect: TaintEffect | None = None
    """The taint effect matched; empty matches every effect."""
    toleration_seconds: int | None = None
    """With `NoExecute`: how long the pod stays on the node after the taint appears."""


class Volume(SpecModel):
    """A volume of the pod (Kubernetes' `Volume`: `name` plus one source such as `secret`,
    `configMap`, `persistentVolumeClaim` or `emptyDir`), passed to the pod as written."""

    model_config = ConfigDict(extra="allow", json_schema_extra={PRESERVE_UNKNOWN: True})

    name: Name
    """The volume's name, used by `volumeMounts`."""


class VolumeMount(SpecModel):
    """Where a volume appears in the container (Kubernetes' `VolumeMount`)."""

    name: Name
    """The name of the volume (from `volumes`)."""
    mount_path: Annotated[str, Field(min_length=1)]
    """The path in the container."""
    sub_path: str | None = None
    """A path inside the volume to mount instead of its root."""
    read_only: bool | None = None
    """Mount read-only."""


class PodOverrides(SpecModel):
    """Changes to the pods kubedag creates for runs, over the operator's defaults."""

    resources: ResourceRequirements | None = None
    """CPU and memory of the run's container."""
    node_selector: dict[str, str] | None = None
    """Node labels the pod must run on, such as `{pool: batch}`."""
    tolerations: list[Toleration] | None = None
    """Taints the pod tolerates."""
    affinity: FreeForm | None = None
    """A Kubernetes `Affinity` (node, pod and anti-affinity), passed to the pod as written."""
    service_account_name: str | None = None
    """The ServiceAccount the pod runs as (for cloud credentials, for example)."""
    env: list[EnvVar] | None = None
    """Environment variables added to the run's container."""
    env_from: list[EnvFromSource] | None = None
    """Secrets and ConfigMaps whose keys become environment variables."""
    volumes: list[Volume] | None = None
    """Volumes added to the pod."""
    volume_mounts: list[VolumeMount] | None = None
    """Where the run's container mounts the volumes."""
    labels: dict[str, str] | None = None
    """Labels added to the pod (kubedag's own `kubedag.io/*` labels always win)."""
    annotations: dict[str, str] | None = None
    """Annotations added to the pod."""


# --- status ----------------------------------------------------------------------------------


class ConditionStatus(StrEnum):
    """Whether a condition holds: `True`, `False`, or `Unknown`."""

    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class Condition(StatusModel):
    """One aspect of the object's state (Kubernetes' `metav1.Condition`)."""

    type: Annotated[
        str,
        Field(
            max_length=316,
            pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
            r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$",
        ),
    ]
    """The aspect, in CamelCase, such as `Ready` or `Succeeded`."""
    status: ConditionStatus
    """Whether it holds: `True`, `False` or `Unknown`."""
    observed_generation: Annotated[int, Field(ge=0)] | None = None
    """The `metadata.generation` the condition was computed from."""
    last_transition_time: datetime.datetime
    """When `status` last changed."""
    reason: Annotated[
        str,
        Field(min_length=1, max_length=1024, pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"),
    ]
    """Why, in one CamelCase word, such as `OOMKilled`."""
    message: Annotated[str, Field(max_length=32768)]
    """Why, in a sentence for people; names the field and the fix when the object is wrong."""


Conditions = Annotated[
    list[Condition],
    Field(
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]}
    ),
]


def set_condition(
    conditions: list[Condition],
    type: str,
    status: ConditionStatus,
    reason: str,
    message: str,
    *,
    now: datetime.datetime,
    observed_generation: int | None = None,
) -> list[Condition]:
    """The conditions with `type` set, the others unchanged. `lastTransitionTime` moves only
    when the status changes, as Kubernetes' own controllers do."""
    previous = next((c for c in conditions if c.type == type), None)
    changed = previous is None or previous.status != status
    condition = Condition(
        type=type,
        status=status,
        reason=reason,
        message=message,
        observed_generation=observed_generation,
        last_transition_time=now if changed or previous is None else previous.last_transition_time,
    )
    others = [c for c in conditions if c.type != type]
    return sorted([*others, condition], key=lambda c: c.type)


def find_condition(conditions: list[Condition], type: str) -> Condition | None:
    """The condition of `type`, if there is one."""
    return next((c for c in conditions if c.type == type), None)


# --- whole objects ---------------------------------------------------------------------------


class ObjectMeta(BaseModel):
    """The parts of `metadata` the operator reads; the rest is kept."""

    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_name=True, validate_by_alias=True, extra="allow"
    )

    name: str | None = None
    namespace: str | None = None
    uid: str | None = None
    generation: int | None = None
    resource_version: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


class PrinterColumn(BaseModel):
    """A column of `kubectl get` (an `additionalPrinterColumns` entry)."""

    name: str
    type: str
    json_path: str
    description: str
    priority: int = 0
    format: str | None = None

    def to_crd(self) -> dict[str, Any]:
        column: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "jsonPath": self.json_path,
            "description": self.description,
        }
        if self.format:
            column["format"] = self.format
        if self.priority:
            column["priority"] = self.priority
        return column


AGE_COLUMN = PrinterColumn(
    name="Age",
    type="date",
    json_path=".metadata.creationTimestamp",
    description="How long ago the object was created.",
)


def ready_column(description: str) -> PrinterColumn:
    return PrinterColumn(
        name="Ready",
        type="string",
        json_path='.status.conditions[?(@.type=="Ready")].status',
        description=description,
    )


class CustomResource(BaseModel):
    """A whole custom resource as the API server returns it. Subclasses set `spec` and
    `status`, and the class variables that describe the CRD."""

    model_config = ConfigDict(
        validate_by_name=True, validate_by_alias=True, serialize_by_alias=True, extra="ignore"
    )

    kind_name: ClassVar[str]
    plural: ClassVar[str]
    short_names: ClassVar[tuple[str, ...]]
    printer_columns: ClassVar[tuple[PrinterColumn, ...]]

    api_version: str = Field(default=API_VERSION, alias="apiVersion")
    kind: str
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)

    @classmethod
    def crd_name(cls) -> str:
        return f"{cls.plural}.{GROUP}"

    @classmethod
    def parse(cls, body: Any) -> Self:
        """Validate a body read from the API server; see `parse_resource`."""
        return parse_resource(cls, body)


# --- errors ----------------------------------------------------------------------------------


class InvalidResourceError(ValueError):
    """A custom resource the operator cannot act on. `problems` holds one line per bad field,
    such as `spec.jobRef.name: field required`; `str(error)` joins them after the object's
    kind and name, ready for a condition's message."""

    def __init__(self, kind: str, name: str | None, problems: list[str]) -> None:
        self.kind = kind
        self.name = name
        self.problems = problems
        where = f"{kind} {name}" if name else kind
        super().__init__(f"{where} is invalid: " + "; ".join(problems))

    @property
    def message(self) -> str:
        """The problems only, for a condition whose object is already known."""
        return "; ".join(self.problems)


_UNION_BRANCH_TAGS = frozenset(
    {"function-after", "function-before", "int", "str", "float", "bool", "constrained-str"}
)


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part in _UNION_BRANCH_TAGS or "[" in str(part):
            continue  # pydantic's names for validators and union branches
        else:
            text += f".{part}" if text else str(part)
    return text


def describe_validation_error(error: ValidationError) -> list[str]:
    """One line per problem: `<field path>: <what is wrong>`, the path as written in YAML."""
    lines = []
    for item in error.errors(include_url=False):
        path = _location(item["loc"]) or "(object)"
        message = item["msg"]
        message = message.removeprefix("Value error, ")
        message = message[:1].lower() + message[1:]
        if item["type"] == "extra_forbidden":
            message = "unknown field"
        lines.append(f"{path}: {message}")
    return list(dict.fromkeys(lines))


R = TypeVar("R", bound=CustomResource)


def parse_resource(cls: type[R], body: Any) -> R:
    """Validate `body` (a dict, or kopf's Body) as a `cls`, or raise `InvalidResourceError`
    naming every bad field."""
    data = dict(body) if not isinstance(body, dict) else body
    try:
        return cls.model_validate(data)
    except ValidationError as error:
        metadata = data.get("metadata") or {}
        name = metadata.get("name") if isinstance(metadata, dict) else None
        raise InvalidResourceError(cls.kind_name, name, describe_validation_error(error)) from None
