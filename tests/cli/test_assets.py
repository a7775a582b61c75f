"""`kubedag assets list`: what the local instance has materialized, when, and by which run."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import kubedag as dg
from kubedag.instance.instance import Instance
from tests.cli.conftest import Completed

Cli = Callable[..., Completed]

regions = dg.StaticPartitionsDefinition(["us", "eu"])


@dg.asset(key_prefix=["sales"])
def orders() -> list[int]:
    return [1, 2]


@dg.asset(partitions_def=regions)
def regional(context: dg.AssetExecutionContext) -> str:
    return context.partition_key


def test_assets_list_shows_the_latest_materialization(cli: Cli, instance_home: Path) -> None:
    assert cli("assets", "list").stdout == "No asset has been materialized on this instance yet.\n"
    with Instance.get() as instance:
        first = dg.materialize([orders], instance=instance).run_id
        dg.materialize([regional], instance=instance, partition_key="us")
        latest = dg.materialize([regional], instance=instance, partition_key="eu").run_id
    done = cli("assets", "list")
    assert done.code == 0, done.stderr
    header, *rows = done.stdout.splitlines()
    assert header.split() == ["ASSET", "LAST", "MATERIALIZED", "RUN", "ID", "PARTITION"]
    assert [row.split()[0] for row in rows] == ["regional", "sales/orders"]
    assert rows[0].split()[3:] == [latest, "eu"]
    assert rows[1].split()[3:] == [first, "-"]

    listed = json.loads(cli("assets", "list", "--json").stdout)
    assert [list(item) for item in listed] == [
        ["asset_key", "last_materialization_timestamp", "last_run_id", "partition"]
    ] * 2
    assert listed[0]["asset_key"] == "regional" and listed[0]["partition"] == "eu"
    assert listed[1]["last_run_id"] == first and listed[1]["partition"] is None
    assert isinstance(listed[1]["last_materialization_timestamp"], float)
