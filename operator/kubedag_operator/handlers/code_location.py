"""`CodeLocation` handlers: serve the code with `kubedag code-server`, and report what it defines.

For each CodeLocation the operator keeps a Deployment (the user's image running `kubedag
code-server` on port 4000) and a Service in front of it, both owned by the CodeLocation
(`kubedag_operator.code_location_objects` builds them). It then asks the code server for its
definition snapshot and writes the jobs, assets, schedules and sensors it lists into the
CodeLocation's status, with `Ready=True` (reason `Loaded`), the snapshot's `contentHash`, and
the `imageDigest` its pods run (from their `imageID`; runs are launched pinned to it).

When the server cannot be reached (pods starting, image pulling) the condition is
`Ready=False`, reason `CodeServerUnavailable`, and the timer asks again later; when the code
failed to import it is `UserCodeError` with the error. An invalid spec is `InvalidSpec`, naming
the field. The handler never raises on what it observes: it is level-triggered (create, update,
resume and a timer all run the same `reconcile_code_location`), and running it twice does
nothing the second time (the objects carry a hash of their desired spec and are replaced only
when it changes; the status is written only when it changes).

The code server's address is `http://<location>-code-server.<namespace>.svc:4000`, or the
CodeLocation's annotation `kubedag.io/code-server-url` when set (an operator outside the
cluster, tests).
"""

from __future__ import annotations

import copy
import logging
import os
import threading
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import kopf

from kubedag_operator.code_location_objects import (
    SPEC_HASH_ANNOTATION,
    code_server_address,
    deployment_manifest,
    image_digest,
    selector_labels,
    service_manifest,
)
from kubedag_operator.kube import KubeApi
from kubedag_operator.metrics import counted
from kubedag_operator.resources import (
    GROUP,
    VERSION,
    CodeLocationResource,
    Condition,
    ConditionStatus,
    InvalidResourceError,
    set_condition,
)
from kubedag_operator.state import OperatorState, operator_state

log = logging.getLogger(__name__)

PLURAL = "codelocations"
INTERVAL_ENV = "KUBEDAG_OPERATOR_CODE_LOCATION_INTERVAL"
DEFAULT_INTERVAL_SECONDS = 15.0
PROBE_TIMEOUT_SECONDS = 5.0
READY = "Ready"
STATUS_KEYS = (
    "jobs",
    "assets",
    "schedules",
    "sensors",
    "contentHash",
    "imageDigest",
    "loadError",
    "observedGeneration",
    "conditions",
)
LOAD_ERROR_MAX_CHARS = 8192


# -- what the status says -------------------------------------------------------------------------
def _conditions(body: dict[str, Any]) -> list[Condition]:
    found = (body.get("status") or {}).get("conditions") or []
    try:
        return [Condition.model_validate(item) for item in found]
    except ValueError:
        return []


def ready_status(
    body: dict[str, Any],
    status: ConditionStatus,
    reason: str,
    message: str,
    now: datetime,
    **fields: Any,
) -> dict[str, Any]:
    """The status with `Ready` set and `fields` (jobs, assets…) replaced when given."""
    generation = (body.get("metadata") or {}).get("generation")
    conditions = set_condition(
        _conditions(body),
        READY,
        status,
        reason,
        message,
        now=now,
        observed_generation=generation,
    )
    current = body.get("status") or {}
    result = {key: current[key] for key in STATUS_KEYS if key in current}
    result.update(fields)
    result["observedGeneration"] = generation
    result["conditions"] = [
        c.model_dump(mode="json", by_alias=True, exclude_none=True) for c in conditions
    ]
    return result


