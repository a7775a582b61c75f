"""kubedag's custom resources (group `kubedag.io`, version `v1alpha1`) as pydantic models.

One module per resource (`instance`, `code_location`, `job`, `schedule`, `run`), shared shapes in
`common`, and the generator of `crds/` in `crd`. The operator reads objects with
`RunResource.parse(body)` (or `parse_resource(RunResource, body)`), which raises
`InvalidResourceError` naming each bad field.
"""

from kubedag_operator.resources.code_location import CodeLocationResource, CodeLocationSpec
from kubedag_operator.resources.common import (
    API_VERSION,
    GROUP,
    VERSION,
    Condition,
    ConditionStatus,
    CustomResource,
    InvalidResourceError,
    find_condition,
    parse_resource,
    set_condition,
)
from kubedag_operator.resources.instance import InstanceResource, InstanceSpec
from kubedag_operator.resources.job import JobResource, JobSpec
from kubedag_operator.resources.run import RunPhase, RunResource, RunSpec, RunStatus
from kubedag_operator.resources.schedule import ScheduleResource, ScheduleSpec

ALL_RESOURCES: tuple[type[CustomResource], ...] = (
    InstanceResource,
    CodeLocationResource,
    JobResource,
    ScheduleResource,
    RunResource,
)

__all__ = [
    "ALL_RESOURCES",
    "API_VERSION",
    "GROUP",
    "VERSION",
    "CodeLocationResource",
    "CodeLocationSpec",
    "Condition",
    "ConditionStatus",
    "CustomResource",
    "InstanceResource",
    "InstanceSpec",
    "InvalidResourceError",
    "JobResource",
    "JobSpec",
    "RunPhase",
    "RunResource",
    "RunSpec",
    "RunStatus",
    "ScheduleResource",
    "ScheduleSpec",
    "find_condition",
    "parse_resource",
    "set_condition",
]
