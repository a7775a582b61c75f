"""The `CodeLocation`, `Job` and `Schedule` objects that deploy a code location, as plain data.

`build_manifests(defs, target)` is a pure function: the same definitions and target give the
same objects in the same order, so a Git repository holding its output only changes when the
code does. The objects are written for server-side apply (`kubectl apply --server-side`, Argo
CD, Flux): only fields that carry information appear. A field left at its CRD default is left
out (the API server fills it in, and another field manager may own it), and so are `status`,
`creationTimestamp` and everything else the server writes.

What each definition becomes:

- the code location: one `CodeLocation` with the image and the module or file inside it;
- every job, including the implicit all-assets job (`__ASSET_JOB`), which becomes the Job
  `<location>-all-assets`: it is what runs "materialize everything" and what asset selections
  run as, and a `Run` can only name a `Job` object. The Job names the code's job in
  `spec.jobName`; its default config and tags stay in the code, where the run takes them from.
- every schedule whose ticks are fully described by data (cron, time zone, run config, tags, a
  partitioned job's "latest complete partition"): one `Schedule`. A schedule the code declares
  stopped (`default_status=STOPPED`, the default, as in the reference) gets `suspend: true`;
  declare it `RUNNING` in the code to have it tick.
- a schedule whose runs a Python function decides (`@dg.schedule`), and every sensor: no object,
  because the operator does not call user functions for them; each is listed in `notes`.

Every object carries the label `kubedag.io/code-location: <location>`, so
`kubectl apply --prune -l kubedag.io/code-location=<location>` removes the objects of a job or
schedule deleted from the code.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubedag.config.run_config import RunConfig, to_config_dict
from kubedag.definitions.definitions import IMPLICIT_ASSET_JOB_NAME, Definitions
from kubedag.definitions.schedules import DefaultScheduleStatus, ScheduleDefinition
from kubedag.errors import InvalidDefinitionError
from kubedag.manifests.names import check_code_location_name, is_dns_label, object_names

API_VERSION = "kubedag.io/v1alpha1"
CODE_LOCATION_LABEL = "kubedag.io/code-location"
IMPLICIT_JOB_STEM = "all-assets"
DEFAULT_TIME_ZONE = "UTC"  # the Schedule CRD's default for spec.timeZone


@dataclass(frozen=True)
class ManifestTarget:
    """Where the objects go and what they point at: the `CodeLocation`'s name, the image, the
    namespace (None: the one `kubectl` applies to), and the code inside the image (exactly one
    of `module` and `python_file`, plus `attribute` when the module holds several
    `Definitions`)."""

    code_location: str
    image: str
    namespace: str | None = None
    module: str | None = None
    python_file: str | None = None
    attribute: str | None = None


@dataclass(frozen=True)
class Manifests:
    """The objects, in apply order (CodeLocation, Jobs by name, Schedules by name), and one
    line per definition that has no object, saying why."""

    documents: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)


def build_manifests(defs: Definitions, target: ManifestTarget) -> Manifests:
    """The objects that deploy `defs` as `target` describes; `InvalidDefinitionError` names
    the problem when the target or a name cannot be used."""
    location = check_code_location_name(target.code_location)
    _check_target(target)
    job_names = object_names(
        "job",
        location,
        {name: _job_stem(name) for name in (job.name for job in defs.get_all_job_defs())},
    )
    schedules = sorted(defs.schedules, key=lambda s: s.name)
    expressible = [s for s in schedules if schedule_is_data(s)]
    schedule_names = object_names("schedule", location, {s.name: s.name for s in expressible})

    def metadata(name: str) -> dict[str, Any]:
        return object_metadata(name, location, target.namespace)

    jobs = [
        job_object(metadata(job_names[name]), location, name)
        for name in sorted(job_names, key=lambda n: job_names[n])
    ]
    schedule_objects = [
        schedule_object(metadata(schedule_names[s.name]), s, _job_ref(s, job_names))
        for s in sorted(expressible, key=lambda s: schedule_names[s.name])
    ]
    documents = [code_location_object(metadata(location), target), *jobs, *schedule_objects]
    notes = [
        f"schedule '{s.name}' has no Schedule object: a Python function decides its runs, "
        "and the operator does not call schedule functions."
        for s in schedules
        if not schedule_is_data(s)
    ]
    notes += [
        f"sensor '{s.name}' has no object: kubedag has no Sensor resource yet; run sensors "
        "with `kubedag daemon`."
        for s in sorted(defs.sensors, key=lambda s: s.name)
    ]
    return Manifests(documents, notes)


# -- one object each ----------------------------------------------------------------------------
def code_location_object(metadata: dict[str, Any], target: ManifestTarget) -> dict[str, Any]:
    spec: dict[str, Any] = {"image": target.image}
    if target.module is not None:
        spec["module"] = target.module
    if target.python_file is not None:
        spec["pythonFile"] = target.python_file
    if target.attribute is not None:
        spec["attribute"] = target.attribute
    return _object("CodeLocation", metadata, spec)


def job_object(metadata: dict[str, Any], location: str, job_name: str) -> dict[str, Any]:
    spec = {"codeLocationRef": {"name": location}, "jobName": job_name}
    return _object("Job", metadata, spec)


def schedule_object(
    metadata: dict[str, Any], schedule: ScheduleDefinition, job_ref: str
) -> dict[str, Any]:
    spec: dict[str, Any] = {"cron": list(schedule.cron_schedules)}
    if schedule.timezone != DEFAULT_TIME_ZONE:
        spec["timeZone"] = schedule.timezone
    spec["jobRef"] = {"name": job_ref}
    run_config = plain_run_config(schedule)
    if run_config:
        spec["runConfig"] = run_config
    if schedule.partitioned is not None:
        # Every field of partitionSelection has a default (LatestComplete, 5 catch-up ticks);
        # its presence alone says "run the partition that has just completed".
        spec["partitionSelection"] = {}
    if schedule.tags:
        spec["tags"] = sorted_mapping(schedule.tags)
    if schedule.default_status is DefaultScheduleStatus.STOPPED:
        spec["suspend"] = True
    return _object("Schedule", metadata, spec)


# -- decisions ----------------------------------------------------------------------------------
def schedule_is_data(schedule: ScheduleDefinition) -> bool:
    """Whether a `Schedule` object can say everything the schedule does: no function decides
    its runs, and its run config is a mapping or a `RunConfig`, not a callable."""
    return schedule.execution_fn is None and (
        schedule.run_config is None or isinstance(schedule.run_config, Mapping | RunConfig)
    )


def plain_run_config(schedule: ScheduleDefinition) -> dict[str, Any]:
    """The schedule's run config as JSON-like data with sorted keys: a `RunConfig` becomes its
    dict, `Config` objects their fields. A value YAML cannot carry (a set, an object) is an
    error naming the schedule, not a traceback."""

    def plain(value: Any) -> Any:
        if hasattr(value, "model_dump"):
            return value.model_dump(mode="json")
        if isinstance(value, Mapping):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        return value

    result = sorted_mapping(plain(to_config_dict(schedule.run_config)))
    try:
        json.dumps(result, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidDefinitionError(
            f"schedule '{schedule.name}': run_config cannot be written into a Schedule object "
            f"({exc}); use strings, numbers, booleans, lists and dicts, or dg.Config objects."
        ) from None
    assert isinstance(result, dict)
    return result


def sorted_mapping(value: Any) -> Any:
    """`value` with every mapping's keys sorted, so the YAML does not depend on the order a
    dict happened to be built in."""
    if isinstance(value, Mapping):
        return {str(k): sorted_mapping(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, list | tuple):
        return [sorted_mapping(item) for item in value]
    return value


def _job_stem(name: str) -> str:
    return IMPLICIT_JOB_STEM if name == IMPLICIT_ASSET_JOB_NAME else name


def _job_ref(schedule: ScheduleDefinition, job_names: Mapping[str, str]) -> str:
    job_name = str(schedule.job_name)
    if job_name not in job_names:
        raise InvalidDefinitionError(
            f"schedule '{schedule.name}' runs job '{job_name}', which the code location does "
            f"not define. Jobs: {', '.join(sorted(job_names)) or 'none'}."
        )
    return job_names[job_name]


def _check_target(target: ManifestTarget) -> None:
    if not target.image.strip() or any(c.isspace() for c in target.image):
        raise InvalidDefinitionError(
            f"--image {target.image!r} is not an image reference; give one such as "
            "registry.example.com/pipelines:1.4.2."
        )
    if (target.module is None) == (target.python_file is None):
        raise InvalidDefinitionError(
            "The CodeLocation needs exactly one of a module or a Python file inside the image."
        )
    if target.python_file is not None and not target.python_file.startswith("/"):
        raise InvalidDefinitionError(
            f"--code-path {target.python_file!r} must be an absolute path inside the image, "
            "such as /app/definitions.py."
        )
    if target.namespace is not None and not is_dns_label(target.namespace):
        raise InvalidDefinitionError(
            f"--namespace {target.namespace!r} is not a valid namespace name: use lowercase "
            "letters, digits and '-' (at most 63)."
        )


def object_metadata(name: str, location: str, namespace: str | None) -> dict[str, Any]:
    """`name`, the namespace when one was given, and the code location's label."""
    result: dict[str, Any] = {"name": name}
    if namespace is not None:
        result["namespace"] = namespace
    result["labels"] = {CODE_LOCATION_LABEL: location}
    return result


def _object(kind: str, metadata: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, "spec": spec}
