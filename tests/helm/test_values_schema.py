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
    # Bundled off: the external PostgreSQL's host and password Secret are required.
    (None, {"instance.postgres.bundled.enabled": "false"}, "instance.postgres.external.host"),
    (
        None,
        {"instance.postgres.bundled.enabled": "false", "instance.postgres.external.host": "pg"},
        "passwordSecret.name",
    ),
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
    ids=[f"{field}={next(reversed(sets.values()), 'default')}" for _, sets, field in BAD_VALUES],
)
def test_bad_values_are_refused_naming_the_field(
    helm: Helm, values: Path | None, sets: dict[str, str], field: str
) -> None:
    message = helm.rejected(values, sets)
    assert "schema" in message or "required" in message, message
    assert _named(message, field), message


BUNDLED_OFF = "instance.postgres.bundled.enabled=false"
HOST = "instance.postgres.external.host"


def test_bundled_off_without_a_host_names_the_value_to_set(helm: Helm) -> None:
    """The schema refuses it first, naming the field; whoever skips the schema
    (`--skip-schema-validation`) gets the template's message, which says what to set."""
    sets = {"instance.postgres.bundled.enabled": "false"}
    by_schema = helm.rejected(None, sets)
    assert "schema" in by_schema and _named(by_schema, HOST), by_schema
    by_template = helm.rejected(None, sets, flags=["--skip-schema-validation"])
    assert "schema" not in by_template, by_template
    assert f"set {HOST} to the host name of your PostgreSQL" in by_template, by_template
    sets[HOST] = "pg.data.svc"
    by_template = helm.rejected(None, sets, flags=["--skip-schema-validation"])
    assert "set instance.postgres.external.passwordSecret.name to a Secret" in by_template


def test_a_host_of_your_own_with_the_bundled_postgres_still_on_is_refused(helm: Helm) -> None:
    """The bundled PostgreSQL is the default: a host set without turning it off would be
    ignored, and kubedag would write to an evaluation database instead."""
    message = helm.rejected(None, {HOST: "pg.data.svc"})
    assert f'{HOST} is "pg.data.svc"' in message, message
    assert f"set {BUNDLED_OFF} to use that PostgreSQL" in message, message


def _problems(validator: jsonschema.Draft7Validator, values: dict) -> set[str]:
    return {".".join(map(str, e.absolute_path)) for e in validator.iter_errors(values)}


def test_the_schema_is_strict_draft_7_and_accepts_the_defaults_and_every_values_file() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    validator = jsonschema.Draft7Validator(schema)
    assert list(validator.iter_errors(defaults)) == []  # no values at all is a valid install
    # The external PostgreSQL's host and Secret are required only with the bundled one off.
    off = {"instance": {"postgres": {"bundled": {"enabled": False}}}}
    assert _problems(validator, merge_config(defaults, off)) >= {
        "instance.postgres.external.host",
        "instance.postgres.external.passwordSecret.name",
    }
    no_instance = merge_config(defaults, {"instance": {"create": False, **off["instance"]}})
    assert list(validator.iter_errors(no_instance)) == []  # no Instance: no PostgreSQL needed
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
