"""Sample custom resources against the generated schemas (jsonschema), their CEL rules
(cel-python) and the pydantic models; the API server and the operator must agree on what is
valid. The valid samples are the examples of docs/crds.md, so the docs stay true."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from kubedag_operator.resources import (
    ALL_RESOURCES,
    InvalidResourceError,
    parse_resource,
)
from kubedag_operator.resources.crd import crd_for
from tests.operator.cel import CEL_AVAILABLE, cel_violations

DOCS = Path(__file__).resolve().parents[2] / "docs" / "crds.md"
RESOURCES = {r.kind_name: r for r in ALL_RESOURCES}


def _schema(kind: str) -> dict[str, Any]:
    crd = crd_for(RESOURCES[kind])
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def schema_errors(body: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft4Validator(_schema(body["kind"]))
    return [
        ".".join(str(p) for p in error.absolute_path) + ": " + error.message
        for error in validator.iter_errors(body)
    ]


def api_server_errors(body: dict[str, Any], old: dict[str, Any] | None = None) -> list[str]:
    """What the API server would refuse: the OpenAPI schema, then the CEL rules."""
    errors = schema_errors(body)
    if not errors and CEL_AVAILABLE:
        schema = _schema(body["kind"])
        errors = cel_violations(schema, body) if old is None else cel_violations(schema, body, old)
    return errors


def operator_errors(body: dict[str, Any]) -> list[str]:
    try:
        parse_resource(RESOURCES[body["kind"]], body)
    except InvalidResourceError as error:
        return error.problems
    return []


def doc_examples() -> list[dict[str, Any]]:
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(), flags=re.S)
    bodies = [yaml.safe_load(block) for block in blocks]
    return [b for b in bodies if b.get("apiVersion") == "kubedag.io/v1alpha1"]


def test_the_docs_show_every_kind() -> None:
    assert {b["kind"] for b in doc_examples()} == set(RESOURCES)


@pytest.mark.parametrize("body", doc_examples(), ids=lambda b: b["kind"])
def test_doc_examples_are_valid_everywhere(body: dict[str, Any]) -> None:
    assert api_server_errors(body) == []
    assert operator_errors(body) == []


def _example(kind: str) -> dict[str, Any]:
    (body,) = [b for b in doc_examples() if b["kind"] == kind]
    return copy.deepcopy(body)


def _with(kind: str, path: str, value: Any) -> dict[str, Any]:
    """The docs' example of `kind` with `path` (dotted, from the body) set, or removed when
    `value` is DELETE."""
    body = _example(kind)
    *parents, last = path.split(".")
    node = body
    for part in parents:
        node = node.setdefault(part, {})
    if value is DELETE:
        node.pop(last, None)
    else:
        node[last] = value
    return body


DELETE = object()

# (kind, path, value, a fragment of the schema error) — refused by the OpenAPI schema.
SCHEMA_INVALID = [
    ("Run", "spec.jobRef", DELETE, "'jobRef' is a required property"),
    ("Run", "spec.jobRef.name", "", "should be non-empty"),
    ("Run", "spec.retry.reasons", ["Flaky"], "'Flaky' is not one of"),
    ("Run", "spec.activeDeadlineSeconds", 0, "less than the minimum"),
    ("Schedule", "spec.cron", "0 6 * * *", "is not of type 'array'"),
    ("Schedule", "spec.cron", [], "should be non-empty"),
    ("Schedule", "spec.cron", ["every day"], "does not match"),
    ("Schedule", "spec.concurrencyPolicy", "Sometimes", "'Sometimes' is not one of"),
    ("Schedule", "spec.successfulRunsHistoryLimit", -1, "less than the minimum"),
    ("CodeLocation", "spec.image", DELETE, "'image' is a required property"),
    ("CodeLocation", "spec.replicas", -1, "less than the minimum"),
    ("CodeLocation", "spec.imagePullPolicy", "Sometimes", "is not one of"),
    ("CodeLocation", "spec.resources.limits.memory", "lots", "does not match"),
    ("Job", "spec.codeLocationRef", DELETE, "'codeLocationRef' is a required property"),
    ("Job", "spec.runConfig", "ops: {}", "is not of type 'object'"),
    (
        "Instance",
        "spec.storage.postgres.postgres_db.password",
        "hunter2",
        "'hunter2' is not of type 'object'",
    ),
    (
        "Instance",
        "spec.run_coordinator.queued.max_concurrent_runs",
        -2,
        "less than the minimum",
    ),
]


@pytest.mark.parametrize(
    ("kind", "path", "value", "expected"),
    SCHEMA_INVALID,
    ids=[f"{k}:{p}" for k, p, _, _ in SCHEMA_INVALID],
)
def test_invalid_samples_are_refused_by_the_schema_and_the_models(
    kind: str, path: str, value: Any, expected: str
) -> None:
    body = _with(kind, path, value)
    errors = schema_errors(body)
    assert any(expected in e for e in errors), errors
    field = path.removeprefix("spec.").split(".")[0]
    problems = operator_errors(body)
    assert problems, "the pydantic model accepted what the API server refuses"
    assert any(field in p for p in problems), problems


# (kind, changes, message fragment) — pass the OpenAPI schema, refused by a CEL rule.
CEL_INVALID = [
    ("CodeLocation", {"spec.pythonFile": "/app/defs.py"}, "exactly one of module"),
    ("CodeLocation", {"spec.module": DELETE}, "exactly one of module"),
    ("Job", {"spec.assetSelection": ["sales/revenue"]}, "exactly one of jobName"),
    ("Job", {"spec.jobName": DELETE}, "exactly one of jobName"),
    ("Schedule", {"spec.partitionSelection": {"mode": "Key"}}, "needs partitionSelection.key"),
    (
        "Schedule",
        {"spec.partitionSelection": {"mode": "Key", "maxCatchupTicks": 1}},
        "needs partitionSelection.key",
    ),
    ("Instance", {"spec.storage.sqlite": {}}, "storage: set exactly one of"),
    ("Instance", {"spec.run_storage": {"sqlite": {}}}, "either storage"),
    (
        "Instance",
        {"spec.storage.postgres.postgres_url": {"secretKeyRef": {"name": "pg", "key": "url"}}},
        "exactly one of postgres_url",
    ),
    ("Instance", {"spec.run_launcher": {"module": "my.launchers"}}, "needs both module and class"),
    ("Instance", {"spec.compute_logs.noop": {}}, "compute_logs: set exactly one of"),
]


def _changed(kind: str, changes: dict[str, Any]) -> dict[str, Any]:
    body = _example(kind)
    for path, value in changes.items():
        *parents, last = path.split(".")
        node = body
        for part in parents:
            node = node.setdefault(part, {})
        if value is DELETE:
            node.pop(last, None)
        else:
            node[last] = value
    return body


@pytest.mark.parametrize(
    ("kind", "changes", "expected"), CEL_INVALID, ids=[f"{k}:{e}" for k, _, e in CEL_INVALID]
)
def test_cel_rules_and_models_refuse_the_same_objects(
    kind: str, changes: dict[str, Any], expected: str
) -> None:
    body = _changed(kind, changes)
    assert schema_errors(body) == []
    violations = cel_violations(_schema(kind), body)
    assert any(expected in v for v in violations), violations
    problems = operator_errors(body)
    assert any(expected in p for p in problems), problems


def test_a_run_spec_cannot_change_but_its_status_can() -> None:
    old = _example("Run")
    changed = copy.deepcopy(old)
    changed["spec"]["partition"] = "2026-11-02"
    assert any("immutable" in e for e in api_server_errors(changed, old=old))
    same_spec = copy.deepcopy(old)
    same_spec["status"] = {"phase": "Running", "runId": "abc"}
    assert api_server_errors(same_spec, old=old) == []
    assert api_server_errors(old) == []  # creation: the transition rule does not apply


def test_status_written_by_the_operator_validates() -> None:
    body = _example("Run")
    body["status"] = {
        "phase": "Failed",
        "runId": "9d5c1d1e-1111-4b5e-9f53-0d8f1e2a3b4c",
        "podName": "kubedag-run-9d5c1d1e",
        "startTime": "2026-11-21T06:00:05Z",
        "completionTime": "2026-11-21T06:03:00Z",
        "steps": {"succeeded": 3, "failed": 1, "skipped": 2, "total": 6},
        "conditions": [
            {
                "type": "Succeeded",
                "status": "False",
                "reason": "OOMKilled",
                "message": "the run's container used more than its 4Gi memory limit",
                "lastTransitionTime": "2026-11-21T06:03:00Z",
                "observedGeneration": 1,
            }
        ],
    }
    assert api_server_errors(body) == []
    assert operator_errors(body) == []
    body["status"]["conditions"][0]["reason"] = "Out of memory"
    assert any("does not match" in e for e in schema_errors(body))


def test_kubernetes_shapes_are_accepted_as_kubernetes_writes_them() -> None:
    body = _example("Job")
    body["spec"]["pod"]["affinity"] = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}
                ]
            }
        }
    }
    body["spec"]["pod"]["volumes"].append(
        {"name": "creds", "secret": {"secretName": "gcp", "items": [{"key": "k", "path": "p"}]}}
    )
    body["spec"]["pod"]["env"].append(
        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
    )
    assert api_server_errors(body) == []
    assert operator_errors(body) == []
    resource = parse_resource(RESOURCES["Job"], body)
    assert resource.spec.pod is not None and resource.spec.pod.volumes is not None
    assert resource.spec.pod.volumes[-1].model_dump(by_alias=True)["secret"]["secretName"] == "gcp"


def _rules(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [r["rule"] for r in node.get("x-kubernetes-validations", [])]
        return own + [rule for child in node.values() for rule in _rules(child)]
    if isinstance(node, list):
        return [rule for child in node for rule in _rules(child)]
    return []


@pytest.mark.parametrize("kind", sorted(RESOURCES))
def test_every_cel_rule_compiles(kind: str) -> None:
    celpy = pytest.importorskip("celpy")
    environment = celpy.Environment()
    rules = _rules(_schema(kind))
    assert rules, f"{kind} has no CEL rule"
    for rule in rules:
        environment.compile(rule)


@pytest.mark.parametrize("body", doc_examples(), ids=lambda b: b["kind"])
def test_what_the_operator_writes_back_is_what_the_api_server_accepts(
    body: dict[str, Any],
) -> None:
    # The operator builds objects from the models (a Schedule creating a Run, a status patch).
    resource = parse_resource(RESOURCES[body["kind"]], body)
    written = resource.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert api_server_errors(written) == []
    assert parse_resource(RESOURCES[body["kind"]], written) == resource
