"""values.schema.json refuses bad values before anything is rendered, and helm's message names
the field (helm 3 writes `operator.replicas`, helm 4 `/operator/replicas`)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from kubedag.config.run_config import merge_config
from tests.helm.chart import CHART, VALUES, VALUES_FILES, Helm

MINIMAL = VALUES / "minimal.yaml"

# (values file, --set overrides, the field the message must name)
BAD_VALUES = [
    (MINIMAL, {"image.digest": "latest"}, "image.digest"),
    (MINIMAL, {"image.pullPolicy": "Sometimes"}, "image.pullPolicy"),
    (MINIMAL, {"operator.replicas": "2"}, "operator.replicas"),  # two standalone operators
    (MINIMAL, {"operator.replicas": "0"}, "operator.replicas"),
    (MINIMAL, {"operator.logLevel": "trace"}, "operator.logLevel"),
    (MINIMAL, {"rbac.scope": "global"}, "rbac.scope"),
    (MINIMAL, {"watchNamespaces": "{Team_A}"}, "watchNamespaces"),
    (None, {}, "instance.postgres.external.host"),  # the defaults name no PostgreSQL
    (MINIMAL, {"instance.postgres.external.passwordSecret.name": ""}, "passwordSecret.name"),
    (MINIMAL, {"instance.postgres.external.port": "70000"}, "instance.postgres.external.port"),
    (MINIMAL, {"instance.postgres.bundled.storage": "lots"}, "instance.postgres.bundled.storage"),
    (MINIMAL, {"instance.computeLogs.s3.endpointUrl": "minio:9000"}, "s3.endpointUrl"),
    (MINIMAL, {"instance.name": "Not_A_Name"}, "instance.name"),
    (MINIMAL, {"metrics.port": "8080"}, "metrics.port"),  # the health port
    (MINIMAL, {"podDisruptionBudget.enabled": "true"}, "operator.replicas"),  # one replica
    (MINIMAL, {"imagee.tag": "x"}, "imagee"),  # a typo of a top-level key
    (MINIMAL, {"operator.replica": "2"}, "replica"),  # a typo inside a block
]


def _named(message: str, field: str) -> bool:
    """Whether helm's message names `field`, in helm 3's or helm 4's notation."""
    return field in message or "/" + field.replace(".", "/") in message


@pytest.mark.parametrize(
    ("values", "sets", "field"),
    BAD_VALUES,
    ids=[f"{field}={next(iter(sets.values()), 'default')}" for _, sets, field in BAD_VALUES],
)
def test_bad_values_are_refused_naming_the_field(
    helm: Helm, values: Path | None, sets: dict[str, str], field: str
) -> None:
    message = helm.rejected(values, sets)
    assert "schema" in message or "required" in message, message
    assert _named(message, field), message


def test_the_schema_is_strict_draft_7_and_accepts_the_defaults_and_every_values_file() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    validator = jsonschema.Draft7Validator(schema)
    # The defaults lack only the PostgreSQL host and Secret, on purpose.
    problems = {".".join(map(str, e.absolute_path)) for e in validator.iter_errors(defaults)}
    assert problems <= {
        "",
        "instance",
        "instance.postgres",
        "instance.postgres.external",
        "instance.postgres.external.host",
        "instance.postgres.external.passwordSecret.name",
    }
    for path in VALUES_FILES:
        merged = merge_config(defaults, yaml.safe_load(path.read_text()))  # as Helm merges
        assert list(validator.iter_errors(merged)) == [], path.name


def test_every_values_key_is_in_the_schema() -> None:
    """additionalProperties: false everywhere a block is ours, so typos fail; the schema and
    values.yaml must then list the same keys."""
    schema = json.loads((CHART / "values.schema.json").read_text())
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())

    def missing(values: dict, node: dict, path: str) -> list[str]:
        found = []
        properties = node.get("properties") or {}
        for key, value in values.items():
            if key not in properties:
                found.append(f"{path}{key}")
            elif isinstance(value, dict) and "properties" in properties[key]:
                found += missing(value, properties[key], f"{path}{key}.")
        return found

    assert missing(defaults, schema, "") == []
