"""Run config from YAML files, strings and package resources; `make_values_resource`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

import kubedag as dg


def test_config_from_yaml_strings_merges_in_order() -> None:
    merged = dg.config_from_yaml_strings(["a: 1\nb: {c: 2}", "b: {d: 3}\na: 5", "e: [1]"])
    assert merged == {"a": 5, "b": {"c": 2, "d": 3}, "e": [1]}


def test_config_from_files_and_globs(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text("ops:\n  count:\n    config:\n      rows: 1\n")
    (tmp_path / "prod.yaml").write_text("ops:\n  count:\n    config:\n      label: prod\n")
    expected = {"ops": {"count": {"config": {"rows": 1, "label": "prod"}}}}
    assert dg.config_from_files([str(tmp_path / "base.yaml"), str(tmp_path / "prod.yaml")]) == (
        expected
    )
    assert dg.config_from_files([str(tmp_path / "*.yaml")]) == expected
    assert dg.config_from_files([]) == {}


def test_config_from_pkg_resources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "cfg_pkg_for_test"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.yaml").write_text("resources:\n  db:\n    config:\n      host: h\n")
    (package / "b.yaml").write_text("resources:\n  db:\n    config:\n      port: 5\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        merged = dg.config_from_pkg_resources(
            [("cfg_pkg_for_test", "a.yaml"), ("cfg_pkg_for_test", "b.yaml")]
        )
        assert merged == {"resources": {"db": {"config": {"host": "h", "port": 5}}}}
        with pytest.raises(dg.InvalidConfigError, match="does not exist"):
            dg.config_from_pkg_resources([("cfg_pkg_for_test", "missing.yaml")])
    finally:
        sys.modules.pop("cfg_pkg_for_test", None)


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: dg.config_from_files(["/nonexistent/run.yaml"]), "does not exist"),
        (lambda: dg.config_from_files(["/nonexistent/*.yaml"]), "matches no file"),
        (lambda: dg.config_from_yaml_strings(["a: [1"]), "is not valid YAML"),
        (lambda: dg.config_from_yaml_strings(["- 1"]), "must hold a YAML mapping"),
        (lambda: dg.config_from_yaml_strings(["a: 1", ""]), "YAML string 2 of 2"),
        (lambda: dg.config_from_pkg_resources([("no_such_pkg_x", "a.yaml")]), "no package"),
    ],
)
def test_yaml_problems_are_config_errors(call: Any, words: str) -> None:
    with pytest.raises(dg.InvalidConfigError, match=words) as raised:
        call()
    # what the reference raises for each of these, so its except clauses catch ours
    assert isinstance(raised.value, dg.DagsterInvariantViolationError)


@dg.op(required_resource_keys={"values"})
def read_values(context: dg.OpExecutionContext) -> Any:
    return context.resources.values


def test_values_resource_with_fields() -> None:
    values = dg.make_values_resource(day=str, bucket=dg.Field(str, default_value="raw"))

    @dg.job(resource_defs={"values": values})
    def shared() -> None:
        read_values()

    run_config = {"resources": {"values": {"config": {"day": "2024-01-01"}}}}
    assert shared.execute_in_process(run_config=run_config).output_for_node("read_values") == {
        "day": "2024-01-01",
        "bucket": "raw",
    }
    with pytest.raises(dg.DagsterInvalidConfigError, match=r"resources\.values\.config\.day"):
        shared.execute_in_process(run_config={"resources": {"values": {"config": {"day": 1}}}})


def test_values_resource_without_fields_takes_anything() -> None:
    values = dg.make_values_resource()

    @dg.job(resource_defs={"values": values})
    def shared() -> None:
        read_values()

    run_config = {"resources": {"values": {"config": {"anything": [1]}}}}
    assert shared.execute_in_process(run_config=run_config).output_for_node("read_values") == {
        "anything": [1]
    }
    assert shared.execute_in_process().output_for_node("read_values") is None
    assert isinstance(values, dg.ResourceDefinition)
