"""What a `Run` object asks storage for: the run record's job, run config, tags and code location
(pure, from the Run, its Job and the Job's CodeLocation).

The run carries everything its pod needs, so the launcher needs nothing from the objects:
the CodeLocation's image (tag `kubedag/image`, pinned to the digest the code server runs
when the CodeLocation's status knows it), the owner tags that give the pod its owner
reference to the Run, and the pod overrides (tag `kubedag.io/pod-overrides`) — the
CodeLocation's environment, pull policy, pull secrets and service account, then the Job's
`spec.pod` over them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from kubedag_operator.code_location_objects import pinned_image
from kubedag_operator.resources import CodeLocationResource, JobResource, RunResource
from kubedag_operator.resources.common import API_VERSION
from kubedag_operator.run_status import merge_run_config

IDEMPOTENCY_PREFIX = "k8s-run:"
RUN_OBJECT_TAG = "kubedag.io/run"  # the Run object's name, for people reading run tags


def idempotency_key(uid: str) -> str:
    return f"{IDEMPOTENCY_PREFIX}{uid}"


@dataclass(frozen=True)
class RunRequest:
    """What to create in storage for a Run (pure data, built by `run_request`)."""

    job_name: str
    run_config: dict[str, Any]
    tags: dict[str, str]
    partition: str | None
    code_location: dict[str, str]
    asset_selection: list[str] | None


def run_request(
    run: RunResource, job: JobResource, location: CodeLocationResource, uid: str
) -> RunRequest:
    """The run record a Run asks for (pure): the Job's run config and tags under the Run's,
    the CodeLocation's module or file, its image as the run's image, the owner tags that give
    the pod its owner reference to the Run, and the pod overrides (`pod_overrides`)."""
    from kubedag.definitions.definitions import IMPLICIT_ASSET_JOB_NAME
    from kubedag.definitions.run_tags import PARTITION_TAG
    from kubedag.runs.launchers.kubernetes import (
        IMAGE_TAG,
        OWNER_API_VERSION_TAG,
        OWNER_KIND_TAG,
        OWNER_NAME_TAG,
        OWNER_NAMESPACE_TAG,
        OWNER_UID_TAG,
    )
    from kubedag.runs.launchers.pod_overrides import POD_OVERRIDES_TAG

    spec, cl = run.spec, location.spec
    code_location: dict[str, str] = {}
    if cl.module:
        code_location["module_name"] = cl.module
    if cl.python_file:
        code_location["python_file"] = cl.python_file
    if cl.working_dir:
        code_location["working_directory"] = cl.working_dir
    if cl.attribute:
        code_location["attribute"] = cl.attribute
    tags = {
        **(job.spec.tags or {}),
        **(spec.tags or {}),
        IMAGE_TAG: pinned_image(cl.image, location.status.image_digest),
        OWNER_UID_TAG: uid,
        OWNER_NAME_TAG: run.metadata.name or "",
        OWNER_KIND_TAG: "Run",
        OWNER_API_VERSION_TAG: API_VERSION,
        OWNER_NAMESPACE_TAG: run.metadata.namespace or "",
        RUN_OBJECT_TAG: run.metadata.name or "",
    }
    if spec.partition is not None:
        tags[PARTITION_TAG] = spec.partition
    overrides = pod_overrides(location, job)
    if overrides:
        tags[POD_OVERRIDES_TAG] = json.dumps(overrides, sort_keys=True, separators=(",", ":"))
    return RunRequest(
        job_name=job.spec.job_name or IMPLICIT_ASSET_JOB_NAME,
        run_config=merge_run_config(job.spec.run_config, spec.run_config),
        tags=tags,
        partition=spec.partition,
        code_location=code_location,
        asset_selection=list(job.spec.asset_selection) if job.spec.asset_selection else None,
    )


def pod_overrides(location: CodeLocationResource, job: JobResource) -> dict[str, Any]:
    """The run pod's overrides (pure): what the CodeLocation says of every pod running its code
    (env, envFrom, pull policy and secrets, service account), then the Job's `spec.pod`."""
    from kubedag.runs.launchers.pod_overrides import combine_pod_overrides

    cl = location.spec
    from_location = {
        "env": _dump(cl.env),
        "envFrom": _dump(cl.env_from),
        "imagePullPolicy": cl.image_pull_policy.value if cl.image_pull_policy else None,
        "imagePullSecrets": _dump(cl.image_pull_secrets),
        "serviceAccountName": cl.service_account_name,
    }
    pod = job.spec.pod
    from_job = pod.model_dump(mode="json", by_alias=True, exclude_none=True) if pod else {}
    return combine_pod_overrides(from_location, from_job)


def _dump(items: list[Any] | None) -> list[Any] | None:
    if not items:
        return None
    return [item.model_dump(mode="json", by_alias=True, exclude_none=True) for item in items]