def _status_from_code_server(body: dict[str, Any], url: str, now: datetime) -> dict[str, Any]:
    """The status the code server's answers give."""
    from kubedag.code_server.client import CodeServerClient, CodeServerError

    client = CodeServerClient(url, timeout=PROBE_TIMEOUT_SECONDS)
    unavailable = ConditionStatus.FALSE
    try:
        health = client.health()
        state = health.get("status")
        if state == "failed":
            error = health.get("error") or {}
            message = str(error.get("message") or "the code failed to load")
            cls = str(error.get("cls_name") or "")
            if cls and cls not in message.split(":", 1)[0]:
                message = f"{cls}: {message}"
            where = _innermost_frame(error)
            if where and where[1] in message:
                where = None
            text = (
                f"The code failed to load: {message}"
                f"{f' ({where[0]})' if where else ''}; status.loadError holds the traceback"
            )
            return ready_status(
                body, unavailable, "UserCodeError", text, now, loadError=load_error_text(error)
            )
        if state != "loaded":
            text = f"The code server at {url} is still loading the code."
            return ready_status(body, unavailable, "CodeServerLoading", text, now)
        snapshot = client.snapshot()
    except CodeServerError as exc:
        text = f"{exc} The operator asks again in a few seconds."
        return ready_status(body, unavailable, "CodeServerUnavailable", text, now)
    jobs = sorted(job.name for job in snapshot.jobs)
    status = ready_status(
        body,
        ConditionStatus.TRUE,
        "Loaded",
        f"The code server loaded {len(jobs)} jobs and {len(snapshot.assets)} assets "
        f"(content hash {snapshot.content_hash[:12]}).",
        now,
        jobs=jobs,
        assets=sorted(asset.key for asset in snapshot.assets),
        schedules=sorted(snapshot.schedule_names),
        sensors=sorted(snapshot.sensor_names),
        contentHash=snapshot.content_hash,
        loadError=None,
    )
    return status


def load_error_text(error: dict[str, Any]) -> str:
    """The load error as a traceback (`Traceback …`, the frames, `Class: message`), then each
    exception that caused it, the same way; the end (the root cause) is kept when it is longer
    than `LOAD_ERROR_MAX_CHARS`."""
    from kubedag.code_server.wire import error_info_from_json

    text = "Traceback (most recent call last):\n" + error_info_from_json(error).to_string()
    if len(text) > LOAD_ERROR_MAX_CHARS:
        text = "…" + text[-(LOAD_ERROR_MAX_CHARS - 1) :]
    return text


def _innermost_frame(error: dict[str, Any]) -> tuple[str, str] | None:
    """(`File "defs.py", line 3, in <module>`, `defs.py`): the innermost frame of the
    exception that started it all (the last cause), when its stack is known."""
    while isinstance(error.get("cause"), dict) and error["cause"]:
        error = error["cause"]
    for frame in reversed(error.get("stack") or []):
        first = str(frame).strip().splitlines()[0] if str(frame).strip() else ""
        if first.startswith('File "'):
            return first, first.split('"')[1]
    return None


# -- the objects ----------------------------------------------------------------------------------
def _collection(manifest: dict[str, Any]) -> str:
    namespace = manifest["metadata"]["namespace"]
    if manifest["kind"] == "Deployment":
        return f"/apis/apps/v1/namespaces/{namespace}/deployments"
    return f"/api/v1/namespaces/{namespace}/services"


def apply_object(api: KubeApi, manifest: dict[str, Any]) -> str:
    """Create the object, or replace its spec when its desired-spec hash changed; answers
    `created`, `updated` or `unchanged`."""
    collection = _collection(manifest)
    path = f"{collection}/{manifest['metadata']['name']}"
    desired_hash = manifest["metadata"]["annotations"][SPEC_HASH_ANNOTATION]
    current = api.get(path)
    if current is None:
        if api.create(collection, manifest):
            return "created"
        current = api.get(path)  # created meanwhile by a concurrent run
        if current is None:
            return "unchanged"
    annotations = (current.get("metadata") or {}).get("annotations") or {}
    if annotations.get(SPEC_HASH_ANNOTATION) == desired_hash:
        return "unchanged"
    updated = copy.deepcopy(current)
    metadata = updated.setdefault("metadata", {})
    metadata["labels"] = {**(metadata.get("labels") or {}), **manifest["metadata"]["labels"]}
    metadata["annotations"] = {**annotations, SPEC_HASH_ANNOTATION: desired_hash}
    metadata["ownerReferences"] = manifest["metadata"]["ownerReferences"]
    spec = copy.deepcopy(manifest["spec"])
    if manifest["kind"] == "Service":
        for kept in ("clusterIP", "clusterIPs"):  # assigned by the API server, immutable
            if kept in (current.get("spec") or {}):
                spec[kept] = current["spec"][kept]
    updated["spec"] = spec
    api.replace(path, updated)
    return "updated"


