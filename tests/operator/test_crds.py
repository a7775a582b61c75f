"""The generated CRDs: in sync with the models, structural, described, and complete."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kubedag_operator.resources import ALL_RESOURCES, CustomResource
from kubedag_operator.resources.crd import (
    REGENERATE_COMMAND,
    crd_for,
    drifted_files,
    main,
    render_crds,
    write_crds,
)
from tests.operator.structural import structural_problems

CRDS = Path(__file__).resolve().parents[2] / "crds"


def _schema(resource: type[CustomResource]) -> dict:
    return crd_for(resource)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def test_crds_directory_matches_the_models() -> None:
    drifted = drifted_files(CRDS)
    assert not drifted, (
        f"crds/ is out of date with operator/kubedag_operator/resources: {drifted}. "
        f"Regenerate with `{REGENERATE_COMMAND}` and commit the result."
    )
    expected = set(render_crds())
    present = {p.name for p in CRDS.glob("*.yaml")}
    assert present == expected, f"unexpected files in crds/: {sorted(present - expected)}"


def test_rendering_is_deterministic_and_round_trips(tmp_path: Path) -> None:
    assert render_crds() == render_crds()
    write_crds(tmp_path)
    assert drifted_files(tmp_path) == []
    assert main(["--check", "--directory", str(tmp_path)]) == 0
    (tmp_path / "runs.kubedag.io.yaml").write_text("# edited by hand\n")
    assert main(["--check", "--directory", str(tmp_path)]) == 1
    for text in render_crds().values():
        assert yaml.safe_load(text)["kind"] == "CustomResourceDefinition"


@pytest.mark.parametrize("resource", ALL_RESOURCES, ids=lambda r: r.kind_name)
def test_schema_is_structural_and_every_field_is_described(
    resource: type[CustomResource],
) -> None:
    assert structural_problems(_schema(resource)) == []


def test_the_checker_catches_what_the_api_server_refuses() -> None:
    bad = {
        "type": "object",
        "properties": {
            "a": {"type": "string"},  # no description
            "b": {"description": "no type"},
            "c": {"description": "union", "oneOf": [{"type": "string"}, {"type": "integer"}]},
            "d": {
                "description": "d",
                "type": "object",
                "properties": {},
                "additionalProperties": False,
            },
            "e": {"description": "e", "type": "integer", "default": "x"},
            "f": {"description": "f", "$ref": "#/x"},
        },
    }
    text = "\n".join(structural_problems(bad))
    for expected in (
        "a: no description",
        "b: no type",
        "c: key 'oneOf' is not allowed",
        "d: properties and additionalProperties together",
        "e: default does not validate",
        "f: key '$ref' is not allowed",
    ):
        assert expected in text


@pytest.mark.parametrize("resource", ALL_RESOURCES, ids=lambda r: r.kind_name)
def test_every_crd_has_names_columns_status_and_category(resource: type[CustomResource]) -> None:
    crd = crd_for(resource)
    spec = crd["spec"]
    assert crd["metadata"]["name"] == f"{resource.plural}.kubedag.io"
    assert spec["group"] == "kubedag.io" and spec["scope"] == "Namespaced"
    assert spec["names"]["categories"] == ["kubedag"]
    assert all(name.startswith("kd") for name in spec["names"]["shortNames"])
    (version,) = spec["versions"]
    assert version["name"] == "v1alpha1" and version["served"] and version["storage"]
    assert version["subresources"] == {"status": {}}
    assert version["additionalPrinterColumns"]
    status = version["schema"]["openAPIV3Schema"]["properties"]["status"]
    conditions = status["properties"]["conditions"]
    assert conditions["x-kubernetes-list-type"] == "map"
    assert set(conditions["items"]["required"]) == {
        "type",
        "status",
        "reason",
        "message",
        "lastTransitionTime",
    }


def test_short_names_are_unique_and_clash_with_no_built_in() -> None:
    built_in = {"job", "jobs", "cj", "po", "deploy", "svc", "cm", "ns", "no", "sts", "ds", "rs"}
    names = [n for r in ALL_RESOURCES for n in r.short_names]
    assert len(names) == len(set(names))
    assert not set(names) & built_in


def test_printer_columns_the_issue_asks_for() -> None:
    def columns(kind: str) -> list[str]:
        (resource,) = [r for r in ALL_RESOURCES if r.kind_name == kind]
        return [c.name for c in resource.printer_columns]

    assert columns("Run")[:5] == ["Phase", "Job", "Started", "Completed", "Age"]
    assert columns("Schedule")[:4] == ["Cron", "Suspend", "Last", "Next"]
    assert columns("CodeLocation")[:2] == ["Image", "Ready"]
    assert columns("Instance")[:2] == ["Ready", "Schema"]
    assert columns("Job")[:2] == ["CodeLocation", "Job"]


def test_secrets_are_only_secret_references_in_the_instance_schema() -> None:
    (instance,) = [r for r in ALL_RESOURCES if r.kind_name == "Instance"]
    postgres = _schema(instance)["properties"]["spec"]["properties"]["storage"]["properties"][
        "postgres"
    ]
    password = postgres["properties"]["postgres_db"]["properties"]["password"]
    assert password["type"] == "object" and password["required"] == ["secretKeyRef"]
    assert postgres["properties"]["postgres_url"]["required"] == ["secretKeyRef"]


def test_run_spec_is_immutable_by_cel() -> None:
    (run,) = [r for r in ALL_RESOURCES if r.kind_name == "Run"]
    rules = _schema(run)["properties"]["spec"]["x-kubernetes-validations"]
    assert {"rule": "self == oldSelf", "message": rules[0]["message"]} in rules
