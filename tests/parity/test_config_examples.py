"""Examples in the spirit of the reference's configuration guides, rewritten: a database
resource configured per environment, a job whose many op settings are derived from one simple
config, shared values read by several ops, and run config assembled from YAML files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import kubedag as dg


# -- 1. a resource configured once per deployment ------------------------------------------------
@dg.resource(
    config_schema={
        "host": dg.StringSource,
        "port": dg.Field(dg.IntSource, default_value=5432),
        "options": dg.Field(dg.Permissive(), default_value={}),
    }
)
def warehouse(init_context: dg.InitResourceContext) -> str:
    cfg = init_context.resource_config
    extras = "".join(f"&{k}={v}" for k, v in sorted(cfg["options"].items()))
    return f"postgres://{cfg['host']}:{cfg['port']}/db?{extras.lstrip('&')}"


dev_warehouse = dg.configured(warehouse)({"host": "localhost", "options": {"sslmode": "off"}})


@dg.configured(
    warehouse, config_schema={"region": dg.Enum("Region", [dg.EnumValue("eu"), dg.EnumValue("us")])}
)
def prod_warehouse(config: dict[str, Any]) -> dict[str, Any]:
    return {"host": f"db.{config['region']}.example.com", "port": {"env": "WAREHOUSE_PORT"}}


@dg.op(required_resource_keys={"warehouse"})
def connection_string(context: dg.OpExecutionContext) -> str:
    return str(context.resources.warehouse)


@dg.graph
def report() -> Any:
    return connection_string()


def test_configured_resource_per_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAREHOUSE_PORT", "6543")
    dev = report.to_job(name="report_dev", resource_defs={"warehouse": dev_warehouse})
    prod = report.to_job(name="report_prod", resource_defs={"warehouse": prod_warehouse})

    dev_result = dev.execute_in_process()
    assert dev_result.output_for_node("connection_string") == (
        "postgres://localhost:5432/db?sslmode=off"
    )
    prod_result = prod.execute_in_process(
        run_config={"resources": {"warehouse": {"config": {"region": "eu"}}}}
    )
    assert prod_result.output_for_node("connection_string") == (
        "postgres://db.eu.example.com:6543/db?"
    )
    with pytest.raises(dg.DagsterInvalidConfigError, match="'asia' is not a value of enum"):
        prod.execute_in_process(
            run_config={"resources": {"warehouse": {"config": {"region": "asia"}}}}
        )


# -- 2. one simple setting derives the config of several ops -------------------------------------
@dg.op(config_schema={"table": str, "limit": dg.Field(dg.Noneable(int), default_value=None)})
def extract(context: dg.OpExecutionContext) -> list[int]:
    rows = list(range(10))
    limit = context.op_config["limit"]
    return rows if limit is None else rows[:limit]


@dg.op(config_schema={"multiplier": int})
def transform(context: dg.OpExecutionContext, rows: list[int]) -> list[int]:
    return [row * context.op_config["multiplier"] for row in rows]


@dg.config_mapping(config_schema={"sample": dg.Field(bool, default_value=False)})
def simple_settings(config: dict[str, Any]) -> dict[str, Any]:
    return {
        "ops": {
            "extract": {"config": {"table": "events", "limit": 3 if config["sample"] else None}},
            "transform": {"config": {"multiplier": 2}},
        }
    }


@dg.job(config=simple_settings)
def pipeline() -> None:
    transform(extract())


def test_config_mapping_hides_op_settings() -> None:
    assert pipeline.execute_in_process().output_for_node("transform") == [
        0, 2, 4, 6, 8, 10, 12, 14, 16, 18
    ]  # fmt: skip
    sampled = pipeline.execute_in_process(run_config={"sample": True})
    assert sampled.output_for_node("transform") == [0, 2, 4]


# -- 3. values shared by several ops, from YAML files ---------------------------------------------
@dg.op(required_resource_keys={"settings"})
def partition_path(context: dg.OpExecutionContext) -> str:
    return f"{context.resources.settings['root']}/{context.resources.settings['day']}"


@dg.op(required_resource_keys={"settings"})
def check_day(context: dg.OpExecutionContext, path: str) -> bool:
    return path.endswith(context.resources.settings["day"])


@dg.job(
    resource_defs={
        "settings": dg.make_values_resource(day=str, root=dg.Field(str, default_value="/data"))
    }
)
def daily() -> None:
    check_day(partition_path())


def test_shared_values_from_yaml_files(tmp_path: Path) -> None:
    (tmp_path / "common.yaml").write_text(
        "resources:\n  settings:\n    config:\n      root: /lake\n"
    )
    (tmp_path / "today.yaml").write_text(
        "resources:\n  settings:\n    config:\n      day: '2024-05-01'\n"
    )
    run_config = dg.config_from_files([str(tmp_path / "common.yaml"), str(tmp_path / "today.yaml")])
    result = daily.execute_in_process(run_config=run_config)
    assert result.output_for_node("partition_path") == "/lake/2024-05-01"
    assert result.output_for_node("check_day") is True
    assert dg.validate_run_config(daily, run_config)["resources"]["settings"] == {
        "config": {"day": "2024-05-01", "root": "/lake"}
    }