# -- reconciling ----------------------------------------------------------------------------------
@counted("CodeLocation")
def reconcile_code_location(api: KubeApi, body: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Bring the code server's objects and the CodeLocation's status up to date; answers the
    status written."""
    metadata = body.get("metadata") or {}
    namespace, name = metadata.get("namespace") or "default", metadata.get("name") or ""
    try:
        location = CodeLocationResource.parse(body)
    except InvalidResourceError as exc:
        status = ready_status(body, ConditionStatus.FALSE, "InvalidSpec", exc.message, now)
        _write_status(api, body, status)
        return status
    for manifest in (
        deployment_manifest(location, namespace),
        service_manifest(location, namespace),
    ):
        outcome = apply_object(api, manifest)
        if outcome != "unchanged":
            log.info(
                "%s %s/%s %s", manifest["kind"], namespace, manifest["metadata"]["name"], outcome
            )
    url = code_server_address(body)
    status = _status_from_code_server(body, url, now)
    pods = api.list_objects(f"/api/v1/namespaces/{namespace}/pods", selector_labels(name))
    digest = image_digest(pods)
    if digest is not None:
        status["imageDigest"] = digest
    _write_status(api, body, status)
    return status


def _write_status(api: KubeApi, body: dict[str, Any], status: dict[str, Any]) -> None:
    current = body.get("status") or {}
    if all(current.get(key) == status.get(key) for key in STATUS_KEYS):
        return
    metadata = body.get("metadata") or {}
    api.patch_custom_status(
        PLURAL, metadata.get("namespace") or "default", metadata["name"], status
    )


# -- kopf -----------------------------------------------------------------------------------------
_LOCKS: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
_LOCKS_LOCK = threading.Lock()


def handler_api(api: KubeApi | None, memo: Any) -> KubeApi:
    """The client a handler acts through: the one given to `register` (tests), else the
    operator's (`memo.kubedag`, put there by `kubedag_operator.settings`)."""
    return api if api is not None else operator_state(memo).kube


def object_lock(memo: Any, uid: str) -> threading.Lock:
    """One action at a time per object (a timer and an update handler may fire together)."""
    state = getattr(memo, "kubedag", None)
    if isinstance(state, OperatorState):
        return state.lock(uid)
    with _LOCKS_LOCK:
        return _LOCKS[uid]


def register(
    registry: kopf.OperatorRegistry,
    api: KubeApi | None = None,
    *,
    interval: float = DEFAULT_INTERVAL_SECONDS,
) -> None:
    """Register the CodeLocation handlers in `registry`, acting through `api` (default: the
    operator's client from kopf's memo)."""

    def reconcile(body: kopf.Body, memo: Any, **_: Any) -> None:
        with object_lock(memo, body.get("metadata", {}).get("uid", "")):
            reconcile_code_location(handler_api(api, memo), dict(body), datetime.now(UTC))

    for decorator in (kopf.on.create, kopf.on.resume):
        decorator(GROUP, VERSION, PLURAL, registry=registry, id="code-location")(reconcile)
    kopf.on.update(GROUP, VERSION, PLURAL, registry=registry, id="code-location", field="spec")(
        reconcile
    )
    kopf.timer(
        GROUP, VERSION, PLURAL, registry=registry, id="code-location-refresh", interval=interval
    )(reconcile)


register(
    kopf.get_default_registry(),
    interval=float(os.environ.get(INTERVAL_ENV, DEFAULT_INTERVAL_SECONDS)),
)
